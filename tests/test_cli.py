"""The command line: every command, --json output, and one-line errors with exit code 1."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from trialqa.cli import main

from .conftest import DARA_SEED, FIXTURES, MSC_SEED, ROOT

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copy(MSC_SEED, corpus)
    shutil.copy(DARA_SEED, corpus)
    return {"corpus": str(corpus), "index": str(tmp_path_factory.mktemp("idx"))}


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def opts(env):
    return ["--corpus", env["corpus"], "--index", env["index"]]


def test_trials_table_and_json(capsys, env):
    code, out, _ = run(capsys, "trials", "--corpus", env["corpus"])
    assert code == 0 and "NCT07110662" in out and "2 trial(s)" in out
    code, out, _ = run(capsys, "trials", "--corpus", env["corpus"], "--json")
    data = json.loads(out)
    assert {d["nct_id"] for d in data} == {None, "NCT07110662"}
    for key in ("id", "title", "status", "phases", "enrollment", "min_age", "max_age", "sex", "inclusion", "exclusion",
                "sponsor", "collaborators"):
        assert key in data[0]


def test_validate_good_and_bad(capsys, tmp_path):
    code, out, _ = run(capsys, "validate", str(FIXTURES / "trials"))
    assert code == 0 and "0 problem(s)" in out
    (tmp_path / "bad.json").write_text('{"studies": [', encoding="utf-8")
    shutil.copy(MSC_SEED, tmp_path)
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert code == 1 and "bad.json" in out and "truncated" in out and "1 problem(s)" in out


def test_extract_json(capsys):
    code, out, _ = run(capsys, "extract", "PMNs < 1,500 /mm3 on CBC at inclusion visit.", "--json")
    ents = json.loads(out)
    lab = next(e for e in ents if e["label"] == "LAB")
    assert lab["analyte"] == "neutrophils" and lab["op"] == "<" and lab["norm_value"] == 1.5


def test_index_then_search(capsys, env):
    code, out, _ = run(capsys, "index", *opts(env), "--json")
    status = json.loads(out)
    assert code == 0 and status["manifest"]["trials"] == 2
    code, out, _ = run(capsys, "index", *opts(env))
    assert out.startswith("loaded")
    code, out, _ = run(capsys, "search", "neutrophils", *opts(env), "--json", "--k", "2")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 2 and "PMNs" in hits[0]["text"]
    assert {"trial_id", "section", "text", "start", "end", "score"} <= set(hits[0])


def test_ask_and_check(capsys, env):
    code, out, _ = run(capsys, "ask", "What is the minimum age for NCT07110662?", *opts(env), "--json")
    ans = json.loads(out)
    assert code == 0 and ans["found"] and "18" in ans["text"] and ans["citations"]
    code, out, _ = run(capsys, "ask", "Can a 76-year-old enter?", *opts(env),
                       "--trial", "NCT07110662")
    assert code == 0 and out.startswith("[YES]")
    code, out, _ = run(capsys, "check", *opts(env), "--trial", "NCT07110662", "--age", "40",
                       "--lab", "PMN=1200/mm3", "--json")
    rep = json.loads(out)
    assert rep["verdict"] == "not eligible"


@pytest.mark.parametrize("args, message", [
    (["search", "age", "--trial", "NCT00000000"], "unknown trial"),
    (["check", "--trial", "NCT07110662", "--lab", "nonsense"], "cannot read lab value"),
    (["ask", "   "], "empty"),
])
def test_user_errors_are_one_line(capsys, env, args, message):
    code, out, err = run(capsys, *args[:1], *(args[1:]), *opts(env))
    assert code == 1 and message in err and "Traceback" not in err
    assert err.startswith("error: ")


def test_missing_corpus_is_an_error(capsys, tmp_path):
    code, _, err = run(capsys, "trials", "--corpus", str(tmp_path / "none"))
    assert code == 1 and "no such file or directory" in err


def test_python_dash_m_and_help():
    out = subprocess.run([sys.executable, "-m", "trialqa", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0
    for cmd in ("trials", "validate", "extract", "index", "search", "ask", "check", "serve"):
        assert cmd in out.stdout
    bad = subprocess.run([sys.executable, "-m", "trialqa", "frobnicate"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr

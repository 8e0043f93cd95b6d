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
    (["ask", "What is the minimum age?", "--trial", "NCT99999999"], "unknown trial 'NCT99999999'"),
    (["ask", "Minimum age \udcff?"], "not valid Unicode"),  # an argument in no valid encoding
    (["check", "--trial", "NCT07110662", "--age", "inf"], "age must be a number from 0 to 130 years"),
    (["check", "--trial", "NCT07110662", "--bsa", "-5"], "bsa_percent must be"),
])
def test_user_errors_are_one_line(capsys, env, args, message):
    code, out, err = run(capsys, *args[:1], *(args[1:]), *opts(env))
    assert code == 1 and message in err and "Traceback" not in err
    assert err.startswith("error: ") and err.count("\n") == 1 and not out


@pytest.mark.parametrize("k", ["0", "-3", "two", "1.5"])
def test_k_below_one_is_refused(capsys, env, k):
    for cmd in (["search", "age"], ["eval", "gold.jsonl"]):
        with pytest.raises(SystemExit) as info:
            main([*cmd, *opts(env), "--k", k])
        err = capsys.readouterr().err
        assert info.value.code == 1 and "argument --k:" in err and ("1 or more" in err or "whole number" in err)
        assert err.startswith("error: ") and err.count("\n") == 1


def test_every_argument_has_help():
    from trialqa.cli import build_parser

    parser = build_parser()
    [sub] = [a for a in parser._actions if a.choices and isinstance(a.choices, dict)]
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"trialqa {name} {action.option_strings or action.dest} has no help"


def test_trials_table_uses_the_terminal_width(capsys, monkeypatch, tmp_path):
    for f in (DARA_SEED, *sorted((FIXTURES / "trials").glob("*.xml"))[:3]):
        shutil.copy(f, tmp_path)
    from trialqa.corpus import load_corpus

    trials = load_corpus(tmp_path, extract=False)
    longest = max((t.title for t in trials), key=len)
    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = run(capsys, "trials", "--corpus", str(tmp_path))
    assert code == 0 and longest in out  # whole, on one line
    dara = next(line for line in out.splitlines() if line.startswith("NCT07110662"))
    assert "18 years to no limit" in dara
    for width in ("80", "100"):
        monkeypatch.setenv("COLUMNS", width)
        code, out, _ = run(capsys, "trials", "--corpus", str(tmp_path))
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= int(width)
        for t in trials:  # wrapped, never cut
            assert all(w in out for w in t.title.split()), t.title
        assert "limit" in out
    assert lines[0].index("status") - lines[0].index("title") >= 24  # the title column at 100 columns


def test_missing_corpus_is_an_error(capsys, tmp_path):
    code, _, err = run(capsys, "trials", "--corpus", str(tmp_path / "none"))
    assert code == 1 and "no such file or directory" in err


def test_python_dash_m_and_help():
    out = subprocess.run([sys.executable, "-m", "trialqa", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0
    for cmd in ("trials", "validate", "extract", "index", "search", "ask", "check", "serve"):
        assert cmd in out.stdout
    bad = subprocess.run([sys.executable, "-m", "trialqa", "frobnicate"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "invalid choice" in bad.stderr and bad.stderr.count("\n") == 1

"""``TrialQA.match``: trials ranked for a patient (note, facts dict or FHIR bundle), relevant first,
eligible before undetermined before not eligible, with reasons and citations; the CLI command and
the Find-trials rendering. Fake hashing encoder over the 14 fixture records."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURES
from tests.fakes import HashingEncoder
from trialqa import QueryError, TrialQA
from trialqa.answering.matching import VERDICT_ORDER, Match, Matches

PSORIASIS = (FIXTURES / "patients" / "note_psoriasis.txt").read_text("utf-8")
MELANOMA = (FIXTURES / "patients" / "note_melanoma.txt").read_text("utf-8")
BUNDLE = FIXTURES / "patients" / "bundle_breast_cancer.json"


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    return TrialQA.load(FIXTURES / "trials", tmp_path_factory.mktemp("idx"), encoder=HashingEncoder())


def conditions(qa, tid):
    return " ".join(qa.trial(tid).conditions + [qa.trial(tid).title or ""]).lower()


def test_a_psoriasis_note_finds_the_psoriasis_trial_first(qa):
    ms = qa.match(PSORIASIS, k=5)
    assert isinstance(ms, Matches) and all(isinstance(m, Match) for m in ms)
    relevant = [m for m in ms if m.verdict != "not relevant"]
    assert relevant and "psoriasis" in conditions(qa, relevant[0].trial_id)
    # melanoma and lung-cancer trials are about another disease, whatever their criteria say
    for m in ms:
        if "melanoma" in conditions(qa, m.trial_id) or "nsclc" in conditions(qa, m.trial_id):
            assert m.verdict == "not relevant", m


def test_a_melanoma_note_ranks_melanoma_trials(qa):
    ms = qa.match(MELANOMA, k=14)
    relevant = [m for m in ms if m.verdict != "not relevant"]
    assert relevant and all("melanoma" in conditions(qa, m.trial_id) or "neoplasm" in conditions(qa, m.trial_id)
                            or "cancer" in conditions(qa, m.trial_id) for m in relevant[:3])
    assert not any("psoriasis" in conditions(qa, m.trial_id) for m in relevant)


def test_order_relevant_then_verdict_then_score(qa):
    ms = qa.match(MELANOMA, k=14)
    keys = [(m.verdict == "not relevant", VERDICT_ORDER[m.verdict] if m.verdict != "not relevant" else 0, -m.score)
            for m in ms]
    assert keys == sorted(keys)


def test_every_checked_match_cites_its_deciding_criteria(qa):
    ms = qa.match(MELANOMA, k=14)
    for m in ms:
        if m.verdict == "not eligible":
            assert m.criteria and all(c.status == "not_met" for c in m.criteria)
        for c in m.criteria:
            assert c.citation.trial_id == m.trial_id and c.reason
        for c in m.evidence:
            t = qa.trial(m.trial_id)
            assert c.trial_id == m.trial_id and c.end > c.start
            assert c.section in ("conditions", "title", "summary", "inclusion")


def test_an_age_outside_the_limits_is_not_eligible(qa):
    # NCT00460083 (atopic dermatitis) takes children of 2 to 12 years only.
    adult = qa.match("A 40-year-old man with atopic dermatitis since childhood.", k=14, trials=["NCT00460083"])
    child = qa.match("A 6-year-old boy with atopic dermatitis since infancy.", k=14, trials=["NCT00460083"])
    assert adult[0].verdict == "not eligible"
    assert any("12" in c.criterion or "age" in c.criterion.lower() for c in adult[0].criteria)
    assert not any(c.status == "not_met" and "age" in c.criterion.lower() for c in child[0].criteria)


def test_trials_restricts_the_candidates(qa):
    ids = ["NCT00006276", "NCT00496223"]
    ms = qa.match(PSORIASIS, k=10, trials=ids)
    assert sorted(m.trial_id for m in ms) == sorted(ids)
    with pytest.raises(QueryError, match="unknown trial"):
        qa.match(PSORIASIS, trials=["NCT99999999"])


def test_a_facts_dict_and_a_fhir_bundle(qa):
    ms = qa.match({"age": 45, "sex": "female", "conditions": ["psoriasis"]}, k=3)
    assert "psoriasis" in conditions(qa, ms[0].trial_id)
    fhir = qa.match(json.loads(BUNDLE.read_text("utf-8")), k=3)
    assert fhir.facts.sex == "female" and "breast cancer" in fhir.facts.conditions


def test_the_facts_read_are_returned(qa):
    ms = qa.match(PSORIASIS, k=3)
    d = ms.to_dict()
    assert d["facts"]["age"] == 45 and "psoriasis" in d["facts"]["conditions"]
    assert d["facts"]["sources"]["age"] and len(d["matches"]) == 3
    json.dumps(d)  # serializable


@pytest.mark.parametrize("patient, message", [
    ("   ", "empty"),
    ({"age": 45, "diagnosis": "psoriasis"}, "unknown patient fact 'diagnosis'"),
    ({"age": -3, "conditions": ["psoriasis"]}, "age must be a number"),
    ({"age": 45}, "no note and no conditions"),
    (42, "a patient is a note"),
    ({"resourceType": "Patient"}, "resourceType 'Bundle'"),
])
def test_bad_patients_are_clear_errors(qa, patient, message):
    with pytest.raises(QueryError, match=message):
        qa.match(patient)


def test_k_must_be_positive(qa):
    with pytest.raises(QueryError, match="k must be"):
        qa.match(PSORIASIS, k=0)


def test_cli_match(capsys, tmp_path, monkeypatch, qa):
    from trialqa import cli

    monkeypatch.setattr(cli, "_load_qa", lambda args: qa)
    note = tmp_path / "note.txt"
    note.write_text(PSORIASIS, encoding="utf-8")
    assert cli.main(["match", "--note", str(note), "--k", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["matches"]) == 3 and data["facts"]["sex"] == "female"
    assert cli.main(["match", "--text", MELANOMA, "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert "read from the patient: age: 62" in out and "verdict" in out
    assert cli.main(["match", "--fhir", str(BUNDLE), "--k", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["facts"]["sex"] == "female"


@pytest.mark.parametrize("args, message", [
    (["match", "--note", "/nonexistent/note.txt"], "no such note file"),
    (["match", "--fhir", "BAD"], "FHIR bundle is not valid JSON"),
    (["match"], "one of the arguments --note --text --fhir is required"),
    (["match", "--text", "x", "--k", "0"], "must be 1 or more"),
])
def test_cli_match_errors_are_one_line(capsys, tmp_path, monkeypatch, qa, args, message):
    from trialqa import cli

    monkeypatch.setattr(cli, "_load_qa", lambda args: qa)
    if "BAD" in args:
        bad = tmp_path / "bad.json"
        bad.write_text("{oops", encoding="utf-8")
        args = [str(bad) if a == "BAD" else a for a in args]
    try:
        code = cli.main(args)
    except SystemExit as exc:  # argparse usage errors exit from the parser, with the same one line
        code = exc.code
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_find_trials_rendering_escapes_and_marks_the_note(qa):
    from trialqa.ui import _esc, highlight
    from trialqa.ui_match import render_matches

    ms = qa.match("A 45-year-old woman <b>with</b> plaque psoriasis.", k=3)
    page = render_matches(ms, _esc, highlight)
    assert "<b>with</b>" not in page and "&lt;b&gt;with&lt;/b&gt;" in page
    assert "<mark>45-year-old</mark>" in page or "<mark>45</mark>" in page
    assert page.count("class='tq-match'") == 3
    assert "tq-m-" in page and "Read from the patient" in page

"""Gold-set scoring (trialqa.evaluation.qa / report) against a stub QA object: no model, no index."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.conftest import DATA, ROOT
from trialqa.answering import Answer, Citation
from trialqa.errors import ConfigError
from trialqa.evaluation.qa import (GoldError, build_gold_corpus, evaluate, evaluate_gold, has_number, load_gold,
                                   numbers_in, percentile)
from trialqa.evaluation.report import render_summary, write_report
from trialqa.retrieval import Hit

ALPHA = SimpleNamespace(id="TQ-1", nct_id=None, title="Alpha Trial of Things")
BETA = SimpleNamespace(id="NCT00000002", nct_id="NCT00000002", title="Beta Study")
GAMMA = SimpleNamespace(id="NCT00000003", nct_id="NCT00000003", title="Gamma Study")


class StubQA:
    """Answers and hits looked up by question; records what ask/search were called with."""

    def __init__(self, answers: dict, hits: dict | None = None):
        self.trials = [ALPHA, BETA, GAMMA]
        self.answers = answers
        self.hits = hits or {}
        self.asked: list[tuple[str, str | None]] = []
        self.searched: list[tuple[str, int, str | None]] = []

    def ask(self, question, trial=None):
        self.asked.append((question, trial))
        a = self.answers[question]
        if isinstance(a, Exception):
            raise a
        return a

    def search(self, question, k=5, trial=None):
        self.searched.append((question, k, trial))
        return self.hits.get(question, [])[:k]


def gold(id="q1", question="Q?", **kw) -> dict:
    d = {"id": id, "question": question, "trial": None, "category": "lab", "found": True, "verdict": None,
         "answer_contains": [], "numbers": [], "trials": [], "evidence": []}
    d.update(kw)
    return d


def write_gold(tmp_path, rows, name="gold.jsonl"):
    p = tmp_path / name
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return p


def cite(text, trial="NCT00000002"):
    return Citation(trial, "inclusion", text, 0, len(text))


def hit(text, trial="NCT00000002"):
    return Hit(trial, "inclusion", text, 0, len(text), 0.5)


def run(tmp_path, rows, answers, hits=None, k=5):
    qa = StubQA(answers, hits)
    return evaluate_gold(qa, write_gold(tmp_path, rows), k=k), qa


# --- numbers -------------------------------------------------------------------------------------

def test_numbers_in_reads_separators_decimals_and_words():
    assert numbers_in("PMNs < 1,500 /mm3") == [1500, 3]
    assert 100000 in numbers_in("Platelets >= 100,000/mcL")
    assert 1.5 in numbers_in("1.5 x 10^9/L")
    assert numbers_in("within the past ten years") == [10]
    assert numbers_in("twenty-five or one hundred") == [25, 100]
    assert numbers_in("two three") == [2, 3]  # a unit after a unit is a new number, not 5
    assert numbers_in("doses 10,15 mg/kg") == [10, 15]  # not one number 1015
    assert numbers_in("PHASE1/PHASE2") == [1, 2]
    assert numbers_in("someone often attends") == []  # number words only as whole words


def test_has_number_uses_a_small_relative_tolerance():
    assert has_number([1.5004], 1.5)
    assert not has_number([1.51], 1.5)
    assert has_number([0.0], 0)
    assert not has_number([1e-6], 0)


def test_percentile_interpolates():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert percentile([], 50) is None


# --- correctness checks --------------------------------------------------------------------------

def test_contains_and_numbers_pass_after_normalization(tmp_path):
    rows = [gold("ok", "Q1", answer_contains=["Absolute  NEUTROPHIL"], numbers=[1500, 10]),
            gold("bad", "Q2", answer_contains=["platelets"], numbers=[1200])]
    answers = {"Q1": Answer("absolute neutrophil count at least 1,500/mm3 within ten days", True),
               "Q2": Answer("absolute neutrophil count at least 1,500/mm3", True)}
    rep, _ = run(tmp_path, rows, answers)
    assert (rep.correct, rep.n) == (1, 2)
    (f,) = rep.failures
    assert f["id"] == "bad"
    assert "text lacks 'platelets'" in f["reasons"]
    assert "numbers missing: 1200" in f["reasons"]
    assert f["got"]["text"].startswith("absolute neutrophil")


def test_found_and_verdict(tmp_path):
    rows = [gold("v-ok", "Q1", verdict="no"), gold("v-bad", "Q2", verdict="yes"),
            gold("v-none", "Q3"),  # no expected verdict: whatever comes back is not scored
            gold("f-bad", "Q4", found=False)]
    answers = {"Q1": Answer("No.", True, "no"), "Q2": Answer("No.", True, "no"),
               "Q3": Answer("Yes.", True, "yes"), "Q4": Answer("Something.", True)}
    rep, _ = run(tmp_path, rows, answers)
    assert {f["id"] for f in rep.failures} == {"v-bad", "f-bad"}
    assert (rep.verdict_n, rep.verdict_correct, rep.verdict_accuracy) == (2, 1, 0.5)
    reasons = {f["id"]: f["reasons"] for f in rep.failures}
    assert reasons["v-bad"] == ["verdict: expected 'yes', got 'no'"]
    assert reasons["f-bad"] == ["found: expected False, got True"]


def test_abstention_precision_and_recall(tmp_path):
    rows = [gold("tp", "Q1", found=False), gold("fp", "Q2", found=True),
            gold("fn", "Q3", found=False), gold("tn", "Q4", found=True)]
    answers = {"Q1": Answer("not stated", False), "Q2": Answer("not stated", False),
               "Q3": Answer("made up", True), "Q4": Answer("stated", True)}
    rep, _ = run(tmp_path, rows, answers)
    assert (rep.abstention_true, rep.abstention_predicted, rep.abstention_expected) == (1, 2, 2)
    assert rep.abstention_precision == 0.5 and rep.abstention_recall == 0.5


def test_exception_fails_the_item_and_is_counted(tmp_path):
    rep, _ = run(tmp_path, [gold("boom", "Q1", found=False)], {"Q1": RuntimeError("kaput")})
    assert rep.errors == 1 and rep.correct == 0
    assert rep.failures[0]["error"] == "RuntimeError: kaput"
    assert rep.abstention_predicted == 0  # a crash is not an abstention


# --- trial references ----------------------------------------------------------------------------

def test_title_reference_resolves_to_the_trial_id(tmp_path):
    rows = [gold("t", "Q1", trial="title:Alpha Trial of Things", evidence=["x"]),
            gold("n", "Q2", trial="NCT00000002")]
    answers = {"Q1": Answer("a", True, trials=["TQ-1"]), "Q2": Answer("b", True)}
    rep, qa = run(tmp_path, rows, answers)
    assert qa.asked == [("Q1", "TQ-1"), ("Q2", "NCT00000002")]
    assert qa.searched == [("Q1", 5, "TQ-1")]  # only items with evidence are searched
    assert rep.items[0].trial == "TQ-1"


@pytest.mark.parametrize("ref, message", [
    ("title:alpha trial of things", "no trial titled 'alpha trial of things'"),  # exact title only
    ("NCT09999999", "no trial 'NCT09999999'"),
])
def test_unresolvable_reference_names_the_line(tmp_path, ref, message):
    p = write_gold(tmp_path, [gold("a", "Q1"), "", gold("b", "Q2", trial=ref)])
    with pytest.raises(GoldError) as exc:
        evaluate_gold(StubQA({"Q1": Answer("", True), "Q2": Answer("", True)}), p)
    assert f"{p}:3: b: {message}" in str(exc.value)


def test_cross_trial_subset_and_extra_trials(tmp_path):
    expected = ["title:Alpha Trial of Things", "NCT00000002"]
    rows = [gold("x-extra", "Q1", category="cross_trial", trials=expected),
            gold("x-missing", "Q2", category="cross_trial", trials=expected)]
    answers = {"Q1": Answer("3 trials", True, trials=["TQ-1", "NCT00000002", "NCT00000003"]),
               "Q2": Answer("1 trial", True, trials=["NCT00000002"])}
    rep, _ = run(tmp_path, rows, answers)
    by = {i.id: i for i in rep.items}
    assert by["x-extra"].correct and by["x-extra"].extra_trials == ["NCT00000003"]
    assert not by["x-missing"].correct and by["x-missing"].missing_trials == ["TQ-1"]
    assert rep.failures[0]["reasons"] == ["trials missing: TQ-1"]
    # returned 3 + 1 trials, of which 2 + 1 are in the gold lists
    assert rep.cross_trial_n == 2 and rep.cross_trial_precision == pytest.approx(3 / 4)


# --- citations and retrieval ---------------------------------------------------------------------

def test_citation_precision_and_recall(tmp_path):
    ev = ["Pregnant or breastfeeding women", "Positive serology for HIV"]
    rows = [gold("c", "Q1", evidence=ev), gold("no-evidence", "Q2")]
    answers = {"Q1": Answer("...", True, citations=[cite("- Pregnant  or\nbreastfeeding WOMEN."), cite("Unrelated")]),
               # citations of an item without evidence do not count either way
               "Q2": Answer("...", True, citations=[cite("Unrelated"), cite("Also unrelated")])}
    rep, _ = run(tmp_path, rows, answers)
    assert rep.citation_n == 1
    assert rep.citation_precision == 0.5  # 1 of 2 citations covers some evidence
    assert rep.citation_recall == 0.5  # 1 of 2 evidence strings is covered


def test_citation_must_contain_the_evidence_not_a_fragment_of_it(tmp_path):
    rows = [gold("c", "Q1", evidence=["Decompensated cardiac failure"])]
    rep, _ = run(tmp_path, rows, {"Q1": Answer("...", True, citations=[cite("cardiac failure")])})
    assert rep.citation_precision == 0 and rep.citation_recall == 0


def test_retrieval_recall_at_k_and_mrr(tmp_path):
    rows = [gold("r1", "Q1", trial="NCT00000002", evidence=["ANC >= 1,500", "platelets >= 100,000"]),
            gold("r2", "Q2", evidence=["never retrieved"])]
    hits = {"Q1": [hit("other"), hit("ANC  >= 1,500/mm3"), hit("x"), hit("Platelets >= 100,000/mm3")],
            "Q2": [hit("nothing")]}
    answers = {"Q1": Answer("", True), "Q2": Answer("", True)}
    rep, qa = run(tmp_path, rows, answers, hits, k=3)
    assert qa.searched == [("Q1", 3, "NCT00000002"), ("Q2", 3, None)]
    # the platelet passage is at rank 4, outside k=3: 1 of 3 evidence strings found
    assert rep.retrieval_recall_at_k == pytest.approx(1 / 3)
    assert rep.retrieval_mrr == pytest.approx((1 / 2 + 0) / 2)
    rep5, _ = run(tmp_path, rows, answers, hits, k=5)
    assert rep5.retrieval_recall_at_k == pytest.approx(2 / 3)


def test_per_category_breakdown_and_latency(tmp_path):
    rows = [gold("a", "Q1", category="lab"), gold("b", "Q2", category="lab", numbers=[5]),
            gold("c", "Q3", category="age")]
    answers = {q: Answer("value 4", True) for q in ("Q1", "Q2", "Q3")}
    rep, _ = run(tmp_path, rows, answers)
    assert rep.by_category == {"age": {"n": 1, "correct": 1, "accuracy": 1.0},
                               "lab": {"n": 2, "correct": 1, "accuracy": 0.5}}
    assert list(rep.by_category) == ["age", "lab"]
    assert 0 <= rep.latency_p50 <= rep.latency_p95 <= rep.latency_max


# --- gold file validation ------------------------------------------------------------------------

@pytest.mark.parametrize("line, message", [
    ('{"id": "x", "question": ', "not valid JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
    (json.dumps({k: v for k, v in gold().items() if k != "found"}), "missing key 'found'"),
    (json.dumps({k: v for k, v in gold().items() if k not in ("found", "evidence")}), "missing keys 'found', 'evidence'"),
    (json.dumps(gold(verdict="maybe")), "'verdict' must be one of yes, no, unknown or null"),
    (json.dumps(gold(found="true")), "'found' must be bool"),
    (json.dumps(gold(numbers=["1,500"])), "'numbers' must be list[number]"),
    (json.dumps(gold(numbers=[True])), "'numbers' must be list[number]"),
    (json.dumps(gold(question="  ")), "'question' must be str"),
    (json.dumps(gold(trials="NCT00000002")), "'trials' must be list[str]"),
    (json.dumps({**gold(), "answer_contain": []}), "unknown key 'answer_contain'"),
])
def test_malformed_line_is_reported_with_its_number(tmp_path, line, message):
    p = write_gold(tmp_path, [gold("ok"), "", line])
    with pytest.raises(GoldError) as exc:
        load_gold(p)
    assert str(exc.value).startswith(f"{p}:3: ")  # blank lines still count
    assert message in str(exc.value)


def test_every_bad_line_is_listed_and_duplicates_are_caught(tmp_path):
    p = write_gold(tmp_path, [gold("a"), "nonsense", gold("a"), json.dumps(gold("c", found=None))])
    with pytest.raises(GoldError) as exc:
        load_gold(p)
    msg = str(exc.value)
    assert msg.startswith("3 bad gold line(s):")
    assert f"{p}:2: not valid JSON" in msg
    assert f"{p}:3: duplicate id 'a' (first on line 1)" in msg
    assert f"{p}:4: 'found' must be bool" in msg


def test_missing_or_empty_gold_file(tmp_path):
    with pytest.raises(GoldError, match="cannot read gold file"):
        load_gold(tmp_path / "nope.jsonl")
    with pytest.raises(GoldError, match="no gold questions"):
        load_gold(write_gold(tmp_path, ["", "  "]))


def test_the_real_gold_file_is_valid():
    from tests.conftest import ROOT

    items = load_gold(ROOT / "tests" / "gold" / "qa.jsonl")
    assert len(items) > 100 and len({i.id for i in items}) == len(items)


# --- report and corpus ---------------------------------------------------------------------------

def test_write_report_writes_json_markdown_and_chart(tmp_path):
    from PIL import Image

    rows = [gold("good", "Q1", category="lab", numbers=[1500]),
            gold("bad|pipe", "Q2", category="age", verdict="yes", evidence=["Age 18 or more"])]
    answers = {"Q1": Answer("ANC 1,500", True), "Q2": Answer("Ages 18\nto 75", True, "no")}
    rep, _ = run(tmp_path, rows, answers)
    paths = write_report(rep, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert data["n"] == 2 and data["correct"] == 1 and data["items"][1]["id"] == "bad|pipe"
    md = paths["summary"].read_text()
    assert "| answer accuracy | 50.0% | 1/2 questions |" in md
    assert "| age | 1 | 0 | 0.0% |" in md and "| lab | 1 | 1 | 100.0% |" in md
    assert "bad\\|pipe" in md and "Ages 18 / to 75" in md  # table cells stay on one row
    assert md == render_summary(rep)
    with Image.open(paths["chart"]) as img:
        assert img.format == "PNG" and img.width > 300 and img.height > 100


def test_build_gold_corpus_copies_seeds_and_fixtures(tmp_path):
    from tests.conftest import DARA_SEED, FIXTURES, MSC_SEED

    out = build_gold_corpus(tmp_path / "corpus")
    names = {p.name for p in out.iterdir()}
    assert {MSC_SEED.name, DARA_SEED.name} <= names
    assert {p.name for p in FIXTURES.joinpath("trials").iterdir()} <= names
    assert (out / MSC_SEED.name).read_bytes() == MSC_SEED.read_bytes()
    # The records of the shared data the newer gold questions were written on.
    members = (ROOT / "tests" / "gold" / "gold_members.txt").read_text().split()
    assert len(members) == 20
    assert {m.rsplit("/", 1)[-1].split(":")[-1].removesuffix(".xml") for m in members} <= {p.stem for p in out.iterdir()}
    from trialqa import load_corpus

    trials = load_corpus(out)
    assert not trials.errors and len(trials) == len(names) == 36


def test_build_gold_corpus_names_a_missing_member(tmp_path):
    root = tmp_path / "repo"
    for sub in ("corpus", "tests/fixtures/trials", "tests/gold"):
        (root / sub).mkdir(parents=True)
    (root / "tests" / "gold" / "gold_members.txt").write_text("api_v2_nsclc_100.json:NCT99999999\n")
    with pytest.raises(ConfigError, match="NCT99999999 is not in"):
        build_gold_corpus(tmp_path / "out", root=root, shared=DATA)


def test_evaluate_rejects_bad_k():
    with pytest.raises(ValueError):
        evaluate(StubQA({}), [], k=0)

"""The brat reader, the gold readers, and the extractor's scores on the LCT and Chia dev sets.

The floors are the levels reached (rounded down a little), so a rule change that loses ground
fails here; the targets (numeric thresholds P >= 0.90, R >= 0.85; ages >= 0.95; issue 14: LCT value
recall and comparator agreement >= 0.95) are met.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from trialqa.evaluation.brat import parse_ann, read_document
from trialqa.evaluation.gold_text import number
from trialqa.evaluation.extraction import (GoldItem, Prediction, agrees, chia_gold, evaluate_extraction, lct_gold,
                                           parse_constraints, score, value_agrees, value_scores)

from ..conftest import DATA, need

ANN = """T1\tEq-Comparison 4 8\t≥ 18
T2\tEq-Operator 4 5\t≥
T3\tEq-Value 6 8\t18
T4\tAge 0 3\tAge
E1\tEq-Comparison:T1 Operator:T2 Value:T3
E2\tAge:T4 Numeric-Filter:E1
A1\tEq-Operator-Value T2 GTEQ
T5\tCondition 10 14;20 26\tNon- cancer
R1\tHas_value Arg1:T4 Arg2:T3\t
*\tOR T4 T5
#1\tAnnotatorNotes T4\tchecked
"""
TEXT = "Age ≥ 18, Non-small cancer"


def test_brat_reader_reads_every_kind_of_line():
    doc = parse_ann(ANN, TEXT, "x")
    assert not doc.problems
    assert doc.entities["T5"].spans == [(10, 14), (20, 26)] and (doc.entities["T5"].start, doc.entities["T5"].end) == (10, 26)
    assert doc.events["E2"].arg("Numeric-Filter") == "E1" and doc.span_of("E1").text == "≥ 18"
    assert doc.attrs("T2") == {"Eq-Operator-Value": "GTEQ"}
    assert doc.relations[0].type == "Has_value" and (doc.relations[0].arg1, doc.relations[0].arg2) == ("T4", "T3")
    assert doc.equivalences == [("OR", ["T4", "T5"])] and doc.notes["T4"] == "checked"
    assert doc.type_of("E2") == "Age" and doc.type_of("T3") == "Eq-Value"
    bad = parse_ann("T1\tCondition x y\tfoo\nQ9 what", "", "bad")
    assert len(bad.problems) == 2


def test_brat_reader_rebases_crlf_offsets(tmp_path):
    # Offsets counted on CRLF text, file saved with LF: the reader re-bases them (Chia's case).
    (tmp_path / "d.txt").write_text("line one\nAge > 18 years\n", "utf-8")
    (tmp_path / "d.ann").write_text("T1\tValue 14 24\t> 18 years\n", "utf-8")
    doc = read_document(tmp_path / "d.txt")
    t = doc.entities["T1"]
    assert doc.text[t.start:t.end] == "> 18 years"


def test_lct_gold_kinds_and_operators():
    doc = parse_ann(ANN, TEXT, "x")
    age = [g for g in lct_gold(doc) if g.kind == "age"]
    assert len(age) == 1 and (age[0].op, age[0].values, age[0].days) == (">=", (18.0,), 365.25)


def test_chia_gold_reads_ages_values_and_inclusive_pairs():
    text = "Age > 18 years\nHemoglobin greater than or equal to 10 g/dL\nNot a criterion: 5 mg"

    def at(s: str) -> str:
        i = text.index(s)
        return f"{i} {i + len(s)}"

    gt, eq, unit = text.index("greater than"), text.index("equal to"), text.index("10 g/dL")
    ann = "\n".join([
        f"T1\tPerson {at('Age')}\tAge", f"T2\tValue {at('> 18 years')}\t> 18 years", "R1\tHas_value Arg1:T1 Arg2:T2",
        f"T3\tMeasurement {at('Hemoglobin')}\tHemoglobin",
        f"T4\tValue {gt} {gt + 12};{unit} {unit + 7}\tgreater than 10 g/dL",
        f"T5\tValue {eq} {unit + 7}\tequal to 10 g/dL", "R2\tHas_value Arg1:T3 Arg2:T4", "R3\tHas_value Arg1:T3 Arg2:T5",
        f"T6\tNot_a_criteria {at('Not a criterion: 5 mg')}\tNot a criterion: 5 mg",
    ])
    doc = parse_ann(ann, text, "c")
    assert not doc.problems
    gold = chia_gold(doc)
    age = [g for g in gold if g.kind == "age"]
    num = [g for g in gold if g.kind == "numeric"]
    assert [(g.op, g.values) for g in age] == [(">", (18.0,))]
    assert [(g.op, g.values) for g in num] == [(">=", (10.0,))]  # "greater than" OR "equal to"
    assert [g.kind for g in gold if g.kind == "region"] == ["region"]


@pytest.mark.parametrize("text, expected", [
    (">/= 50 years", [(">=", (50,))]),
    ("18-65", [("between", (18, 65))]),
    ("between 7 and 75 years", [("between", (7, 75))]),
    (">= 18 and < 70 years", [(">=", (18,)), ("<", (70,))]),
    ("at least 18 and not older than 75years", [(">=", (18,)), ("<=", (75,))]),
    ("18 years or older", [(">=", (18,))]),
    ("< 75 x 109 cells/L", [("<", (75,))]),
    ("1,500/mm3", [("=", (1500,))]),
    ("lower than 170/105 mm Hg", [("<", (170,))]),
    ("0, 1 or 2", [("between", (0, 2))]),
    ("equal or superior to 18 years", [(">=", (18,))]),
    ("twice the ULN", [("=", (2,))]),
    ("positive", []),
])
def test_gold_value_reader(text, expected):
    assert [(op, tuple(int(v) if v == int(v) else v for v in vals)) for op, vals in parse_constraints(text)] == expected


def test_matching_rules():
    g = GoldItem("d", "age", 0, 10, "18-65", "between", (65.0, 18.0), 365.25)
    p = Prediction("d", "AGE", 0, 5, "18-65", "between", 18, 65, 18, 65)
    assert agrees(p, g)  # a range matches in either order
    months = GoldItem("d", "age", 0, 10, "24 months", ">=", (24.0,), 30.4375)
    assert agrees(Prediction("d", "AGE", 0, 5, "", ">=", 24, None, 2.0, None), months)  # ages compare in days
    t = GoldItem("d", "time", 0, 10, "6 months prior", "=", (6.0,), 30.4375, op_stated=False)
    assert agrees(Prediction("d", "TIME_WINDOW", 0, 5, "", "<=", 6, None, 182.625, None), t)  # no stated operator
    n = GoldItem("d", "numeric", 0, 10, "<1.5 x ULN", "<", (1.5,))
    assert not agrees(Prediction("d", "LAB", 0, 5, "", "<=", 1.5, None, 1.5, None), n)
    # A prediction overlapping only an excluded item is not scored; one overlapping nothing is wrong.
    stage = GoldItem("d", "numeric", 20, 30, "stage III", "=", (), excluded="categorical")
    s = score([n, stage], [Prediction("d", "LAB", 22, 25, "", "=", 3, None, 3, None),
                           Prediction("d", "LAB", 40, 45, "", ">", 9, None, 9, None)], use_exclusions=True)
    assert (s["numeric"].gold, s["numeric"].matched, s["numeric"].predicted, s["numeric"].correct) == (1, 0, 1, 0)


def test_value_agreement_ignores_the_comparator_but_not_the_value():
    n = GoldItem("d", "numeric", 0, 10, "<1.5 x ULN", "<", (1.5,))
    assert value_agrees(Prediction("d", "LAB", 0, 5, "", "<=", 1.5, None, 1.5, None), n)
    assert not value_agrees(Prediction("d", "LAB", 0, 5, "", "<", 2.5, None, 2.5, None), n)
    rng = GoldItem("d", "age", 0, 10, "18-65", "between", (18.0, 65.0), 365.25)
    assert not value_agrees(Prediction("d", "AGE", 0, 5, "", ">=", 18, None, 18, None), rng)  # one end of a range
    assert value_agrees(Prediction("d", "AGE", 0, 5, "", "between", 18, 65, 18, 65), rng)
    weeks = GoldItem("d", "time", 0, 10, "4 weeks", "<", (4.0,), 7.0)
    assert value_agrees(Prediction("d", "TIME_WINDOW", 0, 5, "", ">", 28, None, 28.0, None), weeks)  # in days


def test_value_scores_split_value_and_comparator():
    golds = [GoldItem("d", "numeric", 0, 10, "<1.5 x ULN", "<", (1.5,)),
             GoldItem("d", "numeric", 20, 30, "> 100", ">", (100.0,)),
             GoldItem("d", "numeric", 40, 50, "= 7", "=", (7.0,)),
             GoldItem("d", "time", 60, 70, "6 months prior", "=", (6.0,), 30.4375, op_stated=False),
             GoldItem("d", "numeric", 80, 90, "stage 3", "=", (), excluded="categorical")]
    preds = [Prediction("d", "LAB", 1, 5, "", "<=", 1.5, None, 1.5, None),  # value right, comparator wrong
             Prediction("d", "LAB", 21, 25, "", ">", 100, None, 100, None),  # both right
             Prediction("d", "LAB", 41, 45, "", "=", 8, None, 8, None),  # value wrong
             Prediction("d", "TIME_WINDOW", 61, 65, "", "<=", 6, None, 182.625, None)]  # no gold comparator
    errors: dict = {}
    v = value_scores(golds, preds, errors)
    assert (v["numeric"].gold, v["numeric"].found, v["numeric"].judged, v["numeric"].agreed) == (3, 2, 2, 1)
    assert (v["time"].gold, v["time"].found, v["time"].judged) == (1, 1, 0)
    assert (v["overall"].gold, v["overall"].found, v["overall"].judged, v["overall"].agreed) == (4, 3, 2, 1)
    assert v["overall"].value_recall == 0.75 and v["overall"].comparator_agreement == 0.5
    assert [e["gold"] for e in errors["value"]] == ["= 7"] and [e["gold"] for e in errors["comparator"]] == ["<1.5 x ULN"]
    # A value read under another label (an age limit LCT files as a time item) is found, but not as its kind.
    age_as_time = GoldItem("d", "time", 0, 10, "18 years or older", ">=", (18.0,), 365.25)
    v = value_scores([age_as_time], [Prediction("d", "AGE", 0, 17, "", ">=", 18, None, 18.0, None)])
    assert (v["time"].found, v["time"].agreed, v["time"].found_as_kind) == (1, 1, 0)


def test_lct_comparison_with_two_limits_gives_each_its_operator():
    text = "BMI ≥18,5 and ≤27,5"
    ann = "\n".join(["T1\tEq-Comparison 4 19\t≥18,5 and ≤27,5", "T2\tEq-Operator 4 5\t≥", "T3\tEq-Value 5 9\t18,5",
                     "T4\tEq-Operator 14 15\t≤", "T5\tEq-Value 15 19\t27,5", "T6\tEq-Operator 10 13\tand",
                     "E1\tEq-Comparison:T1 Operator:T2 Value:T3 Operator2:T4 Operator3:T6 Value2:T5",
                     "A1\tEq-Operator-Value T2 GTEQ", "A2\tEq-Operator-Value T4 LTEQ", "A3\tEq-Operator-Value T6 BETWEEN"])
    (g,) = [g for g in lct_gold(parse_ann(ann, text, "t")) if g.kind == "numeric"]
    assert (g.op, g.values, g.alternatives) == (">=", (18.5,), (("<=", (27.5,)),))
    upper = Prediction("t", "LAB", 14, 19, "≤27,5", "<=", 27.5, None, 27.5, None)
    assert agrees(upper, g) and not agrees(replace(upper, op=">="), g)


def test_gold_reads_a_decimal_comma_and_sets_tolerances_aside():
    # An LCT value is one annotated number: "18,5" is 18.5, "1,500" 1500.
    assert (number("18,5"), number("1,500"), number("0,75")) == (18.5, 1500.0, 0.75)
    text = "Weight stable (± 2 kg)"
    ann = "\n".join(["T1\tEq-Comparison 15 20\t± 2 k", "T2\tEq-Operator 15 16\t±", "T3\tEq-Value 17 18\t2",
                     "E1\tEq-Comparison:T1 Operator:T2 Value:T3", "A1\tEq-Operator-Value T2 PLUS-MINUS"])
    (g,) = [g for g in lct_gold(parse_ann(ann, text, "t")) if g.kind == "numeric"]
    assert (g.op, g.values, g.excluded) == ("+-", (2.0,), "tolerance")


@pytest.fixture(scope="module")
def result():
    lct, chia = need(DATA / "lct" / "dev"), need(DATA / "chia" / "dev")
    return evaluate_extraction(lct, chia)


@pytest.mark.parametrize("corpus, kind, precision, recall", [
    ("lct", "numeric", 0.94, 0.88),
    ("lct", "age", 0.96, 0.96),
    ("lct", "time", 0.94, 0.91),
    # The larger lexicon scores 40 more gold mentions (77 -> 117): P .625 -> .611, R .714 -> .778, F1 .667 -> .684;
    # on the 77 it scored before, P .625 -> .602 (inner mentions under "non-" read as negated).
    ("lct", "negation", 0.60, 0.70),
    ("chia", "numeric", 0.93, 0.89),
    ("chia", "age", 0.96, 0.95),
    ("chia", "time", 0.92, 0.95),
    ("chia", "negation+exc", 0.48, 0.86),
])
def test_scores_stay_above_their_floor(result, corpus, kind, precision, recall):
    s = result.corpora[corpus].scoped[kind]
    assert s.precision >= precision and s.recall >= recall, (corpus, kind, s.to_dict())


@pytest.mark.parametrize("corpus, value_recall, comparator_agreement, as_kind", [
    ("lct", 0.955, 0.97, 0.935),
    ("chia", 0.95, 0.98, 0.935),
])
def test_value_recall_and_comparator_agreement_stay_above_their_floor(result, corpus, value_recall,
                                                                       comparator_agreement, as_kind):
    v = result.corpora[corpus].values["overall"]
    assert v.value_recall >= value_recall and v.comparator_agreement >= comparator_agreement, (corpus, v.to_dict())
    assert v.value_recall_as_kind >= as_kind, (corpus, v.to_dict())
    if corpus == "lct":  # issue 14's target
        assert v.value_recall >= 0.95 and v.comparator_agreement >= 0.95


def test_targets_are_met(result):
    for corpus in ("lct", "chia"):
        num, age = result.corpora[corpus].scoped["numeric"], result.corpora[corpus].scoped["age"]
        assert num.precision >= 0.90 and num.recall >= 0.85
        assert age.precision >= 0.95 and age.recall >= 0.95


def test_result_reports_both_settings_and_the_exclusions(result):
    d = result.to_dict()
    json.dumps(d, default=list)
    lct = d["corpora"]["lct"]
    assert set(lct["excluded"]) == {"categorical", "count", "stage", "tolerance"}
    # Without the exclusions the numeric gold grows and recall falls; precision hardly moves.
    assert lct["all"]["numeric"]["gold"] > lct["scoped"]["numeric"]["gold"]
    assert lct["all"]["numeric"]["precision"] >= 0.9
    assert "numeric" in result.table() and "excluded" in result.table() and "value recall" in result.table()
    assert set(lct["values"]) == {"numeric", "age", "time", "overall"}
    assert lct["values"]["overall"]["gold"] == sum(lct["scoped"][k]["gold"] for k in ("numeric", "age", "time"))
    assert result.corpora["lct"].documents == 491 and result.corpora["chia"].documents == 1024


def test_benchmark_script_runs(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "extraction_eval.py"
    spec = importlib.util.spec_from_file_location("extraction_eval", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--lct", str(DATA / "lct" / "dev"), "--chia", "", "--json", "--limit", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "lct" in out["corpora"] and "chia" not in out["corpora"]
    assert mod.main(["--lct", "/nonexistent/dir"]) == 1

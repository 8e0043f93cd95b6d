"""Values and comparators of thresholds: the forms issue 14's value recall brought up, each tried
on several phrasings (criterion texts in the style of registry records)."""

from __future__ import annotations

import pytest

from trialqa.extraction import rules


def limits(text: str) -> list[tuple[str, str | None, float | None, float | None, str | None]]:
    return [(e.label, e.op, e.value, e.value2, e.unit) for e in rules().extract(text) if e.label != "CONDITION"]


@pytest.mark.parametrize("text, expected", [
    ("BMI ≥18,5 and ≤27,5", [("LAB", ">=", 18.5, None, None), ("LAB", "<=", 27.5, None, None)]),
    ("HbA1c = 6,5 % or fasting glucose > 7,0 mmol/L", [("LAB", "=", 6.5, None, "%"), ("LAB", ">", 7.0, None, "mmol/L")]),
    ("Temperature >38,0 °C", [("LAB", ">", 38.0, None, "°C")]),
    # Thousands keep their comma; a list of grades is no decimal.
    ("ANC ≥ 1,500/mm3", [("LAB", ">=", 1500.0, None, "/mm3")]),
    ("ECOG performance status 0,1 or 2", [("LAB", "between", 0.0, 2.0, None)]),
])
def test_decimal_comma(text, expected):
    assert limits(text) == expected


@pytest.mark.parametrize("text, value", [
    ("Bone mineral density T-score < -1", -1.0),
    ("T-score <-2.5 at the lumbar spine", -2.5),
    ("height SDS ≤ −2.0", -2.0),
])
def test_a_minus_after_a_comparator_is_a_sign(text, value):
    (e,) = [x for x in rules().extract(text) if x.label == "LAB"]
    assert e.value == value and e.op in ("<", "<=")


def test_a_hyphen_inside_a_unit_or_a_range_is_no_sign():
    assert ("LAB", ">=", -1.0, None, None) not in limits("eGFR <30ml•min-1•1.73m-2")
    assert limits("aged 18-65 years")[0][1:4] == ("between", 18.0, 65.0)


@pytest.mark.parametrize("text, op, lo, hi, unit", [
    ("Body weight between 50kg and 90kg", "between", 50.0, 90.0, "kg"),
    ("weight 50 kg to 90 kg", "between", 50.0, 90.0, "kg"),
    ("BMI between 18 kg/m2 and 30 kg/m2", "between", 18.0, 30.0, "kg/m2"),
    ("ulcer area between 0,25 cm² and 5,0 cm²", "between", 0.25, 5.0, "cm2"),
    ("ANC 1000/mm3 to 1500/mm3", "between", 1000.0, 1500.0, "/mm3"),
])
def test_a_range_whose_bounds_both_carry_the_unit(text, op, lo, hi, unit):
    assert limits(text) == [("LAB", op, lo, hi, unit)]


def test_different_units_on_two_values_make_no_range():
    assert [x[1] for x in limits("methotrexate 5 mg to 10 mg/kg")] == ["=", "="]


@pytest.mark.parametrize("text, op, value, days", [
    ("hives for ≥6 consecutive weeks prior to screening", ">=", 6.0, 42.0),
    ("treated over 4 consecutive days", ">", 4.0, 4.0),
    ("at least two successive years of therapy", ">=", 2.0, 730.5),
    ("no surgery within the 6 previous months", "<=", 6.0, 182.625),
    ("in the 5 preceding years", "<=", 5.0, 1826.25),
    ("a vaccine in the past half year", "<=", 0.5, 182.625),
    ("a washout of at least a 4-week period", ">=", 4.0, 28.0),
    ("after more than an 8-hour fast", ">", 8.0, 8 / 24),
])
def test_time_windows_with_a_qualifier_an_article_or_a_half(text, op, value, days):
    (e,) = [x for x in rules().extract(text) if x.label in ("TIME_WINDOW", "AGE")]
    assert (e.label, e.op, e.value) == ("TIME_WINDOW", op, value) and e.norm_value == pytest.approx(days, abs=1e-5)


def test_a_past_qualifier_points_back_from_now():
    (e,) = [x for x in rules().extract("a myocardial infarction in the 3 previous months") if x.label == "TIME_WINDOW"]
    assert (e.direction, e.anchor) == ("before", "now")


@pytest.mark.parametrize("text, op, value, value2", [
    ("IOL dioptre range: 18 to 27D", "between", 18.0, 27.0),
    ("Expected postoperative astigmatism ≤ 0.75D", "<=", 0.75, None),
    ("Myopia > 6D", ">", 6.0, None),
])
def test_a_capital_d_is_dioptres_not_days(text, op, value, value2):
    assert limits(text) == [("LAB", op, value, value2, "D")]
    assert limits("within 5 d of surgery")[0][:3] == ("TIME_WINDOW", "<=", 5.0)


@pytest.mark.parametrize("text, expected", [
    # The x ending a word is no multiplication sign: "index 20-30" is a range, "x 10^9" an exponent.
    ("body mass index 20-30 kg/m2", [("LAB", "between", 20.0, 30.0, "kg/m2")]),
    ("Body Mass Index 18-25kg/m2, body weight 40-65 kilograms",
     [("LAB", "between", 18.0, 25.0, "kg/m2"), ("LAB", "between", 40.0, 65.0, "kg")]),
    # A pressure pair before a full stop keeps its first figure.
    ("have a resting blood pressure of > 140/90.", [("LAB", ">", 140.0, None, None)]),
    # A range after "between" is not the numbered item of the word before it.
    ("a hemoglobin level at the screening visit between 9.5-13.5 g/dl", [("LAB", "between", 9.5, 13.5, "g/dL")]),
])
def test_values_the_reader_used_to_drop(text, expected):
    assert limits(text) == expected


def test_numbered_items_stay_out():
    assert limits("Visit 2 hemoglobin") == []
    assert limits("the index case") == []
    assert limits("half of the patients") == []


@pytest.mark.parametrize("text, op", [
    ("diagnosed with dementia 12 months ago or less;", "<="),
    ("onset of symptoms 3 years ago or more", ">="),
])
def test_a_comparator_after_ago(text, op):
    (e,) = [x for x in rules().extract(text) if x.label == "TIME_WINDOW"]
    assert (e.op, e.direction, e.anchor) == (op, "before", "now")


@pytest.mark.parametrize("text", [
    "All birth between 24 + 0 weeks of amenorrhea",  # gestational age written weeks + days
    "Gleason score 3+4",
])
def test_the_terms_of_a_sum_are_no_limits(text):
    assert limits(text) == []


def test_a_plus_after_a_number_is_still_or_more():
    assert limits("Age 18+ years") == [("AGE", ">=", 18.0, None, "years")]
    assert limits("proteinuria 2+ or more")[0][1:3] == (">=", 2.0)


def test_an_analyte_named_after_its_value_with_in_or_of():
    from trialqa.extraction import rules

    # NCT00460564: "≥40kg in weight at the start of double-blind phase"
    got = [(e.analyte, e.op, e.value) for e in rules().extract("≥40kg in weight at the start of the study", "inclusion") if e.label == "LAB"]
    assert got == [("body weight", ">=", 40.0)]

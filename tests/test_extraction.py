"""Criteria entity extraction, one kind at a time, on wording copied from real records.

Each example names the record it comes from (LCT and Chia dev sets, the derm XML subset, the
NSCLC API v2 set, the seeds). Values are what the text states, checked by hand.
"""

from __future__ import annotations

import copy
import json

import pytest

from trialqa import ConfigError, QueryError, extract_criteria, lexicons
from trialqa.extraction import CriterionEntity, Gazetteer, Rules, ages_from_criteria, convert, rules

from .conftest import DATA, need

REAL_LOAD = lexicons.load  # before any test replaces it


def of(text: str, label: str) -> list[CriterionEntity]:
    return [e for e in rules().extract(text) if e.label == label]


def one(text: str, label: str) -> CriterionEntity:
    found = of(text, label)
    assert len(found) == 1, (text, [(e.label, e.text, e.op, e.value) for e in rules().extract(text)])
    return found[0]


# --- AGE -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, op, value, value2", [
    ("Age ≥ 18, male or female;", ">=", 18, None),  # NCT03860038 (LCT)
    ("Patients aged between 18 and 70 years.", "between", 18, 70),  # LCT dev
    ("Patient 18 years old or more", ">=", 18, None),  # LCT dev
    ("Men >50-year-old", ">", 50, None),  # LCT dev
    ("Any patient ≥18 who presents for a colonoscopy", ">=", 18, None),  # LCT dev
    ("those who are under the age of 18 at the start of the study.", "<", 18, None),  # LCT dev
    ("Adults (ages 18-65), current service users", "between", 18, 65),  # LCT dev
    ("Subjects aged 12-65.", "between", 12, 65),  # Chia NCT00718952
    ("Age＜18 years, or age＞80 years.", "<", 18, None),  # LCT dev (full-width signs)
    ("Female subjects aged =/> 18 years and of reproductive age.", ">=", 18, None),  # Chia dev
    ("Negative pregnancy test if female and less then 60 y/o;", "<", 60, None),  # LCT dev
    ("Patients aged from 18 to 75 years-old", "between", 18, 75),  # seed 000 (MSC, AP-HP)
])
def test_age_limits(text, op, value, value2):
    e = of(text, "AGE")[0]
    assert (e.op, e.value, e.value2) == (op, value, value2)
    assert e.norm_unit == "years"


def test_age_in_months_is_normalized_to_years():
    # NCT03860142 (LCT): both limits of "age ≥ 24 months and ≤ 36 months" are ages.
    ages = of("Children whose age ≥ 24 months and ≤ 36 months", "AGE")
    assert [(e.op, e.value, e.unit, e.norm_value) for e in ages] == [(">=", 24, "months", 2.0), ("<=", 36, "months", 3.0)]


def test_coordinated_limits_share_the_age_reading():
    # LCT dev: "Patients under 40 or over 60 years of age", "age ≥18 and < 65 years"
    assert [(e.op, e.value) for e in of("Patients under 40 or over 60 years of age who require", "AGE")] == [("<", 40), (">", 60)]
    assert [(e.op, e.value) for e in of("age ≥18 and < 65 years", "AGE")] == [(">=", 18), ("<", 65)]


def test_a_bare_years_criterion_is_an_age_but_a_duration_is_not():
    assert one("< 60 years", "AGE").op == "<"  # LCT dev: a whole exclusion criterion
    # NCT03862924 (LCT): smoking history, not an age.
    assert not of("smoke at least 5 cigarettes per day for longer than one year", "AGE")
    tw = one("smoke at least 5 cigarettes per day for longer than one year", "TIME_WINDOW")
    assert (tw.op, tw.value, tw.unit) == (">", 1, "years")


def test_gestational_age_is_not_the_participants_age():
    # LCT dev: "gestational age < 36 weeks"
    assert not of("gestational age < 36 weeks", "AGE")
    assert one("gestational age < 36 weeks", "TIME_WINDOW").value == 36


def test_ages_from_criteria_reads_inclusion_limits():
    class C:
        def __init__(self, text):
            self.text, self.section, self.entities = text, "inclusion", []

    class T:
        inclusion = [C("Patients aged from 18 to 75 years-old"), C("Written consent")]

    lo, hi = ages_from_criteria(T())
    assert (lo.years, hi.years, lo.inclusive, hi.inclusive, lo.source) == (18, 75, True, True, "criteria")


# --- TIME_WINDOW -----------------------------------------------------------------------------------

def test_window_before_an_anchor():
    # NCT03860038 (LCT)
    e = one("subject has received autologous stem cell transplant within 3 months before administration "
            "of the study agent;", "TIME_WINDOW")
    assert (e.op, e.value, e.unit, e.norm_value, e.direction, e.anchor) == ("<=", 3, "months", 91.3125, "before", "treatment start")


def test_window_prior_to_the_first_dose():
    # Chia NCT00650312 (exclusion)
    e = one("Use of any medication known to alter hepatic enzyme activity within 28 days prior to the initial "
            "dose of study medication.", "TIME_WINDOW")
    assert (e.op, e.value, e.unit, e.direction, e.anchor) == ("<=", 28, "days", "before", "treatment start")


def test_window_in_the_past_with_a_word_number():
    # NCT03924999 (LCT): "within the last three months"
    e = one("Subject did not participate in any exercise program within the last three months.", "TIME_WINDOW")
    assert (e.op, e.value, e.unit, e.direction, e.anchor) == ("<=", 3, "months", "before", "now")
    # seed 000 (MSC): "within the past ten years"
    e = one("History of malignant disease within the past ten years and or presence of metastasis", "TIME_WINDOW")
    assert (e.value, e.unit, e.direction, e.anchor) == (10, "years", "before", "now")


def test_window_hyphenated_and_future():
    # NCT03861650 (LCT): "within the past 12-month"; NCT03863535 (LCT): "within the next 28 days"
    e = one("hospitalization within the past 12-month", "TIME_WINDOW")
    assert (e.op, e.value, e.unit, e.anchor) == ("<=", 12, "months", "now")
    e = one("surgery planned within the next 28 days", "TIME_WINDOW")
    assert (e.op, e.value, e.direction) == ("<=", 28, "after")


def test_window_after_study_entry_anchor_and_minimum_duration():
    # NCT03927885 (LCT)
    e = one("he/she must have had no major dose change (> 25%) for at least 48 hours prior to study entry.", "TIME_WINDOW")
    assert (e.op, e.value, e.unit, e.norm_value, e.direction, e.anchor) == (">=", 48, "hours", 2.0, "before", "inclusion")


def test_life_expectancy_with_a_restated_number():
    # Chia NCT00050349: "greater than three (3) months"
    e = one("Must have a life expectancy of greater than three (3) months", "TIME_WINDOW")
    assert (e.op, e.value, e.unit) == (">", 3, "months")


# --- PERCENT ---------------------------------------------------------------------------------------

def test_percent_of_body_surface_area():
    # NCT00005922 (derm XML subset)
    e = one("Patients who have more than 10 percent of body surface area covered by psoriatic plaques", "PERCENT")
    assert (e.op, e.value, e.analyte) == (">", 10, "body surface area")


def test_percent_lab_keeps_its_analyte():
    # Chia dev: "LVEF less than or equal to (=<) 40 percent (%)"
    e = one("left ventricular ejection fraction (LVEF) less than or equal to (=<) 40 percent (%)", "LAB")
    assert (e.op, e.value, e.unit, e.analyte) == ("<=", 40, "%", "ejection fraction")


# --- LAB -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, op, value, unit", [
    ("PMNs < 1,500 /mm3 on CBC at inclusion visit.", "<", 1500, "/mm3"),  # seed 004 (NCT07110662)
    ("Pre-existent neutropenia (neutrophils <1,500/mm3) or thrombocytopenia", "<", 1500, "/mm3"),  # Chia NCT01373684
    ("Absolute neutrophil count <1500 cells/mm3 at Screening.", "<", 1500, "/mm3"),  # NCT03922321 (LCT)
    ("Neutrophils ≥1.5 x 109/L.", ">=", 1.5, "10^9/L"),  # Chia NCT02733159
    ("adequate hematological function: absolute neutrophil count (ANC) at least 2×10^9/L", ">=", 2, "10^9/L"),  # Chia NCT02804646
])
def test_neutrophil_synonyms_and_units_meet(text, op, value, unit):
    e = one(text, "LAB")
    assert (e.analyte, e.op, e.value, e.unit) == ("neutrophils", op, value, unit)
    assert e.norm_unit == "10^9/L"
    assert e.norm_value == pytest.approx(value / 1000 if unit == "/mm3" else value)


def test_creatinine_in_molar_and_mass_units():
    # Chia NCT02630628: "serum creatinine >300 micromol/L (3.39 mg/dL)" - the same limit twice.
    labs = of("serum creatinine >300 micromol/L (3.39 mg/dL) at screening.", "LAB")
    assert [(e.op, e.value, e.unit) for e in labs] == [(">", 300, "µmol/L"), (">", 3.39, "mg/dL")]
    assert labs[0].norm_value == pytest.approx(3.39, abs=0.01) and labs[0].norm_unit == "mg/dL"
    # NCT03923816 (LCT): "μmol/l" with a Greek mu
    e = one("Renal insufficiency (serum creatinine level more than 180 μmol/l).", "LAB")
    assert (e.analyte, e.norm_value) == ("creatinine", pytest.approx(2.04, abs=0.01))


def test_unit_conversion_helper():
    r = rules().units
    assert convert("creatinine", 1.0, None, "mg/dL", r) == (1.0, None, "mg/dL")
    assert convert("creatinine", 88.4, None, "µmol/L", r)[0] == pytest.approx(1.0, abs=0.001)
    assert convert("platelets", 100_000, None, None, r) == (100.0, None, "10^9/L")  # bare count read in /mm3
    assert convert("glucose", 7.0, 11.1, "mmol/L", r)[:2] == (pytest.approx(126.1, abs=0.1), pytest.approx(200, abs=0.1))


@pytest.mark.parametrize("text, analyte, op, value", [
    ("total bilirubin <1.5 X ULN;", "bilirubin", "<", 1.5),  # Chia NCT00050349
    ("Current renal (creatinine>2x upper limit of normal (ULN), dialysis, kidney transplant)", "creatinine", ">", 2),  # Chia NCT01715714
    ("Abnormal hepatic function (liver function test > twice the normal range)", None, ">", 2),  # Chia dev
])
def test_multiples_of_uln_are_kept_as_stated(text, analyte, op, value):
    e = one(text, "LAB")
    assert (e.op, e.value, e.unit, e.norm_value, e.norm_unit) == (op, value, "x ULN", value, "x ULN")
    assert analyte is None or e.analyte == analyte


def test_threshold_on_a_measure_no_lexicon_names():
    # NCT03860753 (LCT), NCT03865056 (LCT)
    e = one("must screen positive for PHQ-9 score >4 (positive symptoms)", "LAB")
    assert (e.op, e.value, e.analyte) == (">", 4, None)
    e = one("respiratory rate > 25 breaths/minute", "LAB")
    assert (e.op, e.value, e.unit) == (">", 25, "breaths/min")


def test_grades_scores_and_pressures():
    # Chia dev: "ECOG Performance Status of 0 or 1", "Performance status: 0, 1 or 2"
    e = one("ECOG Performance Status of 0 or 1.", "LAB")
    assert (e.analyte, e.op, e.value, e.value2) == ("ECOG performance status", "between", 0, 1)
    assert one("WHO (World Health organization) Performance status: 0, 1 or 2", "LAB").value2 == 2
    # NCT03860038 (LCT): "0~2"
    assert one("ECOG performance status score of 0~2;", "LAB").value2 == 2
    # Chia dev: a systolic/diastolic pair keeps the systolic figure; "x/10" is a score out of ten
    e = one("Resistant hypertension, defined as BP > 140/90, despite the use of three", "LAB")
    assert (e.analyte, e.op, e.value) == ("blood pressure", ">", 140)
    assert one("Presence of fatigue of >= 4/10 on Edmonton Symptom Assessment System", "LAB").value == 4
    # LCT dev: ">= grade 2" puts the comparator before the scale's name
    assert one("Persistent, unresolved NCI CTCAE v4.0 ≥ Grade 2, previous drug-related toxicity", "LAB").op == ">="


def test_numbers_that_are_not_limits():
    assert not [e for e in rules().extract("HIV/HCV co-infected subjects (n=12) must also have") if e.value is not None]  # Chia dev
    assert not of("pain >5 (0-10 scale)", "LAB")[1:]  # the scale's range is not a limit
    assert not of("Type 2 diabetes", "LAB") and not of("Cycle 1 Day 1", "LAB")
    assert not of("Articles L. 1121-5 to L. 1121-8", "LAB")  # Chia dev: law articles


def test_bounds_and_admits():
    e = one("Platelets > 100,000/mm3", "LAB")
    assert e.bounds() == (100.0, False, None, False)
    assert e.admits(150) is True and e.admits(100) is False
    r = one("Body Mass Index between 18.5 and 35 kg/m^2", "LAB")  # LCT dev
    assert (r.op, r.value, r.value2, r.unit) == ("between", 18.5, 35, "kg/m2")
    assert r.admits(35) is True and r.admits(36) is False
    assert CriterionEntity("CONDITION", "x", 0, 1).admits(1) is None


# --- DOSE ------------------------------------------------------------------------------------------

def test_dose_with_route():
    # NCT03865589 (LCT)
    doses = of("Busulfan (Total dose > 7.2 mg/kg IV or >9.0mg/kg orally) + Cyclophosphamide", "DOSE")
    assert [(e.op, e.value, e.unit, e.route) for e in doses] == [(">", 7.2, "mg/kg", "intravenous"), (">", 9.0, "mg/kg", "oral")]


def test_dose_with_frequency():
    # Chia NCT02765217
    e = one("Children receiving amoxicilline-clavulanic acid (50-90 mg/kg/day, twice daily) due to acute otitis", "DOSE")
    assert (e.op, e.value, e.value2, e.unit, e.frequency) == ("between", 50, 90, "mg/kg/day", "twice daily")
    # seed 004 (NCT07110662): "a single intravenous infusion" of 16 mg/kg
    e = one("DARATUMUMAB 16 mg/kg in a single intravenous infusion", "DOSE")
    assert (e.value, e.unit, e.route) == (16, "mg/kg", "intravenous")


# --- CONDITION -------------------------------------------------------------------------------------

def concepts(text: str) -> set[str]:
    return {e.concept for e in of(text, "CONDITION")}


def test_condition_synonyms():
    # Chia NCT02041299: "cardiac failure" is heart failure
    assert "heart failure" in concepts("Myocardial infarction, cardiac arrest or cardiac failure within 1 year before screening")
    # NCT03860038 (LCT): "allogenic" spelled without the e
    assert rules().concept_lookup("allogenic stem cell transplant") == rules().concept_lookup("allogeneic stem cell transplant")
    assert rules().concept_lookup("allogenic stem cell transplant") is not None
    # seeds: TEN, NET and Lyell syndrome are one concept
    for text in ("toxic epidermal necrolysis (TEN)", "drug-induced NET would", "LYell SYndrome"):
        assert "toxic epidermal necrolysis" in concepts(text), text
    assert "Stevens-Johnson syndrome" in concepts("Patient with confirmed SJS-TEN diagnosis")


def test_short_capitals_need_capitals():
    assert "toxic epidermal necrolysis" not in concepts("ten patients were seen")
    assert "toxic epidermal necrolysis" not in concepts("a net benefit")


# --- negation, hedges, exceptions ------------------------------------------------------------------

def neg(text: str, concept: str) -> CriterionEntity:
    return next(e for e in rules().extract(text) if e.label == "CONDITION" and e.concept == concept)


def test_negation_triggers():
    assert neg("No history of lung diseases", "lung disease").negated  # NCT03865121 (LCT)
    assert neg("Are negative for human immunodeficiency virus (HIV) infection at screening", "HIV infection").negated  # Chia NCT02788045
    assert neg("don't have heart disease", "heart disease").negated  # Chia dev
    assert neg("Male and non-pregnant, non-lactating female", "pregnancy").negated  # Chia dev
    assert not neg("Male and non-pregnant, non-lactating female", "women").negated


def test_prefix_and_pseudo_negation():
    # LCT dev: "non-small cell lung cancer" is a cancer, not its absence
    assert not neg("Histologically or cytologically confirmed non-small cell lung cancer.", "lung cancer").negated
    # LCT dev: "including but not limited to"
    assert not neg("including but not limited to brain surgery, special education", "surgery").negated
    # Chia dev: "negative serum pregnancy test" means pregnancy is absent, which is what eligibility needs
    assert neg("Female patients must have a negative serum pregnancy test at screening.", "pregnancy").negated
    # seed NCT07110662: a negative screening negates the infection it screens for
    assert neg("Negative hepatitis B screening (HBs, anti HBs and HBc).", "hepatitis B").negated
    # ... but "negative" before a disease name with no test is a subtype: triple negative breast cancer
    assert not neg("Triple negative breast cancer", "breast cancer").negated


def test_exceptions_and_hedges():
    # Chia NCT00050349: "unless" puts what follows in an exception, which is also a hedge
    ents = rules().extract("Patients with known brain metastases, unless these metastases have been treated with radiation")
    rt = next(x for x in ents if x.concept == "radiotherapy")
    assert rt.excepted and rt.hedged and not rt.negated
    assert not next(x for x in ents if x.concept == "brain metastases").excepted
    # Chia dev: the exception ends with its brackets
    ents = rules().extract("Patients with a history of an untreated malignancy (except local skin cancers) or HIV")
    assert [(x.text, x.excepted) for x in ents if x.label == "CONDITION"] == [
        ("malignancy", False), ("skin cancers", True), ("cancers", True), ("HIV", False)]
    # Chia NCT02519777-style list after "except": every item is excepted
    ents = rules().extract("History of cancer, except Stage 1 cervix or nonmelanotic skin cancer or HIV")
    assert next(x for x in ents if x.concept == "HIV infection").excepted
    assert neg("suspected infection", "infection").hedged and not neg("suspected infection", "infection").negated


def test_negation_stays_in_its_clause():
    ents = rules().extract("No prior chemotherapy; radiotherapy allowed")
    assert neg("No prior chemotherapy; radiotherapy allowed", "chemotherapy").negated
    assert not next(x for x in ents if x.concept == "radiotherapy").negated


# --- contract --------------------------------------------------------------------------------------

def test_public_contract_and_polarity():
    text = ("Inclusion Criteria:\n- Age 18 years or older\nExclusion Criteria:\n"
            "- PMNs < 1,500 /mm3 on CBC at inclusion visit.\n- Pregnancy")
    ents = extract_criteria(text)
    age = next(e for e in ents if e.label == "AGE")
    lab = next(e for e in ents if e.label == "LAB")
    assert age.polarity == "inclusion" and lab.polarity == "exclusion"
    for e in ents:
        assert text[e.start:e.end] == e.text
        d = e.to_dict()
        for key in ("label", "text", "start", "end", "op", "value", "value2", "unit", "norm_value", "norm_unit",
                    "analyte", "concept", "anchor", "negated"):
            assert key in d
        json.dumps(d)
    assert extract_criteria("PMNs < 1,500 /mm3", polarity="exclusion")[0].polarity == "exclusion"
    with pytest.raises(QueryError):
        extract_criteria(b"bytes")  # type: ignore[arg-type]


def test_gazetteer_matches_across_hyphens_and_case():
    g = Gazetteer()
    g.add("breast feeding", "bf")
    g.add("TEN", "ten", case_sensitive=True)
    assert [v for *_, v in g.find("Breast-feeding or TEN")] == ["bf", "ten"]
    assert g.find("ten") == []


def with_lexicon(monkeypatch, which: str, change) -> None:
    """Make ``lexicons.load(which)`` return ``change(copy of the real data)``, validated like the file
    (replacing any earlier change)."""
    monkeypatch.setattr(lexicons, "load", lambda name: lexicons.validate(name, change(copy.deepcopy(REAL_LOAD(name))))
                        if name == which else REAL_LOAD(name))


def test_bad_lexicon_is_a_config_error(monkeypatch):
    with_lexicon(monkeypatch, "comparators", lambda data: {k: v for k, v in data.items() if k != "age_cues"})
    with pytest.raises(ConfigError):
        Rules()
    with_lexicon(monkeypatch, "comparators", lambda data: {**data, "before": {**data["before"], "≈": ["about"]}})
    with pytest.raises(ConfigError, match="comparators.json: unknown key 'before.≈'"):
        Rules()


@pytest.mark.slow
def test_every_criterion_of_the_nsclc_set_extracts_cleanly():
    """Real criteria in API v2 form: extraction never fails and spans point at their text."""
    studies = json.loads(need(DATA / "ctgov" / "api_v2_nsclc_100.json").read_text("utf-8"))
    r = rules()
    n_age = 0
    for s in studies:
        text = s["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria", "")
        for line in text.splitlines():
            for e in r.extract(line):
                assert line[e.start:e.end] == e.text and e.start < e.end
                if e.label == "AGE":
                    n_age += 1
                    assert 0 <= e.norm_value <= 120
    assert n_age >= 50


# --- units whose superscript was lost, case-sensitive units, weights, coordination ---------------

@pytest.mark.parametrize("text, analyte, op, value, norm", [
    # ctgov XML (NCT00001371, NCT00005571): the exponent printed as "(3)", the slash sometimes dropped
    ("granulocytes greater than 1500/mm(3)", "neutrophils", ">", 1500, 1.5),
    ("platelets greater than or equal to 100,000 mm(3)", "platelets", ">=", 100000, 100),
    # NCT02179567: "10^9/L" printed as "109 /L"
    ("Neutrophil count more than 1.5x 109 /L", "neutrophils", ">", 1.5, 1.5),
    ("ANC >= 1.5 G/L", "neutrophils", ">=", 1.5, 1.5),
])
def test_counts_with_lost_superscripts(text, analyte, op, value, norm):
    e = one(text, "LAB")
    assert (e.analyte, e.op, e.value, e.norm_value, e.norm_unit) == (analyte, op, value, norm, "10^9/L")


def test_grams_per_litre_are_not_giga_per_litre():
    # NCT04646330: "Albumin ≥28g/L" is 2.8 g/dL, not 28 x 10^9/L
    e = one("Albumin ≥28g/L", "LAB")
    assert (e.unit, e.norm_value, e.norm_unit) == ("g/L", 2.8, "g/dL")


def test_weights_in_grams_are_body_weights_not_doses():
    # NCT00006132 (neonatal HSV): "Birth weight at least 800 grams"
    e = one("Birth weight at least 800 grams", "LAB")
    assert (e.analyte, e.op, e.norm_value, e.norm_unit) == ("body weight", ">=", 0.8, "kg")
    assert not of("Birth weight at least 800 grams", "DOSE")


def test_negation_spreads_over_coordinated_concepts():
    # NCT00001818: both conditions are what the patient must not have had
    ents = rules().extract("Patients must not have a history of erythema multiforme or Stevens Johnson Syndrome "
                           "attributable to stauvudine, didanosine or nonnucleoside RTI.")
    by = {e.concept: e.negated for e in ents if e.label == "CONDITION"}
    assert by["erythema multiforme"] and by["Stevens-Johnson syndrome"]
    assert not by["NNRTI"]  # the cause is not negated
    # LCT dev NCT03929718: a verb phrase between the two breaks the list
    ents = rules().extract("unwilling not to become pregnant and to use birth control while taking spironolactone")
    assert not next(e for e in ents if e.concept == "contraception").negated


def test_drug_classes_reach_their_parents():
    from trialqa.answering import ancestors

    ents = rules().extract("At least 8 weeks since nitrosoureas (e.g., lomustine, carmustine, mitomycin)")
    assert {e.concept for e in ents if e.label == "CONDITION"} >= {"nitrosoureas", "alkylating agents"}
    assert "chemotherapy" in ancestors("nitrosoureas")
    assert {"leukemia", "malignancy"} <= ancestors("chronic lymphocytic leukemia")


def test_x_is_times_in_multiples_of_uln():
    # API v2 NCT04318938: "1.5x the upper limit of the normal range", written as "times" in the lexicon
    e = one("Total bilirubin ≤1.5x the upper limit of the normal range (ULN)", "LAB")
    assert (e.analyte, e.op, e.value, e.unit) == ("bilirubin", "<=", 1.5, "x ULN")


# --- limits against a reference with no number; limits over coordinated analytes -----------------

@pytest.mark.parametrize("text, analyte, op", [
    ("total bilirubin ≤ institutional upper limit of normal (ULN)", "bilirubin", "<="),  # NSCLC NCT05773092
    ("serum creatinine less than or equal to the upper limit of normal", "creatinine", "<="),
    ("activated partial thromboplastin time greater than the upper limit of normal", "partial thromboplastin time", ">"),  # LCT NCT03925298
    ("s-TSH below upper normal limit", "TSH", "<"),  # LCT NCT03926585
    ("Bilirubin > ULN", "bilirubin", ">"),
])
def test_comparator_before_a_reference_is_one_times_it(text, analyte, op):
    e = one(text, "LAB")
    assert (e.analyte, e.op, e.value, e.unit) == (analyte, op, 1.0, "x ULN")
    assert text[e.start:e.end] == e.text
    assert "upper" in e.text.lower() or "ULN" in e.text


def test_reference_limits_need_an_analyte_and_leave_stated_multiples_alone():
    assert not of("No more than the upper limit of normal", "LAB")  # a limit of nothing named
    assert not of("bilirubin within normal institutional limits", "LAB")  # no comparator: no number
    e = one("ALT ≤ 2.5 x ULN", "LAB")
    assert (e.value, e.unit) == (2.5, "x ULN")


def test_a_limit_after_coordinated_analytes_holds_for_each():
    # NSCLC NCT05773092 and NCT02778893 (markdown-escaped comparator)
    for text, limit in [("AST(SGOT)/ALT(SGPT) ≤3 × institutional ULN", 3.0),
                        (r"Aspartate transaminase (AST)/Alanine aminotransferase (ALT) \<2.5 times institutional upper "
                         "limit of normal", 2.5),
                        ("Serum creatinine, AST, ALT ≤ 2 x ULN", 2.0)]:
        labs = of(text, "LAB")
        assert {"AST", "ALT"} <= {e.analyte for e in labs}, text
        assert all(e.value == limit and e.unit == "x ULN" and e.text == labs[0].text for e in labs)
    # Separate limits stay separate: the platelet limit is not the hemoglobin one.
    labs = of("platelets ≥ 100,000/mm3, hemoglobin ≥ 9 g/dL", "LAB")
    assert sorted((e.analyte, e.value) for e in labs) == [("hemoglobin", 9.0), ("platelets", 100000.0)]


def test_analyte_groups_relate_members():
    r = rules()
    assert r.related_analytes(["AST"]) == {"AST", "transaminases"}
    assert r.related_analytes(["transaminases"]) == {"AST", "ALT", "transaminases"}
    assert r.related_analytes(["bilirubin"]) == {"bilirubin"}


@pytest.mark.slow
def test_reference_limits_on_real_records(xml_6786_dir):
    """Every '<= ULN'-style limit (no number) after a named analyte is read, in the 100 API v2
    records and the criteria of 3,000 legacy XML records."""
    import re
    import xml.etree.ElementTree as ET

    studies = json.loads(need(DATA / "ctgov" / "api_v2_nsclc_100.json").read_text("utf-8"))
    texts = [s["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria", "") for s in studies]
    texts += [ET.parse(f).getroot().findtext("eligibility/criteria/textblock") or ""
              for f in sorted(xml_6786_dir.rglob("*.xml"))[:3000]]
    rx = re.compile(r"(?:≤|<=|=<|less than or equal to|no greater than|not greater than|below|<)\s*(?:the\s+)?"
                    r"(?:institutional\s+)?(?:ULN|upper limit of normal)\b"
                    r"(?!\s*(?:[x×*+]|times)\s*\d)", re.I)
    r, seen = rules(), 0
    for text in texts:
        text = re.sub(r"\s+", " ", text)  # legacy XML wraps lines inside criteria
        found = [m for m in rx.finditer(text) if r.find_analyte(text, m.start(), m.end())]
        if not found:
            continue
        labs = [e for e in r.extract(text) if e.label == "LAB" and e.value == 1.0 and e.unit == "x ULN"]
        for m in found:
            seen += 1
            assert any(e.start <= m.start() < e.end for e in labs), text[max(0, m.start() - 80):m.end()]
    assert seen >= 10


def test_a_reference_with_arithmetic_is_not_one_times_it():
    # ctgov XML: "prothrombin time (PT) > ULN + 4 seconds" is not PT > 1 x ULN
    for text in ("prothrombin time (PT) > ULN + 4 seconds", "Bilirubin <= ULN x 1.5"):
        assert not [e for e in of(text, "LAB") if e.value == 1.0 and e.unit == "x ULN"], text


def test_coordinated_copies_convert_in_their_own_analyte():
    labs = {e.analyte: e for e in of("Bilirubin or creatinine > 50 µmol/L", "LAB")}
    assert labs["creatinine"].norm_value == pytest.approx(0.566, abs=0.01)
    assert labs["bilirubin"].norm_value == pytest.approx(2.92, abs=0.01)  # 50 µmol/L of bilirubin, not creatinine


# --- plausibility of lab limits ---------------------------------------------------------------------

@pytest.mark.parametrize("text, implausible", [
    ("absolute neutrophil count>1,500/mL", True),  # NSCLC NCT02778893: /mL for /uL
    ("hemoglobin at least 9 mg/dL", True),  # ctgov XML (several records): mg/dL for g/dL
    ("ANC >= 1500/mm3", False),
    ("hemoglobin at least 9 g/dL", False),
    ("Hemoglobin ≥ 90 g/L", False),
    ("bilirubin <= 1.5 x ULN", False),  # relative units say nothing about size
    ("WBC > 100 x 10^9/L", False),  # leukaemia trials set high counts
])
def test_implausible_limits_are_flagged(text, implausible):
    assert rules().implausible(one(text, "LAB")) is implausible


def test_a_bare_count_is_read_in_the_plausible_unit():
    # ctgov XML: "platelets at least 100" (thousands per mm3) and "platelets at least 100,000" (per mm3)
    for text in ("platelets at least 100", "platelets at least 100,000"):
        e = one(text, "LAB")
        assert (e.norm_value, e.norm_unit) == (100.0, "10^9/L"), text


def test_plausible_ranges_and_groups_are_validated(monkeypatch):
    def swap(field, value):
        return lambda data: {**data, "analytes": [{**a, field: value} if a["name"] == "platelets" else a
                                                  for a in data["analytes"]]}

    with_lexicon(monkeypatch, "analytes", swap("plausible", [5, 1]))
    with pytest.raises(ConfigError, match="plausible"):
        Rules()
    with_lexicon(monkeypatch, "analytes", swap("members", ["no such analyte"]))
    with pytest.raises(ConfigError, match="unknown member"):
        Rules()


@pytest.mark.slow
def test_few_limits_of_the_nsclc_set_are_implausible():
    studies = json.loads(need(DATA / "ctgov" / "api_v2_nsclc_100.json").read_text("utf-8"))
    r, labs, flagged = rules(), 0, []
    for s in studies:
        nct = s["protocolSection"]["identificationModule"]["nctId"]
        for line in s["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria", "").splitlines():
            for e in r.extract(line):
                if e.label == "LAB" and r.analytes.get(e.analyte, {}).get("plausible"):
                    labs += 1
                    if r.implausible(e):
                        flagged.append((nct, e.analyte, e.text))
    assert labs >= 100
    assert ("NCT02778893", "neutrophils", ">1,500/mL") in flagged
    assert len(flagged) <= 0.03 * labs, flagged


def test_an_abbreviation_inside_a_phrase_does_not_break_it():
    # NSCLC NCT04646330: "Has known active central nervous system (CNS) metastases"
    ents = rules().extract("Has known active central nervous system (CNS) metastases;")
    bm = [e for e in ents if e.concept == "brain metastases"]
    assert bm and bm[0].text == "central nervous system (CNS) metastases"
    # Only a short token with a capital, between two words: "(see below)" or a trailing "(ILD)" is not skipped.
    assert not [e for e in rules().extract("central nervous system (see below) metastases") if e.concept == "brain metastases"]


def test_targeted_therapy_classes():
    from trialqa.answering import ancestors

    # NSCLC NCT02795884 (exclusion): the drugs name the class
    ents = rules().extract("Previous treatment to inhibit the human epidermal growth factor receptor (EGFR) "
                           "(e.g. erlotinib, gefitinib, cetuximab, trastuzumab, etc.)")
    assert "EGFR tyrosine kinase inhibitor" in {e.concept for e in ents}
    assert {"tyrosine kinase inhibitor", "targeted therapy"} <= ancestors("EGFR tyrosine kinase inhibitor")
    assert "ALK inhibitor" in {e.concept for e in rules().extract("Prior treatment with crizotinib or other ALK TKIs")}

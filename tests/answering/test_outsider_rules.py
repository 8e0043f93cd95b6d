"""The general rules the outsiders' questions called for, checked on XML records of the shared
tarball that are not among the 40 those questions are about (fake encoder)."""

from __future__ import annotations

import pytest

from tests.answering.tarball import extract_records
from tests.fakes import HashingEncoder
from trialqa.answering import analyse
from trialqa.answering.fields import detect_field, sentence_around
from trialqa.extraction import rules

MEMBERS = ("NCT00001890", "NCT00009581", "NCT00003662", "NCT00004177", "NCT00490737", "NCT00491400",
           "NCT00498251", "NCT00494117", "NCT00494663", "NCT00494312")


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    from trialqa.qa import TrialQA

    out = extract_records(tmp_path_factory.mktemp("outsider_rules"), MEMBERS)
    return TrialQA.load(out, tmp_path_factory.mktemp("idx"), encoder=HashingEncoder())


def cited(a, *words):
    return any(all(w.lower() in c.text.lower() for w in words) for c in a.citations)


@pytest.mark.parametrize("question, values, evidence", [
    # A group name stands for its members: lipids are cholesterol and triglycerides, ...
    ("Which lipid levels qualify for NCT00009581?", ["160", "500"], ["triglycerides greater than 500"]),
    # ... lung function is FEV1 and DLCO, body size is weight and BMI.
    ("What are the lung function requirements of NCT00003662?", ["60"], ["FEV1 at least 60%"]),
    ("Pulmonary function thresholds for NCT00004177?", ["70"], ["DLCO at least 70%"]),
    ("What are the body size limits for NCT00490737?", ["18.5", "40"], ["Body Mass Index (BMI) < 18.5"]),
    # Estradiol, C-peptide and alcohol intake are measured quantities with limits.
    ("What estradiol level is required in NCT00001890?", ["50 pg"], ["plasma estradiol less than 50"]),
    ("What C-peptide level does NCT00494312 require?", ["0.7"], ["C-peptide level greater than or equal to 0.7"]),
    ("What fasting C-peptide does NCT00494663 require?", ["0.33"], ["C-peptide level of"]),
    ("What alcohol consumption excludes patients from NCT00494117?", ["80"], ["Alcohol consumption > 80g/day"]),
    ("What daily alcohol intake rules a patient out of NCT00498251?", ["60"], ["alcohol consumption (>60g/day)"]),
])
def test_measured_quantities_and_their_groups(qa, question, values, evidence):
    a = qa.ask(question)
    assert a.found and a.intent == "criteria", (question, a.text)
    for v in values:
        assert v in a.text, (question, v, a.text)
    for e in evidence:
        assert cited(a, e), (question, e, [c.text for c in a.citations])


def test_alcohol_grams_per_day_is_a_limit_with_its_unit():
    (e,) = [x for x in rules().extract("history of chronic alcohol consumption (>60g/day)") if x.label == "LAB"]
    assert (e.analyte, e.op, e.value, e.norm_unit) == ("alcohol intake", ">", 60.0, "g/day")


def test_a_sex_restriction_cites_the_criterion_that_states_it(qa):
    a = qa.ask("Are men eligible for NCT00001890?")
    assert a.verdict == "no" and a.intent == "sex"
    assert cited(a, "postmenopausal woman")
    a = qa.ask("What estradiol level do women need for NCT00001890?")
    assert a.intent == "criteria" and "50" in a.text  # an analyte asked about women is not the sex field


def test_a_date_is_given_with_its_month_name(qa):
    a = qa.ask("When did NCT00491400 start?")
    assert a.intent == "date" and "September 2005" in a.text


@pytest.mark.parametrize("question, field", [
    ("How much weight loss is allowed?", None),  # an amount of an analyte, not a dose
    ("How much drug is given?", "dose"),
    ("How is the drug given and how often?", "dose"),
    ("How are they administered?", "dose"),
    ("Which body site must be affected?", None),  # a site of the body, not a study site
    ("Which sites take part?", "location"),
    ("When did the trial start?", "date"),
])
def test_field_cues(question, field):
    assert detect_field(analyse(question)) == field


def test_a_sentence_ends_at_a_full_stop_or_a_list_item_not_at_a_dot_or_a_line_wrap():
    text = "Patients get h5G1.1-mAb (8mg/kg) bolus\n      infusion every week X 5. Then stop.\n\nNext\n- item two"
    at = text.index("8mg")
    assert text[slice(*sentence_around(text, at, at + 5))] == "Patients get h5G1.1-mAb (8mg/kg) bolus\n      infusion every week X 5."
    at = text.index("item")
    assert text[slice(*sentence_around(text, at, at + 4))] == "- item two"


@pytest.mark.parametrize("question, verdict", [
    # "Is it true that X can't join?" asks whether X is excluded.
    ("Is it true that patients with asthma can't join NCT00494117?", "yes"),
    ("Is it true that smokers cannot take part in NCT00009581?", "yes"),
    ("Can patients with asthma join NCT00494117?", "no"),
])
def test_a_negative_question_asks_whether_it_excludes(qa, question, verdict):
    a = qa.ask(question)
    assert a.verdict == verdict, (question, a.text)


def test_including_but_not_limited_to_is_no_exception(qa):
    from trialqa.answering.polarity import allows

    t = qa.trial("NCT00494312")
    c = next(c for c in t.exclusion if "but not limited to" in c.text)
    assert not allows(c, {"cardiovascular", "disease"})


def test_a_count_question_needs_a_number_other_than_a_time_window(qa):
    a = qa.ask("How many cigarettes per day are allowed in NCT00009581?")
    assert not a.found and "does not state a number" in a.text  # "Cigarette smoking within two years" gives none
    a = qa.ask("How much alcohol consumption per day excludes patients from NCT00494117?")
    assert a.found and "80" in a.text


def test_lay_phrases_of_a_patient_history():
    q = analyse("Can a man whose spleen was removed join the study?")
    assert "splenectomy" in q.concepts
    q = analyse("My patient is allergic to shrimp. Can she join?")
    assert "shellfish allergy" in q.patient.get("has", {})


def test_what_a_trial_targets_is_its_conditions_and_official_title(qa):
    t = qa.trial("NCT00494117")
    a = qa.ask("What does NCT00494117 study?")
    assert a.intent == "conditions" and t.official_title in a.text
    assert any(c.section == "official_title" for c in a.citations)


CROSS = ("NCT00001072", "NCT00001832", "NCT00000718", "NCT00001856", "NCT00005612", "NCT00006054", "NCT00494117", "NCT00009581")


@pytest.fixture(scope="module")
def cross(tmp_path_factory):
    from trialqa.qa import TrialQA

    out = extract_records(tmp_path_factory.mktemp("outsider_cross"), CROSS)
    return TrialQA.load(out, tmp_path_factory.mktemp("idx"), encoder=HashingEncoder())


def test_a_requirement_stated_under_a_leading_negation_is_not_one(cross):
    """"ELISA and Western blot negative for HIV", "Seronegative for human immunodeficiency virus"
    require the opposite of HIV infection."""
    a = cross.ask("Which trials are only for people who are HIV-positive?")
    assert a.trials == ["NCT00000718"], a.text


def test_a_concept_implied_by_a_more_specific_one_is_not_asked(cross):
    # "kidney transplant recipients" names organ transplantation too; stem cell and marrow transplant trials are not about it.
    a = cross.ask("Which studies enroll kidney transplant recipients?")
    assert a.trials == ["NCT00001856"], a.text


def test_leading_negations_and_clauses():
    from trialqa.answering.polarity import stated_negatively
    from trialqa.records import Criterion

    def crit(text):
        return Criterion(text=text, section="inclusion", start=0, end=len(text))

    text = "No patients with acute infections or serious viral (e.g., hepatitis, or HIV) infections."
    assert stated_negatively(crit(text), text.index("HIV"))
    text = "Is serum negative for hepatitis B virus (HBV) antibodies, hepatitis C virus (HCV), and HIV"
    assert stated_negatively(crit(text), text.index("HIV"))
    text = "No prior chemotherapy. Patients with HIV infection on stable therapy."
    assert not stated_negatively(crit(text), text.index("HIV"))
    text = "Documented HIV infection"
    assert not stated_negatively(crit(text), text.index("HIV"))


def test_temperatures_convert_with_their_offset():
    """38 °C is 100.4 °F: no factor relates them, pint converts value by value."""
    from trialqa.units import convert_value, unit_factor

    assert unit_factor("body temperature", "°C", "°F") is None
    assert convert_value("body temperature", 38.0, "°C", "°F") == pytest.approx(100.4)
    assert convert_value("body temperature", 101.0, "°F", "°C") == pytest.approx(38.333, abs=1e-3)
    assert convert_value("creatinine", 1.0, "mg/dL", "µmol/L") == pytest.approx(88.4, abs=0.01)
    # From NCT00000718 ("Temperature > 38.5 degrees C ...") and a Fahrenheit limit, normalised to °C.
    (e,) = [x for x in rules().extract("Temperature > 38.5 degrees C with or without night sweats") if x.label == "LAB"]
    assert (e.analyte, e.unit, e.norm_value) == ("body temperature", "°C", 38.5)
    (e,) = [x for x in rules().extract("oral temperature above 100.4 °F") if x.label == "LAB"]
    assert e.norm_unit == "°C" and e.norm_value == pytest.approx(38.0)


def test_a_question_asked_after_a_description_sentence_is_yes_no():
    q = analyse("He had a stent put in his heart 4 months ago. Is he eligible for the aliskiren study?")
    assert q.yes_no and q.patient["times"][0]["days"] == pytest.approx(121.75)
    q = analyse("Mom gave him children's Tylenol about 6 hrs ago. Can he still be randomized today in the IV APAP study?")
    assert q.yes_no and q.patient["times"][0]["days"] == 0.25
    assert not analyse("The trial lists hemoglobin as 90 g/L. What's that in g/dL?").yes_no


def test_the_oldest_or_youngest_one_can_be_asks_for_an_age_limit():
    assert detect_field(analyse("whats the oldest a kid can be and still get into the IV acetaminophen peds study?")) == "age"
    assert detect_field(analyse("How young can the youngest participant of the zalcitabine study be?")) == "age"

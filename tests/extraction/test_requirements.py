"""Criteria compiled into requirements (issue 14): atoms, and/or, applicability, windows and
exceptions, on criterion sentences taken from several records of ../shared/data (NCT ids noted)."""

from __future__ import annotations

import pytest

from trialqa.extraction import compile_criterion, rules
from trialqa.extraction.describe import describe
from trialqa.records import Criterion


def req(text: str, section: str = "inclusion", studied=frozenset()):
    c = Criterion(text, section, 0, len(text))
    c.entities = rules().extract(text, section)
    return compile_criterion(c, "T", frozenset(studied))


def kinds(r) -> list[tuple[str, str | None]]:
    return [(a.kind, a.name) for a in r.atoms]


def test_a_requirement_keeps_the_criterion_span_and_round_trips_to_a_dict():
    c = Criterion("Platelets >= 100,000/mm3", "inclusion", 120, 144)
    c.entities = rules().extract(c.text, "inclusion")
    r = compile_criterion(c, "NCT1")
    d = r.to_dict()
    assert (d["trial_id"], d["start"], d["end"], d["polarity"]) == ("NCT1", 120, 144, "inclusion")
    assert d["atoms"][0]["kind"] == "measurement" and d["atoms"][0]["name"] == "platelets"
    assert d["atoms"][0]["op"] == ">=" and d["atoms"][0]["value"] == 100000
    assert "platelets >= 100000" in describe(d)


def test_zero_is_a_value_not_a_missing_one():
    d = req("ECOG performance status 0-1").to_dict()
    assert d["atoms"][0]["value"] == 0 and d["atoms"][0]["value2"] == 1


@pytest.mark.parametrize("text, scale, op, lo, hi", [
    ("ECOG performance status 0-1", "ECOG", "between", 0, 1),            # NSCLC API v2 records
    ("NYHA class III or IV heart failure", "NYHA", "between", 3, 4),     # NCT00496769-style
    ("Child-Pugh class B or C", "Child-Pugh", "between", 7, 15),
    ("Lumbar spine or hip BMD T-score less than or equal to minus 2.0", "T-score", "<=", -2, None),  # NCT00000400
    ("GAF of 60 or less (moderate symptoms) at screen and at baseline", "GAF", "<=", 60, None),     # NCT00005013
    ("Karnofsky score >= 60", "Karnofsky", ">=", 60, None),             # NCT00000136
])
def test_scores_and_classes(text, scale, op, lo, hi):
    atoms = [a for a in req(text).atoms if a.kind == "score"]
    assert [(a.name, a.op, a.value, a.value2) for a in atoms] == [(scale, op, lo, hi)]


def test_blood_pressure_components_and_alternatives():
    r = req("Systolic blood pressure > 160 mmHg or diastolic > 100 mmHg", "exclusion")
    assert [(a.name, a.component, a.value) for a in r.atoms] == [("blood pressure", "systolic", 160),
                                                                   ("blood pressure", "diastolic", 100)]
    assert r.expression == {"op": "or", "args": [0, 1]}
    # the component named after each value (NCT04318938), not the last one named before it
    r = req("Uncontrolled hypertension, defined as blood pressure ≥ 160 mmHg (systolic) or ≥ 100 mmHg (diastolic)", "exclusion")
    assert [(a.component, a.value) for a in r.atoms if a.kind == "measurement"] == [("systolic", 160), ("diastolic", 100)]


def test_an_exclusion_list_of_conditions_is_alternatives_but_a_cause_is_a_conjunct():
    assert req("History of stroke, myocardial infarction or epilepsy", "exclusion").expression["op"] == "or"
    r = req("Patient with Lyell syndrome induced by immunotherapy.", "exclusion")
    assert r.expression == {"op": "and", "args": [0, 1]}
    r = req("Known hypersensitivity to the active substance (DARZALEX) or to one of the excipients", "exclusion")
    assert r.expression["op"] == "and" and r.expression["args"][0] == 0


def test_thresholds_in_one_exclusion_are_conjuncts():
    # NCT00006305: "Fasting triglycerides greater than 1000 mg/dL in the presence of ... (HbA1c less than 9.0%)"
    r = req("Fasting triglycerides greater than 1000 mg/dL in the presence of moderate glycemic control (HbA1c less than 9.0%)",
            "exclusion")
    assert kinds(r) == [("measurement", "triglycerides"), ("measurement", "HbA1c")]
    assert r.expression == {"op": "and", "args": [0, 1]}


def test_whom_a_criterion_concerns():
    r = req("For patients younger than 16 years: Lansky play scale of at least 50")
    assert [a["kind"] for a in r.applies_to] == ["age"] and kinds(r) == [("score", "Lansky")]
    r = req("Negative pregnancy test for women of childbearing potential")
    assert any(a["kind"] == "childbearing_potential" for a in r.applies_to)
    r = req("Neurologic deficits in patients with CNS tumors must be stable for at least 2 weeks")  # NCT00003370
    ap = [a for a in r.applies_to if a["kind"] == "patients_with"]
    assert ap and "brain tumor" in ap[0]["names"]
    r = req("Pregnant or breastfeeding women", "exclusion")
    assert [a["kind"] for a in r.applies_to] == ["female"] and all(a.kind == "pregnancy" for a in r.atoms)
    assert not req("Males and females age 10 years or older").applies_to  # NCT00000137: both sexes, no restriction


def test_windows_govern_their_mentions():
    r = req("Within 2 weeks: topical corticosteroids. Within 4 weeks: systemic steroid therapy.", "exclusion")
    assert [a.window["text"] for a in r.atoms] == ["Within 2 weeks", "Within 4 weeks"]
    r = req("At least 6 months since total abdominal, pelvic, chest, mantle, and Y ports radiotherapy")  # NCT00003370
    assert r.atoms[0].window and r.atoms[0].window["days"] > 180
    r = req("History of malignant disease within the past ten years and or presence of metastasis", "exclusion")
    assert [bool(a.window) for a in r.atoms] == [True, False]
    r = req("Severe psoriasis of at least 6 months duration")  # NCT00006276
    assert r.atoms[0].window["duration"] is True
    assert req("Chemotherapy within 4 weeks prior to enrollment", "exclusion").atoms[0].window["duration"] is False


def test_context_is_not_a_requirement():
    # NCT00496769: "... prior randomization into an apixaban clinical study": a study, not the drug
    r = req("Use of an investigational drug within the past 30 days or prior randomization into an apixaban clinical study",
            "exclusion")
    assert "anticoagulants" not in {a.name for a in r.atoms}
    # NCT00461630: the reaction, not the statin
    assert "statins" not in {a.name for a in req("Previous significant adverse reaction to a statin, ezetimibe or niacin",
                                                 "exclusion").atoms}
    # NCT00460525: the disease is defined by the threshold in its parenthesis
    assert kinds(req("Laboratory evidence of hematologic disease (hemoglobin < 9.0 g/dL)", "exclusion")) == \
        [("measurement", "hemoglobin")]
    # a psoriasis trial's "medications for psoriasis" is about the medications
    assert ("condition", "psoriasis") not in kinds(req("No use of systemic medications for psoriasis during 1 month prior"))
    # the condition under study does not exclude
    assert not req("Radiological evidence of tumors invading major blood vessels", "exclusion",
                   studied={"lung cancer", "malignancy"}).atoms


def test_negative_results_and_exceptions():
    assert req("Negative hepatitis B screening (HBs, anti HBs and HBc).").atoms[0].negated
    r = req("Is serum negative for hepatitis B virus (HBV) antibodies, hepatitis C virus (HCV), and HIV")  # NCT00498212
    assert all(a.negated for a in r.atoms if a.kind == "condition")
    r = req("No other malignancy within 5 years except basal cell carcinoma of the skin", "exclusion")
    assert r.exceptions and r.atoms[0].name == "malignancy" and "other" in r.atoms[0].qualifiers
    r = req("No prior therapy for metastatic NSCLC. However, 1 or 2 cycles of chemotherapy before inclusion are allowed.")
    assert "chemotherapy" in {a.name for a in r.exceptions} and "chemotherapy" not in {a.name for a in r.atoms}


def test_unparsed_words_are_reported():
    r = req("Affiliated to a social security scheme")
    assert r.unparsed == "Affiliated" and not r.fully_parsed
    assert req("Platelets >= 100,000/mm3").fully_parsed


def test_every_criterion_of_the_derm_records_compiles(derm_trials):
    n = 0
    for t in derm_trials:
        for c in t.criteria:
            assert c.requirement is not None and c.requirement.trial_id == t.id
            assert (c.requirement.start, c.requirement.end) == (c.start, c.end)
            n += 1
    assert n > 500


@pytest.fixture(scope="module")
def derm_trials():
    from trialqa import load_corpus

    from ..conftest import DATA, need

    return load_corpus(need(DATA / "ctgov" / "xml_derm_subset"))


def test_a_dose_belongs_to_the_drug_it_follows_not_to_one_with_its_own_dose():
    r = req("Treated with fluticasone 1000 mcg + salmeterol 100 mcg daily for at least 4 weeks")  # NCT00497237
    doses = [(a.name, a.value) for a in r.atoms if a.kind == "treatment" and a.op is not None]
    assert doses == [("corticosteroids", 1000), (None, 100)]  # salmeterol is no concept: its dose is nobody's


def test_a_non_prefixed_word_before_a_noun_names_which_one():
    r = req("Psychiatric conditions including schizophrenia or any non-bipolar psychiatric disorder", "exclusion")
    assert "bipolar disorder" not in {a.name for a in r.atoms}  # NCT00006204: not "without bipolar disorder"
    assert [(a.name, a.negated) for a in req("Non-pregnant women").atoms] == [("pregnancy", True)]


def test_a_bare_time_after_a_limit_is_a_limit_of_the_same_kind():
    # NCI wording (135 records of the 6,786 give nitrosoureas their own window in brackets)
    r = req("Chemotherapy within 4 weeks prior to entering the study (6 weeks for nitrosoureas or mitomycin C)", "exclusion")
    nitro = next(a for a in r.atoms if a.name == "nitrosoureas")
    assert (nitro.window["op"], nitro.window["days"]) == ("<=", 42)
    r = req("Chemotherapy within 4 weeks prior to entering the study and 6 weeks from nitrosourea-containing chemotherapy",
            "exclusion")  # NCT00007878
    assert [a.subtype for a in r.atoms if a.name == "chemotherapy"] == [None, "nitrosourea-containing"]


def test_what_a_patient_must_have_recovered_from_is_not_required():
    assert not req("Patients must have recovered from major surgery").atoms
    r = req("Chemotherapy within 4 weeks; all patients should have recovered from all toxicities of prior chemo and radiation",
            "exclusion")  # NCT00007878: the prior chemo and radiation do not exclude
    assert [a.name for a in r.atoms] == ["chemotherapy"] and r.atoms[0].window
    assert [a.name for a in req("Recovered from major surgery and have no active infection").atoms] == ["infection"]


def test_a_test_to_be_done_requires_neither_the_condition_nor_its_absence():
    # NCT00460759: the HIV result is a criterion of its own ("HIV antibody test negative")
    assert not req("Within 14 days, a complete blood count and HIV antibody test will be performed").atoms
    assert not req("A pregnancy test will be performed at screening").atoms
    assert [(a.name, a.negated) for a in req("HIV antibody test negative").atoms] == [("HIV infection", True)]


def test_what_harmed_or_cannot_be_taken_is_not_what_the_patient_had():
    # NCT01852578, NCT01742767: a patient who had docetaxel, or takes steroids, is not excluded by these
    assert not req("Persistence of clinically relevant treatment-related toxicities from previous chemotherapy or radiotherapy.",
                   "exclusion").atoms
    assert not req("Inability to take corticosteroids", "exclusion").atoms
    assert not req("Unable to tolerate aspirin or clopidogrel", "exclusion").atoms
    r = req("No local complications of Crohn's disease such as strictures or abscesses", studied={"Crohn's disease"})
    assert [(a.name, a.subtype) for a in r.atoms] == [("Crohn's disease", "complications")]  # NCT00004941: which patients
    assert [a.window["days"] for a in req("Prior chemotherapy within 4 weeks", "exclusion").atoms] == [28]


def test_a_reaction_named_before_a_bracket_is_still_to_what_follows():
    r = req("History of severe hypersensitivity reaction (≥grade 3) to polysorbate 80 containing drugs or to docetaxel",
            "exclusion")  # NCT01852578: the reaction AND what it is to
    assert r.expression == {"op": "and", "args": [0, {"op": "or", "args": [1, 2]}]}
    assert not req("Has known or suspected hypersensitivity to acetaminophen or the inactive excipients of IV Acetaminophen.",
                   "exclusion").atoms  # NCT00493246: the hedged reaction is not read, and the drug is not had


def test_something_allowed_on_a_condition_is_a_permission():
    assert not req("Prior radiation therapy allowed to <25% of the bone marrow (Cristy and Eckerman 1987).", "exclusion").atoms
    r = req("Chemotherapy: Prior anthracyclines allowed provided no symptomatic heart disease is present More than 4 weeks "
            "since prior chemotherapy (6 weeks for nitrosoureas)")  # NCT00002535: the permission ends where the next sentence starts
    assert "anthracyclines" in {x.name for x in r.exceptions}
    assert next(a for a in r.atoms if a.name == "nitrosoureas").window["text"] == "More than 4 weeks"

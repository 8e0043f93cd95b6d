"""Patient facts against compiled requirements (issue 14): three-valued results with reasons,
the new fact kinds, and the failure modes the issue names, on criteria from several records."""

from __future__ import annotations

import math

import pytest

from trialqa.answering.eligibility import judge
from trialqa.answering.patient import check_eligibility, facts_from_patient
from trialqa.errors import QueryError
from trialqa.extraction import attach_entities
from trialqa.records import Criterion, Trial


def trial(*criteria: tuple[str, str], conditions=(), title="") -> Trial:
    t = Trial(id="T", source="t.xml", format="ctgov_xml", conditions=list(conditions), title=title)
    pos = 0
    for text, section in criteria:
        t.criteria.append(Criterion(text, section, pos, pos + len(text)))
        pos += len(text) + 2
    attach_entities([t])
    return t


def status(t: Trial, facts: dict, i: int = 0, stated_only: bool = False) -> tuple[str, str]:
    r, _ = judge(t, t.criteria[i], facts_from_patient(facts), stated_only)
    return r.status, r.reason


def test_hba1c_in_percent_against_a_limit_in_mmol_per_mol():
    t = trial(("HbA1c < 53 mmol/mol", "inclusion"), ("HbA1c >= 6.5%", "exclusion"))
    s, why = status(t, {"labs": ["HbA1c 6.1 %"]})
    assert s == "met" and "43" in why and "mmol/mol" in why
    assert status(t, {"labs": ["HbA1c 8.0 %"]})[0] == "not_met"  # 8.0 % is 64 mmol/mol
    s, why = status(t, {"labs": ["HbA1c 6.1 %"]}, 1)
    assert s == "met" and "does not exclude" in why


def test_blood_pressure_pairs():
    t = trial(("Uncontrolled blood pressure (persistent systolic above 155 or diastolic above 95)", "exclusion"))  # NCT00492349
    assert status(t, {"blood_pressure": "148/88"})[0] == "met"
    s, why = status(t, {"blood_pressure": [150, 100]})
    assert s == "not_met" and "diastolic blood pressure 100" in why
    with pytest.raises(QueryError):
        facts_from_patient({"blood_pressure": "high"})


def test_scores_with_equivalences_and_classes():
    t = trial(("Karnofsky performance status >= 70%", "inclusion"), ("NYHA class III or IV heart failure", "exclusion"),
              ("Child-Pugh class B or C cirrhosis", "exclusion"))
    assert status(t, {"scores": {"ECOG": 1}})[0] == "met"         # ECOG 1 is Karnofsky 70-80
    assert status(t, {"scores": {"ECOG": 3}})[0] == "not_met"     # ECOG 3 is Karnofsky 30-40
    assert status(t, {"scores": {"WHO": 1}})[0] == "met"          # WHO is ECOG's scale: 1 is Karnofsky 70-80
    assert status(t, {"scores": {"Lansky": 80}})[0] == "met"      # Lansky is Karnofsky's scale for children
    assert status(t, {"scores": {"GAF": 80}})[0] == "unknown"     # no equivalence: not decided
    assert status(t, {"scores": {"NYHA": "II"}}, 1)[0] == "met"
    assert status(t, {"scores": {"NYHA": "class III"}, "conditions": ["heart failure"]}, 1)[0] == "not_met"
    assert status(t, {"scores": {"Child-Pugh": "A"}}, 2)[0] == "met"
    assert status(t, {"scores": {"Child-Pugh": 8}, "conditions": ["cirrhosis"]}, 2)[0] == "not_met"
    assert status(t, {"scores": {"Child-Pugh": 8}}, 2)[0] == "unknown"  # cirrhosis not stated
    with pytest.raises(QueryError):
        facts_from_patient({"scores": {"Zubrodd": 1}})


def test_a_negative_screening_requirement_excludes_the_infection():
    t = trial(("Negative hepatitis B screening (HBs, anti HBs and HBc).", "inclusion"))
    assert status(t, {"conditions": ["hepatitis B"]})[0] == "not_met"
    assert status(t, {"absent": ["hepatitis B"]})[0] == "met"


def test_a_condition_the_record_never_mentions_does_not_make_a_patient_ineligible():
    t = trial(("Age 18 to 75 years", "inclusion"), ("History of stroke", "exclusion"))
    report = check_eligibility(None, {"age": 50, "conditions": ["psoriasis"]}, t)
    assert report.verdict != "not eligible"


def test_a_cancer_patient_does_not_fail_other_malignancy_for_their_own_cancer():
    t = trial(("No other malignancy within 5 years except basal cell carcinoma of the skin", "exclusion"),
              conditions=["Non-Small Cell Lung Cancer"])
    assert status(t, {"conditions": ["non-small cell lung cancer"]})[0] != "not_met"
    s, why = status(t, {"history": ["basal cell carcinoma"]})
    assert s == "met" and "exception" in why


def test_a_criterion_for_one_age_group_does_not_reach_others():
    t = trial(("For patients younger than 16 years: Lansky play scale of at least 50", "inclusion"))
    s, why = status(t, {"age": 40})
    assert s == "met" and "does not apply" in why
    assert status(t, {"age": 10, "scores": {"Lansky": 40}})[0] == "not_met"


def test_a_cohort_criterion_is_not_applied_to_every_patient():
    t = trial(("Phase 2: measurable disease and ECOG 0-1", "inclusion"))
    s, why = status(t, {"scores": {"ECOG": 2}})
    assert s == "unknown" and "applies only to" in why


def test_a_percentage_with_a_window_is_not_compared_with_the_days_since_onset():
    t = trial(("At least 10 % of detachable-detached body surface area at any time during the first 10 days after the "
               "index date (date of the first symptoms of the disease)", "inclusion"))
    assert status(t, {"bsa_percent": 12, "days_since_onset": 5})[0] == "met"
    assert status(t, {"bsa_percent": 12, "days_since_onset": 14})[0] == "unknown"  # may have reached 10% in time
    assert status(t, {"bsa_percent": 5, "days_since_onset": 5})[0] == "not_met"


def test_treatments_with_days_and_durations():
    t = trial(("Chemotherapy within 4 weeks prior to enrollment", "exclusion"),
              ("At least 6 months since prior bone marrow transplantation", "inclusion"),
              ("Clinically stable with no change in antipsychotic medications for 4 weeks prior to enrollment", "inclusion"))
    assert status(t, {"treatments": [{"name": "cisplatin", "days_ago": 10}]})[0] == "not_met"
    assert status(t, {"treatments": [{"name": "cisplatin", "days_ago": 60}]})[0] == "met"
    assert status(t, {"absent": ["bone marrow transplantation"]}, 1)[0] == "met"
    assert status(t, {"procedures": [{"name": "bone marrow transplantation", "days_ago": 90}]}, 1)[0] == "not_met"
    with pytest.raises(QueryError):
        facts_from_patient({"treatments": [{"name": "cisplatin", "days_ago": "last week"}]})


def test_sex_specific_limits():
    t = trial(("Baseline Hb of less than 12 g/dl in women, or less than 13 g/dl in men", "exclusion"))  # NCT00006505
    assert status(t, {"sex": "female", "labs": ["hemoglobin 12.5 g/dL"]})[0] == "met"
    assert status(t, {"sex": "male", "labs": ["hemoglobin 12.5 g/dL"]})[0] == "not_met"


def test_stated_facts_alone_do_not_fail_on_what_they_do_not_say():
    t = trial(("Adult, over 18 years old, with drug-induced SJS/NET", "inclusion"))
    assert status(t, {"age": 40})[0] == "unknown"
    assert status(t, {"age": 40}, stated_only=True)[0] == "met"
    assert status(t, {"age": 16}, stated_only=True)[0] == "not_met"


def test_reasons_read_plainly():
    t = trial(("HbA1c >= 6.5%", "exclusion"))
    _, why = status(t, {"labs": ["HbA1c 6.1 %"]})
    assert why.startswith("HbA1c 6.1") and "not at least 6.5 %" in why and "does not exclude the patient" in why


@pytest.mark.parametrize("facts", [{"age": math.nan}, {"age": -1}, {"age": math.inf}, {"days_since_onset": -2},
                                   {"bsa_percent": 140}])
def test_impossible_values_are_refused(facts, tmp_path):
    from tests.fakes import HashingEncoder
    from trialqa import TrialQA

    qa = TrialQA.load(index_dir=tmp_path, encoder=HashingEncoder())
    with pytest.raises(QueryError):
        qa.check(facts, qa.trials[0].id)


def test_a_limit_for_patients_with_liver_metastases_applies_only_to_them():
    t = trial(("AST and ALT less than 2.5 times ULN (5 times ULN if liver metastases present)", "inclusion"))  # NCT00006354
    assert status(t, {"labs": ["AST 3.5 x ULN", "ALT 3.5 x ULN"], "conditions": ["liver metastases"]})[0] == "met"
    assert status(t, {"labs": ["AST 3.5 x ULN", "ALT 3.5 x ULN"], "absent": ["metastasis"]})[0] == "not_met"
    # unknown whether the patient has liver metastases: 3.5 x ULN passes one limit and fails the other
    s, why = status(t, {"labs": ["AST 3.5 x ULN", "ALT 3.5 x ULN"]})
    assert s == "unknown" and "whether the patient has liver metastases" in why
    assert status(t, {"labs": ["AST 1.2 x ULN", "ALT 1.2 x ULN"]})[0] == "met"  # passes both: no need to know
    # on the stated facts alone, metastases nobody mentioned are absent
    assert status(t, {"labs": ["AST 3.5 x ULN", "ALT 3.5 x ULN"]}, stated_only=True)[0] == "not_met"


def test_how_a_treatment_went_is_not_whether_the_patient_had_it():
    t = trial(("Had a scheduled anti-HIV treatment withdrawal prior to study entry.", "exclusion"),  # NCT00006412
              ("Documented failure of prior methotrexate therapy", "inclusion"))
    s, why = status(t, {"treatments": [{"name": "antiretroviral therapy"}]}, stated_only=True)
    assert s == "met"  # on it is not the same as having had it withdrawn
    assert status(t, {"treatments": [{"name": "antiretroviral therapy"}]})[0] == "unknown"
    assert status(t, {"absent": ["methotrexate"]}, 1)[0] == "not_met"  # cannot have failed what one never had


def test_a_permission_criterion_cites_what_it_allows():
    t = trial(("Subjects with treated brain metastases are eligible", "inclusion"),
              ("No prior systemic therapy for metastatic disease. However, 1 or 2 cycles of chemotherapy before "
               "inclusion will be allowed.", "inclusion"))
    s, why = status(t, {"conditions": ["brain metastases"]})
    assert s == "met" and "allows" in why
    s, why = status(t, {"treatments": [{"name": "chemotherapy"}]}, 1)
    assert s == "met" and "allows" in why


def test_one_hemoglobin_limit_per_sex_in_a_list_of_exclusions():
    t = trial(("Absolute neutrophil count <1500 cells/mm3; platelet count <135,000 cells/mm3; hemoglobin <12 g/dL for "
               "women and <13 g/dL for men; or serum creatinine >= 1.5 times ULN.", "exclusion"))  # a hepatitis C record
    assert status(t, {"sex": "male", "labs": ["hemoglobin 12.5 g/dL", "neutrophils 2000 /mm3"]}, stated_only=True)[0] == "not_met"
    assert status(t, {"sex": "female", "labs": ["hemoglobin 12.5 g/dL", "neutrophils 2000 /mm3"]}, stated_only=True)[0] == "met"


def test_references_to_a_drug_are_not_requirements_of_it():
    t = trial(("Patient receiving any drug interfering with tacrolimus metabolism", "exclusion"),
              ("Subjects must have baseline images obtained 6 weeks before initiation of nivolumab", "inclusion"),
              ("Any combination without a protease inhibitor must lower the viral load", "inclusion"),
              ("Systemic corticosteroids should be discontinued before the first dose", "inclusion"))
    on = {"treatments": [{"name": "tacrolimus"}, {"name": "nivolumab"}]}
    for i in (0, 1):
        assert not any(a.name in ("tacrolimus", "immunotherapy") for a in t.criteria[i].requirement.atoms)
    assert not any(a.negated for a in t.criteria[2].requirement.atoms)
    assert status(t, on, 0, stated_only=True)[0] != "not_met"
    steroid = t.criteria[3].requirement.atoms[0]
    assert steroid.name == "corticosteroids" and steroid.negated  # required stopped


def test_readings_that_both_pass_agree_and_a_permission_does_not_hide_an_open_exclusion():
    t = trial(("Creatinine < 1.5 mg/dL for patients with diabetes", "inclusion"),
              ("Pregnancy or breastfeeding. Patients with HIV infection are eligible.", "exclusion"))
    # diabetes not stated: the limit either applies (1.0 passes it) or does not; both pass
    assert status(t, {"labs": ["creatinine 1.0 mg/dL"]})[0] == "met"
    assert status(t, {"labs": ["creatinine 2.0 mg/dL"]})[0] == "unknown"
    # the HIV permission says nothing about the pregnancy this exclusion names
    assert status(t, {"conditions": ["HIV infection"]}, 1)[0] == "unknown"


def test_a_permission_for_liver_metastases_does_not_lift_the_limit_for_others():
    t = trial(("Alanine aminotransferase/aspartate aminotransferase ≤2.5x ULN NOTE: ≤5x ULN is acceptable if liver "
               "metastases are present.", "inclusion"))  # an API v2 NSCLC record (NCT04318938)
    assert status(t, {"labs": ["AST 3.5 x ULN", "ALT 2.0 x ULN"], "absent": ["metastasis"]})[0] == "not_met"
    assert status(t, {"labs": ["AST 3.5 x ULN", "ALT 2.0 x ULN"], "conditions": ["liver metastases"]})[0] == "met"

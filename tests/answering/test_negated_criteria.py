"""Patients against criteria whose wording used to be misread (see tests/extraction/test_negation_statements.py):
the verdicts, not only the structure."""

from __future__ import annotations

from .test_eligibility import status, trial


def test_a_negated_heart_rate_limit_admits_a_fast_heart_rate():
    t = trial(("No resting heart rate less than 60 bpm.", "inclusion"))  # NCT00001402
    assert status(t, {"measurements": ["heart rate 122 bpm"]})[0] == "met"
    assert status(t, {"measurements": ["heart rate 50 bpm"]})[0] == "not_met"


def test_no_patients_under_an_age_admits_an_adult():
    t = trial(("No patients less than or equal to 5 years old.", "inclusion"))  # NCT00001455
    assert status(t, {"age": 51})[0] == "met"
    assert status(t, {"age": 4})[0] == "not_met"


def test_are_excluded_excludes_those_who_have_it():
    t = trial(("Subjects who are pregnant are excluded from the PET and MRI tests in this study.", "exclusion"),
              ("Patients with diabetes are excluded.", "inclusion"))  # NCT00001308; the second under an inclusion heading
    assert status(t, {"sex": "female", "age": 30, "pregnant": True})[0] == "not_met"
    assert status(t, {"sex": "female", "age": 30, "pregnant": False})[0] == "met"
    assert status(t, {"conditions": ["diabetes"]}, 1)[0] == "not_met"
    assert status(t, {"conditions": ["asthma"], "absent": ["diabetes"]}, 1)[0] == "met"


def test_a_requirement_listed_among_exclusions_is_required():
    t = trial(("Creatinine clearance must be greater than 50 cc/min.", "exclusion"))  # NCT00001457
    assert status(t, {"labs": ["creatinine clearance 80 mL/min"]})[0] == "met"
    assert status(t, {"labs": ["creatinine clearance 30 mL/min"]})[0] == "not_met"


def test_not_pregnant_or_nursing_fails_a_nursing_mother():
    t = trial(("Not pregnant or nursing", "inclusion"))  # NCT00004485
    assert status(t, {"sex": "female", "pregnant": False, "lactating": True})[0] == "not_met"


def test_no_prior_chemotherapy_for_the_trials_cancer_does_not_fail_its_patients():
    t = trial(("No prior chemotherapy for breast cancer", "inclusion"), conditions=["Breast Cancer"])  # NCT00002528
    assert status(t, {"conditions": ["breast cancer"], "absent": ["chemotherapy"]})[0] == "met"
    assert status(t, {"conditions": ["breast cancer"], "treatments": ["chemotherapy"]})[0] == "not_met"


def test_an_age_without_a_comparator_decides_nothing():
    # NCT00001724 "16 years of age of older." (the "or" lost); NCT00002619 "Age: 6 to under 60"
    t = trial(("16 years of age of older.", "inclusion"), ("Age 18 to 65 years", "inclusion"))
    s, why = status(t, {"age": 23})
    assert s == "unknown" and "without saying above or below" in why
    assert status(t, {"age": 23}, 1)[0] == "met" and status(t, {"age": 70}, 1)[0] == "not_met"


def test_an_age_opening_a_range_is_its_lower_bound():
    # NCT00002619 "Age: 6 to under 60", NCT00004475 "Age 3 months up to 100 years", NCT00001159 "aged 6 months+"
    t = trial(("Age: 6 to under 60", "inclusion"), ("Age 3 months up to 100 years", "inclusion"),
              ("Male or female, aged 6 months+.", "inclusion"))
    assert status(t, {"age": 30})[0] == "met" and status(t, {"age": 4})[0] == "not_met"
    assert status(t, {"age": 60})[0] == "not_met"
    assert status(t, {"age": 0.1}, 1)[0] == "not_met" and status(t, {"age": 50}, 1)[0] == "met"
    assert status(t, {"age": 2}, 2)[0] == "met" and status(t, {"age": 0.2}, 2)[0] == "not_met"


def test_a_run_on_ejection_fraction_limit_is_a_requirement_not_an_absence():
    t = trial(("Cardiovascular: No active heart disease LVEF at least 50%", "inclusion"))  # NCT00002680
    assert status(t, {"measurements": ["ejection fraction 60 %"], "absent": ["heart disease"]})[0] == "met"
    assert status(t, {"measurements": ["ejection fraction 30 %"]})[0] == "not_met"


def test_must_not_under_exclusions_excludes_who_has_it():
    t = trial(("Patients must not have undergone splenectomy", "exclusion"))  # NCT00003761
    assert status(t, {"procedures": ["splenectomy"]})[0] == "not_met"

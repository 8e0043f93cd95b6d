"""Readings of criteria found on records nobody had used: a kind of a condition no concept names
("renovascular hypertension", "abdominal surgery") against patients with the plain condition, with
that kind, and without it; a bare number for an analyte measured in percent."""

from __future__ import annotations

from trialqa.patients import read_note

from .test_eligibility import status, trial


def test_a_kind_of_hypertension_does_not_exclude_plain_hypertension():
    t = trial(("Renovascular hypertension.", "exclusion"))  # NCT00001622 words it "No renovascular hypertension"
    got, reason = status(t, {"conditions": ["hypertension"]})
    assert got == "unknown" and "renovascular" in reason
    assert status(t, {"conditions": ["renovascular hypertension"]})[0] == "not_met"
    assert status(t, {"absent": ["hypertension"]})[0] == "met"  # no hypertension is no kind of it


def test_a_kind_of_surgery_needs_the_kind():
    t = trial(("Prior abdominal surgery", "exclusion"))
    assert status(t, {"procedures": ["surgery"]})[0] == "unknown"
    assert status(t, {"procedures": ["abdominal surgery"]})[0] == "not_met"


def test_words_of_time_and_severity_name_no_kind():
    t = trial(("Known uncontrolled hypertension", "exclusion"))
    assert status(t, {"conditions": ["hypertension"]})[0] == "not_met"  # as before: "controlled" would contradict it


def test_an_inclusion_kind_of_the_trials_own_disease_describes_whom_it_studies():
    t = trial(("Adults with drug-induced toxic epidermal necrolysis", "inclusion"), conditions=["Toxic Epidermal Necrolysis"])
    assert status(t, {"age": 40, "conditions": ["toxic epidermal necrolysis"]})[0] == "met"


def test_the_note_reader_keeps_the_kind_it_read():
    f = read_note("A 60-year-old woman with renovascular hypertension, s/p abdominal surgery. Denies chest pain, but reports diabetes.")
    assert "renovascular hypertension" in f.conditions and "diabetes" in f.conditions
    assert {"name": "abdominal surgery"} in f.procedures
    f = read_note("He has no renovascular hypertension.")
    assert "hypertension" not in f.absent  # denying a kind of hypertension does not deny hypertension


def test_a_bare_number_for_an_analyte_measured_in_percent_is_a_percentage():
    # NCT00490360 "Hematocrit of less than 30"; before, 38 % "could not be compared (units)"
    t = trial(("Hematocrit of less than 30", "exclusion"))
    assert status(t, {"labs": ["hematocrit 38 %"]})[0] == "met"
    assert status(t, {"labs": ["hematocrit 25 %"]})[0] == "not_met"

"""Reading a question once: the patient facts it states."""

from __future__ import annotations

import pytest

from trialqa.answering import analyse


@pytest.mark.parametrize("question, age", [
    ("Can a 75.5-year-old join the trial?", 75.5),  # was read as 5
    ("Can a 76-year-old enter the daratumumab trial?", 76),
    ("My patient is aged 64. Is he eligible?", 64),
    ("She turned 18 last week; can she enroll?", 18),
    ("A 5-year-old boy with asthma: eligible?", 5),
])
def test_a_patient_age_is_read_whole(question, age):
    assert analyse(question).patient.get("age") == age


def test_a_value_to_convert_is_not_a_patient_fact():
    q = analyse("The trial lists hemoglobin as 90 g/L. What's that in g/dL?")
    assert "labs" not in q.patient
    assert analyse("My patient's hemoglobin is 90 g/L. Can she join?").patient.get("labs")


def test_a_patient_described_as_notes_describe_one_is_a_patient():
    # docs/eval/patient_vignettes: "34 yo M w/ HIV ...", "63 y/o M, poor balance ..."
    q = analyse("63 y/o M, poor balance, single-leg stance avg 2 sec, no chiro/PT in past yr. OK for the balance study?")
    assert q.patient.get("age") == 63
    assert not analyse("What is the age limit, 18 years? Is it for the balance study?").patient.get("age")

"""Which ages in the criteria are enrollment limits (criterion texts from legacy XML records)."""

from __future__ import annotations

import pytest

from trialqa.extraction import enrollment_age, rules


def ages(text: str) -> list[tuple[str, bool]]:
    return [(e.text, enrollment_age(text, e)) for e in rules().extract(text) if e.label == "AGE"]


@pytest.mark.parametrize("text, expected", [
    # NCT00000902, NCT00006066: the participant's range stays, the consent rule's age does not
    ("Is between the ages of 6 months and 21 years (consent of parent or guardian required if under 18).",
     [("between the ages of 6 months and 21 years", True)]),
    ("Consent of parent or guardian if less than 18 years of age.", [("less than 18 years of age", False)]),  # NCT00002338
    ("Donor age <= 45 years", [("<= 45 years", False)]),
    ("Recipient age >= 25 years", [(">= 25 years", True)]),
    ("Post-menopausal defined as aged more than 50 years and amenorrheic for at least 12 months.",
     [("more than 50 years", False)]),
    ("Acute lymphoblastic leukemia in infants under 12 months of age at diagnosis",  # NCT00002785: age at diagnosis
     [("under 12 months of age", False)]),
    ("People over the age of 50 who have lost their spouse within the last three months.",  # NCT00001659
     [("over the age of 50", True)]),
])
def test_enrollment_ages(text, expected):
    got = ages(text)
    assert [ok for _, ok in got] == [ok for _, ok in expected], got


def test_age_equal_to_or_between():
    (e,) = [e for e in rules().extract("Age equal to or between 18 and 65 years.") if e.label in ("AGE", "TIME_WINDOW")]
    assert (e.label, e.op, e.value, e.value2) == ("AGE", "between", 18.0, 65.0)

"""Unit conversion: one table of days per time unit, used by ages and time windows alike."""

from __future__ import annotations

import pytest

from trialqa.extraction import rules
from trialqa.records import Age
from trialqa.units import DAYS_PER, time_unit, to_days, to_years


def test_one_table_of_days_per_unit():
    assert to_days(2, "weeks") == 14 and to_days(1, "Month") == 30.4375 and to_days(36, "hours") == 1.5
    assert to_years(6, "months") == 0.5 and to_years(8766, "hours") == 1.0 and to_years(730.5, "day") == 2.0
    assert to_years(1, "week") == pytest.approx(DAYS_PER["week"] / DAYS_PER["year"])
    assert time_unit("Minutes") == "minute" and time_unit("fortnight") is None
    with pytest.raises(ValueError, match="fortnight"):
        to_days(1, "fortnight")


def test_a_week_is_seven_days_in_ages_too():
    # Age limits once counted 52.1775 weeks a year, time windows 7 days a week (365.25 / 7 = 52.1786).
    (e,) = [e for e in rules().extract("Infants aged 6 to 12 weeks") if e.label == "AGE"]
    assert (e.norm_value, e.norm_value2) == (round(6 * 7 / 365.25, 6), round(12 * 7 / 365.25, 6))
    assert Age(6, "weeks", "6 weeks").years == pytest.approx(6 * 7 / 365.25)
    (w,) = [e for e in rules().extract("within 6 weeks before enrolment") if e.label == "TIME_WINDOW"]
    assert w.norm_value == 42


def test_lab_conversions_clinical_labs_use():
    from trialqa.units import unit_factor

    # Triglycerides as triolein (1 mmol/L = 88.57 mg/dL), hemoglobin per haem (1 mmol/L = 1.611 g/dL),
    # 25-OH vitamin D (1 ng/mL = 2.496 nmol/L), CRP in mg/L.
    assert round(200 * unit_factor("triglycerides", "mg/dL", "mmol/L"), 2) == 2.26
    assert round(5.5 * unit_factor("hemoglobin", "mmol/L", "g/dL"), 2) == 8.86
    assert round(15 * unit_factor("vitamin D", "ng/mL", "nmol/L"), 1) == 37.4
    assert unit_factor("C-reactive protein", "mg/dL", "mg/L") == 10


def test_abbreviated_time_units_are_the_lexicons_spellings():
    from trialqa.units import time_unit, to_days
    assert [time_unit(u) for u in ("hrs", "wks", "mos", "yrs", "Weeks", "mm", "s")] == ["hour", "week", "month", "year", "week", None, None]
    assert to_days(6, "hrs") == 0.25

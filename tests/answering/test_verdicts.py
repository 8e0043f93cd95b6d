"""Verdicts from what the cited criteria do, on criterion texts of records outside the question sets."""

from __future__ import annotations

import pytest

from trialqa.answering import analyse
from trialqa.answering.polarity import allows, verdict
from trialqa.records import Criterion


def crit(text: str, section: str = "exclusion") -> Criterion:
    return Criterion(text, section, 0, len(text))


@pytest.mark.parametrize("text, words, expected", [
    # exclusions that admit what is asked by exception (XML and API v2 records)
    ("Active CNS metastases; patients with treated brain metastases are eligible if stable for 4 weeks", {"brain metastases"}, True),
    ("Abuse drugs or alcohol. Patients in methadone programs may participate.", {"methadone"}, True),
    ("DSM-IV diagnosis of substance dependence within 6 months except nicotine and marijuana", {"marijuana"}, True),
    ("Prior chemotherapy is not allowed", {"chemotherapy"}, False),
    ("Any other malignancy within 5 years, other than basal cell carcinoma of the skin", {"basal cell carcinoma"}, True),
])
def test_an_exclusion_that_admits_by_exception(text, words, expected):
    assert allows(crit(text), words) is expected


@pytest.mark.parametrize("question, excludes, expected", [
    ("Are patients with brain metastases excluded?", True, "yes"),
    ("Does a prior myocardial infarction rule someone out of the study?", True, "yes"),
    ("Would warfarin keep her out of the study?", True, "yes"),
    ("Is a negative pregnancy test required?", False, "yes"),
    ("Can patients with hepatitis B join?", True, "no"),
    ("Can patients with hepatitis B join?", False, "yes"),
])
def test_verdict_follows_what_is_asked(question, excludes, expected):
    q = analyse(question)
    assert verdict(q, excludes, not excludes) == expected


def test_a_cited_criterion_is_shown_under_its_own_section():
    from trialqa.answering.criteria import _shown

    negative_test = crit("Negative serum pregnancy test within 7 days of enrollment", "inclusion")
    assert _shown("Exclusion", negative_test) == "Inclusion criterion that excludes it"
    assert _shown("Inclusion", crit("Age 18 or older", "inclusion")) == "Inclusion"
    assert _shown("Exclusion only with surgery", negative_test) == "Inclusion criterion that excludes it only with surgery"


def test_answers_and_the_compiler_read_a_criterions_polarity_alike():
    from trialqa.answering.polarity import polarity
    from trialqa.extraction.requirements import compile_criterion
    from trialqa.records import Criterion

    cases = [("Prior chemotherapy", "exclusion", "exclusion"),
             ("Patients with HIV are not eligible", "inclusion", "exclusion"),
             ("Patients with treated brain metastases will be eligible if stable for 4 weeks", "exclusion", "inclusion"),
             ("Age 18 or over", "inclusion", "inclusion")]
    for text, section, expected in cases:
        c = Criterion(text, section, 0, len(text))
        assert polarity(c) == expected == compile_criterion(c).polarity, text

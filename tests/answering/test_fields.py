"""Record-field answers on real records: planned sample sizes from the description, conversions asked
in another unit, and record-field filters across trials."""

from __future__ import annotations

import pytest

from tests.answering.tarball import extract_records
from trialqa.answering.criteria import _asked_unit
from trialqa.answering.fields import _planned_size
from trialqa.answering.filters import field_filter

MEMBERS = {"NCT00003589": 450, "NCT00000744": 400, "NCT00003868": 40, "NCT00003267": 214, "NCT00006343": 850}


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    from trialqa import load_corpus

    out = extract_records(tmp_path_factory.mktemp("planned"), MEMBERS)
    return {t.nct_id: t for t in load_corpus(out, extract=False)}


def test_planned_sample_size_from_the_description(trials):
    assert set(trials) == set(MEMBERS)
    for nct, n in MEMBERS.items():
        got = _planned_size(trials[nct])
        assert got is not None and got[0] == n, (nct, got)
        value, key, sentence, start, end = got
        assert trials[nct].source_text()[start:end].split()[:3] == sentence.split()[:3]


def test_the_unit_a_question_asks_for():
    assert _asked_unit("NCT00496483 excludes WBC below 2.8 x 10^9/L. What is that per mm3?") == "/mm3"
    assert _asked_unit("What's that in 10^9/L?") == "10^9/L"
    assert _asked_unit("It gives its window in weeks. Roughly how many months is that?") == "month"
    assert _asked_unit("What is the minimum age?") is None


@pytest.mark.parametrize("question, what", [
    ("Which of these trials were terminated or withdrawn?", "are terminated or withdrawn"),
    ("Which trials enrolled more than 2,000 participants?", "enrolled more than 2000 participants"),
    ("Which of these studies started in 2007?", "started in 2007"),
    ("Which trials accept patients over 80?", "accept patients over 80"),
    ("Which of these trials enroll only women?", "enroll female participants only"),
    ("Which trials have the National Cancer Institute as lead sponsor?", "are led by National Cancer Institute"),
    ("Which of these trials test a vaccine?", "test a vaccine"),
    ("Which of these are phase 3 trials?", "are phase 3"),
])
def test_record_field_filters(question, what):
    f = field_filter(question)
    assert f is not None and f.what == what
    assert field_filter("Which trials exclude pregnant women?") is None


def test_a_filter_asked_the_other_way_round(trials):
    f = field_filter("Which trials do not accept patients over 65?", excluding=True)
    assert f.what == "do not accept patients over 65"
    for t in trials.values():
        assert f.keep(t) == (t.max_age is not None and t.max_age.years <= 65)
    assert field_filter("Which trials exclude children?", excluding=True).what == "do not accept patients under 18"
    assert field_filter("Which of these studies started in 2007?", excluding=True) is None


def test_country_and_intervention_kind_match_whole_names():
    from trialqa.records import Intervention, Location, Trial

    indiana = Trial(id="A", source="a", format="ctgov_xml", locations=[Location(city="Indianapolis", state="Indiana", country="United States")])
    india = Trial(id="B", source="b", format="ctgov_xml", locations=[Location(city="Mumbai", country="India")])
    f = field_filter("Which trials have sites in India?")
    assert [t.id for t in (indiana, india) if f.keep(t)] == ["B"]
    us = field_filter("Which trials are conducted in the US?")
    assert us.keep(indiana) and not us.keep(india)
    supp = Trial(id="C", source="c", format="ctgov_xml", interventions=[Intervention("Vitamin D3", type="DIETARY_SUPPLEMENT")])
    assert field_filter("Which trials test a dietary supplement?").keep(supp)

"""Integration: all 6,786 legacy XML records load, with ages and criteria checked against the XML."""

from __future__ import annotations

import html
import random
import re
import xml.etree.ElementTree as ET

import pytest

from trialqa import load_corpus
from trialqa.records import Age
from trialqa.sections import match_header

from .test_corpus import _nothing_lost

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def xml_corpus(xml_6786_dir):
    return load_corpus(xml_6786_dir, extract=False)


def test_all_records_load_without_error(xml_corpus):
    assert not xml_corpus.errors, xml_corpus.errors[:5]
    assert len(xml_corpus) == 6786
    # The data README counts 6,771 records with criteria text; a record without criteria may only
    # have headings and empty bullets in it.
    for t in xml_corpus:
        if t.criteria:
            continue
        text = ET.parse(t.source).getroot().findtext("eligibility/criteria/textblock") or ""
        content = [ln for ln in text.splitlines() if re.search(r"[A-Za-z]{3}", ln) and not match_header(ln)]
        assert not content, (t.id, content[:3])
    assert sum(1 for t in xml_corpus if t.criteria) >= 6770


def test_structured_ages_match_the_xml(xml_corpus):
    by_source = {t.source: t for t in xml_corpus}
    rng = random.Random(7)
    for source in rng.sample(sorted(by_source), 400):
        root = ET.parse(source).getroot()
        t = by_source[source]
        for tag, attr in (("minimum_age", "min_age"), ("maximum_age", "max_age")):
            stated = root.findtext(f"eligibility/{tag}")
            expected = Age.parse(stated)
            got = getattr(t, attr)
            if expected is not None:
                assert got is not None and got.source == "structured" and got.years == pytest.approx(expected.years), (source, tag)


def test_criteria_cover_the_source_text(xml_corpus):
    rng = random.Random(11)
    for t in rng.sample(list(xml_corpus), 400):
        root = ET.parse(t.source).getroot()
        text = root.findtext("eligibility/criteria/textblock") or ""
        _nothing_lost(t, text)
        if re.search(r"(?im)^\s*exclusion criteria", text):
            assert t.exclusion, t.id

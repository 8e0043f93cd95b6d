"""Chunks are passages with content: list labels the sentence splitter cuts off are not evidence."""

from __future__ import annotations

import os
import tarfile

from tests.conftest import DATA, need
from trialqa.chunking import chunk_trial, has_content

# XML records whose descriptions are outlines ("I. ... II. ...") or numbered lists.
RECORDS = ("NCT00493363", "NCT00496639", "NCT00002489")


def test_label_only_fragments_are_not_chunks(tmp_path):
    from trialqa import load_corpus

    with tarfile.open(need(DATA / "ctgov" / "ctgov_legacy_xml_6786.tgz")) as tf:
        members = [m for m in tf.getmembers() if os.path.basename(m.name).removesuffix(".xml") in RECORDS]
        for m in members:
            m.name = os.path.basename(m.name)
        tf.extractall(tmp_path, members=members, filter="data")
    trials = load_corpus(tmp_path, extract=False)
    assert len(trials) == 3
    for t in trials:
        prose = [c for c in chunk_trial(t) if c.section not in ("inclusion", "exclusion")]
        assert prose and all(has_content(c.text) for c in prose), t.id
        assert not {c.text for c in prose} & {"I.", "II.", "III.", "IV.", "1.", "2.", "3."}


def test_what_counts_as_content():
    assert not any(has_content(x) for x in ("II.", "IV.", "3.", "D.", "0-2", ""))
    assert all(has_content(x) for x in ("Diabetes.", "IL-2 given weekly", "Über 18"))

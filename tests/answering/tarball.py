"""Records of the shared XML tarball, copied out by NCT id for the tests that read them."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from tests.conftest import DATA, need


def extract_records(out: Path, ids) -> Path:
    """Copy the XML records with these NCT ids from the shared tarball into ``out`` (flat)."""
    ids = set(ids)
    with tarfile.open(need(DATA / "ctgov" / "ctgov_legacy_xml_6786.tgz")) as tf:
        members = [m for m in tf.getmembers() if os.path.basename(m.name).removesuffix(".xml") in ids]
        for m in members:
            m.name = os.path.basename(m.name)
        tf.extractall(out, members=members, filter="data")
    return out

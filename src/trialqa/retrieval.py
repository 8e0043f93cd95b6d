"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by reciprocal rank, with the
query expanded from the concept and analyte lexicons (a question about "ANC" also looks for
"PMN" and "neutrophils"), optionally restricted to one trial.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass

import numpy as np

from .embedding import Encoder
from .errors import QueryError
from .index import ChunkIndex

RRF_K = 60
CANDIDATES = 100
MAX_QUERY_CHARS = 2000
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+./-]*")
_STOP = frozenset("""a an the of for to in on at by with and or is are was were be been this that these those
what which who whom whose when where how why does do did can could may might must should would will shall
it its as from into than then there their they them patient patients trial study subjects participant
participants criteria criterion""".split())


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


class HybridRetriever:
    def __init__(self, index: ChunkIndex, encoder: Encoder | None):
        import bm25s

        self.index = index
        self.encoder = encoder
        self._lock = threading.Lock()
        corpus_tokens = [tokenize(c.embed_text) for c in index.chunks]
        self.bm25 = bm25s.BM25()
        if index.chunks:
            self.bm25.index(corpus_tokens, show_progress=False)

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
        if sections and rows is None:
            rows = [i for i, c in enumerate(idx.chunks) if c.section in sections]
        elif sections:
            rows = [i for i in rows if idx.chunks[i].section in sections]
        if rows is not None and not rows:
            return []

        dense_rank: list[tuple[int, float]] = []
        lex_rank: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense") and self.encoder is not None:
            qv = self.encoder.encode([query])[0]
            dense_rank = idx.dense_search(qv, CANDIDATES if rows is None else len(rows), rows)
        if mode in ("hybrid", "lexical"):
            words = tokenize(query) + [w for phrase in expand_query(query) for w in tokenize(phrase)]
            with self._lock:
                scores = self._lexical_scores(words)
            cand = np.asarray(rows) if rows is not None else np.arange(len(idx.chunks))
            sub = scores[cand]
            order = np.argsort(-sub)[:CANDIDATES]
            lex_rank = [(int(cand[i]), float(sub[i])) for i in order if sub[i] > 0]

        fused: dict[int, float] = {}
        dense_of = dict(dense_rank)
        lex_of = dict(lex_rank)
        for ranking in (dense_rank, lex_rank):
            for rank, (row, _) in enumerate(ranking):
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda x: (-x[1], x[0]))[:k]
        hits = []
        for row, score in best:
            c = idx.chunks[row]
            hits.append(Hit(c.trial_id, c.section, c.text, c.start, c.end, round(score, 6), c.id,
                            dense_of.get(row), lex_of.get(row)))
        return hits

"""Retrieval evaluation on NLI4CT (SemEval-2023 Task 7) statements.

Each statement names a trial report (``Primary_id``; ``Secondary_id`` too for a ``Comparison``), a
report section (``Section_id``) and the gold evidence lines of that section
(``Primary_evidence_index`` / ``Secondary_evidence_index``: positions in the section's line list of
``CT_json/<id>.json``).

Queries
-------
One query per (statement, trial): a Comparison statement gives two queries, the primary trial's with
the primary evidence and the secondary trial's with the secondary evidence. The retriever searches one
trial at a time (``search(trial=...)``), and the answering code asks each trial of a comparison
separately, so each trial's evidence is a ranking problem of its own. The query text is the
statement as written; the search is restricted to that trial and to the chunk sections of the report
section (``SECTIONS``).

Gold
----
Line spans are read by scanning the raw JSON text of the report (:func:`json_line_spans`, a small
scanner of this module, independent of the corpus reader and the chunker). A gold line is *covered*
by a chunk whose source span ``[start, end)`` overlaps the line's string-content span. Gold lines no
chunk overlaps (section headings such as ``INCLUSION CRITERIA`` that the reader turns into polarity
rather than criteria, blank lines) cannot be retrieved: they are counted (``uncoverable_lines``) and
left out of the denominators. A query whose gold lines are all uncoverable is skipped and counted.

Metrics (averaged over queries)
-------------------------------
* ``recall@k``: covered gold lines among the top-k chunks / coverable gold lines of the query.
  A chunk lies within one line (lines are paragraphs or criteria), so k chunks cover at most k lines:
  ``oracle_recall@5`` gives the best achievable value (min(5, n) / n averaged).
* ``hit@k``: 1 when at least one gold line is covered by the top-k chunks.
* ``mrr``: 1 / rank of the first chunk covering a gold line, over the whole ranking the retriever
  returns for the section (0 when none does; lexical mode only ranks chunks sharing a term).

Besides the averages over all queries, every mode is summarized per section (``by_section``) and per
section and trial role (``by_section_role``): ``Eligibility/primary`` is the slice the issue names
(eligibility statements searched within their primary trial).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

NLI4CT_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "nli4ct"
SECTIONS = {
    "Eligibility": ("inclusion", "exclusion"),
    "Intervention": ("intervention",),
    "Results": ("results",),
    "Adverse Events": ("adverse_events",),
}
MODES = ("lexical", "dense", "hybrid")
K = 5
FULL_RANKING = 10_000  # deeper than any report section, so MRR sees the whole ranking


# --- gold: line spans from the raw JSON text ---------------------------------------------------------

_WS = re.compile(r"[ \t\r\n]*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


def json_line_spans(raw: str) -> dict[str, list[tuple[int, int]]]:
    """Spans ``(start, end)`` in ``raw`` of the string contents (between the quotes) of every
    top-level key whose value is a list of strings: ``{"Eligibility": [(s0, e0), ...], ...}``."""
    out: dict[str, list[tuple[int, int]]] = {}

    def ws(i: int) -> int:
        return _WS.match(raw, i).end()

    def expect(i: int, ch: str) -> int:
        i = ws(i)
        if raw[i:i + 1] != ch:
            raise ValueError(f"expected {ch!r} at offset {i}, found {raw[i:i + 20]!r}")
        return i + 1

    def string(i: int) -> tuple[int, int, int]:
        m = _STRING.match(raw, ws(i))
        if not m:
            raise ValueError(f"expected a string at offset {ws(i)}")
        return m.start(1), m.end(1), m.end()

    def value(i: int) -> tuple[object, int]:
        """Skip one value; a list of strings comes back as its item spans."""
        i = ws(i)
        ch = raw[i:i + 1]
        if ch == '"':
            s, e, j = string(i)
            return (s, e), j
        if ch == "[":
            items, j = [], ws(i + 1)
            if raw[j:j + 1] == "]":
                return items, j + 1
            while True:
                item, j = value(j)
                items.append(item)
                j = ws(j)
                if raw[j:j + 1] == "]":
                    return items, j + 1
                j = expect(j, ",")
        if ch == "{":
            j = ws(i + 1)
            if raw[j:j + 1] == "}":
                return None, j + 1
            while True:
                _, _, j = string(j)
                j = expect(j, ":")
                _, j = value(j)
                j = ws(j)
                if raw[j:j + 1] == "}":
                    return None, j + 1
                j = expect(j, ",")
        m = _SCALAR.match(raw, i)
        if not m:
            raise ValueError(f"unexpected JSON at offset {i}: {raw[i:i + 20]!r}")
        return None, m.end()

    i = expect(1 if raw.startswith("\ufeff") else 0, "{")
    if ws(i) < len(raw) and raw[ws(i)] == "}":
        return out
    while True:
        ks, ke, i = string(i)
        key = json.loads('"' + raw[ks:ke] + '"')
        i = expect(i, ":")
        val, i = value(i)
        if isinstance(val, list) and all(isinstance(v, tuple) for v in val):
            out[key] = val
        i = ws(i)
        if raw[i:i + 1] == "}":
            return out
        i = expect(i, ",")


def decode_span(raw: str, span: tuple[int, int]) -> str:
    """The decoded string a content span stands for (JSON escapes resolved)."""
    return json.loads('"' + raw[span[0]:span[1]] + '"')


# --- queries -------------------------------------------------------------------------------------

@dataclass
class Query:
    """One (statement, trial) retrieval problem."""

    statement_id: str
    role: str  # primary / secondary
    trial_id: str
    section_id: str
    statement: str
    gold_lines: list[int]  # coverable gold line indices
    uncoverable: list[int]  # gold lines no chunk overlaps
    line_chunks: dict[int, set[str]] = field(default_factory=dict)  # gold line -> ids of covering chunks


def load_statements(split: str, data_dir: Path = NLI4CT_DIR) -> dict[str, dict]:
    with open(Path(data_dir) / f"{split}.json", encoding="utf-8") as f:
        return json.load(f)


def build_queries(statements: dict[str, dict], chunks: Iterable, ct_dir: Path,
                  limit: int | None = None) -> tuple[list[Query], dict]:
    """Queries with their gold chunks; the second value counts what was left out and why."""
    by_trial: dict[str, list] = defaultdict(list)
    for c in chunks:
        by_trial[c.trial_id].append(c)
    spans_cache: dict[str, dict] = {}
    queries: list[Query] = []
    skipped = {"uncoverable_lines": 0, "queries_without_coverable_gold": 0, "gold_lines": 0}
    for sid, st in list(statements.items())[:limit]:
        roles = [("primary", st["Primary_id"], st["Primary_evidence_index"])]
        if st.get("Type") == "Comparison" and st.get("Secondary_id"):
            roles.append(("secondary", st["Secondary_id"], st.get("Secondary_evidence_index") or []))
        for role, trial_id, gold in roles:
            if trial_id not in spans_cache:
                spans_cache[trial_id] = json_line_spans((Path(ct_dir) / f"{trial_id}.json").read_text("utf-8"))
            lines = spans_cache[trial_id].get(st["Section_id"], [])
            allowed = SECTIONS[st["Section_id"]]
            cands = [c for c in by_trial.get(trial_id, []) if c.section in allowed]
            q = Query(sid, role, trial_id, st["Section_id"], st["Statement"], [], [])
            for li in sorted(set(gold)):
                skipped["gold_lines"] += 1
                if li >= len(lines):
                    q.uncoverable.append(li)
                    continue
                s, e = lines[li]
                cover = {c.id for c in cands if c.start < e and c.end > s}
                if cover:
                    q.gold_lines.append(li)
                    q.line_chunks[li] = cover
                else:
                    q.uncoverable.append(li)
            skipped["uncoverable_lines"] += len(q.uncoverable)
            if q.gold_lines:
                queries.append(q)
            else:
                skipped["queries_without_coverable_gold"] += 1
    return queries, skipped


# --- scoring -------------------------------------------------------------------------------------

@dataclass
class ModeScores:
    mode: str
    queries: int
    recall_at_5: float
    recall_at_10: float
    hit_at_5: float
    mrr: float
    by_section: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0
    # "<section>/<role>" -> summary; "Eligibility/primary" is the issue's own criterion (eligibility
    # statements searched within their primary trial)
    by_section_role: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def score_ranking(q: Query, ranked_ids: list[str]) -> dict[str, float]:
    """recall@5, recall@10, hit@5 and reciprocal rank of one ranking (chunk ids, best first)."""
    chunk_line = {cid: li for li, ids in q.line_chunks.items() for cid in ids}
    n = len(q.gold_lines)
    cov5 = {chunk_line[c] for c in ranked_ids[:5] if c in chunk_line}
    cov10 = {chunk_line[c] for c in ranked_ids[:10] if c in chunk_line}
    rr = next((1.0 / (r + 1) for r, c in enumerate(ranked_ids) if c in chunk_line), 0.0)
    return {"recall_at_5": len(cov5) / n, "recall_at_10": len(cov10) / n, "hit_at_5": float(bool(cov5)), "rr": rr}


def _mean(xs: list[float]) -> float:
    return round(statistics.fmean(xs), 4) if xs else 0.0


def aggregate(mode: str, queries: list[Query], per_query: list[dict], seconds: float = 0.0) -> ModeScores:
    by_sec: dict[str, list[dict]] = defaultdict(list)
    by_sec_role: dict[str, list[dict]] = defaultdict(list)
    for q, s in zip(queries, per_query):
        by_sec[q.section_id].append(s)
        by_sec_role[f"{q.section_id}/{q.role}"].append(s)

    def summary(rows: list[dict]) -> dict:
        return {"queries": len(rows), "recall_at_5": _mean([r["recall_at_5"] for r in rows]),
                "mrr": _mean([r["rr"] for r in rows])}

    return ModeScores(mode, len(per_query), _mean([s["recall_at_5"] for s in per_query]),
                      _mean([s["recall_at_10"] for s in per_query]), _mean([s["hit_at_5"] for s in per_query]),
                      _mean([s["rr"] for s in per_query]), {k: summary(v) for k, v in sorted(by_sec.items())},
                      round(seconds, 2), {k: summary(v) for k, v in sorted(by_sec_role.items())})


# --- the evaluation ------------------------------------------------------------------------------

@dataclass
class SplitReport:
    split: str
    statements: int
    queries: int
    gold_lines: int
    uncoverable_lines: int
    queries_without_coverable_gold: int
    oracle_recall_at_5: float
    modes: dict[str, ModeScores]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["modes"] = {m: s.to_dict() for m, s in self.modes.items()}
        return d


@dataclass
class RetrievalReport:
    model: str
    chunks: int
    trials: int
    splits: dict[str, SplitReport]
    index_status: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"model": self.model, "chunks": self.chunks, "trials": self.trials, "index_status": self.index_status,
                "splits": {k: v.to_dict() for k, v in self.splits.items()}, "notes": list(self.notes)}

    def table(self) -> str:
        """Side-by-side markdown table: one row per split and metric, one column per mode."""
        modes = [m for m in MODES if any(m in s.modes for s in self.splits.values())]
        modes += sorted({m for s in self.splits.values() for m in s.modes} - set(modes))
        head = "| split (queries) | metric | " + " | ".join(modes) + " |"
        rows = [head, "|" + " --- |" * (len(modes) + 2)]
        for sp in self.splits.values():
            for metric in ("recall_at_5", "mrr", "hit_at_5", "recall_at_10"):
                cells = [f"{getattr(sp.modes[m], metric):.3f}" if m in sp.modes else "" for m in modes]
                rows.append(f"| {sp.split} ({sp.queries}) | {metric.replace('_at_', '@')} | " + " | ".join(cells) + " |")
        return "\n".join(rows)


class MemoEncoder:
    """Wraps an encoder and remembers query vectors, so the modes embed each statement once;
    ``prime`` embeds a batch up front (much faster than one query at a time) and, with
    ``cache_dir``, keeps the vectors on disk for the next run (an ``EmbeddingCache``)."""

    def __init__(self, inner, cache_dir: Path | None = None):
        from ..embedding import EmbeddingCache

        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache = EmbeddingCache(cache_dir, inner.name, inner.dim) if cache_dir else None
        self._memo: dict[str, np.ndarray] = {}

    def prime(self, texts: list[str]) -> None:
        from ..chunking import text_key

        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if not todo:
            return
        if self._cache is None:
            self._memo.update(zip(todo, self.inner.encode(todo)))
            return
        vecs, _ = self._cache.embed({text_key(t): t for t in todo}, self.inner)
        self._cache.save()
        self._memo.update((t, vecs[text_key(t)]) for t in todo)

    def encode(self, texts, progress=None):
        self.prime([t for t in texts if t not in self._memo])
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


SearchFn = Callable[[Query, str], list[str]]


def retriever_search(retriever) -> SearchFn:
    """The production search, restricted to the query's trial and section; returns chunk ids."""

    def search(q: Query, mode: str) -> list[str]:
        hits = retriever.search(q.statement, k=FULL_RANKING, trial=q.trial_id, sections=SECTIONS[q.section_id],
                                mode=mode)
        return [h.chunk_id for h in hits]

    return search


def evaluate_split(split: str, statements: int, queries: list[Query], skipped: dict, search: SearchFn,
                   modes: Iterable[str] = MODES, progress: Callable[[str], None] | None = None) -> SplitReport:
    results: dict[str, ModeScores] = {}
    for mode in modes:
        t0 = time.perf_counter()
        per_query = [score_ranking(q, search(q, mode)) for q in queries]
        results[mode] = aggregate(mode, queries, per_query, time.perf_counter() - t0)
        if progress:
            progress(f"{split} {mode}: recall@5 {results[mode].recall_at_5:.3f} mrr {results[mode].mrr:.3f}")
    oracle = _mean([min(K, len(q.gold_lines)) / len(q.gold_lines) for q in queries])
    return SplitReport(split, statements, len(queries), skipped["gold_lines"],
                       skipped["uncoverable_lines"], skipped["queries_without_coverable_gold"], oracle, results)


def load_nli4ct_qa(index_dir: str | Path, encoder=None, model: str | None = None, data_dir: Path = NLI4CT_DIR):
    """``TrialQA`` over the 999 NLI4CT reports (index built once in ``index_dir``, then reused)."""
    from ..embedding import get_encoder
    from ..qa import TrialQA

    enc = MemoEncoder(encoder or get_encoder(model), Path(index_dir) / "query-cache")
    return TrialQA.load(Path(data_dir) / "CT_json", index_dir, encoder=enc)


def evaluate(splits: Iterable[str] = ("dev",), *, index_dir: str | Path, encoder=None, model: str | None = None,
             data_dir: Path = NLI4CT_DIR, limit: int | None = None, modes: Iterable[str] = MODES,
             qa=None, search: SearchFn | None = None,
             progress: Callable[[str], None] | None = None) -> RetrievalReport:
    """Evaluate retrieval on NLI4CT ``splits``; ``limit`` takes the first statements of each split.

    ``qa`` reuses a loaded ``TrialQA`` (from :func:`load_nli4ct_qa`); ``search`` replaces the
    production search (experiments)."""
    qa = qa or load_nli4ct_qa(index_dir, encoder, model, data_dir)
    if progress:
        progress(f"index: {qa.index_status}")
    search = search or retriever_search(qa.retriever)
    ct_dir = Path(data_dir) / "CT_json"
    report = RetrievalReport(qa.encoder.name, len(qa.index.chunks), len(qa.trials), {}, qa.index_status)
    for split in splits:
        statements = load_statements(split, data_dir)
        queries, skipped = build_queries(statements, qa.index.chunks, ct_dir, limit)
        if isinstance(qa.encoder, MemoEncoder):
            qa.encoder.prime([q.statement for q in queries])
        n = len(statements) if limit is None else min(limit, len(statements))
        report.splits[split] = evaluate_split(split, n, queries, skipped, search, modes, progress)
    return report

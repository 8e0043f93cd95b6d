"""An experiment of ``index_bench.py --scale xml`` (not the library): where an unrestricted lexical
query spends its time."""

from __future__ import annotations

import time

import numpy as np


def experiment_argpartition(retriever, qs: list[str], percentiles) -> dict:
    """EXPERIMENT (not the library): where an unrestricted lexical query spends its time, on the real
    queries: BM25 scoring (``_lexical_scores``, with lexicon expansion) against the selection of the
    top candidates by a full ``np.argsort`` over every chunk (what ``retrieval.py`` does) or by
    ``np.argpartition`` (the planned change)."""
    from trialqa.retrieval import CANDIDATES, expand_query, tokenize

    n = len(retriever.index.chunks)
    score_ms, sort_ms, part_ms, same = [], [], [], 0
    cand = np.arange(n)
    for q in qs:
        words = tokenize(q) + [w for phrase in expand_query(q) for w in tokenize(phrase)]
        t0 = time.perf_counter()
        scores = retriever._lexical_scores(words)
        t1 = time.perf_counter()
        sub = scores[cand]
        full = np.argsort(-sub)[:CANDIDATES]
        t2 = time.perf_counter()
        sub = scores[cand]
        top = np.argpartition(-sub, CANDIDATES)[:CANDIDATES] if n > CANDIDATES else np.arange(n)
        top = top[np.argsort(-sub[top], kind="stable")]
        t3 = time.perf_counter()
        score_ms.append((t1 - t0) * 1000)
        sort_ms.append((t2 - t1) * 1000)
        part_ms.append((t3 - t2) * 1000)
        same += set(sub[full].tolist()) == set(sub[top].tolist())
    return {"chunks": n, "queries": len(qs), "bm25_scoring": percentiles(score_ms),
            "argsort_full": percentiles(sort_ms), "argpartition": percentiles(part_ms),
            "same_top_scores_pct": round(100 * same / len(qs), 1)}

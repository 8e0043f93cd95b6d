"""The hybrid retriever's candidate selection: partial selection instead of full sorts, same results."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from trialqa.qa import TrialQA
from trialqa.retrieval import CANDIDATES, DENSE_WEIGHT, expand_query, tokenize, top_indices

from .conftest import DARA_SEED, FIXTURES, MSC_SEED
from .fakes import HashingEncoder


def stable_top(scores, n):
    return np.argsort(-np.asarray(scores), kind="stable")[:max(n, 0)]


@pytest.mark.parametrize("seed", range(20))
def test_top_indices_is_a_stable_sort_cut_at_n(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 400))
    scores = rng.integers(0, 6, m).astype(np.float32)  # many ties, also at the cut
    if seed % 2:
        scores = scores + rng.random(m).astype(np.float32) * (seed % 4 == 1)
    for n in (0, 1, 2, 5, m // 2, m - 1, m, m + 3):
        assert top_indices(scores, n).tolist() == stable_top(scores, n).tolist(), (m, n)


def test_top_indices_small_cases():
    assert top_indices(np.array([]), 5).tolist() == []
    assert top_indices(np.array([1.0, 3.0, 2.0]), 0).tolist() == []
    assert top_indices(np.array([1.0, 3.0, 2.0]), 2).tolist() == [1, 2]
    assert top_indices(np.array([2.0, 2.0, 2.0, 1.0]), 2).tolist() == [0, 1]  # ties: lowest positions first
    assert top_indices(np.array([0.0, 5.0, 0.0, 5.0]), 3).tolist() == [1, 3, 0]


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    d = tmp_path_factory.mktemp("retrieval_corpus")
    for src in [MSC_SEED, DARA_SEED, *sorted((FIXTURES / "trials").iterdir())]:
        if src.is_file():
            shutil.copy(src, d)
    return TrialQA.load(d, tmp_path_factory.mktemp("retrieval_idx"), encoder=HashingEncoder())


def reference_search(qa, query, k, rows=None):
    """The fusion computed with full stable sorts (what the partial selection replaces); without a
    filter the dense candidates are FAISS's, as in production."""
    idx, r = qa.index, qa.retriever
    qv = qa.encoder.encode([query])[0]
    if rows is None:
        dense = dict(idx.dense_search(qv, CANDIDATES))
        rows = list(range(len(idx.chunks)))
    else:
        sims = idx.vectors[rows] @ qv
        dense = {rows[i]: float(sims[i]) for i in stable_top(sims, len(rows))}
    words = tokenize(query) + [w for p in expand_query(query) for w in tokenize(p)]
    lex = r._lexical_scores(words)[rows]
    lexical = {rows[i]: float(lex[i]) for i in stable_top(lex, CANDIDATES) if lex[i] > 0}
    # The fusion written out: min-max cosine and max-normalized BM25, weighted.
    lo, hi = min(dense.values()), max(dense.values())
    top = max(lexical.values(), default=0.0)
    fused = {row: DENSE_WEIGHT * ((dense[row] - lo) / (hi - lo) if row in dense and hi > lo else 0.0)
             + (1 - DENSE_WEIGHT) * (lexical[row] / top if row in lexical else 0.0)
             for row in set(dense) | set(lexical)}
    return [idx.chunks[row].id for row, _ in sorted(fused.items(), key=lambda x: (-x[1], x[0]))[:k]]


QUERIES = ["ANC", "pregnant women", "heart failure", "age 18 years or older", "HIV infection",
           "absolute neutrophil count below 1500", "Stevens-Johnson syndrome", "informed consent"]


@pytest.mark.parametrize("query", QUERIES)
def test_unfiltered_search_matches_full_sort_reference(qa, query):
    assert len(qa.index.chunks) > CANDIDATES  # the candidate cut is exercised
    got = [h.chunk_id for h in qa.retriever.search(query, k=20)]
    assert got == reference_search(qa, query, 20)
    lex = qa.retriever.search(query, k=CANDIDATES, mode="lexical")
    assert [h.lexical for h in lex] == sorted((h.lexical for h in lex), reverse=True)
    assert all(h.lexical > 0 for h in lex)


def test_trial_and_section_filters(qa):
    trial = qa.trials[0].id
    rows = [i for i in qa.index.by_trial[trial] if qa.index.chunks[i].section in ("inclusion", "exclusion")]
    hits = qa.retriever.search("pregnant women", k=10_000, trial=trial, sections=("inclusion", "exclusion"))
    # every chunk of the trial's criteria is ranked (dense ranks them all), each once
    assert sorted(h.chunk_id for h in hits) == sorted(qa.index.chunks[i].id for i in rows)
    assert [h.chunk_id for h in hits] == reference_search(qa, "pregnant women", 10_000, rows)
    assert qa.retriever.search("pregnant women", k=5, trial=[trial, trial]) == qa.retriever.search(
        "pregnant women", k=5, trial=trial)
    glob = qa.retriever.search("pregnant women", k=10, sections=("exclusion",))
    assert glob and all(h.section == "exclusion" for h in glob)


def test_concurrent_searches_agree_with_sequential(qa):
    expected = {q: qa.retriever.search(q, k=10) for q in QUERIES}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda q: (q, qa.retriever.search(q, k=10)), QUERIES * 6))
    for q, hits in results:
        assert hits == expected[q]

"""Serving a built index in little memory: the chunk table read from disk when used, memory-mapped
vectors, the saved BM25 index, and the quantized approximate index with exact scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.fakes import HashingEncoder
from trialqa import load_corpus, retrieval
from trialqa.index import ChunkIndex, ChunkTable, build_index, load_index, read_manifest
from trialqa.retrieval import HybridRetriever

QUERIES = ["neutrophil count", "pregnant women", "informed consent", "age 18 years", "hepatitis B"]


@pytest.fixture(scope="module")
def trials(request):
    from tests.conftest import FIXTURES

    return load_corpus(FIXTURES / "trials", extract=False)


def _built(trials, tmp_path, **kw):
    enc = HashingEncoder()
    built, _ = build_index(trials, enc, tmp_path / "idx", "t", cache_dir=tmp_path / "cache", **kw)
    return enc, built, load_index(*read_manifest(tmp_path / "idx", "t"))


def test_loaded_chunk_table_is_the_built_chunks(trials, tmp_path):
    _, built, loaded = _built(trials, tmp_path)
    assert isinstance(loaded.chunks, ChunkTable) and isinstance(loaded.vectors, np.memmap)
    assert len(loaded.chunks) == len(built.chunks) > 100
    assert list(loaded.chunks) == list(built.chunks)
    assert loaded.chunks[-1] == built.chunks[-1] and loaded.chunks[3:6] == built.chunks[3:6]
    with pytest.raises(IndexError):
        loaded.chunks[len(built.chunks)]
    assert loaded.by_trial == {t: rows for t, rows in built.by_trial.items()}
    for trial, rows in loaded.by_trial.items():
        assert all(loaded.chunks[r].trial_id == trial for r in rows) and rows == sorted(rows)
    wanted = ("inclusion", "outcome")
    assert loaded.rows_in_sections(wanted) == [i for i, c in enumerate(built.chunks) if c.section in wanted]
    some = loaded.by_trial[built.chunks[0].trial_id]
    assert loaded.rows_in_sections(wanted, some) == [i for i in some if built.chunks[i].section in wanted]


@pytest.mark.parametrize("damage", ["missing", "garbage", "other chunks"])
def test_damaged_or_stale_rows_file_is_derived_again(trials, tmp_path, damage):
    _, built, loaded = _built(trials, tmp_path)
    rows = loaded.path / ChunkTable.ROWS
    if damage == "missing":
        rows.unlink()
    elif damage == "garbage":
        rows.write_bytes(b"\x00garbage")
    else:  # made from another chunks.jsonl: its digest differs
        data = dict(np.load(rows))
        data["digest"] = np.array("0" * 64)
        data["trial"] = np.zeros_like(data["trial"])
        np.savez(rows, **data)
    again = load_index(*read_manifest(tmp_path / "idx", "t"))
    assert again.by_trial == built.by_trial and list(again.chunks) == list(built.chunks)
    assert rows.exists() and str(np.load(rows)["digest"]) == again.manifest["files"]["chunks.jsonl"]


def test_bm25_is_saved_with_the_index_and_reloaded_with_the_same_scores(trials, tmp_path, monkeypatch):
    enc, _, loaded = _built(trials, tmp_path)
    first = HybridRetriever(loaded, enc)
    assert (loaded.path / retrieval.BM25_DIR / "trialqa.json").exists()
    calls = []
    real = retrieval.tokenize
    monkeypatch.setattr(retrieval, "tokenize", lambda text: calls.append(text) or real(text))
    second = HybridRetriever(load_index(*read_manifest(tmp_path / "idx", "t")), enc)
    assert not calls, "the saved BM25 index was tokenized again"
    for q in QUERIES:
        words = real(q)
        assert np.allclose(first._lexical_scores(words), second._lexical_scores(words))
        assert [h.to_dict() for h in first.search(q, k=5)] == [h.to_dict() for h in second.search(q, k=5)]


def test_a_bm25_index_of_another_tokenizer_is_made_again(trials, tmp_path, monkeypatch):
    enc, _, loaded = _built(trials, tmp_path)
    HybridRetriever(loaded, enc)
    monkeypatch.setattr(retrieval, "_tokenizer_key", lambda: "another")
    calls = []
    real = retrieval.tokenize
    monkeypatch.setattr(retrieval, "tokenize", lambda text: calls.append(text) or real(text))
    HybridRetriever(loaded, enc)
    assert len(calls) == len(loaded.chunks)


def test_quantized_ivf_ranks_by_exact_cosines(trials, tmp_path):
    enc, built, loaded = _built(trials, tmp_path, approx_threshold=10)
    import faiss

    assert isinstance(loaded.faiss_index, faiss.IndexIVFScalarQuantizer) and loaded.manifest["index_type"] == "ivf"
    for q in QUERIES:
        qv = enc.encode([q])[0]
        got = loaded.dense_search(qv, 10)
        exact = np.asarray(loaded.vectors) @ qv
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        for row, score in got:  # the stored vectors' cosine, not the 8-bit codes' approximation
            assert score == pytest.approx(float(exact[row]), abs=1e-6)
        # Every list is probed at this size: the top row is the exact best.
        assert got[0][1] == pytest.approx(float(exact.max()), abs=1e-6)


def test_product_quantized_ivf_for_large_indexes_reranks_many_candidates(trials, tmp_path, monkeypatch):
    import faiss

    from trialqa import index as index_mod

    assert index_mod.ivf_codec(index_mod.PQ_THRESHOLD) == "sq8" and index_mod.ivf_codec(index_mod.PQ_THRESHOLD + 1) == "pq"
    monkeypatch.setenv("TRIALQA_IVF_CODEC", "pq")  # this corpus is small: the setting forces the codes
    enc, built, loaded = _built(trials, tmp_path, approx_threshold=10)
    assert isinstance(loaded.faiss_index, faiss.IndexIVFPQ) and loaded.manifest["ivf_codec"] == "pq"
    assert loaded.faiss_index.code_size == enc.dim // index_mod.PQ_DIMS  # 48 bytes for 384 dimensions, against SQ8's 384
    assert index_mod.ivf_codec(10, dim=100) == "sq8"  # 100 dimensions do not split into sub-vectors of 8
    for q in QUERIES:
        qv = enc.encode([q])[0]
        got = loaded.dense_search(qv, 5)
        exact = np.asarray(loaded.vectors) @ qv
        assert len(got) == 5 and [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        assert all(score == pytest.approx(float(exact[row]), abs=1e-6) for row, score in got)
        # PQ_CANDIDATES candidates from the short codes, re-ranked exactly: the exact top rows come back
        assert len({r for r, _ in got} & set(np.argsort(-exact)[:5].tolist())) >= 4
    monkeypatch.setenv("TRIALQA_IVF_CODEC", "hnsw")
    from trialqa.errors import ConfigError

    with pytest.raises(ConfigError):
        index_mod.ivf_codec(10)


def test_in_memory_and_loaded_indexes_search_alike(trials, tmp_path):
    enc, built, loaded = _built(trials, tmp_path)
    assert isinstance(built, ChunkIndex)
    a, b = HybridRetriever(built, enc), HybridRetriever(loaded, enc)
    trial = built.chunks[0].trial_id
    for q in QUERIES:
        assert [h.to_dict() for h in a.search(q, k=5)] == [h.to_dict() for h in b.search(q, k=5)]
        assert [h.to_dict() for h in a.search(q, k=5, trial=trial, sections=("inclusion", "exclusion"))] == \
            [h.to_dict() for h in b.search(q, k=5, trial=trial, sections=("inclusion", "exclusion"))]


def test_each_embedding_variant_has_its_own_index_and_vectors(tmp_path):
    """An index is only queried with the variant that embedded it: the variant is in the encoder's
    name, hence in the index's directory, its manifest and its vector cache; a manifest naming
    another variant at the same place is rebuilt, never searched with the other vectors."""
    from tests.conftest import DARA_SEED, MSC_SEED
    from trialqa.index import index_name
    from trialqa.qa import TrialQA

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in (MSC_SEED, DARA_SEED):
        (corpus / f.name).write_bytes(f.read_bytes())
    int8, fp32 = HashingEncoder("m@int8"), HashingEncoder("m@fp32", dim=32)  # other vectors, as a variant makes
    a = TrialQA.load(corpus, tmp_path / "idx", encoder=int8)
    b = TrialQA.load(corpus, tmp_path / "idx", encoder=fp32)
    assert a.index.path.parent != b.index.path.parent and a.index.manifest["model"] == "m@int8"
    assert b.index_status.startswith("built (no index yet)") and fp32.encoded > 0
    assert {p.name for p in (tmp_path / "idx" / "cache").iterdir()} == {"m_int8", "m_fp32"}
    assert TrialQA.load(corpus, tmp_path / "idx", encoder=int8).index_status.startswith("loaded")
    # The int8 index's manifest edited to claim fp32: the int8 encoder does not trust it.
    path, manifest = read_manifest(tmp_path / "idx", index_name(corpus, "m@int8"))
    (path / "manifest.json").write_text(json.dumps({**manifest, "model": "m@fp32"}))
    again = TrialQA.load(corpus, tmp_path / "idx", encoder=int8)
    assert again.index_status.startswith("built (index was built with model 'm@fp32', not 'm@int8')")


def test_a_read_only_index_is_served_without_writing(trials, tmp_path, monkeypatch):
    from trialqa import index as index_mod

    enc, built, loaded = _built(trials, tmp_path)
    (loaded.path / ChunkTable.ROWS).unlink()

    def refuse(*a, **kw):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(index_mod, "atomic_write", refuse)  # (root ignores chmod: refuse the writes instead)
    monkeypatch.setattr(retrieval.tempfile, "mkdtemp", refuse)
    again = load_index(*read_manifest(tmp_path / "idx", "t"))
    r = HybridRetriever(again, enc)
    assert r.search("neutrophil count", k=3) and again.by_trial == built.by_trial
    assert not (loaded.path / retrieval.BM25_DIR).exists() and not (loaded.path / ChunkTable.ROWS).exists()


def test_retriever_of_a_removed_version_still_searches(trials, tmp_path):
    import shutil

    enc, built, loaded = _built(trials, tmp_path)
    shutil.rmtree(loaded.path)  # pruned by a newer build while this process holds it
    r = HybridRetriever(loaded, enc)
    assert r.search("informed consent", k=3)


def test_stored_vectors_are_read_without_mapping_the_file(trials, tmp_path):
    """Re-ranking reads rows with pread (the page cache's large folios would otherwise count whole
    megabytes of the file into the process for each row): the same values, any order and runs."""
    _, built, loaded = _built(trials, tmp_path)
    assert isinstance(loaded.vectors, np.memmap)
    n = len(loaded.chunks)
    for ids in ([0], [n - 1], list(range(3, 40)), [5, 1, 2, 3, 9, 9, 0], np.arange(0, n, 7).tolist()):
        assert np.array_equal(loaded.rows(ids), np.asarray(built.vectors)[ids])
    assert np.array_equal(built.rows([2, 4]), np.asarray(built.vectors)[[2, 4]])  # in memory: plain indexing


def test_rows_out_of_range_are_an_error_not_other_bytes(trials, tmp_path):
    _, _, loaded = _built(trials, tmp_path)
    for bad in ([-1], [len(loaded.chunks)], [0, len(loaded.chunks) + 5]):
        with pytest.raises(IndexError):
            loaded.rows(bad)

"""The index on disk: freshness, staleness, corruption, atomic builds, reuse of embeddings."""

from __future__ import annotations

import json
import shutil

import pytest

from trialqa import IndexError_
from trialqa.index import read_manifest
from trialqa.qa import TrialQA

from .conftest import FIXTURES, MSC_SEED, DARA_SEED
from .fakes import HashingEncoder


@pytest.fixture
def corpus_dir(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    shutil.copy(MSC_SEED, d)
    shutil.copy(DARA_SEED, d)
    return d


def load(corpus_dir, index_dir, enc):
    return TrialQA.load(corpus_dir, index_dir, encoder=enc)


def test_build_then_reuse(corpus_dir, tmp_path):
    enc = HashingEncoder()
    qa = load(corpus_dir, tmp_path / "idx", enc)
    assert qa.index_status.startswith("built (no index yet)")
    first = enc.encoded
    assert first == len({c.embed_text for c in qa.index.chunks})
    qa2 = load(corpus_dir, tmp_path / "idx", enc)
    assert qa2.index_status.startswith("loaded") and enc.encoded == first
    m = qa2.index.manifest
    assert m["model"] == "fake-hashing" and m["dim"] == 64 and m["chunks"] == len(qa2.index.chunks)
    assert len(m["corpus_fingerprint"]) == 64


def test_chunks_carry_trial_section_and_offsets(corpus_dir, tmp_path):
    from trialqa.corpus import span_text

    qa = load(corpus_dir, tmp_path / "idx", HashingEncoder())
    sections = {c.section for c in qa.index.chunks}
    assert {"inclusion", "exclusion", "summary", "title"} <= sections
    for c in qa.index.chunks:
        t = qa.trial(c.trial_id)
        assert span_text(t.source_text(), t.format, c.start, c.end) == c.text
    assert len({c.id for c in qa.index.chunks}) == len(qa.index.chunks)


def test_adding_a_record_reembeds_only_new_chunks(corpus_dir, tmp_path):
    enc = HashingEncoder()
    qa = load(corpus_dir, tmp_path / "idx", enc)
    before = enc.encoded
    new = sorted((FIXTURES / "trials").glob("*.xml"))[0]
    shutil.copy(new, corpus_dir)
    qa2 = load(corpus_dir, tmp_path / "idx", enc)
    assert "corpus changed" in qa2.index_status
    added = {c.embed_text for c in qa2.index.chunks} - {c.embed_text for c in qa.index.chunks}
    assert enc.encoded - before == len(added) > 0


def test_other_model_triggers_rebuild(corpus_dir, tmp_path):
    load(corpus_dir, tmp_path / "idx", HashingEncoder("model-a"))
    qa = load(corpus_dir, tmp_path / "idx", HashingEncoder("model-a", dim=32))
    assert qa.index_status.startswith("built") and "model" in qa.index_status


def test_corrupt_index_is_detected_and_rebuilt(corpus_dir, tmp_path, caplog):
    enc = HashingEncoder()
    qa = load(corpus_dir, tmp_path / "idx", enc)
    faiss_file = qa.index.path / "faiss.index"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])  # truncated
    qa2 = load(corpus_dir, tmp_path / "idx", enc)
    assert "corrupt" in qa2.index_status and "faiss.index" in qa2.index_status
    assert len(qa2.search("pregnant", k=3)) == 3


def test_load_index_reports_corruption(corpus_dir, tmp_path):
    from trialqa.index import load_index

    qa = load(corpus_dir, tmp_path / "idx", HashingEncoder())
    (qa.index.path / "vectors.npy").write_bytes(b"garbage")
    path, manifest = read_manifest(tmp_path / "idx", qa.index.path.parent.name)
    with pytest.raises(IndexError_, match="checksum"):
        load_index(path, manifest)


def test_interrupted_build_leaves_previous_index_usable(corpus_dir, tmp_path, monkeypatch):
    import faiss

    enc = HashingEncoder()
    qa = load(corpus_dir, tmp_path / "idx", enc)
    old_path = qa.index.path
    shutil.copy(sorted((FIXTURES / "trials").glob("*.xml"))[0], corpus_dir)

    def crash(*a, **k):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(KeyboardInterrupt):
        load(corpus_dir, tmp_path / "idx", enc)
    monkeypatch.undo()
    path, manifest = read_manifest(tmp_path / "idx", old_path.parent.name)
    assert path == old_path and (path / "faiss.index").exists()
    assert not list(old_path.parent.glob(".build-*"))


def test_search_expands_synonyms_and_filters_by_trial(corpus_dir, tmp_path):
    qa = load(corpus_dir, tmp_path / "idx", HashingEncoder())
    for q in ("ANC", "absolute neutrophil count", "neutrophils"):
        hits = qa.search(q, k=3)
        assert any("PMNs < 1,500" in h.text for h in hits), q
    msc = next(t.id for t in qa.trials if t.nct_id is None)
    hits = qa.search("pregnant women", k=5, trial=msc)
    assert hits and all(h.trial_id == msc for h in hits)
    assert any(h.text == "Pregnant or breastfeeding women" for h in hits)
    hits = qa.search("heart failure", k=2)
    assert hits[0].text == "Decompensated cardiac failure"


def test_search_bad_input(corpus_dir, tmp_path):
    from trialqa import QueryError

    qa = load(corpus_dir, tmp_path / "idx", HashingEncoder())
    with pytest.raises(QueryError):
        qa.search("   ")
    with pytest.raises(QueryError, match="unknown trial"):
        qa.search("age", trial="NCT00000000")
    assert qa.search("age", k=0) == []


def test_add_trial_validates_copies_and_indexes(corpus_dir, tmp_path):
    from trialqa import CorpusError

    enc = HashingEncoder()
    qa = load(corpus_dir, tmp_path / "idx", enc)
    before = enc.encoded
    record = sorted((FIXTURES / "trials").glob("*.json"))[0]
    added = qa.add_trial(record)
    assert len(added) == 1 and (qa.uploads_dir / record.name).exists() and not (corpus_dir / record.name).exists()
    assert added[0].id in {t.id for t in qa.trials}
    assert enc.encoded - before == len({c.embed_text for c in qa.index.chunks if c.trial_id == added[0].id} - {
        c.embed_text for c in qa.index.chunks if c.trial_id != added[0].id})
    assert any(h.trial_id == added[0].id for h in qa.search(added[0].criteria[0].text, k=3))
    files = sorted(p.name for p in corpus_dir.iterdir())
    bad = tmp_path / "bad.json"
    bad.write_text('{"studies": [', encoding="utf-8")
    with pytest.raises(CorpusError):
        qa.add_trial(bad)
    with pytest.raises(Exception, match="already in the corpus"):
        qa.add_trial(record)
    assert sorted(p.name for p in corpus_dir.iterdir()) == files


def test_large_corpus_gets_an_ivf_index_that_round_trips(corpus_dir, tmp_path):
    from trialqa import load_corpus
    from trialqa.index import build_index, load_index

    enc = HashingEncoder()
    trials = load_corpus(corpus_dir)
    idx, stats = build_index(trials, enc, tmp_path / "idx", "approx", approx_threshold=10)
    assert stats.index_type == "ivf" and idx.manifest["index_type"] == "ivf"
    assert idx.faiss_index.ntotal == len(idx.chunks) > 10
    loaded = load_index(*read_manifest(tmp_path / "idx", "approx"))
    assert loaded.faiss_index.nprobe == idx.faiss_index.nprobe
    # Every list is probed at this size (nprobe >= nlist): the search is exact, a chunk finds itself.
    row = next(i for i, c in enumerate(loaded.chunks) if c.section == "title")
    best_row, best_score = loaded.dense_search(loaded.vectors[row], 1)[0]
    assert best_score == pytest.approx(1.0, abs=1e-5)
    assert loaded.chunks[best_row].embed_text == loaded.chunks[row].embed_text


def test_outcome_chunks_and_a_chunking_change_rebuilds(corpus_dir, tmp_path):
    import json

    from trialqa.corpus import span_text

    shutil.copy(FIXTURES / "trials" / "NCT04646330.json", corpus_dir)
    enc = HashingEncoder()
    qa = load(corpus_dir, tmp_path / "idx", enc)
    outcomes = [c for c in qa.index.chunks if c.section == "outcome"]
    assert {c.group for c in outcomes} >= {"primary outcome", "secondary outcome"}
    from trialqa.chunking import MAX_CHUNK_CHARS

    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in outcomes)  # long descriptions are cut by sentence
    t = qa.trial("NCT04646330")
    for c in outcomes:
        assert span_text(t.source_text(), t.format, c.start, c.end) == c.text
    # An index written by an older chunker is stale even though no record changed.
    mf = qa.index.path / "manifest.json"
    manifest = json.loads(mf.read_text("utf-8"))
    mf.write_text(json.dumps({**manifest, "chunking_version": manifest["chunking_version"] - 1}), "utf-8")
    before = enc.encoded
    qa2 = load(corpus_dir, tmp_path / "idx", enc)
    assert "chunking changed" in qa2.index_status
    assert enc.encoded == before  # the same chunks: every vector comes from the cache


# --- damaged manifests and CURRENT files ----------------------------------------------------------

def _manifest_edit(edit):
    def damage(version_dir):
        f = version_dir / "manifest.json"
        f.write_text(json.dumps(edit(json.loads(f.read_text("utf-8")))), encoding="utf-8")
    return damage


def _without(key):
    return lambda m: {k: v for k, v in m.items() if k != key}


INDEX_DAMAGE = {
    "manifest []": (_manifest_edit(lambda m: []), "the manifest is a list, not an object"),
    "manifest null": (_manifest_edit(lambda m: None), "the manifest is null, not an object"),
    "manifest string": (_manifest_edit(lambda m: "x"), "the manifest is a string, not an object"),
    "files 'x'": (_manifest_edit(lambda m: {**m, "files": "x"}), "the manifest's 'files' is a string, not an object"),
    "files without faiss": (_manifest_edit(lambda m: {**m, "files": {"chunks.jsonl": "0"}}), "checksum for each of"),
    "no dim": (_manifest_edit(_without("dim")), "the manifest has no 'dim'"),
    "dim '64'": (_manifest_edit(lambda m: {**m, "dim": "64"}), "the manifest's 'dim' is a string, not a number"),
    "no model": (_manifest_edit(_without("model")), "the manifest has no 'model'"),
    "CURRENT not UTF-8": (lambda v: (v.parent / "CURRENT").write_bytes(b"\xff\xfe\x00v-\x80"), "unreadable CURRENT"),
    "CURRENT a path": (lambda v: (v.parent / "CURRENT").write_text("../../elsewhere"), "CURRENT names no index version"),
}


@pytest.mark.parametrize("damage, reason", INDEX_DAMAGE.values(), ids=INDEX_DAMAGE)
def test_damaged_index_is_detected_and_rebuilt(corpus_dir, tmp_path, damage, reason):
    enc = HashingEncoder()
    qa = load(corpus_dir, tmp_path / "idx", enc)
    damage(qa.index.path)
    qa2 = load(corpus_dir, tmp_path / "idx", enc)
    assert qa2.index_status.startswith("built (") and reason in qa2.index_status
    assert "corrupt" in qa2.index_status and len(qa2.search("pregnant", k=3)) == 3
    assert load(corpus_dir, tmp_path / "idx", enc).index_status.startswith("loaded")


def test_other_dimension_says_so(corpus_dir, tmp_path):
    load(corpus_dir, tmp_path / "idx", HashingEncoder("model-a"))
    qa = load(corpus_dir, tmp_path / "idx", HashingEncoder("model-a", dim=32))
    assert "index holds 64-dimensional vectors, model 'model-a' makes 32-dimensional ones" in qa.index_status


# --- a build killed midway keeps its embeddings ---------------------------------------------------

class DyingEncoder(HashingEncoder):
    """Encodes ``lives`` batches, then the power goes out."""

    def __init__(self, lives: int):
        super().__init__()
        self.lives = lives

    def encode(self, texts, progress=None):
        if self.lives == 0:
            raise KeyboardInterrupt("power cut")
        self.lives -= 1
        return super().encode(texts, progress)


def test_killed_build_resumes_where_it_stopped(corpus_dir, tmp_path, monkeypatch):
    from trialqa import embedding

    monkeypatch.setattr(embedding, "FLUSH_TEXTS", 10)
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRIALQA_CACHE", str(cache))
    dying = DyingEncoder(lives=3)
    with pytest.raises(KeyboardInterrupt):
        load(corpus_dir, tmp_path / "idx", dying)
    assert dying.encoded == 30 and len(list(cache.rglob("part-*.npz"))) == 3
    enc = HashingEncoder()
    qa = load(corpus_dir, tmp_path / "idx", enc)
    distinct = len({c.embed_text for c in qa.index.chunks})
    assert distinct > 40 and enc.encoded == distinct - 30  # only the texts the killed build had not embedded
    assert not list(cache.rglob("part-*.npz")) and list(cache.rglob("vectors.npy"))  # folded in
    again = HashingEncoder()
    load(corpus_dir, tmp_path / "idx2", again)
    assert again.encoded == 0  # all in the cache now
    monkeypatch.setenv("TRIALQA_CACHE", str(tmp_path / "other-cache"))
    whole = load(corpus_dir, tmp_path / "idx3", HashingEncoder())
    assert (qa.index.vectors == whole.index.vectors).all()  # each resumed vector is its own text's


def test_damaged_cache_part_is_embedded_again(corpus_dir, tmp_path, monkeypatch):
    from trialqa import embedding

    monkeypatch.setattr(embedding, "FLUSH_TEXTS", 10)
    monkeypatch.setenv("TRIALQA_CACHE", str(tmp_path / "cache"))
    with pytest.raises(KeyboardInterrupt):
        load(corpus_dir, tmp_path / "idx", DyingEncoder(lives=2))
    first, second = sorted((tmp_path / "cache").rglob("part-*.npz"))
    first.write_bytes(first.read_bytes()[:50])
    enc = HashingEncoder()
    qa = load(corpus_dir, tmp_path / "idx", enc)
    assert enc.encoded == len({c.embed_text for c in qa.index.chunks}) - 10

"""The trial store: what is stored round-trips, only changed records are read again, and a corrupt
or stale store is rebuilt."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT
from tests.fakes import HashingEncoder
from trialqa import TrialQA
from trialqa.chunking import chunk_trial
from trialqa.corpus import load, load_corpus, store as store_mod
from trialqa.corpus.codec import decode_trial, encode_trial
from trialqa.corpus.store import Store

TRIALS = FIXTURES / "trials"
SOME = ["NCT00001683.xml", "NCT00002535.xml", "NCT02179567.json", "NCT05693090.json"]


def _corpus(tmp_path: Path, names=SOME) -> Path:
    d = tmp_path / "corpus"
    (d / "sub").mkdir(parents=True)
    for i, n in enumerate(names):
        shutil.copy(TRIALS / n, (d / "sub" if i % 2 else d) / n)
    _age(d)
    return d


def _age(folder: Path, seconds: float = 60) -> None:
    """Back-date the files: a file written this very moment is always hashed (the racy-write guard)."""
    past = time.time() - seconds
    for p in folder.rglob("*"):
        if p.is_file():
            os.utime(p, (past, past))


class _Counting:
    """Counts the files the readers parse (wrapping the real readers)."""

    def __init__(self, monkeypatch):
        self.names: list[str] = []
        for fmt, reader in dict(load.READERS).items():
            monkeypatch.setitem(load.READERS, fmt, self._wrap(reader))

    def _wrap(self, reader):
        def read(text, name):
            self.names.append(Path(name.split("::")[-1]).name)
            return reader(text, name)
        return read


def _dicts(corpus) -> list[dict]:
    return [t.to_dict() for t in corpus]


def test_every_field_round_trips_through_the_stored_form(fixture_trials, seed_trials):
    for t in list(fixture_trials) + list(seed_trials.values()):
        back = decode_trial(json.loads(json.dumps(encode_trial(t))))
        assert back == t, t.id
        assert back.to_dict() == t.to_dict(), t.id
        assert back.texts == t.texts, t.id
        assert [c.entities for c in back.criteria] == [c.entities for c in t.criteria], t.id
        assert chunk_trial(back) == chunk_trial(t), t.id  # the chunk table is derived again, identically
        # The compiled requirements come back as Requirement objects, not as dicts.
        assert [(type(c.requirement), c.requirement) for c in back.criteria] == \
            [(type(c.requirement), c.requirement) for c in t.criteria], t.id
    assert any(e for t in fixture_trials for c in t.criteria for e in c.entities)
    assert any(c.requirement is not None for t in fixture_trials for c in t.criteria)


def test_a_stored_trial_that_does_not_fit_is_an_error():
    with pytest.raises(ValueError, match="does not fit"):
        decode_trial({"id": "X", "source": "x", "format": "ctgov_xml", "criteria": [{"text": "a"}]})


def test_unchanged_records_are_not_read_again_changed_ones_are(tmp_path, monkeypatch):
    d = _corpus(tmp_path)
    db = tmp_path / "s.sqlite"
    first = load_corpus(d, store=db)
    assert (first.stats.parsed, first.stats.stored) == (4, 0)

    reads = _Counting(monkeypatch)
    again = load_corpus(d, store=db)
    assert reads.names == [] and (again.stats.parsed, again.stats.stored) == (0, 4)
    assert _dicts(again) == _dicts(first)

    # One record changed (same size even): only it is parsed, and the new text is what loads.
    xml = d / "NCT00001683.xml"
    text = xml.read_text("utf-8")
    title = first[[t.id for t in first].index("NCT00001683")].title
    xml.write_text(text.replace(title, title[::-1], 1), "utf-8")
    changed = load_corpus(d, store=db)
    assert reads.names == ["NCT00001683.xml"] and changed.stats.parsed == 1 and changed.stats.stored == 3
    assert {t.id: t.title for t in changed}["NCT00001683"] == title[::-1]

    # Touched but not changed: hashed, not parsed.
    reads.names.clear()
    _age(d, 30)
    assert load_corpus(d, store=db).stats.parsed == 0 and reads.names == []

    # Removed and added.
    (d / "sub" / "NCT00002535.xml").unlink()
    shutil.copy(TRIALS / "NCT00005097.xml", d / "NCT00005097.xml")
    _age(d, 20)
    now = load_corpus(d, store=db)
    assert reads.names == ["NCT00005097.xml"]
    assert now.stats.removed == 1 and "NCT00002535" not in {t.id for t in now} and "NCT00005097" in {t.id for t in now}
    assert Store(db).keys_under(str((d / "sub").resolve())) == {str((d / "sub" / "NCT05693090.json").resolve())}


def test_a_same_size_rewrite_right_after_a_load_is_seen(tmp_path):
    d = tmp_path / "c"
    d.mkdir()
    f = d / "NCT00001683.xml"
    shutil.copy(TRIALS / f.name, f)
    db = tmp_path / "s.sqlite"
    before = load_corpus(d, store=db)
    st = f.stat()
    title = before[0].title
    f.write_text(f.read_text("utf-8").replace(title, title.upper() if title.upper() != title else title.lower(), 1), "utf-8")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime: only the bytes tell
    after = load_corpus(d, store=db)
    assert after.stats.parsed == 1 and after[0].title != title


def test_bad_files_are_reported_again_without_reading_them(tmp_path, monkeypatch):
    d = _corpus(tmp_path, SOME[:1])
    (d / "broken.json").write_text('{"protocolSection": {"identificationModule": {"nctId": 5}}}', "utf-8")
    _age(d)
    db = tmp_path / "s.sqlite"
    first = load_corpus(d, store=db)
    reads = _Counting(monkeypatch)
    again = load_corpus(d, store=db)
    assert reads.names == []
    assert [str(e) for e in again.errors] == [str(e) for e in first.errors] and "broken.json" in str(again.errors[0])


def test_trials_are_read_from_the_store_under_the_path_given_now(tmp_path):
    d = _corpus(tmp_path)
    db = tmp_path / "s.sqlite"
    load_corpus(d, store=db)
    moved = load_corpus(Path(os.path.relpath(d)), store=db)
    assert moved.stats.parsed == 0
    assert all(not Path(t.source).is_absolute() and Path(t.source).exists() for t in moved)


@pytest.mark.parametrize("damage", ["garbage", "truncate", "scribble", "empty-tables"])
def test_a_corrupt_store_is_rebuilt(tmp_path, damage, caplog):
    d = _corpus(tmp_path)
    db = tmp_path / "s.sqlite"
    good = _dicts(load_corpus(d, store=db))
    data = db.read_bytes()
    assert len(data) > 8192
    if damage == "garbage":
        db.write_bytes(os.urandom(len(data)))
    elif damage == "truncate":
        db.write_bytes(data[: len(data) // 3])
    elif damage == "scribble":  # the header survives, pages in the middle do not
        db.write_bytes(data[:4096] + b"\xff" * (len(data) - 8192) + data[-4096:])
    else:
        import sqlite3
        con = sqlite3.connect(db)
        con.execute("UPDATE trials SET head = 'not json'")
        con.commit()
        con.close()
    got = load_corpus(d, store=db)
    assert _dicts(got) == good
    assert got.stats.parsed == 4
    assert "corrupt" in caplog.text
    assert load_corpus(d, store=db).stats.parsed == 0  # and the rebuilt store serves the next load


def test_a_store_written_by_other_readers_is_derived_again(tmp_path, monkeypatch):
    d = _corpus(tmp_path)
    db = tmp_path / "s.sqlite"
    load_corpus(d, store=db)
    monkeypatch.setattr(store_mod, "derivation_key", lambda: "another extraction version")
    again = load_corpus(d, store=db)
    assert again.stats.parsed == 4 and again.stats.store.startswith("rebuilt")


def test_the_derivation_key_follows_the_extraction_rules_and_settings(monkeypatch):
    key = store_mod.derivation_key()
    assert store_mod.derivation_key() == key
    monkeypatch.setenv("TRIALQA_SPACY_MODEL", "en_core_sci_sm")
    assert store_mod.derivation_key() != key
    monkeypatch.delenv("TRIALQA_SPACY_MODEL")
    monkeypatch.setattr(store_mod, "DERIVING", store_mod.DERIVING[1:])  # the readers' code no longer in the key
    assert store_mod.derivation_key() != key


def test_loading_from_an_up_to_date_store_does_not_load_spacy(tmp_path):
    d = _corpus(tmp_path)
    db = tmp_path / "s.sqlite"
    load_corpus(d, store=db)
    code = ("import sys; from trialqa.corpus import load_corpus; c = load_corpus(sys.argv[1], store=sys.argv[2]); "
            "print(len(c), c.stats.parsed, 'spacy' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code, str(d), str(db)], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["4", "0", "False"]
    (d / "NCT00001683.xml").write_text((d / "NCT00001683.xml").read_text("utf-8") + "\n", "utf-8")
    out = subprocess.run([sys.executable, "-c", code, str(d), str(db)], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["4", "1", "True"]


def test_trialqa_load_keeps_the_store_beside_the_index(tmp_path, monkeypatch):
    d = _corpus(tmp_path)
    idx = tmp_path / "idx"
    monkeypatch.delenv("TRIALQA_STORE", raising=False)
    first = TrialQA.load(d, idx, encoder=HashingEncoder())
    assert (idx / "store.sqlite").exists() and first.corpus_stats.parsed == 4
    again = TrialQA.load(d, idx, encoder=HashingEncoder())
    assert again.corpus_stats.parsed == 0 and again.index_status.startswith("loaded")
    assert [t.to_dict() for t in again.trials] == [t.to_dict() for t in first.trials]
    assert again.ask("What is the sponsor of NCT00001683?").text == first.ask("What is the sponsor of NCT00001683?").text


def test_the_store_location_is_overridable_and_can_be_turned_off(tmp_path, monkeypatch):
    d = _corpus(tmp_path, SOME[:2])
    elsewhere = tmp_path / "elsewhere" / "trials.sqlite"
    monkeypatch.setenv("TRIALQA_STORE", str(elsewhere))
    TrialQA.load(d, tmp_path / "idx", encoder=HashingEncoder())
    assert elsewhere.exists() and not (tmp_path / "idx" / "store.sqlite").exists()
    monkeypatch.setenv("TRIALQA_STORE", "off")
    qa = TrialQA.load(d, tmp_path / "idx2", encoder=HashingEncoder())
    assert qa.corpus_stats.store is None and not (tmp_path / "idx2" / "store.sqlite").exists()


def test_the_index_fingerprint_from_stored_hashes_is_the_one_the_index_computes(tmp_path):
    from trialqa.index import corpus_fingerprint
    from trialqa.qa import _fingerprint

    d = _corpus(tmp_path)
    db = tmp_path / "s.sqlite"
    load_corpus(d, store=db)
    stored = load_corpus(d, store=db)
    assert stored.stats.parsed == 0 and len(stored.hashes) == 4
    assert _fingerprint(stored, stored.hashes) == corpus_fingerprint(stored)  # an index built before the store stays valid
    assert _fingerprint(stored, {}) == corpus_fingerprint(stored)


def test_stored_trials_read_their_criteria_and_texts_when_first_used(tmp_path):
    import copy
    import pickle

    from trialqa.corpus.stored import BODY, StoredTrial

    d = _corpus(tmp_path)
    db = tmp_path / "s.sqlite"
    first = load_corpus(d, store=db)
    again = load_corpus(d, store=db)
    assert all(isinstance(t, StoredTrial) and not t.loaded() for t in again)
    t = again[0]
    assert t.title == first[0].title and not t.loaded()  # the head alone
    assert [c.text for c in t.criteria] == [c.text for c in first[0].criteria] and t.loaded()
    assert t.criteria[0].requirement is not None and t.texts.keys() == first[0].texts.keys()
    assert _dicts(again) == _dicts(first)
    assert _dicts([pickle.loads(pickle.dumps(again[1]))]) == _dicts([first[1]])
    assert _dicts([copy.deepcopy(again[2])]) == _dicts([first[2]])
    assert {"criteria", "texts", "description"} <= set(BODY)


def test_a_damaged_body_is_reported_with_its_trial_when_used(tmp_path):
    import sqlite3

    from trialqa.errors import CorpusError

    d = _corpus(tmp_path)
    db = tmp_path / "s.sqlite"
    load_corpus(d, store=db)
    again = load_corpus(d, store=db)
    con = sqlite3.connect(db)
    con.execute("UPDATE trials SET body = 'not json' WHERE id = ?", (again[0].id,))
    con.commit()
    con.close()
    with pytest.raises(CorpusError, match=f"{again[0].id}.*do not decode"):
        again[0].criteria
    assert again[1].criteria  # the others still read


def test_answering_about_one_trial_reads_only_that_trials_body(tmp_path):
    d = _corpus(tmp_path)
    idx = tmp_path / "index"
    TrialQA.load(d, idx, encoder=HashingEncoder())
    qa = TrialQA.load(d, idx, encoder=HashingEncoder())
    assert qa.corpus_stats.stored == 4 and not any(t.loaded() for t in qa.trials)
    one = qa.trials[1]
    qa.ask("What is the minimum age?", trial=one.id)
    assert [t.id for t in qa.trials if t.loaded()] == [one.id]


def test_a_stored_trial_loads_once_under_threads_and_retries_after_a_failed_read(tmp_path):
    import threading

    from trialqa.corpus.stored import StoredTrial

    d = _corpus(tmp_path)
    db = tmp_path / "s.sqlite"
    first = load_corpus(d, store=db)
    t = load_corpus(d, store=db)[0]
    real = t.__dict__["_load_body"]
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return real()

    t.__dict__["_load_body"] = slow
    errors = []
    threads = [threading.Thread(target=lambda: errors.append(None) if t.criteria else None) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert calls == [1] and t.loaded() and t == first[0] and first[0] == t  # equal to the parsed trial

    u = load_corpus(d, store=db)[1]
    good = u.__dict__["_load_body"]
    u.__dict__["_load_body"] = lambda: (_ for _ in ()).throw(OSError("database is locked"))
    with pytest.raises(OSError):
        u.criteria
    assert not u.loaded()
    u.__dict__["_load_body"] = good
    assert u.criteria == first[1].criteria and isinstance(u, StoredTrial)


def test_the_name_index_is_kept_in_the_store_and_a_question_naming_no_trial_reads_one_body(tmp_path, monkeypatch):
    from trialqa.answering import scope

    d = _corpus(tmp_path)
    idx = tmp_path / "index"
    first = TrialQA.load(d, idx, encoder=HashingEncoder())
    built = first._name_index
    calls = []
    real = scope.NameIndex.build
    monkeypatch.setattr(scope.NameIndex, "build", classmethod(lambda cls, trials: calls.append(1) or real.__func__(cls, trials)))
    qa = TrialQA.load(d, idx, encoder=HashingEncoder())
    assert getattr(qa, "_name_index", None) is None  # kept: read when a question first needs it
    assert scope.name_index(qa).to_dict() == built.to_dict() and calls == []  # read from the store, not built
    assert not any(t.loaded() for t in qa.trials)
    target = next(t for t in qa.trials if t.id == "NCT02179567")
    a = qa.ask(f"What is the minimum age in the {target.title} trial?")  # named by its title, not its id
    assert a.trials == [target.id] and [t.id for t in qa.trials if t.loaded()] == [target.id]
    # another corpus (a record removed) is another key: the index is built again for it
    (next(d.rglob("NCT00002535.xml"))).unlink()
    TrialQA.load(d, idx, encoder=HashingEncoder())
    assert calls == [1]


def test_a_kept_name_index_of_other_code_is_built_again_at_load(tmp_path, monkeypatch):
    from trialqa.answering import scope

    d = _corpus(tmp_path)
    idx = tmp_path / "index"
    TrialQA.load(d, idx, encoder=HashingEncoder())
    monkeypatch.setattr(scope, "VERSION", "another")
    qa = TrialQA.load(d, idx, encoder=HashingEncoder())
    assert qa._name_index is not None and qa._name_index.to_dict()["version"] == "another"  # built at load and kept
    again = TrialQA.load(d, idx, encoder=HashingEncoder())
    assert getattr(again, "_name_index", None) is None and scope.name_index(again).to_dict()["version"] == "another"

"""Bulk archives (.zip, .tar.gz, .tgz) read directly as a corpus, an upload or part of a directory."""

from __future__ import annotations

import io
import json
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.fakes import HashingEncoder
from trialqa import TrialQA
from trialqa.archives import iter_members, read_member
from trialqa.corpus import load, load_corpus, span_text
from trialqa.errors import CorpusError

TRIALS = FIXTURES / "trials"
BAD_FIELD = json.dumps({"protocolSection": {"identificationModule": {"nctId": 5}}})


def _members(extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Good records in nested folders, one bad field, one truncated XML, an empty file, and
    members that are no records (a README, hidden files, macOS forks)."""
    m = {
        "ctg-studies/NCT00001683.xml": (TRIALS / "NCT00001683.xml").read_bytes(),
        "ctg-studies/a/b/NCT00002535.xml": (TRIALS / "NCT00002535.xml").read_bytes(),
        "ctg-studies/NCT02179567.json": (TRIALS / "NCT02179567.json").read_bytes(),
        "ctg-studies/bad/int_id.json": BAD_FIELD.encode(),
        "ctg-studies/bad/cut.xml": (TRIALS / "NCT00003091.xml").read_bytes()[:300],
        "ctg-studies/empty.json": b"",
        "README.md": b"# not a record",
        "ctg-studies/README": b"not a record either",
        ".hidden.json": (TRIALS / "NCT05693090.json").read_bytes(),
        "__MACOSX/ctg-studies/._NCT00001683.xml": b"\x00\x05\x16\x07",
        "ctg-studies/.DS_Store": b"\x00\x00\x00\x01Bud1",
    }
    m.update(extra or {})
    return m


def _write(path: Path, members: dict[str, bytes], mtime: float | None = None) -> Path:
    mtime = mtime or time.time() - 3600
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("ctg-studies/", b"")  # a directory entry
            for name, data in members.items():
                zf.writestr(zipfile.ZipInfo(name, time.localtime(mtime)[:6]), data)
    else:
        with tarfile.open(path, "w:gz") as tf:
            d = tarfile.TarInfo("ctg-studies")
            d.type = tarfile.DIRTYPE
            tf.addfile(d)
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data), int(mtime)
                tf.addfile(info, io.BytesIO(data))
    return path


GOOD = {"NCT00001683", "NCT00002535", "NCT02179567"}


@pytest.mark.parametrize("name", ["studies.zip", "studies.tar.gz", "studies.tgz"])
def test_an_archive_loads_its_good_members_and_names_each_bad_one(tmp_path, name):
    arc = _write(tmp_path / name, _members())
    corpus = load_corpus(arc)
    assert {t.id for t in corpus} == GOOD
    errors = {e.path: e.reason for e in corpus.errors}
    assert set(errors) == {f"{arc}::ctg-studies/bad/int_id.json", f"{arc}::ctg-studies/bad/cut.xml",
                           f"{arc}::ctg-studies/empty.json"}
    assert 'field "protocolSection.identificationModule.nctId" should be a string' in errors[f"{arc}::ctg-studies/bad/int_id.json"]
    assert "empty" in errors[f"{arc}::ctg-studies/empty.json"]
    # Citations read the member back: every criterion's span gives its text.
    for t in corpus:
        assert t.source.startswith(f"{arc}::ctg-studies/")
        src = t.source_text()
        assert all(span_text(src, t.format, c.start, c.end) == c.text for c in t.criteria)
    assert any(c.entities for t in corpus for c in t.criteria)


def test_archive_members_load_like_the_same_files_unpacked(tmp_path, fixture_trials):
    names = ["NCT00001683.xml", "NCT00005571.xml", "NCT04646330.json"]
    arc = _write(tmp_path / "x.tgz", {f"d/{n}": (TRIALS / n).read_bytes() for n in names})
    from_archive = {t.id: t.to_dict() for t in load_corpus(arc)}
    unpacked = {t.id: t.to_dict() for t in fixture_trials if Path(t.source).name in names}
    for d in list(from_archive.values()) + list(unpacked.values()):
        d.pop("source")
    assert from_archive == unpacked


def test_a_directory_reads_the_archives_in_it(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "NCT05693090.json").write_bytes((TRIALS / "NCT05693090.json").read_bytes())
    _write(d / "bulk.zip", _members())
    (d / "notes.tar").write_bytes(b"plain tar is not read")  # .tar alone is neither an archive we read nor a record
    corpus = load_corpus(d)
    assert {t.id for t in corpus} == GOOD | {"NCT05693090"}


def test_a_cut_short_archive_is_reported_and_what_was_read_still_loads(tmp_path):
    arc = _write(tmp_path / "a.tgz", {f"d/{n}": (TRIALS / n).read_bytes() for n in
                                      ["NCT00001683.xml", "NCT00001818.xml", "NCT00002535.xml", "NCT00003091.xml"]})
    data = arc.read_bytes()
    arc.write_bytes(data[: int(len(data) * 0.7)])
    corpus = load_corpus(arc)
    assert corpus.errors and corpus.errors[-1].path == str(arc) and "cut short" in corpus.errors[-1].reason
    assert 1 <= len(corpus) < 4
    (tmp_path / "junk.zip").write_bytes(b"this is no zip")
    assert "not a readable zip archive" in load_corpus(tmp_path / "junk.zip").errors[0].reason


def test_members_stream_one_at_a_time(tmp_path):
    arc = _write(tmp_path / "a.tgz", _members())
    it = iter_members(arc)
    first = next(it)
    assert first.name == "ctg-studies/NCT00001683.xml" and first.data == (TRIALS / "NCT00001683.xml").read_bytes()
    assert read_member(f"{arc}::ctg-studies/a/b/NCT00002535.xml") == (TRIALS / "NCT00002535.xml").read_bytes()
    with pytest.raises(CorpusError, match="no such member"):
        read_member(f"{arc}::nope.xml")


def test_an_oversized_member_is_reported_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALQA_MAX_RECORD_MB", "0.01")
    arc = _write(tmp_path / "a.zip", {"big.xml": (TRIALS / "NCT00001683.xml").read_bytes() + b" " * 20000})
    corpus = load_corpus(arc)
    assert not corpus and corpus.errors[0].path == f"{arc}::big.xml" and "limit" in corpus.errors[0].reason


def _reads(monkeypatch) -> list[str]:
    names: list[str] = []
    for fmt, reader in dict(load.READERS).items():
        def read(text, name, reader=reader):
            names.append(name.split("::")[-1])
            return reader(text, name)
        monkeypatch.setitem(load.READERS, fmt, read)
    return names


@pytest.mark.parametrize("name", ["bulk.zip", "bulk.tgz"])
def test_reingesting_an_archive_reads_only_the_changed_members(tmp_path, monkeypatch, name):
    db = tmp_path / "s.sqlite"
    members = {f"s/{n}": (TRIALS / n).read_bytes() for n in
               ["NCT00001683.xml", "NCT00001818.xml", "NCT00002535.xml", "NCT00003091.xml", "NCT02179567.json"]}
    arc = _write(tmp_path / name, members, time.time() - 7200)
    first = load_corpus(arc, store=db)
    assert first.stats.parsed == 5
    reads = _reads(monkeypatch)

    monkeypatch.setattr(load, "iter_members", lambda *a, **k: pytest.fail("an unchanged archive was opened"))
    again = load_corpus(arc, store=db)
    assert reads == [] and [t.to_dict() for t in again] == [t.to_dict() for t in first]
    monkeypatch.undo()
    reads = _reads(monkeypatch)

    # One member changed, one removed, one added: only two members are parsed.
    changed = dict(members)
    changed["s/NCT00001818.xml"] = members["s/NCT00001818.xml"].replace(b"</brief_title>", b" (amended)</brief_title>", 1)
    del changed["s/NCT00002535.xml"]
    changed["s/NCT05693090.json"] = (TRIALS / "NCT05693090.json").read_bytes()
    _write(arc, changed, time.time() - 3600)
    now = load_corpus(arc, store=db)
    assert sorted(reads) == ["s/NCT00001818.xml", "s/NCT05693090.json"]
    assert (now.stats.parsed, now.stats.removed) == (2, 1)
    by_id = {t.id: t for t in now}
    assert "NCT00002535" not in by_id and "NCT05693090" in by_id and by_id["NCT00001818"].title.endswith("(amended)")


def test_an_uploaded_archive_adds_its_good_members(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "NCT05693090.json").write_bytes((TRIALS / "NCT05693090.json").read_bytes())
    qa = TrialQA.load(corpus, tmp_path / "idx", encoder=HashingEncoder())
    upload = _write(tmp_path / "tmp-upload-xyz", _members())  # how a browser upload arrives: a temporary name
    added = qa.add_trial(upload, name="studies.zip")
    assert {t.id for t in added} == GOOD
    assert {e.path for e in added.errors} >= {"studies.zip::ctg-studies/bad/int_id.json"}
    assert all(str(tmp_path / "tmp-upload-xyz") not in e.path for e in added.errors)
    assert (qa.uploads_dir / "studies.zip").exists()
    t = qa.trial("NCT00002535")
    assert t.source == f"{qa.uploads_dir / 'studies.zip'}::ctg-studies/a/b/NCT00002535.xml"
    assert t.source_text().lstrip().startswith("<")
    assert qa.search("inclusion", k=3, trial="NCT00002535")
    reloaded = TrialQA.load(corpus, tmp_path / "idx", encoder=HashingEncoder())
    assert {t.id for t in reloaded.trials} == GOOD | {"NCT05693090"}
    assert reloaded.index_status.startswith("loaded")  # same fingerprint as the index add_trial built


def test_an_uploaded_archive_with_no_good_record_is_refused(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "NCT05693090.json").write_bytes((TRIALS / "NCT05693090.json").read_bytes())
    qa = TrialQA.load(corpus, tmp_path / "idx", encoder=HashingEncoder())
    bad = _write(tmp_path / "up", {"x/int_id.json": BAD_FIELD.encode(), "README.txt": b"hello"})
    with pytest.raises(CorpusError, match=r"no trial record found in the archive.*bad\.tgz::x/int_id\.json"):
        qa.add_trial(bad, name="bad.tgz")
    assert not any(qa.uploads_dir.iterdir())


def test_validate_checks_every_member_of_an_archive(tmp_path, capsys):
    from trialqa.cli import main

    d = tmp_path / "corpus"
    d.mkdir()
    arc = _write(d / "bulk.tgz", _members())
    assert main(["validate", str(d)]) == 1
    out = capsys.readouterr().out
    assert f"{arc}::ctg-studies/bad/int_id.json" in out and f"{arc}::ctg-studies/empty.json" in out
    assert "NCT00001683.xml" not in out  # the good members are no problem
    assert out.strip().endswith("1 file(s), 3 trial(s), 3 problem(s)")

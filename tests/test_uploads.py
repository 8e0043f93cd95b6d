"""Records added through the web app: kept in their own directory (never the shipped corpus),
loaded with the corpus, refused with a reason when the loader would skip them, and reported under
the name the user gave."""

from __future__ import annotations

import shutil

import pytest

from trialqa import CorpusError, config
from trialqa.errors import QueryError
from trialqa.qa import TrialQA

from .conftest import DARA_SEED, FIXTURES, MSC_SEED
from .fakes import HashingEncoder


@pytest.fixture
def corpus_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIALQA_UPLOADS", raising=False)
    d = tmp_path / "corpus"
    d.mkdir()
    shutil.copy(MSC_SEED, d)
    shutil.copy(DARA_SEED, d)
    return d


class ReportingEncoder(HashingEncoder):
    """Reports its progress the way the real encoder does."""

    def encode(self, texts, progress=None):
        out = super().encode(texts)
        if progress:
            progress(len(texts), len(texts))
        return out


def snapshot(folder):
    return sorted((p.name, p.read_bytes()) for p in folder.rglob("*") if p.is_file())


def record():
    return sorted((FIXTURES / "trials").glob("*.json"))[0]


def test_uploads_default_beside_the_corpus_and_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIALQA_UPLOADS", raising=False)
    assert config.uploads_dir("corpus") == config.Path("uploads")
    assert config.uploads_dir(tmp_path / "corpus") == tmp_path / "uploads"
    monkeypatch.setenv("TRIALQA_UPLOADS", str(tmp_path / "mine"))
    assert config.uploads_dir(tmp_path / "corpus") == tmp_path / "mine"


def test_an_upload_goes_to_the_uploads_directory_and_is_loaded_again_with_the_corpus(corpus_dir, tmp_path):
    enc = ReportingEncoder()
    qa = TrialQA.load(corpus_dir, tmp_path / "idx", encoder=enc)
    before = snapshot(corpus_dir)
    calls = []
    added = qa.add_trial(record(), progress=lambda done, total: calls.append((done, total)))
    assert snapshot(corpus_dir) == before  # the shipped corpus is untouched
    assert (tmp_path / "uploads" / record().name).read_bytes() == record().read_bytes()
    assert added[0].source == str(tmp_path / "uploads" / record().name)
    assert calls and calls[-1][0] == calls[-1][1]
    again = TrialQA.load(corpus_dir, tmp_path / "idx", encoder=enc)
    assert added[0].id in {t.id for t in again.trials} and len(again.trials) == 3
    assert again.index_status.startswith("loaded")  # the index written by add_trial is the one load wants
    assert again.trial(added[0].id).source_text() == record().read_text(encoding="utf-8")


def test_an_upload_directory_from_the_environment(corpus_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALQA_UPLOADS", str(tmp_path / "elsewhere"))
    qa = TrialQA.load(corpus_dir, tmp_path / "idx", encoder=HashingEncoder())
    qa.add_trial(record())
    assert (tmp_path / "elsewhere" / record().name).exists() and not (tmp_path / "uploads").exists()


@pytest.mark.parametrize("name, reason", [
    ("README.json", "README"), ("readme.txt", "README"), (".hidden.json", "starts with '.'"),
    ("notes.md", ".md files are not loaded"), ("record.pdf", ".pdf files are not loaded")])
def test_a_file_the_loader_would_skip_is_refused_with_the_reason(corpus_dir, tmp_path, name, reason):
    qa = TrialQA.load(corpus_dir, tmp_path / "idx", encoder=HashingEncoder())
    src = tmp_path / "in" / name
    src.parent.mkdir()
    shutil.copy(record(), src)
    with pytest.raises(CorpusError, match=reason) as exc:
        qa.add_trial(src)
    assert str(exc.value).startswith(name)
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())
    assert len(qa.trials) == 2


def test_errors_name_the_file_as_the_user_named_it(corpus_dir, tmp_path):
    qa = TrialQA.load(corpus_dir, tmp_path / "idx", encoder=HashingEncoder())
    tmp = tmp_path / "gradio" / "5f3a9c" / "upload.bin"
    tmp.parent.mkdir(parents=True)
    tmp.write_text('{"protocolSection": {"identificationModule": ', encoding="utf-8")
    with pytest.raises(CorpusError) as exc:
        qa.add_trial(tmp, name="my trial.json")
    msg = str(exc.value)
    assert msg.startswith("my trial.json:1: malformed JSON") and "truncated" in msg
    assert str(tmp_path) not in msg and ".upload-" not in msg
    assert not any((tmp_path / "uploads").iterdir())  # nothing left behind, not even the hidden copy


def test_a_trial_already_loaded_is_refused_and_nothing_is_written(corpus_dir, tmp_path):
    qa = TrialQA.load(corpus_dir, tmp_path / "idx", encoder=HashingEncoder())
    with pytest.raises(QueryError, match="already in the corpus"):
        qa.add_trial(MSC_SEED, name="again.txt")
    qa.add_trial(record())
    with pytest.raises(QueryError, match=f"{record().name}: trial .* already in the corpus"):
        qa.add_trial(record())
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == [record().name]


def test_a_record_in_both_directories_is_read_once(corpus_dir, tmp_path):
    (tmp_path / "uploads").mkdir()
    shutil.copy(MSC_SEED, tmp_path / "uploads" / "copy.txt")
    qa = TrialQA.load(corpus_dir, tmp_path / "idx", encoder=HashingEncoder())
    assert len(qa.trials) == 2
    assert any("duplicate trial id" in str(e) and "copy.txt" in str(e) for e in qa.corpus_errors)

"""``TrialQA``: the one orchestrator. Loads the corpus, makes sure the index is fresh, and serves
search (and, through ``answering``, questions and eligibility checks)."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sqlite3
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

from . import config
from .chunking import CHUNKING_VERSION
from .archives import ARCHIVE_SUFFIXES, is_archive, read_member, split_member
from .corpus import Corpus, load_corpus
from .corpus.store import Store, open_store, read_derived, store_path
from .embedding import Encoder, get_encoder
from .errors import CorpusError, IndexError_, QueryError
from .index import ChunkIndex, build_index, index_name, load_index, read_manifest
from .records import Trial
from .retrieval import HybridRetriever, Hit
from .spans import LONE_SURROGATE
from .storage import exclusive, file_sha256

log = logging.getLogger(__name__)


class TrialQA:
    """Question answering over a corpus of trial records.

    Use ``TrialQA.load()``; it reads the corpus, then uses the index on disk when it matches the
    corpus and model, and (re)builds it otherwise. ``index_status`` says which happened and why.
    """

    def __init__(self, trials: Corpus, index: ChunkIndex, encoder: Encoder | None, *,
                 corpus_dir: Path, index_dir: Path, index_status: str, uploads_dir: Path | None = None):
        self.trials: list[Trial] = list(trials)
        self.corpus_errors = list(getattr(trials, "errors", []))
        self.index = index
        self.encoder = encoder
        self.corpus_dir = corpus_dir
        self.uploads_dir = uploads_dir or config.uploads_dir(corpus_dir)  # records added with add_trial
        self.index_dir = index_dir
        self.index_status = index_status
        self.retriever = HybridRetriever(index, encoder)
        self._by_id = {t.id: t for t in self.trials}
        self._hashes: dict[str, str] = dict(getattr(trials, "hashes", {}))  # source -> SHA-256, for the fingerprint
        self.corpus_stats = getattr(trials, "stats", None)  # what the load read, and the store's status
        self._lock = threading.Lock()

    # --- construction ----------------------------------------------------------------------------

    @classmethod
    def load(cls, corpus_dir: str | Path | None = None, index_dir: str | Path | None = None,
             model: str | None = None, *, encoder: Encoder | None = None, rebuild: bool = False,
             progress: Callable[[int, int], None] | None = None) -> "TrialQA":
        """Load the corpus and a fresh index (defaults: ``TRIALQA_CORPUS``, ``TRIALQA_INDEX``, ``TRIALQA_MODEL``).

        Parsed trials are kept in the store (``TRIALQA_STORE``, default ``<index dir>/store.sqlite``):
        only records added or changed since the last load are read and extracted.
        """
        cdir = config.corpus_dir(corpus_dir)
        idir = config.index_dir(index_dir)
        udir = config.uploads_dir(cdir)
        spath = store_path(idir)
        # Loads starting together read and write the store one at a time: a second writer of the
        # same records would replace the rows the first one's trials read their bodies from.
        with exclusive(spath.with_name(spath.name + ".lock"), optional=True) if spath else nullcontext():
            store = open_store(idir)
            try:
                trials = _load_with_uploads(cdir, udir, store)
            except BaseException:
                if store is not None:
                    store.close()
                raise
        try:
            for err in trials.errors:
                log.warning("skipped %s", err)
            enc = encoder or get_encoder(model)
            name = index_name(cdir, enc.name)
            fingerprint = _fingerprint(trials, trials.hashes)
            index, status = cls._fresh_index(trials, enc, idir, name, rebuild, progress, fingerprint)
            qa = cls(trials, index, enc, corpus_dir=cdir, index_dir=idir, index_status=status, uploads_dir=udir)
            if store is not None:
                _keep_name_index(qa, store, fingerprint)
        finally:
            if store is not None:
                store.close()
        return qa

    @staticmethod
    def _fresh_index(trials, enc: Encoder, idir: Path, name: str, rebuild: bool, progress,
                     fingerprint: str) -> tuple[ChunkIndex, str]:
        if not rebuild:
            index, reason = TrialQA._current_index(enc, idir, name, fingerprint, warn=False)
            if index is not None:
                return index, reason
        # One process builds; another that found the index missing at the same time waits, then
        # loads what the first built (it would otherwise prune the version the first is reading).
        with exclusive(idir / name / ".build.lock"):
            if rebuild:
                reason = "rebuild requested"
            else:
                index, reason = TrialQA._current_index(enc, idir, name, fingerprint, warn=True)
                if index is not None:
                    return index, reason
            index, stats = build_index(trials, enc, idir, name, cache_dir=config.cache_dir(idir), progress=progress,
                                       fingerprint=fingerprint)
        return index, (f"built ({reason}): {stats.chunks} chunks, {stats.encoded} newly embedded "
                       f"of {stats.unique_texts} distinct texts")

    @staticmethod
    def _current_index(enc: Encoder, idir: Path, name: str, fingerprint: str, warn: bool) -> tuple[ChunkIndex | None, str]:
        """The live index when it is fresh for this corpus and model, else None and why not."""
        try:
            found = read_manifest(idir, name)
            if found is None:
                return None, "no index yet"
            path, manifest = found
            if manifest.get("model") != enc.name:
                return None, f"index was built with model {manifest.get('model')!r}, not {enc.name!r}"
            if manifest.get("dim") != enc.dim:
                return None, (f"index holds {manifest.get('dim')}-dimensional vectors, model {enc.name!r} "
                              f"makes {enc.dim}-dimensional ones")
            if manifest.get("corpus_fingerprint") != fingerprint:
                return None, "the corpus changed since the index was built"
            if manifest.get("chunking_version") != CHUNKING_VERSION:
                return None, "the chunking changed since the index was built"
            return load_index(path, manifest), f"loaded {path}"
        except IndexError_ as exc:
            if warn:  # checked again under the build lock: not a version another process was replacing
                log.warning("%s; rebuilding", exc)
            return None, str(exc)

    # --- corpus changes ---------------------------------------------------------------------------

    def add_trial(self, path: str | Path, *, name: str | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Corpus:
        """Validate a record file or a bulk archive of them, copy it into the uploads directory and index it.

        ``name`` is the file name as the user gave it (default: the file's own name); it names the
        copy and every error. A file the loader would skip (hidden, README, a document suffix) or a
        bad record raises ``CorpusError`` and changes nothing; a record whose id is already loaded
        raises ``QueryError``. ``progress(done, total)`` follows the embedding of new chunks, and
        unchanged chunks are not re-embedded (vectors are cached). The result is a ``Corpus``: the
        trials added, and in ``errors`` the archive members that were not (each named
        ``<name>::<member>``); an archive with no good record raises ``CorpusError``.
        """
        import shutil
        import tempfile

        src = Path(path)
        shown = Path(name or src.name).name or src.name
        _check_record_name(shown)
        with self._lock:
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            # A hidden name: the loader skips it, so a crash here never leaves a half-read record.
            # The archive suffix is kept: it is how the loader knows to read the copy as an archive.
            suffix = next((x for x in ARCHIVE_SUFFIXES if shown.lower().endswith(x)), "")
            fd, tmp = tempfile.mkstemp(dir=self.uploads_dir, prefix=".upload-", suffix=suffix)
            os.close(fd)
            tmp = Path(tmp)
            dest = None
            try:
                shutil.copyfile(src, tmp)
                new = _read_upload(tmp, shown)
                clash = [t.id for t in new if t.id in self._by_id]
                if clash:
                    raise QueryError(f"{shown}: trial {', '.join(clash)} is already in the corpus (or among the uploads)")
                dest = _free_name(self.uploads_dir, shown)
                os.replace(tmp, dest)
                moved = lambda source: str(dest) + source[len(str(tmp)):]  # noqa: E731 (members: "<dest>::<member>")
                for t in new:
                    t.source = moved(t.source)
                hashes = {**self._hashes, **{moved(k): v for k, v in new.hashes.items()}}
                trials = Corpus(self.trials + list(new), self.corpus_errors + new.errors)
                index, status = self._fresh_index(trials, self.encoder, self.index_dir,
                                                  index_name(self.corpus_dir, self.encoder.name), False, progress,
                                                  _fingerprint(trials, hashes))
            except BaseException:
                tmp.unlink(missing_ok=True)
                if dest is not None:
                    dest.unlink(missing_ok=True)  # the uploads stay as they were
                raise
            retriever = HybridRetriever(index, self.encoder)
            # One assignment each; a concurrent reader sees the old or the new state, never a mix.
            self.trials, self.index, self.retriever, self.index_status = list(trials), index, retriever, status
            self._by_id = {t.id: t for t in self.trials}
            self._hashes, self.corpus_errors = hashes, trials.errors
        return new

    # --- queries ---------------------------------------------------------------------------------

    def trial(self, ref: str) -> Trial:
        """A trial by id or NCT number; ``QueryError`` names the known ids otherwise."""
        t = self._by_id.get(ref) or next((t for t in self.trials if t.nct_id == ref), None)
        if t is None:
            known = ", ".join(sorted(self._by_id)[:10])
            raise QueryError(f"unknown trial {ref!r}; known: {known}{' ...' if len(self._by_id) > 10 else ''}")
        return t

    def search(self, query: str, k: int = 5, trial: str | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query``, optionally within one trial. A query that is not
        valid Unicode (a lone surrogate) is refused with ``QueryError``, like an empty one."""
        _check_unicode(query, "query")
        trial_id = self.trial(trial).id if trial else None
        return self.retriever.search(query, k=k, trial=trial_id)

    def ask(self, question: str, trial: str | None = None):
        """Answer a free-text question; see ``answering.Answer``.

        ``QueryError`` for a question that is empty or not valid Unicode (a lone surrogate such as
        ``"\\ud800"``, which JSON can carry but no tokenizer encodes: refused, not silently
        replaced, so the question answered is the one asked) and for an unknown ``trial``.
        """
        from .answering import answer_question

        _check_unicode(question, "question")
        if trial:
            self.trial(trial)
        return answer_question(self, question, trial)

    def check(self, patient: dict, trial: str):
        """Check a patient description against one trial's criteria; see ``answering.EligibilityReport``.
        An impossible fact (an age that is not a number from 0 to 130 years, a negative or infinite
        time since onset, a detached area outside 0-100%) raises ``QueryError``."""
        from .answering import check_eligibility

        if isinstance(patient, dict):
            _check_patient(patient)
        return check_eligibility(self, patient, self.trial(trial))

    def match(self, patient, k: int = 10, trials: list[str] | None = None):
        """The ``k`` trials that best fit a patient (a free-text note, a facts dict as for ``check``
        or a FHIR bundle dict), relevant and eligible first; see ``answering.matching.Match``. The
        list's ``facts`` are the facts read from the patient. ``trials`` restricts the candidates."""
        from .answering.matching import match

        if isinstance(patient, str):
            _check_unicode(patient, "patient note")
        elif isinstance(patient, dict) and patient.get("resourceType") is None:
            _check_patient(patient)
        return match(self, patient, k=k, trials=trials)


# --- helpers of load and add_trial ---------------------------------------------------------------

def _keep_name_index(qa: "TrialQA", store: Store, fingerprint: str) -> None:
    """Which words name which trial (``scope.NameIndex``) is kept in the store, so that a question that
    does not name its trial by id does not read every trial's criteria after each start. Kept: read
    when first needed. Not kept (the corpus changed): built now, from the trials just read, and kept."""
    from .answering.scope import VERSION, NameIndex

    key = f"{VERSION}:{fingerprint}:{store.key}"  # another scope module, corpus or derivation: built again
    if store.has_derived("name_index", key):
        path, trials = store.path, qa.trials

        def read() -> NameIndex | None:
            found = read_derived(path, "name_index", key)
            return NameIndex.from_dict(found, trials) if found else None

        qa._name_index_loader = read
        return
    qa._name_index = NameIndex.build(qa.trials)
    try:
        store.put_derived("name_index", key, qa._name_index.to_dict())
    except sqlite3.Error as exc:  # a read-only or full disk: the index is only not kept
        log.warning("cannot keep the name index in %s (%s)", store.path, exc)


def _fingerprint(trials, hashes: dict[str, str]) -> str:
    """``index.corpus_fingerprint`` from the hashes the load already made (the store keeps them),
    so an unchanged corpus is not read again to check its index; sources without one are hashed."""
    h = hashlib.sha256()
    seen: set[str] = set()
    for t in sorted(trials, key=lambda t: (t.source, t.id)):
        if t.source not in seen:
            seen.add(t.source)
            digest = hashes.get(t.source)
            if digest is None:
                digest = (hashlib.sha256(read_member(t.source)).hexdigest() if split_member(t.source)
                          else file_sha256(Path(t.source)))
            h.update(Path(t.source).name.encode())
            h.update(digest.encode())
        h.update(t.id.encode())
    return h.hexdigest()


def _load_with_uploads(corpus_dir: Path, uploads_dir: Path, store: Store | None = None) -> Corpus:
    """The corpus, then the records added to ``uploads_dir`` (a trial id already read is skipped)."""
    trials = load_corpus(corpus_dir, store=store)
    inside = uploads_dir.resolve().is_relative_to(corpus_dir.resolve())
    if inside or not uploads_dir.is_dir():
        return trials  # nothing added yet, or already read as part of the corpus
    added = load_corpus(uploads_dir, store=store)
    trials.errors.extend(added.errors)
    trials.hashes.update(added.hashes)
    seen = {t.id: t.source for t in trials}
    for t in added:
        if t.id in seen:
            trials.errors.append(CorpusError(t.source, f"duplicate trial id {t.id} (already read from {seen[t.id]}); skipped"))
        else:
            seen[t.id] = t.source
            trials.append(t)
    return trials


def _check_record_name(name: str) -> None:
    """Refuse a name the corpus loader would skip: the copy would never be loaded."""
    from .corpus.load import SKIP_SUFFIXES

    suffix = Path(name).suffix.lower()
    if is_archive(name) and not name.startswith("."):
        return  # a bulk archive: its members are read as records
    if name.startswith("."):
        reason = "a file whose name starts with '.' is hidden and never loaded; rename it"
    elif name.upper().startswith("README"):
        reason = "files named README... are documentation and never loaded as records; rename it"
    elif suffix in SKIP_SUFFIXES:
        reason = (f"{suffix} files are not loaded as records; upload the ClinicalTrials.gov JSON or XML, "
                  "the registry page saved as text (.json, .xml, .txt), or an archive of them (.zip, .tar.gz, .tgz)")
    else:
        return
    raise CorpusError(name, reason)


def _read_upload(path: Path, name: str) -> Corpus:
    """The trials of one uploaded file, read like a corpus file; errors name the file as ``name``."""
    try:
        got = load_corpus(path)
        if is_archive(path):
            got.errors = [_renamed(e, path, name) for e in got.errors]
            if not got:
                problems = "; ".join(str(e) for e in got.errors[:3])
                raise CorpusError(name, "no trial record found in the archive" + (f" ({problems})" if problems else ""))
        return got
    except CorpusError as exc:  # "<tmp> (study #2)" reads "<name> (study #2)"
        raise _renamed(exc, path, name) from None
    except Exception as exc:  # a reader bug: still the user's file name, not a server path
        raise CorpusError(name, f"unexpected error while reading: {type(exc).__name__}") from None


def _renamed(exc: CorpusError, path: Path, name: str) -> CorpusError:
    return CorpusError(exc.path.replace(str(path), name), exc.reason.replace(str(path), name), exc.line)


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-N.suffix`` when that exists."""
    suffix = next((x for x in ARCHIVE_SUFFIXES if name.lower().endswith(x)), Path(name).suffix)
    stem = name[:len(name) - len(suffix)] if suffix else name
    dest, n = folder / name, 1
    while dest.exists():
        dest = folder / f"{stem}-{n}{name[len(stem):]}"
        n += 1
    return dest


# The patient facts that are numbers: (what they measure, the largest possible value).
PATIENT_NUMBERS = {"age": ("years", 130), "days_since_onset": ("days", None), "bsa_percent": ("percent", 100)}


def _check_unicode(text, what: str) -> None:
    """Refuse text holding a lone surrogate (it decodes from JSON ``"\\ud800"`` but encodes to nothing)."""
    m = LONE_SURROGATE.search(text) if isinstance(text, str) else None
    if m:
        raise QueryError(f"the {what} is not valid Unicode: a lone surrogate (U+{ord(m.group(0)):04X}) at "
                         f"character {m.start() + 1}")


def _check_patient(patient: dict) -> None:
    """Refuse numbers no patient has: NaN, infinite, negative, an age over 130 years, an area over 100%."""
    for key, (unit, upper) in PATIENT_NUMBERS.items():
        value = patient.get(key)
        if value is None:
            continue
        try:
            x = float(value)
        except (TypeError, ValueError):
            continue  # not a number at all: answering says so
        limits = f"from 0 to {upper} {unit}" if upper is not None else f"of {unit}, 0 or more"
        if isinstance(value, bool) or not math.isfinite(x) or x < 0 or (upper is not None and x > upper):
            raise QueryError(f"{key} must be a number {limits}, got {value!r}")
    for key, what in (("labs", "lab value"), ("conditions", "condition"), ("absent", "absent condition")):
        items = patient.get(key) or []
        if not isinstance(items, (list, tuple)):
            raise QueryError(f"{key} must be a list of strings, got {items!r}")
        for item in items:
            _check_unicode(item, what)

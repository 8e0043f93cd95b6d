"""Loading a corpus: walking a directory (and the bulk archives in it), reading each file with the
reader for its format, dropping duplicate trials and collecting the errors of bad files.

With a ``Store`` only what changed is read: a file or archive whose size and mtime are as stored is
taken from the store, one whose bytes hash as stored is not parsed again, and sources gone from a
directory are forgotten. Parsed files are extracted and stored in batches, so spaCy loads only when
some record must be parsed.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..archives import DOCUMENT_SUFFIXES, is_archive, iter_members, member_source, skipped_name, split_member
from ..errors import CorpusError, CorpusErrors
from ..records import Trial
from ..sources import decode_bytes, detect_format, read_text
from ..storage import file_sha256
from .ctgov_json import read_json
from .ctgov_xml import read_xml
from .registry_page import read_registry_text
from .store import Store, StoreCorrupt

SKIP_SUFFIXES = DOCUMENT_SUFFIXES  # what a corpus directory leaves out; archives in it are read (below)
READERS: dict[str, Callable[[str, str], list[Trial]]] = {
    "ctgov_json": read_json, "ctgov_xml": read_xml, "registry_text": read_registry_text}
RACY_NS = 2_000_000_000  # files modified this recently are hashed even when size and mtime match
BATCH = 256  # parsed files extracted and stored together: bounded memory, few transactions


@dataclass
class LoadStats:
    """What a load did: sources taken from the store, sources read and parsed, sources forgotten."""

    stored: int = 0
    parsed: int = 0
    removed: int = 0
    store: str | None = None  # the store's status, when there is one

    def to_dict(self) -> dict:
        return asdict(self)


class Corpus(list):
    """A list of ``Trial`` plus ``errors`` (the ``CorpusError`` of every file that failed), ``stats``
    (``LoadStats``) and ``hashes`` (source name -> SHA-256 of its bytes, for the index fingerprint)."""

    def __init__(self, trials: Iterable[Trial] = (), errors: list[CorpusError] | None = None):
        super().__init__(trials)
        self.errors: list[CorpusError] = errors or []
        self.stats = LoadStats()
        self.hashes: dict[str, str] = {}


def read_records(path: str | os.PathLike) -> list[Trial]:
    """Read one file into its trials (a JSON file may hold many)."""
    return _records(read_text(path), str(path))


def _records(text: str, name: str) -> list[Trial]:
    trials = READERS[detect_format(text)](text, name)
    if not trials:
        raise CorpusError(name, "no trial record found in file")
    return trials


def _member_records(data: bytes, name: str) -> list[Trial]:
    if not data.strip():
        raise CorpusError(name, "file is empty")
    return _records(decode_bytes(data, name), name)


def iter_record_files(root: Path) -> list[Path]:
    """The record files and archives under ``root`` in sorted walk order; hidden files, READMEs and
    documents are left out."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if is_archive(fn) and not fn.startswith("."):
                files.append(Path(dirpath) / fn)
            elif not skipped_name(fn):
                files.append(Path(dirpath) / fn)
    return files


def load_corpus(path: str | os.PathLike, *, strict: bool = False, extract: bool = True,
                progress: Callable[[int, int], None] | None = None, store: Store | str | os.PathLike | None = None) -> Corpus:
    """Load trials from a record file, a bulk archive (``.zip``, ``.tar.gz``, ``.tgz``) or a directory (recursive).

    A single bad record file raises ``CorpusError``. In a directory or an archive, bad files and
    members are reported in the returned ``Corpus.errors`` (or raised together as ``CorpusErrors``
    when ``strict``) and every good one still loads. Duplicate trial ids keep the first record and
    report the others. ``extract`` attaches extracted entities to each criterion. ``store`` (a
    ``Store`` or the path of its file) keeps parsed trials so that the next load reads only what
    changed; it is used only with ``extract``.
    """
    root = Path(path)
    if not root.exists():
        raise CorpusError(str(root), "no such file or directory")
    # Without extraction the trials are not what the store keeps: it is left alone.
    opened = None if store is None or not extract else store if isinstance(store, Store) else Store(store)
    try:
        try:
            loader = _Loader(opened, extract)
            corpus = loader.load(root, progress)
        except (sqlite3.DatabaseError, StoreCorrupt) as exc:
            opened.rebuild(f"the store {opened.path} is corrupt ({exc})")
            loader = _Loader(opened, extract)
            corpus = loader.load(root, progress)
    finally:
        if opened is not None and opened is not store:
            opened.close()
    if root.is_file() and not is_archive(root) and loader.sources[0].errors:
        raise loader.sources[0].errors[0]
    if strict and corpus.errors:
        raise CorpusErrors(corpus.errors, list(corpus))
    return corpus


@dataclass
class _Source:
    """One source as read now: where it is stored, what it yielded (filled in place for pending ones)."""

    key: str
    shown: str
    seq: int = 0
    size: int = 0
    mtime_ns: int = 0
    sha256: str | None = None
    trials: list[Trial] = field(default_factory=list)
    errors: list[CorpusError] = field(default_factory=list)


class _Loader:
    def __init__(self, store: Store | None, extract: bool):
        self.store, self.extract = store, extract
        self.sources: list[_Source] = []  # in walk order
        self.pending: list[_Source] = []  # parsed, not yet extracted and stored
        self.stats = LoadStats(store=store.status if store else None)

    def load(self, root: Path, progress) -> Corpus:
        entries = [root] if root.is_file() else iter_record_files(root)
        seen: set[str] = set()
        for i, f in enumerate(entries):
            seen.add(_key(f))
            if is_archive(f):
                self.archive(f)
            else:
                self.file(f)
            if progress and root.is_dir():
                progress(i + 1, len(entries))
        self.flush()
        self.dedupe = root.is_dir() or is_archive(root)  # one file's studies are all kept, as read
        if self.store is not None and root.is_dir():
            gone = {k for k in self.store.keys_under(_key(root)) if not split_member(k)} - seen
            with self.store.transaction():
                self.store.delete(gone)
            self.stats.removed += len(gone)
        return self._corpus()

    def file(self, f: Path) -> None:
        src = _Source(_key(f), str(f))
        try:
            st = f.stat()
            src.size, src.mtime_ns = st.st_size, st.st_mtime_ns
            if self._unchanged(src) or self._same_bytes(src, lambda: file_sha256(f)):
                return
        except OSError as exc:
            src.errors.append(CorpusError(str(f), f"cannot read file: {exc.strerror or exc}"))
            self.sources.append(src)
            return
        self._parse(src, lambda: read_records(f))

    def archive(self, f: Path) -> None:
        """Every member of an archive; with a store, an archive unchanged on disk is not opened."""
        arc = _Source(_key(f), str(f))
        st = f.stat()
        arc.size, arc.mtime_ns = st.st_size, st.st_mtime_ns
        row = self.store.source(arc.key) if self.store else None
        if row is not None and (row.size, row.mtime_ns) == (arc.size, arc.mtime_ns):
            for m in self.store.members(arc.key):
                self._stored(_Source(m.key, member_source(arc.shown, split_member(m.key)[1]), m.seq, m.size,
                                     m.mtime_ns, m.sha256))
            arc.errors = self.store.errors(arc.key, arc.shown)
            self.sources.append(arc)
            return
        old = {m.key for m in self.store.members(arc.key)} if self.store else set()
        seen: set[str] = set()
        try:
            for seq, m in enumerate(iter_members(f, errors=arc.errors)):
                src = _Source(member_source(arc.key, m.name), member_source(arc.shown, m.name), seq, m.size,
                              m.mtime * 1_000_000_000, hashlib.sha256(m.data).hexdigest())
                seen.add(src.key)
                if not self._same_bytes(src, lambda: src.sha256):
                    self._parse(src, lambda: _member_records(m.data, src.shown))
        except CorpusError as exc:  # unreadable or cut short: the members read so far still load
            arc.errors.append(exc)
        self.flush()  # the members are stored before the archive row says they are complete
        self.sources.append(arc)
        if self.store is not None:
            with self.store.transaction():
                self.store.delete(old - seen)
                self.store.put(arc.key, seq=0, size=arc.size, mtime_ns=arc.mtime_ns, sha256=None, shown=arc.shown,
                               errors=arc.errors)
            self.stats.removed += len(old - seen)

    def _unchanged(self, src: _Source) -> bool:
        row = self.store.source(src.key) if self.store else None
        if row is None or (row.size, row.mtime_ns) != (src.size, src.mtime_ns) or row.sha256 is None:
            return False
        if time.time_ns() - src.mtime_ns < RACY_NS:
            return False  # written just now: a same-size rewrite within the clock's granularity keeps the mtime
        src.sha256 = row.sha256
        self._stored(src)
        return True

    def _same_bytes(self, src: _Source, digest: Callable[[], str]) -> bool:
        """Whether the source's bytes hash as stored (then it is taken from the store, not parsed)."""
        src.sha256 = digest()
        row = self.store.source(src.key) if self.store else None
        if row is None or row.sha256 != src.sha256:
            return False
        self.store.touch(src.key, seq=src.seq, size=src.size, mtime_ns=src.mtime_ns)
        self._stored(src)
        return True

    def _stored(self, src: _Source) -> None:
        src.trials = self.store.trials(src.key, src.shown)
        src.errors = self.store.errors(src.key, src.shown)
        self.sources.append(src)
        self.stats.stored += 1

    def _parse(self, src: _Source, read: Callable[[], list[Trial]]) -> None:
        try:
            src.trials = read()
        except CorpusError as exc:
            src.errors.append(exc)
        except Exception as exc:  # a reader bug must not lose the rest of the corpus
            src.errors.append(CorpusError(src.shown, f"unexpected error while reading: {exc!r}"))
        self.sources.append(src)
        self.pending.append(src)
        self.stats.parsed += 1
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Extract and store the parsed sources (spaCy loads here, and only when some were parsed)."""
        if not self.pending:
            return
        trials = [t for s in self.pending for t in s.trials]
        derive(trials, extract=self.extract)
        if self.store is not None:
            with self.store.transaction():
                for s in self.pending:
                    self.store.put(s.key, seq=s.seq, size=s.size, mtime_ns=s.mtime_ns, sha256=s.sha256,
                                   shown=s.shown, trials=s.trials, errors=s.errors)
        self.pending = []

    def _corpus(self) -> Corpus:
        corpus = Corpus()
        corpus.stats = self.stats
        seen: dict[str, str] = {}
        for s in self.sources:
            corpus.errors.extend(s.errors)
            if s.sha256:
                corpus.hashes[s.shown] = s.sha256
            for t in s.trials:
                if t.id in seen and self.dedupe:
                    corpus.errors.append(CorpusError(s.shown, f"duplicate trial id {t.id} (already read from {seen[t.id]}); skipped"))
                    continue
                seen[t.id] = s.shown
                corpus.append(t)
        return corpus


def _key(path: Path) -> str:
    return str(Path(path).resolve())


def derive(trials: list[Trial], *, extract: bool = True) -> None:
    """What is derived from parsed records: criteria entities, intervention doses, ages stated only
    in criteria. Stored with the trial, so a load from the store does none of it."""
    if not trials:
        return
    # Imported late: loading from an up-to-date store (a one-shot CLI call) must not load spaCy.
    from ..extraction import ages_from_criteria, attach_entities

    if extract:
        attach_entities(trials)
    _intervention_doses(trials)
    for t in trials:
        # Records that state ages only in their criteria ("aged from 18 to 75") get them from there.
        if t.min_age is None or t.max_age is None:
            lo, hi = ages_from_criteria(t)
            t.min_age = t.min_age or lo
            t.max_age = t.max_age or hi


def _intervention_doses(trials: Iterable[Trial]) -> None:
    """Dose and route of each intervention, where its name or description states them."""
    from ..extraction import rules

    r = rules()
    for t in trials:
        for iv in t.interventions:
            doses = [e for e in r.extract(f"{iv.name}. {iv.description or ''}") if e.label == "DOSE"]
            if doses:
                iv.dose = doses[0].text.strip()
                iv.route = doses[0].route

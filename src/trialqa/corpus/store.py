"""The persistent store: every parsed trial and what is derived from it, in one SQLite file.

One row per source (a record file, an archive, or a member of an archive), keyed by the source's
absolute path (``archive::member`` for a member), with the size and mtime it had when read and the
SHA-256 of its bytes: a source whose size and mtime are unchanged is not read at all, one whose
bytes hash the same is not parsed again. Each trial is stored as ``codec.encode_trial`` JSON (fields,
criteria with their entities, ages read from criteria, doses, decoded texts), so any derived field
round-trips through that one serialization, split into a head read at load and a body (criteria,
texts, ...) read when the trial's criteria are first used (``stored.py``). The errors of a bad file are stored too, so a reload
reports them without reading it.

``derivation_key()`` hashes the code and data that turn bytes into trials (readers, extraction,
lexicons, chunking, the spaCy pipeline setting): when it changes, the store is emptied and every
record is derived again. A file that is not an SQLite database, a truncated or garbled one, or one
with another schema is detected and rebuilt (``Store.status`` says why). Writes happen in
transactions; WAL lets readers go on while a build writes.

Location: ``TRIALQA_STORE`` (a file path; ``off`` turns the store off), else ``store.sqlite`` in the
index directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .. import config
from ..errors import CorpusError
from ..records import Trial
from .codec import encode_trial
from .stored import BodyReader, StoredTrial, split

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 2: each trial as head and body (stored.py); 3: derived, what is built from all trials
STORE_FILE = "store.sqlite"
PACKAGE = Path(__file__).resolve().parent.parent
# What turns a record file into stored trials; a change to any of them re-derives every record.
DERIVING = ("corpus", "extraction", "data", "records.py", "spans.py", "sections.py", "sources.py", "units.py",
            "lexicons.py", "chunking.py", "archives.py")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    key TEXT PRIMARY KEY,       -- absolute path, or "<absolute archive path>::<member>"
    seq INTEGER NOT NULL,       -- order inside its archive (0 for files)
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT,                -- of the bytes, NULL for an archive (its members are hashed)
    shown TEXT NOT NULL,        -- the name it was read under (errors and Trial.source use it)
    errors TEXT NOT NULL        -- JSON list of [path, reason, line]
);
CREATE TABLE IF NOT EXISTS trials (
    source TEXT NOT NULL REFERENCES sources(key) ON DELETE CASCADE,
    ord INTEGER NOT NULL, id TEXT NOT NULL,
    head TEXT NOT NULL,         -- codec.encode_trial as JSON without the body fields (stored.BODY)
    body TEXT NOT NULL,         -- those fields: criteria with entities and requirements, texts, ...
    PRIMARY KEY (source, ord)
);
CREATE TABLE IF NOT EXISTS derived (
    kind TEXT PRIMARY KEY,      -- e.g. "name_index": built from every trial, kept for the next load
    key TEXT NOT NULL,          -- the fingerprint of what it was built from
    data TEXT NOT NULL          -- JSON
);
"""


def store_path(index_dir: str | os.PathLike) -> Path | None:
    """Where ``TrialQA.load`` keeps the store: ``TRIALQA_STORE`` or ``<index dir>/store.sqlite``; None when off."""
    value = config.store_setting() or ""
    if value.lower() in ("off", "0", "none", "no"):
        return None
    return Path(value) if value else Path(index_dir) / STORE_FILE


def open_store(index_dir: str | os.PathLike) -> "Store | None":
    """The store for an index directory (``store_path``); None when turned off or when it cannot be
    written (then every load parses every record, as without a store)."""
    path = store_path(index_dir)
    if path is None:
        return None
    try:
        return Store(path)
    except OSError as exc:
        log.warning("cannot use the trial store %s (%s); reading every record", path, exc.strerror or exc)
        return None


def derivation_key() -> str:
    """A hash of the code and settings that derive trials from bytes."""
    h = hashlib.sha256(f"schema {SCHEMA_VERSION}\x1f{config.spacy_model()}\x1f{config.max_record_bytes()}".encode())
    for name in DERIVING:
        p = PACKAGE / name
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.suffix in (".py", ".json") and f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(PACKAGE)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()


@dataclass
class SourceRow:
    key: str
    seq: int
    size: int
    mtime_ns: int
    sha256: str | None
    shown: str


class StoreCorrupt(Exception):
    """The store file cannot be trusted; the loader rebuilds it."""


class Store:
    """An open store. ``status``: ``opened``, ``created`` or ``rebuilt (<reason>)``."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.key = derivation_key()
        self.reads = 0  # sources read and parsed through this store (the tests count re-reads)
        self._bodies: BodyReader | None = None  # reads the stored trials' bodies when first used
        try:
            self.status = self._open()
        except (sqlite3.DatabaseError, StoreCorrupt) as exc:
            self.rebuild(f"the store {self.path} is corrupt ({exc})")

    def _open(self) -> str:
        existed = self.path.exists() and self.path.stat().st_size > 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if existed:
            with open(self.path, "rb") as f:
                if f.read(16) != b"SQLite format 3\x00":
                    raise StoreCorrupt("not an SQLite database")
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA synchronous=NORMAL")
        if not existed:
            self._create()
            return "created"
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") != str(SCHEMA_VERSION) or meta.get("derivation") != self.key:
            self._reset()
            return "rebuilt (the readers, extraction or chunking changed since the store was written)"
        self.db.execute("SELECT count(*) FROM sources").fetchone()  # a store cut short fails here
        return "opened"

    def _create(self) -> None:
        with self.transaction():
            for stmt in SCHEMA.split(";"):  # the comments hold no ";"
                if stmt.strip():
                    self.db.execute(stmt)
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                [("schema_version", str(SCHEMA_VERSION)), ("derivation", self.key)])

    def _reset(self) -> None:
        with self.transaction():
            for table in ("derived", "trials", "sources", "meta"):
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
        self._create()

    def rebuild(self, reason: str) -> None:
        """Start again from an empty store file (the old one is removed)."""
        log.warning("%s; rebuilding it", reason)
        self.close()
        self._bodies = None  # trials read from the old file keep their reader; new ones get one of the new file
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._open()
        self.status = f"rebuilt ({reason})"

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
            self.db = None

    def transaction(self):
        return _Transaction(self.db)

    # --- reading -----------------------------------------------------------------------------------

    def source(self, key: str) -> SourceRow | None:
        row = self.db.execute("SELECT key, seq, size, mtime_ns, sha256, shown FROM sources WHERE key = ?",
                              (key,)).fetchone()
        return SourceRow(*row) if row else None

    def members(self, archive_key: str) -> list[SourceRow]:
        """The stored members of an archive, in archive order."""
        lo = f"{archive_key}::"
        rows = self.db.execute("SELECT key, seq, size, mtime_ns, sha256, shown FROM sources "
                               "WHERE key >= ? AND key < ? ORDER BY seq", (lo, lo + "\U0010ffff")).fetchall()
        return [SourceRow(*r) for r in rows]

    def keys_under(self, folder_key: str) -> set[str]:
        lo = folder_key.rstrip(os.sep) + os.sep
        return {r[0] for r in self.db.execute("SELECT key FROM sources WHERE key >= ? AND key < ?",
                                              (lo, lo + "\U0010ffff"))}

    def trials(self, key: str, shown: str) -> list[Trial]:
        """The stored trials of a source, their ``source`` set to the name it is read under now; each
        a ``StoredTrial`` whose criteria and texts are read when first used."""
        out = []
        if self._bodies is None:
            self._bodies = BodyReader(self.path)
        for rowid, ord_, tid, head in self.db.execute("SELECT rowid, ord, id, head FROM trials WHERE source = ? ORDER BY ord",
                                                     (key,)):
            try:
                t = StoredTrial.from_head(json.loads(head), self._bodies.loader(rowid, key, ord_, tid, shown))
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                raise StoreCorrupt(f"a stored trial of {key} does not decode: {exc}") from None
            t.source = shown
            out.append(t)
        return out

    def errors(self, key: str, shown: str) -> list[CorpusError]:
        row = self.db.execute("SELECT errors, shown FROM sources WHERE key = ?", (key,)).fetchone()
        if row is None:
            return []
        try:
            items = json.loads(row[0])
        except ValueError as exc:
            raise StoreCorrupt(f"the stored errors of {key} do not decode: {exc}") from None
        old = row[1]
        return [CorpusError(shown + p[len(old):] if p.startswith(old) else p, reason, line) for p, reason, line in items]

    def has_derived(self, kind: str, key: str) -> bool:
        """Whether what was built from every trial is kept (``put_derived``) for what ``key`` names."""
        return self.db.execute("SELECT 1 FROM derived WHERE kind = ? AND key = ?", (kind, key)).fetchone() is not None

    # --- writing -----------------------------------------------------------------------------------

    def put_derived(self, kind: str, key: str, data: Any) -> None:
        """Keep one built thing of a kind (replacing the older one), in its own transaction."""
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO derived VALUES (?, ?, ?)", (kind, key, json.dumps(data, ensure_ascii=False)))

    def put(self, key: str, *, seq: int, size: int, mtime_ns: int, sha256: str | None, shown: str,
            trials: Iterable[Trial] = (), errors: Iterable[CorpusError] = ()) -> None:
        """Replace what is stored for a source (call inside ``transaction()``)."""
        errs = json.dumps([[e.path, e.reason, e.line] for e in errors], ensure_ascii=False)
        self.db.execute("DELETE FROM sources WHERE key = ?", (key,))
        self.db.execute("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?)", (key, seq, size, mtime_ns, sha256, shown, errs))
        rows = []
        for i, t in enumerate(trials):
            head, body = split(encode_trial(t))
            rows.append((key, i, t.id, json.dumps(head, ensure_ascii=False), json.dumps(body, ensure_ascii=False)))
        self.db.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?)", rows)

    def touch(self, key: str, *, seq: int, size: int, mtime_ns: int) -> None:
        """A source whose bytes did not change got a new mtime (copied, touched): remember it."""
        self.db.execute("UPDATE sources SET seq = ?, size = ?, mtime_ns = ? WHERE key = ?", (seq, size, mtime_ns, key))

    def delete(self, keys: Iterable[str]) -> None:
        """Forget sources (an archive's members go with it)."""
        for key in keys:
            self.db.execute("DELETE FROM sources WHERE key = ?", (key,))
            lo = f"{key}::"
            self.db.execute("DELETE FROM sources WHERE key >= ? AND key < ?", (lo, lo + "\U0010ffff"))


def read_derived(path: Path, kind: str, key: str) -> Any | None:
    """A kept derived thing read from a store file on a connection of its own (later than the load, which
    closed its store); None when it is gone, stale or does not decode."""
    try:
        db = sqlite3.connect(path, timeout=60)
        try:
            row = db.execute("SELECT data FROM derived WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        finally:
            db.close()
        return json.loads(row[0]) if row else None
    except (sqlite3.Error, ValueError):
        return None


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception: a crash leaves the store as it was."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False

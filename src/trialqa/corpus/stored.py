"""Trials read from the store lazily: the small part of each trial at load, the rest when first used.

A stored trial is two JSON documents (``codec.encode_trial`` split by ``BODY``): the head (ids,
titles, conditions, interventions, ages, sponsor, summary, ...) and the body (criteria with their
entities and requirements, the decoded prose texts, description, eligibility text, locations,
contacts, outcomes), about nine tenths of the bytes. ``StoredTrial`` is a ``Trial`` whose body
fields are read from the store the first time one of them is used, by ``BodyReader`` on a
connection of its own (the loader's store may be closed by then).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable

from ..errors import CorpusError
from ..records import Trial
from .codec import decode_trial

# The heavy fields of a trial, left in the store until used; "texts" is the decoded prose.
BODY = ("criteria", "eligibility_text", "description", "locations", "contacts", "outcomes", "texts")
_REQUIRED = ("id", "source", "format")  # what a Trial cannot be built without (kept in both parts)
_LOADING = threading.RLock()


def split(d: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``codec.encode_trial``'s dict as (head, body)."""
    head = {k: v for k, v in d.items() if k not in BODY}
    body = {k: d[k] for k in (*_REQUIRED, *BODY) if k in d}
    return head, body


class _Body:
    """A body field of a ``StoredTrial``: read from the store (with the other body fields) when first used.
    A data descriptor, so it wins over ``Trial``'s class-level defaults (``description = None``)."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        if self.name not in obj.__dict__:
            obj.load_body()
        return obj.__dict__[self.name]

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.name] = value


class StoredTrial(Trial):
    """A ``Trial`` whose body fields load from the store on first use; it compares equal to the same
    trial parsed from its record."""

    criteria = _Body()
    eligibility_text = _Body()
    description = _Body()
    locations = _Body()
    contacts = _Body()
    outcomes = _Body()
    texts = _Body()

    def load_body(self) -> None:
        # One load at a time (the web app answers from several threads); the loader is dropped only
        # once the body is in, so a failed read (a locked store) can be tried again.
        with _LOADING:
            load = self.__dict__.get("_load_body")
            if load is None:
                return
            full = load()
            for field in BODY:
                self.__dict__.setdefault(field, full.__dict__[field])
            del self.__dict__["_load_body"]

    def loaded(self) -> bool:
        return "_load_body" not in self.__dict__

    def __eq__(self, other):
        # A stored trial equals the same trial parsed (dataclass equality would also compare classes).
        if not isinstance(other, Trial):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in dataclasses.fields(Trial) if f.compare)

    __hash__ = None  # as Trial's: a mutable record

    def __getstate__(self):
        if not self.loaded():
            self.load_body()  # a pickle or copy holds the whole trial, never a loader
        return dict(self.__dict__)

    @classmethod
    def from_head(cls, head: dict[str, Any], load_body: Callable[[], Trial]) -> "StoredTrial":
        t = decode_trial(head)
        out = cls.__new__(cls)
        out.__dict__.update({k: v for k, v in t.__dict__.items() if k not in BODY})
        out.__dict__["_load_body"] = load_body
        return out


assert set(BODY) == {k for k, v in vars(StoredTrial).items() if isinstance(v, _Body)}


class BodyReader:
    """Reads trial bodies by row from one store file, on a connection of its own (one per reader,
    serialized: the web app answers from several threads)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def loader(self, rowid: int, source: str, ord_: int, trial_id: str, shown: str) -> Callable[[], Trial]:
        return lambda: self.read(rowid, source, ord_, trial_id, shown)

    def read(self, rowid: int, source: str, ord_: int, trial_id: str, shown: str) -> Trial:
        try:
            with self._lock:
                if self._db is None:
                    if not self.path.is_file():
                        raise CorpusError(shown, f"the trial store {self.path} is gone; load the corpus again")
                    self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60)
                row = self._db.execute("SELECT body FROM trials WHERE rowid = ? AND source = ? AND ord = ? AND id = ?",
                                       (rowid, source, ord_, trial_id)).fetchone()
        except sqlite3.Error as exc:
            raise CorpusError(shown, f"cannot read {trial_id} from the trial store {self.path}: {exc}") from None
        if row is None:
            raise CorpusError(shown, f"the trial store {self.path} changed after {trial_id} was loaded; load the corpus again")
        try:
            t = decode_trial(json.loads(row[0]))
        except ValueError as exc:
            raise CorpusError(shown, f"the stored criteria and texts of {trial_id} in {self.path} do not decode: {exc}") from None
        t.source = shown
        return t

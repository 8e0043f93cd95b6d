"""Bulk archives of record files (``.zip``, ``.tar.gz``, ``.tgz``), read member by member.

A bottom-layer module (it imports only ``config`` and ``errors``): ``sources.read_text`` reads an
archive member back for a citation, and ``corpus.load`` streams whole archives through it. A member
is named ``<archive path>::<member name>``; that string is the member's ``Trial.source``.
"""

from __future__ import annotations

import datetime
import os
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Iterator

from . import config
from .errors import CorpusError

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
MEMBER_SEP = "::"
# Names that are never records, wherever they stand (an archive's README, macOS resource forks, notes).
DOCUMENT_SUFFIXES = {".md", ".rst", ".pdf", ".png", ".jpg", ".gz", ".tgz", ".zip", ".ann", ".py"}
PROGRESS_MIN_BYTES = 4 << 20  # smaller archives load in a blink: no bar


def is_archive(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def skipped_name(name: str) -> bool:
    """Whether a file or member name is left out of a corpus: hidden, a README or a document."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    base = parts[-1] if parts else ""
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return True
    return base.upper().startswith("README") or PurePosixPath(base).suffix.lower() in DOCUMENT_SUFFIXES


def member_source(archive: str | os.PathLike, member: str) -> str:
    return f"{archive}{MEMBER_SEP}{member}"


def split_member(source: str) -> tuple[str, str] | None:
    """``(archive, member)`` for an archive member's source name, else None."""
    archive, sep, member = str(source).partition(MEMBER_SEP)
    return (archive, member) if sep and member and is_archive(archive) else None


@dataclass(frozen=True)
class Member:
    """One record file inside an archive: its name, size, modification time and bytes."""

    name: str
    size: int
    mtime: int
    data: bytes


def iter_members(archive: str | os.PathLike, *, errors: list[CorpusError] | None = None,
                 show_progress: bool | None = None) -> Iterator[Member]:
    """The record members of ``archive`` in archive order, streamed one at a time.

    Directories, hidden members, READMEs and documents are skipped. A member over the record size
    limit is reported in ``errors`` (named ``archive::member``) and skipped; an archive that cannot be
    opened or is cut short raises ``CorpusError`` naming the archive. A progress bar is drawn on a
    terminal for archives over a few MB (``show_progress`` forces it on or off).
    """
    path = Path(archive)
    try:
        total = path.stat().st_size
    except OSError as exc:
        raise CorpusError(str(path), f"cannot read archive: {exc.strerror or exc}") from None
    if show_progress is None:
        show_progress = total >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
    limit = config.max_record_bytes()
    errors = errors if errors is not None else []
    with open(path, "rb") as raw, _bar(show_progress, total, path.name) as advance:
        try:
            members = _zip_members(raw) if _is_zip(path) else _tar_members(raw)
            for name, size, mtime, read in members:
                advance(raw.tell())
                if skipped_name(name):
                    continue
                if size > limit:
                    errors.append(CorpusError(member_source(path, name),
                                              f"member is {size / 1048576:.1f} MB, over the {limit / 1048576:.0f} MB "
                                              "limit for one record file (raise TRIALQA_MAX_RECORD_MB)"))
                    continue
                yield Member(name, size, mtime, read())
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise CorpusError(str(path), f"not a readable {_kind(path)} archive (corrupt or cut short): {exc}") from None


def _is_zip(path) -> bool:
    """Told from the content, like record formats: a ``.zip`` that is really a tar.gz still reads."""
    with open(path, "rb") as f:
        head = f.read(4)
    return head == b"PK\x03\x04" or (head[:2] != b"\x1f\x8b" and str(path).lower().endswith(".zip"))


def _kind(path: Path) -> str:
    return "zip" if _is_zip(path) else "tar.gz"


def _zip_members(raw):
    zf = zipfile.ZipFile(raw)
    for info in zf.infolist():
        if not info.is_dir():
            mtime = int(datetime.datetime(*info.date_time).timestamp())
            yield info.filename, info.file_size, mtime, (lambda info=info: zf.read(info))


def _tar_members(raw):
    # Stream mode ("r|gz"): one pass, no member table held in memory, so a 600,000-member archive
    # costs the memory of one member at a time.
    with tarfile.open(fileobj=raw, mode="r|gz") as tf:
        while (info := tf.next()) is not None:
            tf.members.clear()  # a TarFile keeps every header it has read: 600,000 of them, otherwise
            if info.isfile():
                yield info.name, info.size, int(info.mtime), (lambda info=info: tf.extractfile(info).read())


class _bar:
    """A rich progress bar over the archive's compressed bytes, or nothing."""

    def __init__(self, show: bool, total: int, label: str):
        self.show, self.total, self.label = show, total, label

    def __enter__(self):
        if not self.show:
            return lambda done: None
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        self.progress = Progress(f"reading {self.label}", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                                 console=Console(file=sys.stderr), transient=True)
        self.progress.start()
        task = self.progress.add_task("read", total=self.total)
        return lambda done: self.progress.update(task, completed=done)

    def __exit__(self, *exc):
        if self.show:
            self.progress.stop()
        return False


def read_member(source: str) -> bytes:
    """The bytes of one archive member, named ``archive::member``; ``CorpusError`` when it is missing."""
    archive, member = split_member(source) or (None, None)
    if archive is None:
        raise CorpusError(str(source), "not an archive member name (expected ARCHIVE::MEMBER)")
    try:
        st = os.stat(archive)
    except OSError as exc:
        raise CorpusError(source, f"cannot read archive: {exc.strerror or exc}") from None
    return _read_member(archive, member, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=32)
def _read_member(archive: str, member: str, size: int, mtime_ns: int) -> bytes:
    # Keyed on the archive's size and mtime: a replaced archive is read again. A tar.gz has no
    # member table, so a citation of one of its members costs a scan; zip members are read directly.
    try:
        if _is_zip(archive):
            with zipfile.ZipFile(archive) as zf:
                return zf.read(member)
        with tarfile.open(archive, mode="r|gz") as tf:
            for info in tf:
                if info.name == member and info.isfile():
                    return tf.extractfile(info).read()
    except KeyError:
        pass
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CorpusError(member_source(archive, member), f"cannot read archive member: {exc}") from None
    raise CorpusError(member_source(archive, member), "no such member in the archive")

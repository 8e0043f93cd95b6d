"""Record files as text: reading and decoding them, telling their format, and reading a span back.

The bottom layer under ``trialqa.corpus`` and ``trialqa.records``: it imports nothing that reads or
models trials, so either can use it without an import circle.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from . import config
from .archives import read_member, split_member
from .errors import CorpusError
from .sections import fold


def read_text(path: str | os.PathLike) -> str:
    """Read a record file as text; refuses empty, oversized and binary files with a clear reason."""
    p = Path(path)
    if split_member(str(path)) and not p.exists():  # "archive.tgz::member.xml": a record inside a bulk archive
        data = read_member(str(path))
        if not data.strip():
            raise CorpusError(str(path), "file is empty")
        return decode_bytes(data, str(path))
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise CorpusError(str(p), f"cannot read file: {exc.strerror or exc}") from None
    limit = config.max_record_bytes()
    if size > limit:
        raise CorpusError(str(p), f"file is {size / 1048576:.1f} MB, over the {limit / 1048576:.0f} MB limit "
                                  "for one record file (raise TRIALQA_MAX_RECORD_MB or split the file)")
    data = p.read_bytes()
    if not data.strip():
        raise CorpusError(str(p), "file is empty")
    return decode_bytes(data, str(p))


def decode_bytes(data: bytes, name: str) -> str:
    """UTF-8 text (byte-order mark dropped), else cp1252; refuses binary content."""
    if b"\x00" in data[:8192]:
        raise CorpusError(name, "binary file (contains NUL bytes), not a trial record")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t\f")
    if sample and controls / len(sample) > 0.05:
        raise CorpusError(name, "binary or corrupted file (control characters), not a trial record")
    return text


def detect_format(text: str) -> str:
    """``ctgov_json``, ``ctgov_xml`` or ``registry_text``, from the content."""
    head = text.lstrip()[:2000]
    if head[:1] in "{[":
        return "ctgov_json"
    if head.startswith("<"):
        return "ctgov_xml"
    return "registry_text"


_MD_ESCAPE = re.compile(r"\\([<>*_#\[\]()`~|\\-])")


def unescape_markdown(text: str) -> str:
    """Registry pages saved from markdown escape ``<``, ``>``, ``*``: ``\\< 1,500`` reads ``< 1,500``."""
    return _MD_ESCAPE.sub(r"\1", text)


def span_text(source: str, fmt: str, start: int, end: int) -> str:
    """The text a source span stands for, escapes decoded and whitespace folded.

    For any criterion ``c`` of trial ``t``: ``span_text(t.source_text(), t.format, c.start, c.end) == c.text``.
    """
    raw = source[start:end]
    if fmt == "ctgov_xml":
        raw = html.unescape(raw)
    elif fmt == "ctgov_json":
        try:
            raw = json.loads('"' + raw.replace("\n", "\\n") + '"') if "\\" in raw else raw
        except ValueError:
            pass
    else:
        raw = unescape_markdown(raw)
    return fold(raw)

"""Reader for brat standoff annotations (``.txt`` + ``.ann``).

Handles text-bound annotations ``T`` (with discontinuous spans ``s1 e1;s2 e2``), events ``E``,
relations ``R``, equivalence groups ``*``, attributes ``A``/``M`` and notes ``#``. Lines that do not
parse are collected in ``Document.problems`` rather than raised: published corpora contain a few.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator


@dataclass
class TextBound:
    id: str
    type: str
    spans: list[tuple[int, int]]
    text: str

    @property
    def start(self) -> int:
        return min(s for s, _ in self.spans)

    @property
    def end(self) -> int:
        return max(e for _, e in self.spans)


@dataclass
class Event:
    id: str
    type: str
    trigger: str  # id of the trigger text-bound
    args: list[tuple[str, str]]  # (role, id); roles may repeat ("Value", "Value2")

    def arg(self, role: str) -> str | None:
        return next((i for r, i in self.args if r == role), None)

    def all(self, role: str) -> list[str]:
        return [i for r, i in self.args if r == role]


@dataclass
class Relation:
    id: str
    type: str
    arg1: str
    arg2: str


@dataclass
class Attribute:
    id: str
    type: str
    target: str
    value: str | None  # None for binary attributes


@dataclass
class Document:
    name: str
    text: str
    entities: dict[str, TextBound] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    equivalences: list[tuple[str, list[str]]] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def attrs(self, target: str) -> dict[str, str | None]:
        """Attributes of an annotation, type -> value."""
        return {a.type: a.value for a in self.attributes if a.target == target}

    def span_of(self, ann_id: str) -> TextBound | None:
        """The text-bound of an entity, or of an event's trigger."""
        if ann_id in self.entities:
            return self.entities[ann_id]
        ev = self.events.get(ann_id)
        return self.entities.get(ev.trigger) if ev else None

    def type_of(self, ann_id: str) -> str | None:
        if ann_id in self.events:
            return self.events[ann_id].type
        tb = self.entities.get(ann_id)
        return tb.type if tb else None


def parse_ann(ann: str, text: str = "", name: str = "") -> Document:
    """Parse the content of an ``.ann`` file (``text`` is the matching ``.txt`` content)."""
    doc = Document(name, text)
    for lineno, line in enumerate(ann.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            _parse_line(doc, line)
        except (ValueError, IndexError) as exc:
            doc.problems.append(f"{name}:{lineno}: {exc}: {line[:80]!r}")
    return doc


def _parse_line(doc: Document, line: str) -> None:
    kind = line[0]
    parts = line.split("\t")
    ident = parts[0]
    if kind == "T":
        head, surface = parts[1], (parts[2] if len(parts) > 2 else "")
        typ, _, locs = head.partition(" ")
        spans = []
        for frag in locs.split(";"):
            s, e = frag.split()
            spans.append((int(s), int(e)))
        doc.entities[ident] = TextBound(ident, typ, spans, surface)
    elif kind == "E":
        fields = parts[1].split()
        typ, trigger = fields[0].split(":", 1)
        args = [tuple(f.split(":", 1)) for f in fields[1:]]
        doc.events[ident] = Event(ident, typ, trigger, [(r, i) for r, i in args])
    elif kind == "R":
        fields = parts[1].split()
        a1 = a2 = None
        for f in fields[1:]:
            role, _, ref = f.partition(":")
            if a1 is None:
                a1 = ref
            else:
                a2 = ref
        if a1 is None or a2 is None:
            raise ValueError("relation lacks two arguments")
        doc.relations.append(Relation(ident, fields[0], a1, a2))
    elif kind == "*":
        fields = parts[1].split()
        doc.equivalences.append((fields[0], fields[1:]))
    elif kind in "AM":
        fields = parts[1].split()
        doc.attributes.append(Attribute(ident, fields[0], fields[1], fields[2] if len(fields) > 2 else None))
    elif kind == "#":
        fields = parts[1].split()
        doc.notes[fields[1] if len(fields) > 1 else ident] = parts[2] if len(parts) > 2 else ""
    else:
        raise ValueError(f"unknown annotation kind {kind!r}")


def read_document(txt_path: str | Path) -> Document:
    """Read ``X.txt`` and its ``X.ann`` (an absent ``.ann`` gives a document with no annotations)."""
    txt_path = Path(txt_path)
    text = txt_path.read_text("utf-8")
    ann_path = txt_path.with_suffix(".ann")
    ann = ann_path.read_text("utf-8") if ann_path.exists() else ""
    doc = parse_ann(ann, text, txt_path.stem)
    _reconcile_line_endings(doc)
    return doc


def _matches(doc: Document, text: str) -> int:
    return sum(1 for t in doc.entities.values()
               if " ".join(text[a:b] for a, b in t.spans).replace("\r", "") == t.text)


def _reconcile_line_endings(doc: Document) -> None:
    """Re-base offsets counted on CRLF text when the ``.txt`` we read has LF line endings.

    Corpora annotated on Windows and redistributed with LF endings (Chia is one) have offsets that
    drift by one character per line; the surface strings in the ``.ann`` tell which reading fits.
    """
    if "\n" not in doc.text or "\r" in doc.text or not doc.entities:
        return
    crlf = doc.text.replace("\n", "\r\n")
    if _matches(doc, crlf) <= _matches(doc, doc.text):
        return
    # LF offset of each CRLF offset: subtract the newlines that stand before it.
    shift = [0] * (len(crlf) + 1)
    seen = 0
    for i, ch in enumerate(crlf):
        shift[i] = seen
        if ch == "\r":
            seen += 1
    shift[len(crlf)] = seen
    for t in doc.entities.values():
        t.spans = [(a - shift[min(a, len(crlf))], b - shift[min(b, len(crlf))]) for a, b in t.spans]


def read_corpus(directory: str | Path) -> Iterator[Document]:
    """Every ``*.txt`` document of a directory, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    for p in sorted(directory.glob("*.txt")):
        yield read_document(p)

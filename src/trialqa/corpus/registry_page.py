"""Reads registry-page text: a trial's page saved from a registry website as plain text or markdown,
fields under captions listed in ``data/registry_captions.json``. The text is the file itself, so a
span is the offset of a line (or of a caption's block of lines) in the file; criteria are split from
the raw eligibility block, and markdown escapes are removed from values but stay inside their spans.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Iterator

from .. import lexicons
from ..errors import CorpusError
from ..records import Age, Contact, Identifier, Intervention, Location, Trial
from ..sources import unescape_markdown
from ..spans import MappedText
from .normalize import (NCT_RE, attach_criteria, content_id, finish_trial, norm_bool, norm_date, norm_enrollment,
                        norm_phases, norm_sex, norm_status)


class _Captions:
    """The page captions of ``data/registry_captions.json`` and the patterns that find them in lines."""

    def __init__(self) -> None:
        data = lexicons.load("registry_captions")
        self.by_key: dict[str, dict] = {}
        for entry in data["captions"]:
            lexicons.require(entry, ("caption", "field", "kind"), "registry_captions.json")
            self.by_key[self.key(entry["caption"])] = entry
        self.imperatives = {w.lower() for w in data["boilerplate"]["imperatives"]}
        self.attribute_prefixes = tuple(data["attribute_prefixes"])
        names = sorted((e["caption"] for e in data["captions"]), key=len, reverse=True)
        alt = "|".join(re.escape(n) for n in names)
        # A caption glued to the end of the previous line's text ("...mortality.Phase:", "NoDetails").
        self.glued = re.compile(rf"(?<=[a-z0-9.)\]])(?:{alt})[:?]?$")
        # A caption and its value on one line ("NCT ID: NCT07110662").
        self.inline = re.compile(rf"^((?:{alt})\s*:)[ \t]*(\S.*)$", re.I)

    @staticmethod
    def key(s: str) -> str:
        return re.sub(r"[\s:?]+$", "", s.strip()).lower()

    def lookup(self, line: str) -> dict | None:
        return self.by_key.get(self.key(line))


@lru_cache(maxsize=1)
def _captions() -> _Captions:
    return _Captions()


def _page_lines(text: str) -> list[tuple[str, int, int]]:
    """Non-empty lines as (stripped text, start, end), glued captions split off, doubled lines folded."""
    cap = _captions()
    out: list[tuple[str, int, int]] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        start = pos
        pos += len(raw)
        line = raw.rstrip("\r\n")
        s = line.strip()
        if not s:
            continue
        a = start + line.index(s[0])
        pieces = [(s, a)]
        m = cap.glued.search(s)
        inline = cap.inline.match(s)
        if m and m.start() > 0:
            pieces = [(s[:m.start()].rstrip(), a), (s[m.start():], a + m.start())]
        elif inline and cap.lookup(inline.group(1))["kind"] == "value":
            pieces = [(inline.group(1), a), (inline.group(2), a + inline.start(2))]
        for piece, p0 in pieces:
            if out and out[-1][0] == piece:
                continue  # the page repeats a value line right under itself
            out.append((piece, p0, p0 + len(piece)))
    return out


def read_registry_text(text: str, name: str) -> list[Trial]:
    """The one trial of a registry page; text with fewer than two captions raises ``CorpusError``."""
    cap = _captions()
    lines = _page_lines(text)
    if not lines:
        raise CorpusError(name, "file has no text")
    blocks: list[tuple[dict | None, int, list[tuple[str, int, int]]]] = [(None, -1, [])]
    for i, (s, a, b) in enumerate(lines):
        entry = cap.lookup(s)
        if entry is not None and len(s) <= 60:
            if entry["kind"] == "footer":
                break
            blocks.append((entry, i, []))
        else:
            blocks[-1][2].append((s, a, b))
    if len(blocks) < 3:
        raise CorpusError(name, "not a recognizable trial record: no JSON or XML structure and fewer than two "
                                "registry captions (Status, Criteria, Phase, ...) in the text")

    t = Trial(id="", source=name, format="registry_text")
    spans: dict[str, tuple[int, int]] = {}
    design_text: list[str] = []

    def drop_boilerplate(vals):
        if vals:
            first = vals[0][0]
            word = re.match(r"[A-Za-z]+", first)
            if word and word.group(0).lower() in cap.imperatives and first.endswith(".") and first.count(". ") == 0:
                return vals[1:]
        return vals

    # Text before the first caption: the page title (and maybe the NCT id).
    head = blocks[0][2]
    if head:
        t.title, spans["title"] = head[0][0], (head[0][1], head[0][2])

    for bi, (entry, _, vals) in enumerate(blocks[1:], start=1):
        vals = drop_boilerplate(vals)
        kind, fieldname = entry["kind"], entry["field"]
        if kind in ("heading", "ignore") or not vals:
            continue
        if kind == "eligibility":
            a = vals[0][1]
            b = vals[-1][2]
            # Criteria keep their exact layout: re-read the raw block, not the folded lines.
            attach_criteria(t, MappedText.identity(text[a:b], a), unescape_markdown)
            spans["eligibility"] = (a, b)
            continue
        if kind == "value":
            first = vals[0]
            _set_page_field(t, fieldname, first[0], spans, (first[1], first[2]))
            if entry.get("overflow") == "design.description":
                rest = [v for v in vals[1:] if not v[0].startswith(cap.attribute_prefixes)]
                design_text.extend(v[0] for v in rest)
                if rest and "design" not in t.texts:
                    t.texts["design"] = MappedText.identity(text[rest[0][1]:rest[-1][2]], rest[0][1])
            continue
        if kind == "text":
            value = unescape_markdown(" ".join(v[0] for v in vals))
            _set_page_field(t, fieldname, value, spans, (vals[0][1], vals[-1][2]))
            key = fieldname.split(".")[-1]
            t.texts[key] = MappedText.identity(text[vals[0][1]:vals[-1][2]], vals[0][1])
            continue
        if kind == "list":
            if fieldname == "conditions":
                t.conditions.extend(v[0] for v in vals)
                spans.setdefault("conditions[0]", (vals[0][1], vals[0][2]))
            elif fieldname == "keywords":
                t.keywords.extend(v[0] for v in vals)
            elif fieldname == "countries":
                t.design.setdefault("countries", ", ".join(v[0] for v in vals))
            continue
        _read_page_block(t, kind, [v[0] for v in vals], spans, vals)

    if design_text:
        t.design["description"] = " ".join(design_text)
    if t.title and NCT_RE.fullmatch(t.title.strip()):
        t.title = None
    if not t.nct_id:
        first_lines = " ".join(s for s, _, _ in lines[:3])
        m = NCT_RE.search(first_lines)
        t.nct_id = m.group(0) if m else None
    t.spans = spans
    t.id = t.nct_id or content_id(t.title, t.summary, t.eligibility_text)
    return [finish_trial(t)]


def _set_page_field(t: Trial, field: str, value: str, spans: dict, span: tuple[int, int]) -> None:
    if field.startswith("design."):
        t.design[field.split(".", 1)[1]] = value
        return
    normalizers: dict[str, Callable[[str], Any]] = {
        "status": norm_status, "phases": norm_phases, "study_type": norm_status,
        "enrollment": norm_enrollment, "sex": norm_sex, "healthy_volunteers": norm_bool,
        "start_date": norm_date, "completion_date": norm_date, "primary_completion_date": norm_date,
        "last_update": norm_date, "min_age": Age.parse, "max_age": Age.parse, "responsible_party": norm_status,
    }
    if field == "responsible_party":
        value = re.sub(r"^Responsibility Role\s*", "", value)
    if field == "nct_id":
        m = NCT_RE.search(value)
        value = m.group(0) if m else None
        if value is None:
            return
    setattr(t, field, normalizers.get(field, lambda v: v)(value))
    spans[field] = span


def _attr(line: str, prefix: str) -> str | None:
    """The value of an attribute line (``Role: Principal Investigator`` -> ``Principal Investigator``)."""
    if line.startswith(prefix):
        return line[len(prefix):].strip(" :")
    return None


def _items(lines: list[str], prefix: str) -> Iterator[tuple[list[str], str]]:
    """Items whose lines end with an attribute line ``prefix``: (the lines before it, its value)."""
    item: list[str] = []
    for line in lines:
        value = _attr(line, prefix)
        if value is None:
            item.append(line)
            continue
        if item:
            yield item, value
        item = []


def _read_page_block(t: Trial, kind: str, lines: list[str], spans: dict, vals) -> None:
    """Structured page blocks: lines grouped into items by their attribute lines."""
    if kind == "sponsors":
        for item, role in _items(lines, "Sponsor Role"):
            if len(item) > 1 and re.fullmatch(r"[A-Z_]{2,}", item[1]):
                t.sponsor_classes[item[0]] = item[1]
            if role.lower() == "lead":
                t.sponsor = item[0]
                idx = lines.index(item[0])
                spans["sponsor"] = (vals[idx][1], vals[idx][2])
            elif item[0] not in t.collaborators:
                t.collaborators.append(item[0])
    elif kind == "identifiers":
        current: Identifier | None = None
        for line in lines:
            typ = _attr(line, "Identifier Type:")
            src = _attr(line, "Identifier Source:")
            if typ is not None and current:
                current.type = None if typ in ("-", "") else typ
            elif src is not None and current:
                current.source = src
                if not any(i.id == current.id and i.type == current.type for i in t.identifiers):
                    t.identifiers.append(current)
                current = None
            else:
                current = Identifier(line)
    elif kind == "contacts":
        for i, line in enumerate(lines):
            if i + 1 < len(lines) and lines[i + 1].startswith("Role:"):
                contact = Contact(line, _attr(lines[i + 1], "Role:"))
                for extra in lines[i + 2:i + 4]:
                    if re.fullmatch(r"[+\d()][\d\s().+-]{5,}", extra):
                        contact.phone = extra
                    elif "@" in extra:
                        contact.email = extra
                if not any(c.name == contact.name and c.role == contact.role for c in t.contacts):
                    t.contacts.append(contact)
    elif kind == "locations":
        rows = [ln for ln in lines if not ln.startswith("Site Status")]
        i = 0
        while i < len(rows):
            facility = rows[i]
            address = rows[i + 1] if i + 1 < len(rows) and "," in rows[i + 1] else None
            loc = Location(facility=facility)
            if address:
                parts = [p.strip() for p in address.split(",")]
                loc.city = parts[0] or None
                loc.country = parts[-1] or None
                loc.state = (parts[1] or None) if len(parts) > 2 else None
                i += 2
            else:
                i += 1
            t.locations.append(loc)
    elif kind == "interventions":
        for item, typ in _items(lines, "Intervention Type"):
            t.interventions.append(Intervention(item[0], norm_status(typ), " ".join(item[1:]) or None))

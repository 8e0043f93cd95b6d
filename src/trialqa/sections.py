"""Splitting eligibility text into inclusion and exclusion criteria.

Works on decoded text from any record format; offsets returned are into that text. Handles
headings (``Inclusion Criteria:``, old NCI ``PATIENT CHARACTERISTICS:`` blocks), bullets of many
kinds, criteria wrapped over several lines, lead-in lines ("... as defined below:") and run-on
paragraphs with ``Label: value`` sub-headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import lexicons

_BULLET = re.compile(
    r"(?P<indent>[ \t]*)(?P<mark>[-\u2010-\u2015*\u2022\u00b7\u25aa\u25e6\u2023\u25cf\u25cb\u25a0\u25a1\u27a2\u2219\u2043]+"
    r"|\(?\d{1,3}[.)](?!\d)|\(?[a-zA-Z][.)](?![a-zA-Z.])|\(?(?:i{1,3}|iv|vi{0,3}|ix|x)[.)])[ \t]*"
)
# A sub-heading is one capitalized word, optionally followed by up to three lowercase words.
_LABEL = re.compile(r"(?<![\w-])[A-Z][a-z]+(?:[ /-][a-z]+){0,3}:\s")
_WS = re.compile(r"\s+")


@dataclass
class CriterionSpan:
    section: str
    text: str
    start: int
    end: int
    group: str | None = None


@lru_cache(maxsize=1)
def _headers() -> list[tuple[re.Pattern, str]]:
    data = lexicons.load("eligibility_headers")
    out = []
    for entry in data["headers"]:
        lexicons.require(entry, ("pattern", "section"), "eligibility_headers.json")
        if entry["section"] not in ("inclusion", "exclusion"):
            raise lexicons.ConfigError(f"eligibility_headers.json: bad section {entry['section']!r}")
        out.append((lexicons.compile_pattern(r"\s*" + entry["pattern"], "eligibility_headers.json"), entry["section"]))
    return out


def match_header(line: str) -> tuple[str, int, str] | None:
    """If ``line`` opens a criteria block, return (section, end of heading, heading text)."""
    stripped = line.lstrip(" \t-=#*_")
    lead = len(line) - len(stripped)
    for pattern, section in _headers():
        m = pattern.match(stripped)
        if not m:
            continue
        rest = stripped[m.end():]
        if rest.lstrip().startswith("("):
            # "Exclusion Criteria (the following are general criteria ...):" - a remark, all heading.
            return section, len(line), stripped.strip(" \t:-=_*")
        # The heading ends at its colon or dash; otherwise the whole line must be a short heading.
        tail = re.match(r"[^:\n]{0,60}?(?:[ \t]*[:][ \t]*|[ \t]*-{2,}[ \t]*)", rest)
        if tail:
            end = m.end() + tail.end()
        elif len(rest.strip(" -=_*")) <= 40 and not re.search(r"[.;]\s*\S", rest):
            end = len(stripped)
        else:
            continue
        heading = stripped[:end].strip(" \t:-=_*")
        return section, lead + end, heading
    return None


def fold(text: str) -> str:
    """Collapse whitespace runs to single spaces."""
    return _WS.sub(" ", text).strip()


def split_eligibility(text: str) -> list[CriterionSpan]:
    """Split eligibility text into criteria with offsets into ``text``."""
    items: list[dict] = []  # each: section, group, start, end, indent, bullet, paragraph
    section = "inclusion"
    group: str | None = None
    blank_before = True
    pos = 0
    open_parens = 0  # a heading's parenthetical remark may run over several lines
    for raw_line in text.splitlines(keepends=True):
        line_start = pos
        pos += len(raw_line)
        line = raw_line.rstrip("\r\n")
        if not line.strip():
            blank_before = True
            continue
        if open_parens > 0:
            open_parens += line.count("(") - line.count(")")
            continue
        offset = 0
        header = match_header(line)
        if header:
            section, end, heading = header
            if end == len(line):
                open_parens = max(0, line.count("(") - line.count(")"))
            group = None if heading.lower().split()[-1].startswith("criteri") else heading
            remainder = line[end:]
            if not remainder.strip():
                blank_before = True
                items.append({"header": True})
                continue
            offset = end
            blank_before = True
            items.append({"header": True})
        body = line[offset:]
        m = _BULLET.match(body)
        is_bullet = bool(m and m.group("mark") and m.end() < len(body))
        content_off = offset + (m.end() if is_bullet else len(body) - len(body.lstrip()))
        indent = len(m.group("indent")) if m else 0
        prev = items[-1] if items and not items[-1].get("header") else None
        continuation = prev is not None and not is_bullet and (
            not blank_before or body.lstrip()[:1].islower()
        )
        if continuation:
            prev["end"] = line_start + len(line.rstrip())
        else:
            items.append({
                "section": section, "group": group, "start": line_start + content_off,
                "end": line_start + len(line.rstrip()), "indent": indent, "bullet": is_bullet,
            })
        blank_before = False

    spans = [it for it in items if not it.get("header")]
    out: list[CriterionSpan] = []
    lead_ins: list[tuple[int, str]] = []  # (indent, label) of open lead-in items
    for i, it in enumerate(spans):
        body = fold(text[it["start"]:it["end"]])
        if not body or re.fullmatch(r"[-*_=.\s]*", body):
            continue
        while lead_ins and it["indent"] <= lead_ins[-1][0]:
            lead_ins.pop()
        nxt = spans[i + 1] if i + 1 < len(spans) else None
        if body.endswith(":") and nxt and nxt["section"] == it["section"] and nxt["indent"] > it["indent"]:
            lead_ins.append((it["indent"], body.rstrip(":").strip()))
            continue
        # Nested lead-ins all stay with the criterion: "Hormone receptor status > ER positive, by one of:".
        group = " > ".join(label for _, label in lead_ins) if lead_ins else it["group"]
        out.extend(_split_run_on(text, it["start"], it["end"], it["section"], group))
    return out


def _split_run_on(text: str, start: int, end: int, section: str, group: str | None) -> list[CriterionSpan]:
    """Split a long unbulleted paragraph at ``Label:`` sub-headings (old NCI style)."""
    chunk = text[start:end]
    cuts = [m.start() for m in _LABEL.finditer(chunk) if m.start() > 0]
    if len(chunk) < 200 or len(cuts) < 2:
        return [CriterionSpan(section, fold(chunk), start, end, group)]
    bounds = [0, *cuts, len(chunk)]
    pieces = list(zip(bounds, bounds[1:]))
    out = []
    for a, b in pieces:
        seg = chunk[a:b]
        a2 = a + len(seg) - len(seg.lstrip())
        b2 = a + len(seg.rstrip())
        if b2 > a2:
            out.append(CriterionSpan(section, fold(chunk[a2:b2]), start + a2, start + b2, group))
    return out

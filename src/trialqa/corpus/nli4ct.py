"""Reads NLI4CT trial reports (SemEval-2023 Task 7): JSON objects whose ``Eligibility``,
``Intervention``, ``Results`` and ``Adverse Events`` are lists of lines. Each line is a ``JStr`` from
``spans.parse_json``, so a criterion's span is the raw extent of its trimmed line in the file, and a
prose section joined from its lines keeps every line's anchors into the source.
"""

from __future__ import annotations

from ..records import Criterion, Trial
from ..sections import match_header
from ..spans import JStr, MappedText
from .normalize import NCT_RE, Node, content_id, finish_trial, trimmed

NLI4CT_SECTIONS = {"Intervention": "intervention", "Results": "results", "Adverse Events": "adverse_events"}


def _join_lines(lines: list, sep: str = "\n\n") -> MappedText:
    """One decoded text from JSON string lines, keeping every line's anchors into the source."""
    parts, anchors, pos = [], [], 0
    for line in lines:
        if not isinstance(line, JStr):
            continue
        if parts:
            parts.append(sep)
            pos += len(sep)
        for dec, raw in line.mapped.anchors:
            anchors.append((pos + dec, raw))
        parts.append(str(line))
        pos += len(line)
    return MappedText("".join(parts), anchors)


def nli4ct_trial(data: dict, name: str) -> Trial:
    """The trial of one report.

    Eligibility lines are criteria one per line (headings set the polarity); the other sections
    become prose texts whose paragraphs are their lines.
    """
    report = Node(data, "", name)
    nct = str(report.string("Clinical Trial ID") or "").strip()
    if not NCT_RE.fullmatch(nct):
        nct = None
    t = Trial(id=nct or "", source=name, format="ctgov_json", nct_id=nct)
    lines = report.strings("Eligibility")
    section, counters = "inclusion", {"inclusion": 0, "exclusion": 0}
    for line in lines:
        if not line.strip():
            continue
        header = match_header(str(line))
        if header and len(str(line).strip()) <= 60:
            section = header[0]
            continue
        got = trimmed(line.mapped)
        if got:
            t.criteria.append(Criterion(got[0], section, got[1][0], got[1][1], counters[section]))
            counters[section] += 1
    t.eligibility_text = "\n".join(str(x) for x in lines)
    for key, field_name in NLI4CT_SECTIONS.items():
        section_lines = report.strings(key)
        if section_lines:
            t.texts[field_name] = _join_lines(section_lines)
    t.title = f"{nct or 'trial report'}"
    if not t.id:
        t.id = content_id(t.eligibility_text, str(data.get("Intervention")))
    return finish_trial(t)

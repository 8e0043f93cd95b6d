"""The time window that governs a criterion's mention ("within 4 weeks", "for at least 6 months",
"at least 8 weeks since nitrosoureas"), as the atom keeps it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .entity import CriterionEntity

if TYPE_CHECKING:
    from .requirements import Atom

_LIMIT_OPS = ("<", "<=", ">", ">=")


def window_for(a: Atom, windows: list[CriterionEntity], text: str) -> dict[str, Any] | None:
    """The time window that governs a mention: the nearest in its sentence, preferring one after it.
    A bare time after a limit ("within 4 weeks ... and 6 weeks from nitrosoureas", "(6 weeks for
    mitomycin C)") is a limit of the same kind, not an exact time."""
    w = _nearest(a, windows, text)
    if w and w.get("op") == "=" and not w.get("duration"):
        prior = [x for x in windows if x.op in _LIMIT_OPS and x.end <= w["start"]]
        if prior:
            return {**w, "op": prior[-1].op}
    return w


def _nearest(a: Atom, windows: list[CriterionEntity], text: str) -> dict[str, Any] | None:
    heads = [w for w in windows if text[w.end:w.end + 3].lstrip().startswith(":")]
    if heads:
        # "Within 2 weeks: topical steroids. Within 4 weeks: systemic steroids": a heading window
        # covers what follows its colon up to the next window.
        before = [w for w in heads if w.end <= a.start]
        if before:
            w = max(before, key=lambda x: x.end)
            if not any(w.end <= x.start < a.start for x in windows):
                return _window_dict(w, text)
    best, dist = None, 10 ** 9
    for w in windows:
        between = text[min(a.end, w.end):max(a.start, w.start)]
        if re.search(r"[.;]", between):
            continue
        if w.end <= a.start and re.search(r"\b(?:and|or)\b", between, re.I) and \
                not re.match(r"\s*(?:since|after|from|following)\b", text[w.end:]):
            continue  # "X within ten years and or presence of Y": the window is X's (not so "6 months since X and Y")
        d = w.start - a.end if w.start >= a.end else (a.start - w.end) + 40
        if w.end <= a.start and a.start - w.end <= 60 and re.match(r"\s*(?:since|after|from|following)\b", text[w.end:]):
            d = -1  # "at least 8 weeks since nitrosoureas": the window names its event
        if d < dist:
            best, dist = w, d
    if best is None or dist > 200:
        return None
    return _window_dict(best, text)


def _window_dict(w: CriterionEntity, text: str) -> dict[str, Any]:
    """A window as the atom keeps it; ``duration`` marks one that measures how long ("for 4 weeks",
    "of at least 6 months duration", "evolving for less than 7 days"), not how long ago."""
    before, after = text[max(0, w.start - 25):w.start].lower(), text[w.end:w.end + 15].lower()
    duration = bool(re.match(r"(?:for|of)\b", w.text, re.I) or re.search(r"\b(?:for|of|lasting|duration of|evolving)\s*$", before)
                    or re.match(r"\s*(?:duration|in duration|long)\b", after))
    op = w.op
    if op == "=" and re.match(r"(?:during|in|within|over)\b", w.text, re.I):
        op = "<="  # "during the first 10 days" is a span from the anchor, not a point
    return {"op": op, "duration": duration, "days": w.norm_value, "days2": w.norm_value2, "anchor": w.anchor, "direction": w.direction,
            "text": w.text, "start": w.start, "end": w.end}

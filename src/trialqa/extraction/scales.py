"""Score and class thresholds as points: "Child-Pugh B" is 7-9 points, "NYHA III or IV" is 3 to 4,
"ECOG at most 1" is <= 1 (the scales and their classes are ``data/scores.json``)."""

from __future__ import annotations

import re


def class_points(scale: dict, token: str) -> tuple[float, float] | None:
    """The points a class or value stands for: Child-Pugh "B" is 7-9, NYHA "III" is 3, ECOG "1" is 1."""
    classes = scale.get("classes") or {}
    t = token.strip().upper()
    if t in classes:
        lo, hi = classes[t]
        return float(lo), float(hi)
    try:
        x = float(re.sub(r"^MINUS\s+", "-", t))
    except ValueError:
        return None
    lo, hi = scale["range"]
    return (x, x) if lo <= x <= hi else None


def score_op(word: str | None, ranges: list[tuple[float, float]]) -> tuple[str, float, float | None]:
    """The comparator and bounds of a score threshold: "III or IV" is 3 to 4, "B" is 7 to 9 points,
    "below -2.5" is < -2.5; a bound given as a class takes the class's own end."""
    w = (word or "").lower()
    ops = {"less than or equal to": "<=", "greater than or equal to": ">=", "<": "<", "below": "<", "under": "<",
           "less than": "<", "worse than": "<", "≤": "<=", "<=": "<=", "at most": "<=", "up to": "<=", "no more than": "<=",
           ">": ">", "above": ">", "over": ">", "more than": ">", "greater than": ">", "better than": ">", "≥": ">=",
           ">=": ">=", "at least": ">=", "of at least": ">="}
    op = ops.get(w)
    if op in ("<", "<="):
        return op, (ranges[0][0] if op == "<" else ranges[0][1]), None
    if op in (">", ">="):
        return op, (ranges[0][1] if op == ">" else ranges[0][0]), None
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    return ("=", lo, None) if lo == hi else ("between", lo, hi)

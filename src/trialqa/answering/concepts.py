"""The concept hierarchy (``extraction.hierarchy``, re-exported) and qualifier pairs (``qualifiers.json``) that
answering reads conditions with: "carmustine" is a nitrosourea is a chemotherapy; a "topical"
criterion does not reach a patient on "oral" steroids."""

from __future__ import annotations

import re
from functools import lru_cache

from .. import lexicons
from ..extraction.hierarchy import ancestors, concept_parents  # noqa: F401 (answering reads them from here)


@lru_cache(maxsize=1)
def qualifier_pairs() -> list[tuple[re.Pattern, re.Pattern]]:
    data = lexicons.load("qualifiers")
    out = []
    for p in data["pairs"]:
        lexicons.require(p, ("criterion", "contradicted_by"), "qualifiers.json")
        alt = lambda words: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b", re.I)
        out.append((alt(p["criterion"]), alt(p["contradicted_by"])))
    return out

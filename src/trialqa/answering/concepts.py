"""The concept hierarchy (``concept_parents.json``) and qualifier pairs (``qualifiers.json``) that
answering reads conditions with: "carmustine" is a nitrosourea is a chemotherapy; a "topical"
criterion does not reach a patient on "oral" steroids."""

from __future__ import annotations

import re
from functools import lru_cache

from .. import lexicons
from ..extraction import rules


@lru_cache(maxsize=1)
def qualifier_pairs() -> list[tuple[re.Pattern, re.Pattern]]:
    data = lexicons.load("qualifiers")
    out = []
    for p in data["pairs"]:
        lexicons.require(p, ("criterion", "contradicted_by"), "qualifiers.json")
        alt = lambda words: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b", re.I)
        out.append((alt(p["criterion"]), alt(p["contradicted_by"])))
    return out



@lru_cache(maxsize=1)
def concept_parents() -> dict[str, list[str]]:
    data = lexicons.load("concept_parents")
    known = set(rules().concepts)
    for child, parents in data["parents"].items():
        for name in [child, *parents]:
            if name not in known:
                raise lexicons.ConfigError(f"concept_parents.json: {name!r} is not a concept in concepts.json")
    return data["parents"]


def ancestors(concept: str) -> set[str]:
    out, todo = set(), [concept]
    while todo:
        for p in concept_parents().get(todo.pop(), []):
            if p not in out:
                out.add(p)
                todo.append(p)
    return out


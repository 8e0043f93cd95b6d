"""The concept hierarchy (``concept_parents.json``): "carmustine" is a nitrosourea is a chemotherapy.
Read by the requirements compiler and by answering."""

from __future__ import annotations

from functools import lru_cache

from .. import lexicons
from .rules import rules


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

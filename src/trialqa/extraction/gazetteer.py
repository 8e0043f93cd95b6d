"""Phrase matching: the token ``Gazetteer`` and the helpers that turn phrase lists into lookups
(token keys, longest-suffix lookup) or regex alternations."""

from __future__ import annotations

import re
from typing import Any, Iterable

TOKEN = re.compile(r"\w+|[^\w\s]")
_DASHES = {"-", "‐", "–"}


def token_key(phrase: str) -> str:
    """Token key of a phrase: "> or =", ">= " and ">/=" style spellings meet on their tokens."""
    return " ".join(t.lower() for t in TOKEN.findall(phrase))


def suffix_match(words: list[str], j: int, table: dict[str, Any], max_len: int) -> tuple[int, Any]:
    """Longest phrase of ``table`` ending at token ``j`` (exclusive): (its length, its value)."""
    for k in range(min(max_len, j), 0, -1):
        v = table.get(" ".join(words[j - k:j]))
        if v is not None:
            return k, v
    return 0, None


def alternation(phrases: Iterable[str], *, bound: bool = True) -> str:
    """Regex alternation, longest first; alphabetic edges get word boundaries, spaces match any run."""
    out = []
    for p in sorted(set(phrases), key=lambda p: (-len(p), p)):  # ties by text: the same regex in every process
        esc = re.escape(p).replace(r"\ ", r"\s+").replace(r"\-", r"[\s\-‐]?")
        if bound and p[:1].isalnum():
            esc = r"(?<![\w])" + esc
        if bound and p[-1:].isalnum():
            esc = esc + r"(?![\w])"
        out.append(esc)
    return "|".join(out)


class Gazetteer:
    """Phrase lookup by token n-grams: case-insensitive (or exact-case) keys, hyphens ignored.

    Much faster than one regex alternation of thousands of phrases, and the same tokenization is
    applied to phrases and text so "breast-feeding", "breast feeding" and "breastfeeding"... all
    meet where the lexicon lists their variants.
    """

    def __init__(self) -> None:
        self.ci: dict[str, list[str]] = {}
        self.cs: dict[str, list[str]] = {}
        self.max_len = 1
        # Longest phrase starting with each first token: most tokens start none and are skipped.
        self.first_ci: dict[str, int] = {}
        self.first_cs: dict[str, int] = {}

    @staticmethod
    def tokens(text: str) -> list[tuple[str, int, int]]:
        return [(m.group(0), m.start(), m.end()) for m in TOKEN.finditer(text) if m.group(0) not in _DASHES]

    def add(self, phrase: str, value: str, case_sensitive: bool = False) -> None:
        toks = [t for t, _, _ in self.tokens(phrase)]
        if not toks:
            return
        self.max_len = max(self.max_len, len(toks))
        first, head = (self.first_cs, toks[0]) if case_sensitive else (self.first_ci, toks[0].lower())
        first[head] = max(first.get(head, 0), len(toks))
        table, key = (self.cs, " ".join(toks)) if case_sensitive else (self.ci, " ".join(toks).lower())
        values = table.setdefault(key, [])
        if value not in values:
            values.append(value)

    def find(self, text: str, toks: list[tuple[str, int, int]] | None = None) -> list[tuple[int, int, str]]:
        """All (start, end, value) matches; at each position the longest phrase wins. ``toks`` may
        pass ``tokens(text)`` when the caller already has them."""
        if toks is None:
            toks = self.tokens(text)
        out = self._find(toks)
        # "central nervous system (CNS) metastases": the defined abbreviation inside a phrase
        # does not break it.
        inner = _without_inner_abbreviations(toks)
        if len(inner) < len(toks):
            have = set(out)
            out.extend(m for m in self._find(inner) if m not in have and "(" in text[m[0]:m[1]])
            out.sort(key=lambda m: (m[0], -m[1]))
        return out

    def _find(self, toks: list[tuple[str, int, int]]) -> list[tuple[int, int, str]]:
        words = [t for t, _, _ in toks]
        out = []
        n = len(toks)
        lower = [w.lower() for w in words]
        for i in range(n):
            lim = max(self.first_ci.get(lower[i], 0), self.first_cs.get(words[i], 0))
            for k in range(min(lim, n - i), 0, -1):
                key = " ".join(words[i:i + k])
                cs = self.cs.get(key, [])
                values = cs + [v for v in self.ci.get(" ".join(lower[i:i + k]), []) if v not in cs]
                if values:
                    out.extend((toks[i][1], toks[i + k - 1][2], v) for v in values)
                    break
        return out


def _without_inner_abbreviations(toks: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Tokens without "( ABBR )" groups that stand between two words (ABBR: one short token with a
    capital letter)."""
    out, i, n = [], 0, len(toks)
    while i < n:
        if toks[i][0] == "(" and i + 2 < n and toks[i + 2][0] == ")" and 0 < i and i + 3 < n \
                and len(toks[i + 1][0]) <= 8 and any(ch.isupper() for ch in toks[i + 1][0]) \
                and toks[i - 1][0][:1].isalnum() and toks[i + 3][0][:1].isalnum():
            i += 3
            continue
        out.append(toks[i])
        i += 1
    return out

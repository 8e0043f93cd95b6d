"""ConText-style context of a mention: negation, hedging and exceptions, read from the triggers
of ``context.json`` within the mention's clause."""

from __future__ import annotations

import bisect
import re

from .entity import CriterionEntity
from .lexicon import Lexicon

PRE_SCOPE_WORDS = 4  # how far a negation trigger reaches forward, in words
CLAUSE_REACH = 400  # the farthest a clause boundary is looked for, in characters

Triggers = dict[str, list[tuple[int, int]]]

# "HIV, hepatitis C antibody and HBsAg all negative": the list and the result stated after it.
_TESTED = r"(?:antibod(?:y|ies)|antigens?|serology|serologies|tests?|screens?|titers?|titres?|PCR)"
_RESULT_LIST = re.compile(r"\s*(?:" + _TESTED + r"\s*)?(?:,\s*(?:and\s+|or\s+)?|\s(?:or|and|and/or)\s+|/)\s*", re.I)
_NEGATIVE_AFTER = re.compile(r"\s*(?:" + _TESTED + r"\s*)?(?:(?:were|was|are|is|all|both|each|tested|came\s+back)\s+){0,3}"
                             r"(?:negative|neg\b|non-?reactive|undetectable)", re.I)

# "X or Y", "X, Y and Z", "neither X nor Y": a conjunct shares the negation of the one before it.
_COORDINATION = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:or|and|nor|and/or)\s+|/)\s*"
                           r"(?:(?:any|all)\s+(?:kinds?|types?|forms?|sorts?)\s+of\s+)?"  # "or any kind of surgery"
                           r"(?:(?!(?:with|has|have|had|is|are|was|were|must|should|will|be|but|who|that|which|requires?|required|to|use|using|take|taking|become)\b)\w+\s+){0,2}?", re.I)


class Context:
    """Negation, hedging and exception flags of mentions, from the lexicon's triggers."""

    def __init__(self, lex: Lexicon):
        self.lex = lex

    def clause_bounds(self, text: str, start: int, end: int) -> tuple[int, int]:
        """The clause around [start, end): bounded by ; . : line breaks and terminator words.

        Looks at most ``CLAUSE_REACH`` characters either way, so a megabyte without punctuation
        stays linear."""
        lo, hi = max(0, start - CLAUSE_REACH), min(len(text), end + CLAUSE_REACH)
        low = text[lo:hi].lower()
        s, e = start - lo, end - lo
        left, right = 0, len(low)
        for t in self.lex.terminators + ["\n"]:
            i = low.rfind(t, 0, s)
            while i >= 0 and t == "." and 0 < i < len(low) - 1 and low[i - 1].isdigit() and low[i + 1].isdigit():
                i = low.rfind(t, 0, i)
            if i >= 0:
                left = max(left, i + len(t))
            j = low.find(t, e)
            while j >= 0 and t == "." and 0 < j < len(low) - 1 and low[j - 1].isdigit() and low[j + 1].isdigit():
                j = low.find(t, j + 1)
            if j >= 0:
                right = min(right, j)
        return lo + left, lo + right

    def find_triggers(self, text: str, toks: list | None = None) -> Triggers:
        """Trigger spans of a text by kind (negation_pre, negation_post, hedge_pre, exception,
        pseudo_negation)."""
        out: Triggers = {}
        for a, b, kind in self.lex.triggers.find(text, toks):
            out.setdefault(kind, []).append((a, b))
        return out

    def flags(self, text: str, start: int, end: int, triggers: Triggers | None = None) -> tuple[bool, bool, bool]:
        """(negated, hedged, excepted) of the mention at [start, end); ``triggers`` may pass
        ``find_triggers(text)`` when the caller already has them."""
        if triggers is None:
            triggers = self.find_triggers(text)
        left, right = self.clause_bounds(text, start, end)
        negated = self._negated(text, start, end, left, right, triggers)
        # An exception reaches over a list ("except basal cell carcinoma, cervical cancer in situ")
        # to the end of its sentence.
        lo = max([text.rfind(c, max(0, start - 200), start) + 1 for c in ";\n"] + [start - 200, 0])
        dot = re.search(r"\.(?:\s|$)", text[lo:start][::-1])
        if dot:
            lo = start - dot.start()
        # ... unless the exception sits in brackets that close before the mention: "(except skin cancers) or HIV".
        exc = [(a, b) for a, b in triggers.get("exception", [])
               if not (text.rfind("(", lo, a) > text.rfind(")", lo, a) and ")" in text[b:start])]
        excepted = _trigger_near(text, exc, lo, start, 12)
        hedged = _trigger_near(text, triggers.get("hedge_pre", []), left, start, 3) or excepted
        return negated, hedged, excepted

    def _negated(self, text: str, start: int, end: int, left: int, right: int, triggers: Triggers) -> bool:
        pseudo = triggers.get("pseudo_negation", [])
        if _trigger_near(text, triggers.get("negation_pre", []), left, start, PRE_SCOPE_WORDS, pseudo):
            return True
        if self.lex.negation_prefix:
            # "non-pregnant": the prefix negates the word it is hyphenated to, and nothing further.
            m = re.search(r"(\w+)[-‐]\s*$", text[max(0, start - 8):start])
            if m and m.group(1).lower() in self.lex.negation_prefix:
                return True
        if self.lex.result_nouns:
            # "negative hepatitis B screening", "negative serum pregnancy test": the condition is absent.
            before = text[max(left, start - 40):start].lower()
            after = text[start:min(right, end + 30)].lower()
            if re.search(r"\bnegative\b(?:\s+\S+){0,3}\s*$", before) and any(
                    re.search(rf"\b{re.escape(n)}\b", after) for n in self.lex.result_nouns):
                return True
        post = triggers.get("negation_post", [])
        i = bisect.bisect_left(post, (end, -1))
        return any(a < min(end + 25, right) and b <= right and len(text[end:a].split()) <= 1 for a, b in post[i:i + 3])


def _trigger_near(text: str, spans: list[tuple[int, int]], left: int, start: int, max_words: int,
                  pseudo: list[tuple[int, int]] = ()) -> bool:
    """A trigger in [left, start) ending at most ``max_words`` words before the entity (ConText's
    scope window); triggers inside a pseudo-trigger ("no increase") do not count."""
    for a, b in spans[bisect.bisect_left(spans, (left, -1)):]:
        if a >= start:
            break
        if b > start:
            continue
        if any(pa <= a < pb and (pa, pb) != (a, b) for pa, pb in pseudo[max(0, bisect.bisect_left(pseudo, (a, -1)) - 3):
                                                                         bisect.bisect_right(pseudo, (a, 1 << 60))]):
            continue
        if len(text[b:start].split()) <= max_words:
            return True
    return False


def spread_over_coordination(text: str, ents: list[CriterionEntity]) -> None:
    """Negation reaches across a list of concepts joined by commas, "or", "nor" and "and"
    ("must not have a history of erythema multiforme or Stevens Johnson Syndrome")."""
    concepts = [e for e in ents if e.label == "CONDITION"]
    for a, b in zip(concepts, concepts[1:]):
        if a.negated and not (b.negated or a.excepted or b.excepted) and b.start >= a.end \
                and _COORDINATION.fullmatch(text[a.end:b.start]):
            b.negated = True
    # "HIV, hepatitis C antibody and HBsAg all negative": a result stated after a list is every item's
    for i, a in enumerate(concepts):
        if a.negated or a.excepted:
            continue
        last = a
        for b in concepts[i + 1:]:
            if b.start < last.end or not _RESULT_LIST.fullmatch(text[last.end:b.start]):
                break
            last = b
        if last is not a and last.negated and not last.excepted and _NEGATIVE_AFTER.match(text, last.end):
            a.negated = True

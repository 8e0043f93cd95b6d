"""Whether a criterion includes or excludes, and what it does to a patient who has what it names."""

from __future__ import annotations

import re

from ..extraction.requirements import criterion_polarity
from ..records import Criterion
from .vocabulary import V


polarity = criterion_polarity  # one reading of what a criterion is, for the compiler and for answers


def criterion_role(c: Criterion, negated: bool) -> str:
    """What a criterion does to a patient who has the thing it names."""
    excl = polarity(c) == "exclusion"
    if c.section == "inclusion" and excl:
        negated = False  # "Patients with X ... are not eligible": the negation is the exclusion itself
    if excl:
        return "Inclusion" if negated else "Exclusion"
    return "Exclusion" if negated else "Inclusion"


def verdict(q, excludes: bool, includes: bool) -> str:
    """A yes/no verdict from what the cited criteria do: "Is X excluded?" is yes when one excludes,
    "Is X required?" when one includes, and "Can a patient with X join?" unless one excludes."""
    if q.asks_excl and not q.asks_incl:
        return "yes" if excludes else "no"
    if q.asks_incl and not q.asks_excl:
        return "yes" if includes else "no"
    return "no" if excludes else "yes"


def allows(c: Criterion, words: set[str]) -> bool:
    """Whether an exclusion makes an exception that admits what the question asks about ("Patients
    in methadone programs may participate", "positive HIV test ... are eligible provided ...")."""
    low = c.text.lower()
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)) if w) + r")(?!\w)")
    return any(pattern.search(low, m.start(), m.end()) for m in V.exception_clause.finditer(c.text)) if words else False


def stated_negatively(c: Criterion, start: int) -> bool:
    """Whether the mention at ``start`` of a criterion's text falls under a negation that leads the
    criterion or its clause ("No patients with ... or HIV", "Is serum negative for HBV, HCV and HIV"),
    a scope the mention's own negation can miss in long lists."""
    # A clause ends at a semicolon or a full stop before a capital, not at "e.g.".
    clause_start = max([m.end() for m in _CLAUSE_END.finditer(c.text, 0, start)] + [0])
    return bool(V.negation_lead.search(c.text[clause_start:start]))


_CLAUSE_END = re.compile(r";\s*|[.:]\s+(?=[A-Z(])")

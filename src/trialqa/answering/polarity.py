"""Whether a criterion includes or excludes, and what it does to a patient who has what it names."""

from __future__ import annotations

from ..records import Criterion
from .vocabulary import V


def polarity(c: Criterion) -> str:
    """What a criterion is: an exclusion when in the exclusion section or when it says so itself
    ("... will be excluded" under an inclusion heading)."""
    if c.section == "exclusion":
        return "exclusion"
    return "exclusion" if V.exclusion_statement.search(c.text) else "inclusion"


def criterion_role(c: Criterion, negated: bool) -> str:
    """What a criterion does to a patient who has the thing it names."""
    excl = polarity(c) == "exclusion"
    if c.section == "inclusion" and excl:
        negated = False  # "Patients with X ... are not eligible": the negation is the exclusion itself
    if excl:
        return "Inclusion" if negated else "Exclusion"
    return "Exclusion" if negated else "Inclusion"


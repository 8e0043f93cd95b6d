"""Criteria entities of texts and trial records: the public entry points over the pipeline."""

from __future__ import annotations

import re

from typing import Iterable

from ..errors import QueryError
from ..records import Age
from ..sections import match_header, split_eligibility
from .entity import CriterionEntity
from .requirements import compile_trial
from .rules import rules

MAX_TEXT = 1_000_000


def extract_criteria(text: str, polarity: str | None = None) -> list[CriterionEntity]:
    """Extract criteria entities from ``text`` (a criterion or a whole eligibility block).

    When the text contains inclusion/exclusion headings, each entity gets the polarity of the
    block it stands in; otherwise ``polarity`` (default None).
    """
    if not isinstance(text, str):
        raise QueryError(f"extract_criteria needs a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise QueryError(f"text is {len(text):,} characters; the limit is {MAX_TEXT:,}")
    from .pipeline import nlp  # spaCy loads on first use, not on import

    doc = nlp()(text)
    ents = [s._.entity for s in doc.spans.get("criteria", [])]
    return _with_polarity(text, ents, polarity)


def _with_polarity(text: str, ents: list[CriterionEntity], polarity: str | None) -> list[CriterionEntity]:
    if any(match_header(line) for line in text.splitlines()):
        blocks = split_eligibility(text)
        for e in ents:
            for b in blocks:
                if b.start <= e.start < b.end + 1:
                    e.polarity = b.section
                    break
    else:
        for e in ents:
            e.polarity = polarity
    return ents


GROUP_CONTEXT = 60  # longest criterion lead-in ("Life expectancy", "Hematopoietic") read as context


def _lead_in(c) -> str:
    """The heading a criterion stands under, as a prefix that gives its figures their sense:
    "Life expectancy: At least 3 months" is no age, "Age: 18 and over" is."""
    group = (getattr(c, "group", None) or "").strip().rstrip(":")
    return f"{group}: " if group and len(group) <= GROUP_CONTEXT and "\n" not in group else ""


def _shift(ents: list[CriterionEntity], k: int) -> list[CriterionEntity]:
    """Entities of "lead-in + text" re-based on the text; those inside the lead-in belong to it."""
    out = []
    for e in ents:
        if e.start < k:
            continue
        e.start, e.end = e.start - k, e.end - k
        out.append(e)
    return out


def attach_entities(trials: Iterable) -> None:
    """Fill ``criterion.entities`` for every criterion of every trial; offsets are into ``c.text``."""
    from .pipeline import nlp  # spaCy loads on first use, not on import

    pipe = nlp()
    trials = list(trials)
    crits = [c for t in trials for c in t.criteria]
    leads = [_lead_in(c) for c in crits]
    texts = (lead + c.text for lead, c in zip(leads, crits))
    for c, lead, doc in zip(crits, leads, pipe.pipe(texts, batch_size=256)):
        c.entities = _shift([s._.entity for s in doc.spans.get("criteria", [])], len(lead))
        for e in c.entities:
            e.polarity = c.section
    for t in trials:
        compile_trial(t)


def enrollment_age(text: str, e) -> bool:
    """Whether the age ``e`` in criterion ``text`` limits who may enrol: not someone else's age
    named just before it ("Donor age <= 45 years", "consent of parent or guardian if under 18") and
    not an age inside a definition or a history in its clause ("post-menopausal defined as aged more
    than 50 years", "under 1 at diagnosis"). The clause is the parenthesis holding the age, or else
    its sentence without parenthesized asides."""
    lex = rules().lex
    start = max(text.rfind(sep, 0, e.start) for sep in (".", ";", "\n")) + 1
    ends = [i for i in (text.find(sep, e.end) for sep in (". ", ";", "\n")) if i >= 0]
    end = min(ends) if ends else len(text)
    opened, closed = text.rfind("(", start, e.start), text.find(")", e.end, end)
    if opened > text.rfind(")", start, e.start) and closed >= 0:
        clause = text[opened + 1:closed]
        at = e.start - opened - 1
    else:
        clause = re.sub(r"\([^()]*\)", lambda m: " " * len(m.group(0)), text[start:end])
        at = e.start - start
    window = " ".join(clause[:at].split()[-5:])
    if lex.other_person is not None and lex.other_person.search(window):
        return False
    return not (lex.age_definition is not None and lex.age_definition.search(clause))


def ages_from_criteria(trial) -> tuple[Age | None, Age | None]:
    """Minimum and maximum age stated in inclusion criteria, for records with no structured ages."""
    lo = hi = None
    r = rules()
    for c in trial.inclusion:
        lead = _lead_in(c)
        for e in (c.entities or _shift(r.extract(lead + c.text, c.section), len(lead))):
            if e.label != "AGE" or e.negated or e.norm_value is None or not enrollment_age(lead + c.text, e):
                continue
            unit = e.unit if e.unit in ("years", "months", "weeks", "days", "hours") else "years"

            def age(value: float, norm: float, inclusive: bool):
                a = Age(value, unit, c.text, inclusive, "criteria")
                # "2 months to 18 years": a bound in another unit than the stated one is kept in years.
                return a if abs(a.years - norm) < 1e-3 else Age(norm, "years", c.text, inclusive, "criteria")

            if e.op == "between" and e.value2 is not None:
                lo = lo or age(e.value, e.norm_value, True)
                hi = hi or age(e.value2, e.norm_value2, True)
            elif e.op in (">=", ">") and lo is None:
                lo = age(e.value, e.norm_value, e.op == ">=")
            elif e.op in ("<=", "<") and hi is None:
                hi = age(e.value, e.norm_value, e.op == "<=")
    return lo, hi

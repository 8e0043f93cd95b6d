"""Scope: which trials a question is about (a trial passed in, NCT ids, then names in the question)."""

from __future__ import annotations

import re

from .. import lexicons
from ..errors import QueryError
from ..extraction import rules
from ..records import Trial
from .question import NCT, Question, trial_ref_spans
from .store import TrialStore
from .vocabulary import V


TITLE_STOP = lexicons.stop_words("trial_names")


def resolve_trials(qa: TrialStore, question: str, trial: str | None, q: Question | None = None) -> tuple[list[Trial], bool]:
    """The trials a question is about, and whether the question named them (``q``: the question
    already analysed, to reuse its entities)."""
    if trial:
        return [qa.trial(trial)], True
    ids = {m.group(0).upper() for m in NCT.finditer(question)}
    named = [t for t in qa.trials if t.nct_id in ids or t.id.upper() in ids]
    if named:
        return named, True
    if ids:
        raise QueryError(f"{', '.join(sorted(ids))} is not in these trial records")
    # A condition the question asks about is not a trial's name ("Which trials exclude interstitial
    # lung disease?" over lung-cancer trials), unless it is part of a reference to a trial ("the
    # indomethacin melanoma trial", "the MSC trial for Lyell syndrome").
    refs = q.refs if q is not None else trial_ref_spans(question)
    named_text = question
    for e in (q.entities if q is not None else rules().extract(question)):
        if e.label == "CONDITION" and e.concept_type == "condition" and not any(a <= e.start < b for a, b in refs) \
                and not V.trial_for.search(question, 0, e.start):
            named_text = named_text[:e.start] + " " * (e.end - e.start) + named_text[e.end:]
    q_words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9-]{2,}", named_text)} - TITLE_STOP
    scored = []
    for t in qa.trials:
        names = [t.title or "", t.acronym or "", t.official_title or "", t.sponsor or ""] + [i.name for i in t.interventions]
        words = {w.lower() for n in names for w in re.findall(r"[A-Za-z][A-Za-z0-9-]{2,}", n)} - TITLE_STOP
        overlap = q_words & words
        acronym_hit = bool(t.acronym and re.search(rf"\b{re.escape(t.acronym)}\b", question, re.I))
        score = len(overlap) + (3 if acronym_hit else 0)
        if score >= 2 or acronym_hit:
            scored.append((score, t))
    if scored:
        top = max(s for s, _ in scored)
        return [t for s, t in scored if s == top], True
    return list(qa.trials), False


"""Passage answers: the retrieved passages of one trial that cover the question's content words."""

from __future__ import annotations

import re

from .. import lexicons
from ..extraction import rules
from ..records import Trial
from ..sources import span_text
from .fields import sentence_around
from .polarity import allows, polarity
from .polarity import verdict as decide
from .question import Question
from .results import Answer, Citation, trial_label, unique_citations
from .store import TrialStore
from .vocabulary import V

GENERIC_WORDS = lexicons.stop_words("passages")


def stem(w: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "ary", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def content_words(text: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[a-z0-9][a-z0-9-]+", text.lower()) if w not in GENERIC_WORDS and len(w) > 2}


CRITERIA = ("inclusion", "exclusion")
PROSE = ("summary", "description", "design", "intervention", "results", "adverse_events", "title", "conditions")


STUDY_ANCHORS = {"inclusion", "randomization", "treatment start", "now"}


def passages_answer(qa: TrialStore, q: Question, t: Trial, quiet: bool = False, prose_first: bool = False) -> Answer | None:
    """The best passages when they cover the question's content words; otherwise not stated."""
    hits = qa.retriever.search(q.text, k=5, trial=t.id, sections=PROSE) if prose_first else []
    hits = hits + [h for h in qa.retriever.search(q.text, k=5, trial=t.id) if h.chunk_id not in {x.chunk_id for x in hits}]
    eligibility = q.yes_no or bool(V.eligibility_words.search(q.text))
    if eligibility:
        # A long record's criteria can rank below its prose: look at the criteria too.
        seen = {h.chunk_id for h in hits}
        hits += [h for h in qa.retriever.search(q.text, k=5, trial=t.id, sections=CRITERIA) if h.chunk_id not in seen]
    if q.kind == "TIME_WINDOW" and q.anchor and q.anchor not in STUDY_ANCHORS:
        # "How long after surgery ...?" is answered only by a passage about that event (the study's
        # own start is worded too many ways: "prior to study", "before day 1").
        rx = next((rx for name, rx in rules().anchor_list if name == q.anchor), None)
        hits = [h for h in hits if rx is None or rx.search(h.text)]
    # The words that named the trial, and those that frame an eligibility question ("can someone
    # who previously took X still join"), say nothing about which passage answers.
    named = content_words(" ".join(q.naming))
    # "barrier-repair" is named when "barrier" and "repair" are.
    asked = {w for w in content_words(q.text) - named if not ("-" in w and all(stem(p) in named for p in w.split("-") if p))}
    framing = {stem(w) for w in V.framing_words}
    want_criteria = (asked - framing) or asked
    # In prose, the trial's own topic words (its drug, its condition) are everywhere.
    topic = content_words(" ".join([t.title or "", t.acronym or "", *[i.name for i in t.interventions], *t.conditions]))
    want = (asked - topic) or asked
    needs_number = not q.yes_no and bool(V.value_question.search(q.text))
    cue_only = not want
    if cue_only:
        # "What is the hypothesis?": the cue word itself is what a passage must state.
        want = {stem(w.lower()) for w in V.descriptive.findall(q.text) if len(w) > 3}
    r = rules()
    good = []
    for h in hits:
        if needs_number and not re.search(r"\d", h.text):
            continue  # "What minimum HDL level ...?" is not answered by a sentence without a number
        crit = h.section in CRITERIA
        if crit and not cue_only:
            want = want_criteria
        elif not cue_only:
            want = (asked - topic) or asked
        have = content_words(h.text) if not cue_only else {stem(w) for w in re.findall(r"[a-z0-9-]+", h.text.lower())}
        # Concepts count as covered when the passage names them with any synonym.
        covered = {w for w in want if w in have}
        concept_words = {w for c in q.concepts for w in content_words(c)}
        for e in r.extract(h.text):
            if e.label == "CONDITION" and e.concept in q.concepts:
                covered |= {w for w in want if w in content_words(e.text) or w in concept_words}
        # Half of the words, and both of two ("response rate" is not answered by "mortality rate").
        if want and len(covered) >= (len(want) if len(want) <= 2 else len(want) / 2):
            good.append((len(covered) / len(want), h))
    if not good:
        if quiet:
            return None
        return Answer(f"{trial_label(t)}: the record does not state this.", False, "unknown" if q.yes_no else None,
                      [t.id], [], [], "descriptive")
    good = [h for _, h in sorted(good, key=lambda x: -x[0])][:3]
    verdict = None
    if q.yes_no and good[0].section in ("inclusion", "exclusion"):
        crit = next((c for c in t.criteria if c.start == good[0].start and c.end == good[0].end), None)
        if crit is not None:
            is_excl = polarity(crit) == "exclusion" and not allows(crit, {w for w in re.findall(r"[a-z0-9-]{4,}", q.text.lower())
                                                                           if stem(w) in want_criteria})
            verdict = decide(q, is_excl, not is_excl)
    if verdict:
        return Answer(f"{'Yes' if verdict == 'yes' else 'No'}. {trial_label(t)}:\n" + "\n".join(f"- {h.text}" for h in good), True, verdict,
                      [t.id], [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in good], [], "criteria")
    return Answer(f"{trial_label(t)}:\n" + "\n".join(f"- {h.text}" for h in good), True, None, [t.id],
                  [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in good], [], "descriptive")



def timed_prose(q: Question, t: Trial) -> Answer | None:
    """The summary or description sentences that state a time window about a concept the question
    names ("... who have had rheumatoid arthritis for less than 2 years ..."), cited."""
    found: list[Citation] = []
    for key in ("summary", "description"):
        mt = t.texts.get(key)
        if mt is None:
            continue
        ents = rules().extract(mt.text)
        for e in ents:
            if e.label != "TIME_WINDOW":
                continue
            a, b = sentence_around(mt.text, e.start, e.end)
            if any(x.label == "CONDITION" and x.concept in q.concepts and a <= x.start < b for x in ents):
                ra, rb = mt.raw_span(a, b)
                found.append(Citation(t.id, key, span_text(t.source_text(), t.format, ra, rb), ra, rb))
    found = unique_citations(found)[:3]
    if not found:
        return None
    return Answer(f"{trial_label(t)}:\n" + "\n".join(f"- {c.section}: {c.text}" for c in found), True, None, [t.id], found, [],
                  "descriptive")

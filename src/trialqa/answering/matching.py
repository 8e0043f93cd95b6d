"""Find trials for a patient (``TrialQA.match``): rank the trials by how well they fit the patient's
conditions, then check each relevant one against the patient's facts.

1. The patient (a note, a facts dict or a FHIR bundle) is read into ``PatientFacts``.
2. Relevance: the patient's description (the note, else its conditions and history) is searched
   with the hybrid index over the trials' conditions, title, summary and inclusion criteria; a
   trial's relevance sums its best passages with falling weights (``PASSAGE_WEIGHTS``). What a trial is about is its
   conditions and title: it is *relevant* when such a passage shares words with the patient's
   description or is close in meaning (cosine at least ``TOPIC_COSINE``), and scores at least
   ``TOPIC_FRACTION`` of the best such passage of any candidate. Any other trial is about
   something else and is ``not relevant`` whatever its criteria say.
3. Each relevant candidate is checked with ``check_eligibility``; the ranking is relevant trials
   first, eligible before undetermined before not eligible, then by relevance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import QueryError
from ..patients import FACT_KEYS, PatientFacts, own_text, read_fhir, read_note
from .patient import check_eligibility
from .results import Citation, CriterionResult, trial_label
from .store import TrialStore

SECTIONS = ("conditions", "title", "summary", "inclusion")
TOPIC_SECTIONS = ("conditions", "title")  # what a trial is about
# Falling weights for a trial's best passages, and relevance at half the best topic passage: the
# first-try values. Tuning them on TREC 2022 (equal weights, 0.7) raised its NDCG@10 but lowered
# SIGIR's, the check set (docs/eval/trec/tuned_rejected.md), so they stay.
PASSAGE_WEIGHTS = (1.0, 0.5, 0.25, 0.125)
SECTION_WEIGHTS = {"conditions": 1.0, "title": 1.0, "summary": 0.8, "inclusion": 0.8}
TOPIC_FRACTION = 0.5  # of the best candidate's conditions/title passage score
TOPIC_COSINE = 0.5  # a conditions/title passage sharing no word with the patient, close in meaning
CHECK_AT_LEAST = 30  # candidates checked against the criteria (at least 3 k)
SEARCH_HITS = 2000
MAX_QUERY_CHARS = 1800
VERDICT_ORDER = {"eligible": 0, "undetermined": 1, "not eligible": 2, "not relevant": 3}
MAX_DECIDING = 8


@dataclass
class Match:
    """One trial for the patient: its verdict, ranking score, the criteria that decided the verdict
    and the passages that made it relevant."""

    trial_id: str
    title: str
    verdict: str  # eligible / not eligible / undetermined / not relevant
    score: float  # relevance: the trial's best passages for the patient, weighted
    criteria: list[CriterionResult] = field(default_factory=list)
    evidence: list[Citation] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"trial_id": self.trial_id, "title": self.title, "verdict": self.verdict, "score": self.score, "reason": self.reason,
                "criteria": [c.to_dict() for c in self.criteria], "evidence": [c.to_dict() for c in self.evidence]}


class Matches(list):
    """The ranked ``Match`` list, with the facts read from the patient (``facts``) to show."""

    def __init__(self, items=(), facts: PatientFacts | None = None):
        super().__init__(items)
        self.facts = facts or PatientFacts()

    def to_dict(self) -> dict[str, Any]:
        return {"facts": self.facts.to_dict(sources=True), "matches": [m.to_dict() for m in self]}


def read_patient(patient: Any) -> PatientFacts:
    """A note (text), a FHIR bundle (a dict with ``resourceType: Bundle``) or a facts dict, as ``PatientFacts``."""
    if isinstance(patient, PatientFacts):
        return patient
    if isinstance(patient, str):
        if not patient.strip():
            raise QueryError("the patient note is empty")
        return read_note(patient)
    if isinstance(patient, dict):
        if patient.get("resourceType") is not None:
            return read_fhir(patient)
        facts = PatientFacts()
        unknown = sorted(set(patient) - set(FACT_KEYS) - {"sources"})
        if unknown:
            raise QueryError(f"unknown patient fact {unknown[0]!r}; known: {', '.join(FACT_KEYS)}")
        for key in FACT_KEYS:
            if patient.get(key) is not None:
                setattr(facts, key, patient[key])
        return facts
    raise QueryError(f"a patient is a note (text), a facts dict or a FHIR bundle, not {type(patient).__name__}")


def query_text(facts: PatientFacts) -> str:
    """What the patient is searched by: the note itself (its words name the conditions even where the
    reader does not) without what is not the patient's (relatives, absent conditions), else the
    conditions and history."""
    if facts.text.strip():
        return " ".join(own_text(facts).split())[:MAX_QUERY_CHARS]
    return "; ".join(dict.fromkeys(list(facts.conditions) + list(facts.history)))


def relevance(store: TrialStore, query: str, trials: list[str] | None) -> dict[str, tuple[float, float, list]]:
    """Trial id -> (relevance, score of its best conditions/title passage, its best hits)."""
    per: dict[str, list] = {}
    if trials is None:
        # Over the whole corpus the index's own nearest-neighbour search picks the candidates (a
        # section filter would score every chunk of those sections exactly); other sections' hits are dropped.
        hits = [h for h in store.retriever.search(query, k=SEARCH_HITS) if h.section in SECTIONS]
    else:
        hits = store.retriever.search(query, k=SEARCH_HITS, trial=trials, sections=SECTIONS)
    for h in hits:
        per.setdefault(h.trial_id, []).append(h)
    out = {}
    for tid, hs in per.items():
        weighted = sorted((h.score * SECTION_WEIGHTS.get(h.section, 0.5) for h in hs), reverse=True)
        score = sum(w * s for w, s in zip(PASSAGE_WEIGHTS, weighted))
        topic = max((h.score for h in hs if h.section in TOPIC_SECTIONS
                     and ((h.lexical or 0) > 0 or (h.dense or 0) >= TOPIC_COSINE)), default=0.0)
        out[tid] = (round(score, 6), topic, hs[:3])
    return out


def match(store: TrialStore, patient: Any, k: int = 10, trials: list[str] | None = None) -> Matches:
    """The ``k`` best trials for ``patient``, restricted to the ids in ``trials`` when given."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise QueryError(f"k must be a whole number of trials, 1 or more, got {k!r}")
    facts = read_patient(patient)
    ids = None
    if trials is not None:
        if isinstance(trials, str):
            trials = [trials]
        ids = list(dict.fromkeys(store.trial(t).id for t in trials))
    query = query_text(facts)
    if not query.strip():
        raise QueryError("the patient has no note and no conditions to search trials by; give a note or 'conditions'")
    rel = relevance(store, query, ids)
    best_topic = max((r[1] for r in rel.values()), default=0.0)
    ranked = sorted(rel.items(), key=lambda x: (-x[1][0], x[0]))
    checks = max(CHECK_AT_LEAST, 3 * k)
    facts_dict = facts.to_dict()
    out: list[Match] = []
    checked = 0
    for tid, (score, topic, hs) in ranked:
        t = store.trial(tid)
        evidence = [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in hs]
        relevant = best_topic > 0 and topic >= TOPIC_FRACTION * best_topic
        if not relevant:
            out.append(Match(t.id, t.title or "", "not relevant", score, [], evidence,
                             f"about {_about(t)}, not the patient's conditions"))
        elif checked < checks:
            checked += 1
            report = check_eligibility(store, facts_dict, t)
            out.append(Match(t.id, t.title or "", report.verdict, score, _deciding(report), evidence,
                             _reason(report.verdict, t)))
        else:
            out.append(Match(t.id, t.title or "", "undetermined", score, [], evidence,
                             "relevant; criteria not checked (ranked below the checked candidates)"))
    out.sort(key=lambda m: (m.verdict == "not relevant", VERDICT_ORDER[m.verdict] if m.verdict != "not relevant" else 0,
                            -m.score, m.trial_id))
    if ids is not None:
        seen = {m.trial_id for m in out}
        for tid in ids:  # a restricted candidate no passage matched: about something else
            if tid not in seen:
                t = store.trial(tid)
                out.append(Match(t.id, t.title or "", "not relevant", 0.0, [], [],
                                 f"about {_about(t)}; nothing in it matches the patient"))
    return Matches(out[:k], facts)


def _deciding(report) -> list[CriterionResult]:
    """The criteria that decided the verdict: the failed ones, else the met and the unknown ones the
    patient's facts touched (a criterion no fact touches decides nothing)."""
    failed = [r for r in report.criteria if r.status == "not_met"]
    if failed:
        return failed[:MAX_DECIDING]
    touched = [r for r in report.criteria if not r.reason.startswith("no patient fact given")]
    return sorted(touched, key=lambda r: r.status != "met")[:MAX_DECIDING]


def _reason(verdict: str, t) -> str:
    return {"eligible": f"meets every stated criterion of {trial_label(t)}",
            "not eligible": "fails a criterion",
            "undetermined": "relevant; some criteria need facts the patient description does not give"}[verdict]


def _about(t) -> str:
    conds = list(getattr(t, "conditions", None) or [])
    return ", ".join(conds[:3]) if conds else (t.title or t.id)


"""What answering returns: answers, citations and eligibility reports, as dataclasses with ``to_dict()``;
and the small formatting helpers every route shares."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..extraction import CriterionEntity
from ..records import Criterion, Trial


@dataclass
class Citation:
    trial_id: str
    section: str
    text: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    text: str
    found: bool
    verdict: str | None = None  # yes / no / unknown for yes-no and patient questions
    trials: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    entities: list[CriterionEntity] = field(default_factory=list)
    intent: str = "descriptive"

    def to_dict(self) -> dict:
        return {"text": self.text, "found": self.found, "verdict": self.verdict, "trials": list(self.trials),
                "citations": [c.to_dict() for c in self.citations], "entities": [e.to_dict() for e in self.entities],
                "intent": self.intent}


@dataclass
class CriterionResult:
    criterion: str
    section: str
    status: str  # met / not_met / unknown
    reason: str
    citation: Citation

    def to_dict(self) -> dict:
        d = asdict(self)
        d["citation"] = self.citation.to_dict()
        return d


@dataclass
class EligibilityReport:
    trial_id: str
    verdict: str  # eligible / not eligible / undetermined
    criteria: list[CriterionResult]

    def to_dict(self) -> dict:
        return {"trial_id": self.trial_id, "verdict": self.verdict, "criteria": [c.to_dict() for c in self.criteria]}


def cite(trial: Trial, c: Criterion) -> Citation:
    return Citation(trial.id, c.section, c.text, c.start, c.end)


def cite_field(trial: Trial, name: str, text: str) -> list[Citation]:
    span = trial.spans.get(name)
    return [Citation(trial.id, name, text, span[0], span[1])] if span else []


def dedupe(items: list, key) -> list:
    """``items`` in order, without those whose ``key`` was seen before."""
    seen, out = set(), []
    for x in items:
        k = key(x)
        if k not in seen:
            seen.add(k)
            out.append(x)
    return out


def unique_citations(cites: list[Citation]) -> list[Citation]:
    return dedupe(cites, lambda c: (c.trial_id, c.start, c.end))


def fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def trial_label(trial: Trial) -> str:
    return trial.nct_id or (f"\u201c{trial.title}\u201d" if trial.title else trial.id)


def not_stated(t: Trial, what: str, intent: str, q=None) -> Answer:
    """The record does not state ``what``: found=False (an unknown verdict for a yes/no question)."""
    verdict = "unknown" if q is not None and q.yes_no else None
    return Answer(f"{trial_label(t)}: the record does not state {what}.", False, verdict, [t.id], [], [], intent)

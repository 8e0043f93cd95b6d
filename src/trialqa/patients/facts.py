"""``PatientFacts``: what a reader found about one patient, in the keys of docs/patient_facts.md,
with the span of the input each fact came from so a wrong reading can be seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The keys of the facts contract, in the order they are shown.
FACT_KEYS = ("age", "sex", "pregnant", "lactating", "childbearing_potential", "conditions", "history", "absent",
             "labs", "measurements", "blood_pressure", "scores", "treatments", "procedures", "days_since_onset",
             "bsa_percent")
_LISTS = ("conditions", "history", "absent", "labs", "measurements", "treatments", "procedures")


@dataclass
class PatientFacts:
    """One patient's facts. ``sources`` maps a fact key to the ``[start, end]`` spans of the input
    it was read from (character offsets into the note; resource positions for FHIR are not spans,
    so FHIR facts carry none). ``text`` is the note read, if any."""

    age: float | None = None
    sex: str | None = None
    pregnant: bool | None = None
    lactating: bool | None = None
    childbearing_potential: bool | None = None
    conditions: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    labs: list[str] = field(default_factory=list)
    measurements: list[str] = field(default_factory=list)
    blood_pressure: str | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    treatments: list[dict] = field(default_factory=list)
    procedures: list[dict] = field(default_factory=list)
    days_since_onset: float | None = None
    bsa_percent: float | None = None
    sources: dict[str, list[list[int]]] = field(default_factory=dict)
    text: str = ""

    def add(self, key: str, value: Any, span: tuple[int, int] | None = None) -> bool:
        """Record one fact (a list item once; a single value only when not already set). True when new."""
        if key in _LISTS:
            items = getattr(self, key)
            same = (lambda x: x.get("name") == value.get("name")) if isinstance(value, dict) else (lambda x: x == value)
            if any(same(x) for x in items):
                return False
            items.append(value)
        elif key == "scores":
            name, score = value
            if name in self.scores:
                return False
            self.scores[name] = score
        elif getattr(self, key) is not None:
            return False
        else:
            setattr(self, key, value)
        if span is not None:
            self.sources.setdefault(key, []).append([int(span[0]), int(span[1])])
        return True

    def to_dict(self, sources: bool = False) -> dict[str, Any]:
        """The facts dict ``TrialQA.check`` and ``match`` read (only the facts found); with
        ``sources=True`` also ``"sources"`` (key -> spans)."""
        out: dict[str, Any] = {}
        for key in FACT_KEYS:
            v = getattr(self, key)
            if v is None or (isinstance(v, (list, dict)) and not v):
                continue
            out[key] = [dict(x) for x in v] if key in ("treatments", "procedures") else (
                list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
        if sources:
            out["sources"] = {k: [list(s) for s in v] for k, v in self.sources.items()}
        return out

    def lines(self) -> list[str]:
        """The facts as short lines for people ("age: 58", "conditions: hypertension, obesity")."""
        out = []
        for key, v in self.to_dict().items():
            if isinstance(v, list):
                v = ", ".join(_show(x) for x in v)
            elif isinstance(v, dict):
                v = ", ".join(f"{k} {x}" for k, x in v.items())
            elif isinstance(v, float) and v.is_integer():
                v = int(v)
            out.append(f"{key.replace('_', ' ')}: {v}")
        return out


def _show(x: Any) -> str:
    if not isinstance(x, dict):
        return str(x)
    when = ("ongoing" if x.get("ongoing") else
            f"{x['days_ago']:g} days ago" if x.get("days_ago") is not None else "")
    return f"{x['name']} ({when})" if when else str(x["name"])

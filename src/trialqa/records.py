"""The normalized trial record: ``Trial`` and its parts, each keeping spans into the source file."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from . import units

Span = tuple[int, int]


@dataclass
class Criterion:
    """One eligibility criterion: its text (whitespace folded) and span in the source file."""

    text: str
    section: str  # "inclusion" or "exclusion"
    start: int
    end: int
    index: int = 0
    group: str | None = None  # the sub-heading or lead-in it stands under, if any
    entities: list = field(default_factory=list)  # CriterionEntity, filled by extraction
    requirement: Any = field(default=None, compare=False)  # extraction.requirements.Requirement, compiled with the entities

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("entities", "requirement")}
        d["entities"] = [e.to_dict() for e in self.entities]
        if self.requirement is not None:
            d["requirement"] = self.requirement.to_dict()
        return d


@dataclass
class Age:
    """An age limit as stated, with its value in years for comparisons."""

    value: float
    unit: str  # years, months, weeks, days, hours
    text: str
    inclusive: bool = True
    source: str = "structured"  # or "criteria" when derived from a criterion's wording

    @property
    def years(self) -> float:
        unit = units.time_unit(self.unit)
        return units.to_years(self.value, unit) if unit else self.value  # an unknown unit reads as years

    @classmethod
    def parse(cls, text: str | None, source: str = "structured") -> "Age | None":
        """Parse registry age strings such as ``18 Years``, ``6 Months``, ``N/A``."""
        if not text:
            return None
        m = re.match(r"\s*(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?\b", text, re.I)
        if not m:
            return None
        return cls(float(m.group(1)), m.group(2).lower() + "s", text.strip(), True, source)

    def label(self) -> str:
        """The limit as a reader says it: "18 years", "6 months"."""
        return f"{self.value:g} {self.unit}"

    def to_dict(self) -> dict[str, Any]:
        return {"value": _num(self.value), "unit": self.unit, "years": _num(round(self.years, 3)),
                "text": self.text, "inclusive": self.inclusive, "source": self.source}


PHASE_NUMERALS = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}


def phase_number(numeral: str) -> str:
    """A phase as a digit: "III" or "iii" -> "3"; a digit stays as it is."""
    return PHASE_NUMERALS.get(numeral.lower(), numeral)


@dataclass
class Intervention:
    name: str
    type: str | None = None
    description: str | None = None
    other_names: list[str] = field(default_factory=list)
    dose: str | None = None  # as stated, e.g. "16 mg/kg"
    route: str | None = None  # e.g. "intravenous"


@dataclass
class Arm:
    """An arm (group) of a trial: its label, type (experimental, placebo comparator ...) and description."""

    label: str
    type: str | None = None
    description: str | None = None
    interventions: list[str] = field(default_factory=list)


@dataclass
class Location:
    facility: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    status: str | None = None

    def label(self) -> str:
        return ", ".join(p for p in (self.facility, self.city, self.state, self.country) if p)


@dataclass
class Contact:
    name: str
    role: str | None = None
    phone: str | None = None
    email: str | None = None
    affiliation: str | None = None


@dataclass
class Identifier:
    id: str
    type: str | None = None  # e.g. CTIS, EudraCT, org_study_id, OTHER
    source: str | None = None  # secondary_id / org_study_id


@dataclass
class Outcome:
    """An outcome measure (primary, secondary or other) with the source span of its measure."""

    kind: str  # primary / secondary / other
    measure: str
    start: int
    end: int
    time_frame: str | None = None
    description: str | None = None
    description_span: Span | None = None


@dataclass
class Trial:
    """A normalized clinical-trial record. ``spans`` maps field names to source-file offsets."""

    id: str
    source: str  # path of the record file
    format: str  # "ctgov_xml", "ctgov_json", "registry_text"
    nct_id: str | None = None
    title: str | None = None
    official_title: str | None = None
    acronym: str | None = None
    status: str | None = None
    phases: list[str] = field(default_factory=list)
    study_type: str | None = None
    enrollment: int | None = None
    enrollment_type: str | None = None  # ACTUAL / ESTIMATED (anticipated)
    start_date: str | None = None
    primary_completion_date: str | None = None
    completion_date: str | None = None
    last_update: str | None = None
    conditions: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    interventions: list[Intervention] = field(default_factory=list)
    arms: list[Arm] = field(default_factory=list)
    design: dict[str, str] = field(default_factory=dict)
    summary: str | None = None
    description: str | None = None
    criteria: list[Criterion] = field(default_factory=list)
    eligibility_text: str | None = None
    min_age: Age | None = None
    max_age: Age | None = None
    sex: str | None = None  # ALL / FEMALE / MALE
    healthy_volunteers: bool | None = None
    sponsor: str | None = None
    collaborators: list[str] = field(default_factory=list)
    sponsor_classes: dict[str, str] = field(default_factory=dict)  # organization -> INDUSTRY / NIH / OTHER ...
    responsible_party: str | None = None
    why_stopped: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)
    spans: dict[str, Span] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Decoded prose fields with their offset maps into the source (summary, description, ...);
    # chunking splits these into sentences with exact source offsets. Not serialized.
    texts: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_nct_id(self) -> bool:
        return self.nct_id is not None

    @property
    def inclusion(self) -> list[Criterion]:
        return [c for c in self.criteria if c.section == "inclusion"]

    @property
    def exclusion(self) -> list[Criterion]:
        return [c for c in self.criteria if c.section == "exclusion"]

    def source_text(self) -> str:
        """The record file as text: the string that every span indexes."""
        from .sources import read_text

        return read_text(self.source)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "nct_id": self.nct_id,
            "has_nct_id": self.has_nct_id,
            "title": self.title,
            "official_title": self.official_title,
            "acronym": self.acronym,
            "status": self.status,
            "phases": list(self.phases),
            "study_type": self.study_type,
            "enrollment": self.enrollment,
            "enrollment_type": self.enrollment_type,
            "start_date": self.start_date,
            "primary_completion_date": self.primary_completion_date,
            "completion_date": self.completion_date,
            "last_update": self.last_update,
            "conditions": list(self.conditions),
            "keywords": list(self.keywords),
            "interventions": [asdict(i) for i in self.interventions],
            "arms": [asdict(a) for a in self.arms],
            "design": dict(self.design),
            "summary": self.summary,
            "description": self.description,
            "min_age": _num(round(self.min_age.years, 3)) if self.min_age else None,
            "max_age": _num(round(self.max_age.years, 3)) if self.max_age else None,
            "min_age_detail": self.min_age.to_dict() if self.min_age else None,
            "max_age_detail": self.max_age.to_dict() if self.max_age else None,
            "sex": self.sex,
            "healthy_volunteers": self.healthy_volunteers,
            "inclusion": [c.text for c in self.inclusion],
            "exclusion": [c.text for c in self.exclusion],
            "criteria": [c.to_dict() for c in self.criteria],
            "sponsor": self.sponsor,
            "collaborators": list(self.collaborators),
            "sponsor_classes": dict(self.sponsor_classes),
            "responsible_party": self.responsible_party,
            "why_stopped": self.why_stopped,
            "outcomes": [asdict(o) for o in self.outcomes],
            "locations": [asdict(x) for x in self.locations],
            "contacts": [asdict(x) for x in self.contacts],
            "identifiers": [asdict(x) for x in self.identifiers],
            "source": self.source,
            "format": self.format,
            "spans": {k: list(v) for k, v in self.spans.items()},
            "warnings": list(self.warnings),
        }


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x

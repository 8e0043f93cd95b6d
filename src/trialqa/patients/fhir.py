"""Read a FHIR R4 bundle (Patient, Condition, Observation, MedicationStatement, Procedure) into
``PatientFacts`` with the ``fhir.resources`` models (their R4B module: the same structures as R4 for
these resources). Other resource types are skipped; a bundle that does not validate is an error
naming the resource and the field."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

from ..errors import QueryError
from ..extraction import rules
from .facts import PatientFacts
from .note import vocab

_ACTIVE = {"active", "recurrence", "relapse"}
_PAST = {"inactive", "remission", "resolved"}
# LOINC codes of the blood-pressure panel and its parts.
_BP_PANEL, _SYSTOLIC, _DIASTOLIC = "85354-9", "8480-6", "8462-4"


def read_fhir(bundle: str | bytes | dict, *, today: date | None = None) -> PatientFacts:
    """The facts of a FHIR R4 bundle (JSON text or a dict). ``today`` dates ages and "days ago"
    (default: the current UTC date). ``QueryError`` for a bundle that is not one."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    data = as_bundle_dict(bundle)
    if data.get("resourceType") != "Bundle":
        raise QueryError(f"a FHIR bundle must have resourceType 'Bundle', got {data.get('resourceType')!r}")
    try:
        parsed = Bundle.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ()))
        raise QueryError(f"FHIR bundle: {where or 'bundle'}: {err.get('msg', 'invalid')}") from None
    today = today or datetime.now(timezone.utc).date()
    facts = PatientFacts()
    for entry in parsed.entry or []:
        res = entry.resource
        if res is None:
            continue
        kind = res.get_resource_type()
        reader = _READERS.get(kind)
        if reader:
            reader(res, facts, today)
    return facts


def as_bundle_dict(bundle: Any) -> dict:
    """A bundle given as JSON text, bytes or a dict, as a dict; ``QueryError`` when it is not JSON or not an object."""
    if isinstance(bundle, (bytes, bytearray)):
        bundle = bundle.decode("utf-8", errors="strict")
    if isinstance(bundle, str):
        try:
            bundle = json.loads(bundle)
        except json.JSONDecodeError as exc:
            raise QueryError(f"FHIR bundle is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(bundle, dict):
        raise QueryError(f"a FHIR bundle must be a JSON object, got {type(bundle).__name__}")
    return bundle


def _text(concept) -> str | None:
    """A CodeableConcept's name: its text, else the first coding's display, else its code."""
    if concept is None:
        return None
    if concept.text:
        return concept.text
    for c in concept.coding or []:
        if c.display or c.code:
            return c.display or c.code
    return None


def _codes(concept) -> set[str]:
    return {c.code for c in (concept.coding or []) if c.code} if concept is not None else set()


def _date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _days_ago(when, today: date) -> float | None:
    d = _date(when)
    return float((today - d).days) if d is not None else None


def _patient(res, facts: PatientFacts, today: date) -> None:
    if res.gender in ("female", "male"):
        facts.add("sex", res.gender)
    born = _date(res.birthDate)
    if born is not None:
        years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if 0 <= years <= 130:
            facts.add("age", float(years))


def _condition(res, facts: PatientFacts, today: date) -> None:
    name = _text(res.code)
    if not name:
        return
    name = rules().concept_lookup(name) or name
    status = _codes(res.clinicalStatus)
    if "refuted" in _codes(res.verificationStatus):
        facts.add("absent", name)
        return
    facts.add("conditions", name)
    if status & _PAST and not status & _ACTIVE:
        facts.add("history", name)
    onset = _days_ago(res.onsetDateTime, today) if getattr(res, "onsetDateTime", None) else None
    if onset is not None and status & _ACTIVE and facts.days_since_onset is None and not facts.conditions[:-1]:
        facts.add("days_since_onset", onset)  # the first active condition is the one under study


def _observation(res, facts: PatientFacts, today: date) -> None:
    codes = _codes(res.code)
    if _BP_PANEL in codes or res.component:
        parts = {}
        for comp in res.component or []:
            q = comp.valueQuantity
            if q is not None and q.value is not None:
                parts.update({c: float(q.value) for c in _codes(comp.code) & {_SYSTOLIC, _DIASTOLIC}})
        if len(parts) == 2:
            facts.add("blood_pressure", f"{parts[_SYSTOLIC]:g}/{parts[_DIASTOLIC]:g}")
            return
    name = _text(res.code)
    q = res.valueQuantity
    if not name:
        return
    v = vocab()
    if q is None or q.value is None:
        if res.valueInteger is not None:
            analyte = _analyte(name)
            if analyte in v.scores:
                facts.add("scores", (v.scores[analyte], res.valueInteger))
        return
    unit = q.unit or q.code or ""
    analyte = _analyte(f"{name} {float(q.value):g} {unit}")
    if analyte in v.scores:
        facts.add("scores", (v.scores[analyte], float(q.value)))
        return
    item = f"{analyte or name} {float(q.value):g} {unit}".strip()
    facts.add("measurements" if analyte in v.measurements else "labs", item)


def _analyte(text: str) -> str | None:
    """The analyte a FHIR observation names, as the criteria extractor reads it."""
    for e in rules().extract(text):
        if e.analyte:
            return e.analyte
    hit = rules().analyte_gaz.find(text)
    return hit[0][2] if hit else None


def _medication(res, facts: PatientFacts, today: date) -> None:
    name = _text(res.medicationCodeableConcept)
    if not name or res.status in ("not-taken", "entered-in-error"):
        return
    item: dict[str, Any] = {"name": name}
    period = res.effectivePeriod
    when = (period.end or period.start) if period is not None else res.effectiveDateTime
    ago = _days_ago(when, today)
    if ago is not None:
        item["days_ago"] = ago
    if res.status in ("active", "intended"):
        item["ongoing"] = True
    facts.add("treatments", item)


def _procedure(res, facts: PatientFacts, today: date) -> None:
    name = _text(res.code)
    if not name or res.status in ("not-done", "entered-in-error"):
        return
    item: dict[str, Any] = {"name": rules().concept_lookup(name) or name}
    period = res.performedPeriod
    when = (period.end or period.start) if period is not None else res.performedDateTime
    ago = _days_ago(when, today)
    if ago is not None:
        item["days_ago"] = ago
    facts.add("procedures", item)


_READERS = {"Patient": _patient, "Condition": _condition, "Observation": _observation,
            "MedicationStatement": _medication, "Procedure": _procedure}

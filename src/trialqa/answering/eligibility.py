"""A patient's facts against compiled requirements: each criterion passes, fails or stays unknown,
with one plain-language reason and its citation.

``Facts`` is the normalized patient (from a ``check()`` dict, a note or FHIR bundle read into one,
or the facts a question states); ``judge`` evaluates one criterion's ``Requirement`` with
three-valued logic over its atoms: an atom is true, false or unknown for this patient; "and" is
false when one conjunct is, "or" true when one alternative is. An inclusion passes when its
expression is true; an exclusion passes when its expression is false. Whom a criterion concerns
(a cohort, women of childbearing potential) is checked first, and a limit stated for patients with
(or without) a condition counts only for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..extraction import CriterionEntity, enrollment_age, requirement_of, rules
from ..extraction.conditional import given_applies
from ..extraction.requirements import ATOM_KINDS, Atom, Requirement, studied_concepts, vocabulary
from ..extraction.scales import class_points
from ..records import Criterion, Trial
from .concepts import ancestors, concept_parents, qualifier_pairs
from .results import CriterionResult, cite, fmt

# IFCC HbA1c (mmol/mol) from NGSP HbA1c (%): the master equation of the IFCC-NGSP network.
def _hba1c_mmol_mol(percent: float) -> float:
    return (percent - 2.15) * 10.929


def _hba1c_unit(e: CriterionEntity) -> str | None:
    return "mmol/mol" if "mmol/mol" in (e.text or "").lower() else e.unit


@dataclass
class Facts:
    """What is known of one patient; ``None`` or absence means not stated."""

    age: float | None = None
    sex: str | None = None  # female / male
    pregnant: bool | None = None
    lactating: bool | None = None
    childbearing_potential: bool | None = None
    has: dict[str, set[int]] = field(default_factory=dict)  # concept (and its ancestors) -> contradicting qualifier ids
    history: set[str] = field(default_factory=set)  # past conditions only
    current: set[str] = field(default_factory=set)  # treatments taken now ("takes warfarin", "is on Neoral")
    lacks: set[str] = field(default_factory=set)
    phrases: dict[str, list[list[str]]] = field(default_factory=dict)
    said: dict[str, list[str]] = field(default_factory=dict)  # concept -> the patient's words for it ("renovascular hypertension")
    labs: list[CriterionEntity] = field(default_factory=list)  # LAB and PERCENT values
    blood_pressure: tuple[float, float] | None = None
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # scale -> points (a class is a range)
    treatments: list[dict[str, Any]] = field(default_factory=list)  # {"concepts", "route", "days_ago", "ongoing", "text"}
    doses: list[CriterionEntity] = field(default_factory=list)
    times: list[dict[str, Any]] = field(default_factory=list)  # {"days", "text", "concepts", "anchor", ...}
    windows: list[CriterionEntity] = field(default_factory=list)  # days since onset


def scale_name(name: str) -> str | None:
    """The canonical scale for a spelling ("kps" -> Karnofsky, "ECOG PS" -> ECOG)."""
    key = name.strip().lower()
    for s in vocabulary().scales:
        if key == s["name"].lower() or key in s["names"]:
            return s["name"]
    return None


def score_value(scale: str, value: Any) -> tuple[float, float] | None:
    """A score as the points it stands for: a number, or a class ("A", "class III") through the scale's classes."""
    s = next(x for x in vocabulary().scales if x["name"] == scale)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return class_points(s, repr(float(value)))
    return class_points(s, str(value).strip().upper().removeprefix("CLASS ").strip())


# --- evaluation -------------------------------------------------------------------------------

@dataclass
class _Truth:
    value: bool | None
    reason: str
    consulted: bool  # a patient fact bore on it (even if it could not decide)
    needs: str | None = None  # the fact that would decide it
    open: bool = False  # stated facts bear on it but cannot decide it (a time not given, a limit in other terms)


def judge(t: Trial, c: Criterion, facts: Facts, stated_only: bool = False) -> tuple[CriterionResult, bool]:
    """One criterion against the patient: the result, and whether any patient fact bore on it.

    ``stated_only`` judges on the stated facts alone, as a question asks ("Can a 76-year-old
    enter?"): a conjunct nothing was said about does not decide; it counts as satisfied in an
    inclusion and as absent in an exclusion, and the reason names it."""
    req = requirement_of(c, t)
    truths = [_atom_truth(t, c, req, a, facts) for a in req.atoms]
    consulted = any(x.consulted for x in truths)
    allowed = [x.name for x in req.exceptions if x.name and _has(x.name, facts)]
    if allowed and not consulted and (not req.atoms or stated_only):
        # "Subjects with asymptomatic brain metastases are eligible", "However, 1 or 2 cycles of chemotherapy ... will be allowed"
        return CriterionResult(c.text, c.section, "met", f"the patient's {', '.join(dict.fromkeys(allowed))}: this criterion "
                               "allows it", cite(t, c)), True
    applies = _applies(req, facts)
    favour = (req.polarity == "inclusion") if stated_only and consulted else None
    status = _given_status(req, facts, stated_only)
    open_names = [n for n, v in status.items() if v is None]
    outcomes = [_combine(req.expression, truths, favour, _not_given(req, {**status, **dict.fromkeys(open_names, b)}))
                for b in ((False, True) if open_names else (False,))]
    excl = req.polarity == "exclusion"
    # The readings agree when they agree on the criterion (a limit that does not apply passes it too).
    verdicts = {True if o is _NA else None if o is None else (not o if excl else o) for o in outcomes}
    value = (next((o for o in outcomes if o is not _NA), _NA) if len(verdicts) == 1 else None)
    na = _not_given(req, status) if not open_names else frozenset()
    decisive = [x for i, x in enumerate(truths) if x.value is not None and x.consulted and i not in na]
    because = "; ".join(dict.fromkeys(x.reason for x in decisive)) or "; ".join(dict.fromkeys(x.reason for x in truths if x.consulted))
    if applies is False:
        return CriterionResult(c.text, c.section, "met", f"does not apply to this patient ({_whom(req)})", cite(t, c)), consulted
    if value is _NA:
        whom = "; ".join(dict.fromkeys(f"{'with' if g['present'] else 'without'} {g['text']}" for a in req.atoms
                                       if (g := a.given)))
        return CriterionResult(c.text, c.section, "met", f"its limits are for patients {whom}, which this patient is not",
                               cite(t, c)), consulted
    if value is None and open_names:
        truths.append(_Truth(None, "", False, f"whether the patient has {', '.join(open_names)}"))
    if value is None:
        needs = sorted({x.needs for x in truths if x.value is None and x.needs})
        reason = because or "no patient fact given for this criterion"
        if needs:
            reason += f" (would be decided by: {', '.join(needs)})"
        if not req.atoms:
            reason = "not compared: no structured requirement could be read from this criterion"
        return CriterionResult(c.text, c.section, "unknown", reason, cite(t, c)), consulted
    passes = (not value) if excl else value
    if applies is None and not passes:
        return CriterionResult(c.text, c.section, "unknown", f"{because}, but it applies only to {_whom(req)}", cite(t, c)), consulted
    if excl:
        tail = "so this criterion excludes the patient" if value else "so this criterion does not exclude the patient"
    else:
        tail = "so the patient meets this requirement" if value else "so the patient does not meet this requirement"
    return CriterionResult(c.text, c.section, "met" if passes else "not_met", f"{because}: {tail}", cite(t, c)), consulted


def _whom(req: Requirement) -> str:
    return ", ".join(a["text"] for a in req.applies_to) or "some patients"


def _applies(req: Requirement, facts: Facts) -> bool | None:
    """Whether the criterion concerns this patient: False when a restriction rules them out, None when
    a restriction cannot be checked (a cohort), True otherwise."""
    out: bool | None = True
    for a in req.applies_to:
        kind = a["kind"]
        if kind in ("female", "male"):
            sex = facts.sex or ("female" if facts.pregnant or facts.lactating else None)
            ok = None if sex is None else sex == kind
        elif kind == "childbearing_potential":
            if facts.sex == "male" and not re.search(r"\b(?:men|males?|fathers?|partners?)\b", a["text"], re.I):
                ok = False
            elif facts.childbearing_potential is not None:
                ok = facts.childbearing_potential
            elif facts.pregnant:
                ok = True
            else:
                ok = None
        elif kind == "patients_with":
            names = set(a.get("names") or ())
            if names & set(facts.has):
                ok = True
            elif names & facts.lacks or (facts.has and not names & set(facts.has)):
                ok = False  # the patient's stated conditions are others
            else:
                ok = None
        elif kind == "age" and a.get("years") is not None:
            ok = None if facts.age is None else _admits(a["op"], a["years"], a.get("years2"), facts.age)
        else:
            ok = None  # a cohort, a part, "if operated": which one the patient is in is not a fact we hold
        if ok is False:
            return False
        if ok is None:
            out = None
    return out


_NA = "not applicable"  # a limit for patients with (or without) a condition this patient has not (or has)


def _given_status(req: Requirement, facts: Facts, stated_only: bool) -> dict[str, bool | None]:
    """Whether the patient has each condition a limit depends on; on the stated facts, unstated is absent."""
    out: dict[str, bool | None] = {}
    for name in dict.fromkeys(a.given["name"] for a in req.atoms if a.given):
        if _has(name, facts):
            out[name] = True
        elif _denied(name, facts) or stated_only:
            out[name] = False
        else:
            out[name] = None
    return out


def _not_given(req: Requirement, status: dict[str, bool | None]) -> frozenset[int]:
    return frozenset(i for i, a in enumerate(req.atoms) if given_applies(a.given, status) is False)


def _combine(expr: dict[str, Any] | int, truths: list[_Truth], favour: bool | None = None,
             na: frozenset[int] = frozenset()) -> bool | None | str:
    """Three-valued and/or; with ``favour``, an unknown conjunct of an "and" that has a known one takes
    that value, and so does an unknown alternative of an exclusion's "or" (``favour`` False). Atoms
    in ``na`` (limits for other patients) are left out; an expression of those alone is ``_NA``."""
    if isinstance(expr, int) and expr in na:
        return _NA
    if isinstance(expr, int):
        x = truths[expr]
        # On the stated facts alone, what they cannot decide (a time nobody gave) is not held against the patient.
        return favour if x.value is None and x.open and favour is not None else x.value
    pairs = [(v, x) for x in expr["args"] if (v := _combine(x, truths, favour, na)) is not _NA]
    if not pairs and expr["args"]:
        return _NA
    vals, args = [v for v, _ in pairs], [x for _, x in pairs]
    if not vals:
        return None
    if expr["op"] == "or":
        if favour is not None and any(v is not None for v in vals):
            # On the stated facts, an alternative nothing was said about is absent (for an exclusion,
            # any such alternative; for an inclusion, those no fact bore on: "SJS or TEN" for a TEN patient).
            vals = [False if v is None and (favour is False or (isinstance(x, int) and not truths[x].consulted)) else v
                    for v, x in zip(vals, args)]
        return True if any(v is True for v in vals) else False if all(v is False for v in vals) else None
    if favour is not None and any(v is not None for v in vals):
        vals = [favour if v is None else v for v in vals]
    return False if any(v is False for v in vals) else True if all(v is True for v in vals) else None


def _atom_truth(t: Trial, c: Criterion, req: Requirement, a: Atom, facts: Facts) -> _Truth:
    x = _ATOMS[a.kind](t, c, req, a, facts)
    if a.negated and x.value is not None:
        x.value = not x.value
    return x


def _age(t, c, req, a: Atom, facts: Facts) -> _Truth:
    if facts.age is None:
        return _Truth(None, "", False, "age")
    if not enrollment_age(c.text, a) or a.norm_value is None:
        return _Truth(None, "", False)
    if a.op == "=":
        # "16 years of age of older", "aged 6 months+", "6 to under 60": an age with no comparator is
        # almost always a limit whose comparator was lost, not a single admitted age
        return _Truth(None, f"\u201c{a.text}\u201d states an age without saying above or below it", True, open=True)
    lo, lo_inc, hi, hi_inc = _entity(a).bounds()
    # "over 18 years old" with a structured minimum of 18 Years: the field says whether 18 itself is allowed.
    if lo is not None and t.min_age and t.min_age.source == "structured" and abs(t.min_age.years - lo) < 1e-9:
        lo_inc = t.min_age.inclusive
    if hi is not None and t.max_age and t.max_age.source == "structured" and abs(t.max_age.years - hi) < 1e-9:
        hi_inc = t.max_age.inclusive
    x = facts.age
    ok = not ((lo is not None and (x < lo or (x == lo and not lo_inc))) or (hi is not None and (x > hi or (x == hi and not hi_inc))))
    return _Truth(ok, f"age {fmt(x)} is {'within' if ok else 'outside'} \u201c{a.text}\u201d", True)


def _admits(op: str | None, v: float, v2: float | None, x: float) -> bool:
    e = CriterionEntity("AGE", "", 0, 0, op, v, v2, None, v, v2)
    return bool(e.admits(x))


def _measurement(t, c, req, a: Atom, facts: Facts) -> _Truth:
    if a.sex and facts.sex and a.sex != facts.sex:
        return _Truth(False, f"\u201c{a.text}\u201d is the limit for {'women' if a.sex == 'female' else 'men'}", True)
    limit = _entity(a)
    if a.name == "blood pressure" and facts.blood_pressure:
        comp = a.component or ("systolic" if (a.norm_value or 0) >= 120 else "diastolic")
        x = facts.blood_pressure[0 if comp == "systolic" else 1]
        return _compare(f"{comp} blood pressure {fmt(x)} mmHg", x, limit, a)
    related = rules().related_analytes([a.name])
    same = [f for f in facts.labs if f.analyte in related or (f.analyte is None and f.unit == a.unit == "%")]
    if not same:
        return _Truth(None, "", False, a.name)
    if rules().implausible(limit):
        return _Truth(None, f"\u201c{a.text}\u201d is not a plausible {a.name} limit in {a.unit} (a unit error in the record?)", True)
    for f in same:
        x = _comparable(f, limit)
        if x is not None:
            shown = f"{f.analyte or a.name} {f.text.strip()}"
            if a.unit and f.unit and f.unit != a.unit and a.value:
                shown += f" ({fmt(round(x * a.value / a.norm_value, 2) if a.norm_value else x)} {a.unit})"
            return _compare(shown, x, limit, a)
    if all(("ULN" in (f.unit or "")) != ("ULN" in (a.unit or "")) for f in same):
        return _Truth(None, "", False, f"{a.name} in {a.unit}")  # a limit relative to normal: an absolute value does not bear on it
    return _Truth(None, f"cannot compare {same[0].text.strip()} with \u201c{a.text}\u201d (units)", True, f"{a.name} in {a.unit}")


def _entity(a: Atom) -> CriterionEntity:
    return CriterionEntity("LAB", a.text, a.start, a.end, a.op, a.value, a.value2, a.unit, a.norm_value, a.norm_value2,
                           a.norm_unit, analyte=a.name)


def _compare(what: str, x: float, limit: CriterionEntity, a: Atom) -> _Truth:
    inside = limit.admits(x)
    if inside is None:
        return _Truth(None, "", False)
    return _Truth(inside, f"{what} {'is' if inside else 'is not'} {_phrase(a)} (\u201c{a.text}\u201d)", True)


_OP_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least", "=": "equal to"}


def _phrase(a: Atom) -> str:
    unit = f" {a.unit}" if a.unit else ""
    if a.op == "between" and a.value2 is not None:
        return f"between {fmt(a.value)} and {fmt(a.value2)}{unit}"
    return f"{_OP_WORDS.get(a.op or '=', a.op)} {fmt(a.value)}{unit}"


def _comparable(fact: CriterionEntity, e: CriterionEntity) -> float | None:
    """The fact's value in the criterion's normalized unit, or None when units cannot be matched."""
    if e.analyte == "HbA1c" and fact.value is not None and {_hba1c_unit(fact), e.unit} == {"%", "mmol/mol"}:
        return _hba1c_mmol_mol(fact.value) if e.unit == "mmol/mol" else fact.value / 10.929 + 2.15
    if fact.norm_unit and fact.norm_unit == e.norm_unit and fact.norm_value is not None and fact.unit != "%" != e.unit:
        return fact.norm_value
    if fact.unit == e.unit and fact.value is not None and e.value is not None:
        return fact.value * (e.norm_value / e.value) if e.norm_value is not None and e.value else fact.value
    if fact.unit is None and e.unit is not None and fact.value is not None and e.norm_value is not None and e.value:
        return fact.value * (e.norm_value / e.value)
    if fact.norm_unit and fact.norm_unit == e.norm_unit and fact.norm_value is not None:
        return fact.norm_value
    return None


def _score(t, c, req, a: Atom, facts: Facts) -> _Truth:
    if a.norm_value is None:
        return _Truth(None, "", False)
    lo, hi = _score_range(a.name, facts.scores)
    if lo is None:
        return _Truth(None, "", False, a.name)
    limit = _entity(a)
    ok_lo, ok_hi = limit.admits(lo), limit.admits(hi)
    shown = fmt(lo) if lo == hi else f"{fmt(lo)}-{fmt(hi)}"
    if ok_lo is None:
        return _Truth(None, "", False)
    if ok_lo != ok_hi:
        return _Truth(None, f"{a.name} {shown} (converted) straddles \u201c{a.text}\u201d", True, a.name)
    return _Truth(ok_lo, f"{a.name} {shown} {'is' if ok_lo else 'is not'} {_phrase(a)}", True)


def _score_range(scale: str, scores: dict[str, tuple[float, float]], seen: frozenset[str] = frozenset()
                 ) -> tuple[float | None, float | None]:
    """The patient's value on ``scale``, directly or through equivalences, one scale after another
    (WHO 1 is ECOG 1 is Karnofsky 70-80)."""
    if scale in scores:
        return scores[scale]
    for key, rows in vocabulary().equivalent.items():
        src, dst = key.split("->")
        for have, want, forward in ((src, dst, True), (dst, src, False)):
            if want != scale or have in seen:
                continue
            lo, hi = _score_range(have, scores, seen | {scale})
            if lo is None or lo != hi:
                continue
            if forward:
                hit = [(r[1], r[2]) for r in rows if r[0] == lo]
            else:
                hit = [(r[0], r[0]) for r in rows if r[1] <= lo <= r[2]]
            if hit:
                return min(h[0] for h in hit), max(h[1] for h in hit)
    return None, None


def _condition(t, c, req, a: Atom, facts: Facts) -> _Truth:
    name = a.name
    if "outcome" in a.qualifiers and a.kind in ("treatment", "procedure"):
        return _outcome(a, facts)
    if _denied(name, facts) and a.window and a.window.get("op") in (">", ">=") \
            and not a.window.get("duration"):
        return _Truth(True, f"the patient never had {name}", True)  # "at least 4 weeks since prior X"
    stated = _stated(name, facts)
    denied = _denied(name, facts)
    if denied and not stated:  # "never vaccinated" denies every kind of vaccination; a stated one wins
        return _Truth(False, f"the patient does not have {denied}", True)
    timed = [f["days"] for f in facts.times if name in f["concepts"] and not _is_duration(f["text"])]
    if timed and name not in facts.current and "active" in a.qualifiers and "history" not in a.qualifiers \
            and not a.window and min(timed) > 1:
        return _Truth(False, f"the patient's {name} was {fmt(min(timed))} days ago, not current", True)
    if a.window and _anchored_days(a, facts) and name not in facts.lacks:
        return _timed(t, a, facts)  # "admission less than 10 days after onset": the patient's time since onset decides
    if name not in facts.has and timed:
        around = c.text[max(0, a.start - 40):a.end + 20]
        if any(i in f.get("qualifiers", ()) and crit_q.search(around) for f in facts.times if name in f["concepts"]
               for i, (crit_q, _) in enumerate(qualifier_pairs())):
            return _Truth(False, f"the patient's {name} is not of the kind this criterion names", True)
        if "active" in a.qualifiers and "history" not in a.qualifiers and not a.window and min(timed) > 1:
            return _Truth(False, f"the patient's {name} was {fmt(min(timed))} days ago, not current", True)
        return _timed(t, a, facts) if a.window else _Truth(True, f"the patient had {name}", True)
    if name not in facts.has and a.window and name in _studied(t) and name not in facts.lacks and any(
            f.get("anchor") == "symptom onset" and not f["concepts"] for f in facts.times):
        return _timed(t, a, facts)  # "The reaction started 5 days ago": the trial's own disease, timed from its onset
    if name not in facts.has:
        if a.kind == "treatment":
            return _treatment_fact(t, a, facts)
        sibling = _sibling(req, a, facts, _studied(t))
        if sibling:
            return _Truth(False, f"this criterion requires {name}; the patient has {sibling}", True)
        return _Truth(None, "", False, name)
    contradicted = [i for i, (crit_q, _) in enumerate(qualifier_pairs())
                    if i in facts.has[name] and crit_q.search(c.text[max(0, a.start - 40):a.end + 20])]
    if contradicted:
        return _Truth(False, f"the patient's {name} is not of the kind this criterion names", True)
    # An inclusion's kind of the trial's own disease ("drug-induced SJS/TEN") describes whom it
    # studies: a patient who has that disease is taken to be of it; elsewhere the kind must be said.
    if a.subtype and not (req.polarity == "inclusion" and name in _studied(t)) and not _of_kind(a.subtype, name, facts):
        kind = " ".join(w.lower() if w[1:].islower() else w for w in a.subtype.split())  # "Renovascular", "CNS"
        return _Truth(None, f"this criterion names {kind} {a.text}; the patient's {name} is not said to be of that kind",
                      True, f"whether the patient's {name} is {kind}", open=True)
    if "active" in a.qualifiers and name in facts.history and "history" not in a.qualifiers:
        return _Truth(False, f"the patient's {name} is past, and this criterion names a current one", True)
    if _excepted(req, name, facts):
        return _Truth(False, f"the patient's {name} is an exception this criterion makes", True)
    if "other" in a.qualifiers and a.kind == "condition" and name in _studied(t):
        return _Truth(False, f"the patient's {name} is the condition under study, not another one", True)
    if a.window:
        return _timed(t, a, facts)
    return _Truth(True, f"the patient has {name}", True)


def _of_kind(kind: str, name: str, facts: Facts) -> bool:
    """Whether the patient's own words for ``name`` (or a kind of it) name ``kind`` too ("renovascular")."""
    words = [re.compile(r"(?<![\w-])" + re.escape(w) + r"(?![\w-])", re.I) for w in kind.split()]
    return any(all(w.search(said) for w in words) for said in facts.said.get(name, ()))


def _has(name: str, facts: Facts) -> bool:
    """Whether the patient has ``name`` or a kind of it (liver metastases are metastases)."""
    return name in facts.has or any(name in ancestors(h) for h in facts.has)


def _stated(name: str, facts: Facts) -> bool:
    """Whether the patient's facts name ``name``: as a condition or treatment, or with a time."""
    return name in facts.has or any(name in f["concepts"] for f in facts.times)


def _denied(name: str, facts: Facts) -> str | None:
    """What the patient is said not to have that covers ``name`` (itself, or a class it belongs to)."""
    return name if name in facts.lacks else next((x for x in ancestors(name) if x in facts.lacks), None)


def _outcome(a: Atom, facts: Facts) -> _Truth:
    """"Non-responders to clozapine", "anti-HIV treatment withdrawal": how a treatment went. A patient
    who never had it cannot have had that outcome; one who had it has not said how it went."""
    name = a.name
    stated = _stated(name, facts) or name in facts.current
    denied = _denied(name, facts)
    if denied and not stated:
        return _Truth(False, f"the patient never had {denied}, so not \u201c{a.text}\u201d as this criterion says", True)
    if stated:
        return _Truth(None, f"the patient had {name}; this criterion is about how it went", True,
                      f"the outcome of {name}", open=True)
    return _Truth(None, "", False, name)


def _sibling(req: Requirement, a: Atom, facts: Facts, studied: frozenset[str] = frozenset()) -> str | None:
    """The patient's condition of the same kind as the one an inclusion requires ("histologically
    proven melanoma" for a patient with lung cancer: both malignancies): the patient's stated disease
    is another one. Only for inclusions without a time window, about conditions."""
    if req.polarity != "inclusion" or a.kind != "condition" or a.negated or a.window:
        return None
    parents = set(concept_parents().get(a.name, []))
    stated = [c for c in facts.has if not any(c in ancestors(o) for o in facts.has if o != c)]
    for p in [c for c in stated if c not in studied]:  # the patient's own conditions, not the trial's own disease
        kin = set(concept_parents().get(p, []))
        if kin and parents & kin and p != a.name and a.name not in ancestors(p) and p not in ancestors(a.name):
            return p
    return None


def _treatment(t, c, req, a: Atom, facts: Facts) -> _Truth:
    if a.name is None:
        return _Truth(None, "", False)
    if a.op is None:
        dosed = [d for d in facts.doses if a.name in ancestors(d.concept or "") and any(
            b.op is not None and b.name == d.concept for b in req.atoms)]
        if dosed:  # "aspirin (> 325 mg/day) or NSAIDs": the patient's aspirin is judged by its own dose limit
            return _Truth(False, f"the patient's {dosed[0].concept} is judged by its dose limit", True)
    if a.op is not None and a.norm_value is not None:  # a dose limit
        doses = [d for d in facts.doses if d.concept == a.name or a.name in ancestors(d.concept or "")]
        if not doses:
            return _Truth(None, "", False, f"{a.name} dose")
        x = _comparable(doses[0], _entity(a))
        if x is None:
            return _Truth(None, f"cannot compare {doses[0].text} with \u201c{a.text}\u201d", True)
        return _compare(f"{a.name} {doses[0].text.strip()}", x, _entity(a), a)
    return _condition(t, c, req, a, facts)


def _treatment_fact(t: Trial, a: Atom, facts: Facts) -> _Truth:
    hits = [tr for tr in facts.treatments if a.name in tr["concepts"]]
    if not hits:
        return _Truth(None, "", False, a.name)
    if a.window:
        return _timed(t, a, facts)
    return _Truth(True, f"the patient received {hits[0]['text']}", True)


def _timed(t: Trial, a: Atom, facts: Facts) -> _Truth:
    """A mention with a time window ("within 4 weeks", "in the past 5 years") against the time the
    patient's fact carries; without one, unknown."""
    w = a.window
    duration = w.get("duration", _is_duration(w["text"]))
    # A condition's duration is the time since it began ("for 3 years" or "started 5 days ago"); a
    # treatment's duration ("on it for 14 months") is not how long ago its last dose was.
    days = [f["days"] for f in facts.times if a.name in f["concepts"]
            and (a.kind == "condition" or _is_duration(f["text"]) == duration)] or _anchored_days(a, facts)
    if not days and a.kind == "condition" and a.name in _studied(t):
        days = [f["days"] for f in facts.times if not f["concepts"] and f.get("anchor") == "symptom onset"]
    days += [tr["days_ago"] for tr in facts.treatments if a.name in tr["concepts"] and tr.get("days_ago") is not None]
    if not days and a.name in facts.current and not duration:
        days = [0.0]  # a drug the patient takes now (how long they have taken it is not said)
    if not days or w.get("days") is None:
        return _Truth(None, f"the patient has {a.name}, but not when (the criterion says \u201c{w['text']}\u201d)", True,
                      f"when {a.name} occurred", open=True)
    op = ">=" if duration and w["op"] == "=" else w["op"]  # "stable for 4 weeks": at least 4 weeks
    e = CriterionEntity("TIME_WINDOW", w["text"], 0, 0, op, w["days"], w.get("days2"), "days", w["days"], w.get("days2"))
    x = max(days) if duration else min(days)  # how long at most; how recently
    inside = e.admits(x)
    if inside is None:
        return _Truth(None, "", False)
    if not inside and _SINCE_START.search(w["text"]):
        # "at least 10% ... at any time during the first 10 days": a value seen later may have been reached in time
        return _Truth(None, f"the patient's facts are from day {fmt(x)}; the criterion asks about \u201c{w['text']}\u201d",
                      True, f"{a.name} during {w['text'].removeprefix('during ')}")
    if duration:
        return _Truth(inside, f"{a.name} for {fmt(x)} days {'is' if inside else 'is not'} \u201c{w['text']}\u201d", True)
    return _Truth(inside, f"{a.name} {fmt(x)} days ago {'is' if inside else 'is not'} \u201c{w['text']}\u201d", True)


def _is_duration(text: str) -> bool:
    """A span of time that measures how long ("for 14 months", "of at least 6 months duration"), not how long ago."""
    return bool(re.match(r"\s*(?:for|of)\b", text, re.I)) or "duration" in text.lower()


_SINCE_START = re.compile(r"\b(?:first|any time|at any point)\b", re.I)


def _anchored_days(a: Atom, facts: Facts) -> list[float]:
    """Times the patient's facts give from the event the atom's window counts from (symptom onset)."""
    anchor = (a.window or {}).get("anchor")
    return [f["days"] for f in facts.times if anchor and f.get("anchor") == anchor and not f["concepts"]]


def _excepted(req: Requirement, name: str, facts: Facts) -> bool:
    for x in req.exceptions:
        if x.name and (x.name == name or (x.name in facts.has and x.name != name and name in ancestors(x.name))):
            return True
    return False


def _studied(t: Trial) -> frozenset[str]:
    """The concepts of the trial's own conditions: "other malignancy" means one besides these."""
    got = _STUDIED.get(t.id)
    if got is None or got[0] is not t:
        got = _STUDIED[t.id] = (t, studied_concepts(t))
    return got[1]


_STUDIED: dict[str, tuple[Trial, frozenset[str]]] = {}


def _pregnancy(t, c, req, a: Atom, facts: Facts) -> _Truth:
    fact = facts.lactating if a.name in ("breastfeeding", "lactation") else facts.pregnant
    if fact is None and a.name in facts.has:
        fact = True
    elif fact is None and a.name in facts.lacks:
        fact = False
    if fact is None and facts.sex == "male":
        return _Truth(False, "the patient is male", False)  # true of every man: not a fact the user gave about this one
    if fact is None:
        return _Truth(None, "", False, "pregnancy" if a.name == "pregnancy" else "breastfeeding")
    return _Truth(fact, f"the patient is {'' if fact else 'not '}{'pregnant' if a.name == 'pregnancy' else 'breastfeeding'}", True)


def _sex(t, c, req, a: Atom, facts: Facts) -> _Truth:
    if facts.sex is None:
        return _Truth(None, "", False, "sex")
    return _Truth(facts.sex == a.name, f"the patient is {facts.sex}", True)


def _consent(t, c, req, a: Atom, facts: Facts) -> _Truth:
    return _Truth(None, "", False, "consent and willingness (asked at screening)")


_ATOMS = {"age": _age, "measurement": _measurement, "score": _score, "condition": _condition, "procedure": _condition,
          "treatment": _treatment, "pregnancy": _pregnancy, "sex": _sex, "consent": _consent}
assert set(_ATOMS) == set(ATOM_KINDS), "every atom kind needs an evaluator"


# --- facts stated in text ----------------------------------------------------------------------

_BP = re.compile(r"\b(?:BP|blood[- ]pressure|SBP/DBP)\b[^0-9/]{0,25}(\d{2,3})\s*/\s*(\d{2,3})", re.I)
_SEX = re.compile(r"\b(?:(?P<f>woman|female|girl|lady|mother|she|her)|(?P<m>man|male|boy|gentleman|father|he|his))\b|"
                  r"\b\d{1,3}[- ]?(?:y(?:ears?)?[- ]?o(?:ld)?|yo|y/o)?\s*(?P<fa>F)\b|\b\d{1,3}[- ]?(?:y(?:ears?)?[- ]?o(?:ld)?|yo|y/o)?\s*(?P<ma>M)\b", re.I)


def read_blood_pressure(text: str) -> tuple[float, float] | None:
    m = _BP.search(text)
    return (float(m.group(1)), float(m.group(2))) if m else None


def read_scores(text: str) -> dict[str, float]:
    """Scale values stated in text ("ECOG 1", "WHO PS 1", "NYHA class II", "Child-Pugh A", "KPS 80")."""
    out: dict[str, float] = {}
    v = vocabulary()
    for pat, scale in v.scale_names:
        for m in pat.finditer(text):
            g = v.score_value.match(text, m.end())
            if not g or not g.group("v1") or g.group("op") or g.group("v2"):
                continue  # "PS 0-1" in a question is a range, not the patient's value
            x = score_value(scale["name"], g.group("v1"))
            if x is not None and scale["name"] not in out:
                out[scale["name"]] = x
    return out


def read_sex(text: str) -> str | None:
    m = _SEX.search(text)
    if not m:
        return None
    return "female" if (m.group("f") or m.group("fa")) else "male"

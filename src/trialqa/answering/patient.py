"""Patient answers: a described patient's facts against each criterion of a trial (met, not met or
unknown, with a reason and a citation), and the eligibility check behind ``TrialQA.check``."""

from __future__ import annotations

import re
from typing import Any

from ..errors import QueryError
from ..extraction import CriterionEntity, enrollment_age, rules
from ..records import Criterion, Trial
from .concepts import ancestors, concept_parents, qualifier_pairs
from .criteria import analyte_mentions, required_concepts
from .polarity import criterion_role, polarity
from .question import Question, within
from .results import Answer, Citation, CriterionResult, EligibilityReport, cite, cite_field, dedupe, fmt, trial_label, unique_citations
from .store import TrialStore
from .vocabulary import V


def _excepted(c: Criterion, phrases: list[str]) -> bool:
    """Whether the patient's condition, as they name it, is what the criterion makes an exception for."""
    low = c.text.lower()
    spans = [m.span() for m in V.exception_clause.finditer(c.text)]
    for ph in phrases:
        p = ph.lower().strip()
        if len(p) < 4:
            continue
        for m in re.finditer(re.escape(p), low):
            if any(a <= m.start() and m.end() <= b for a, b in spans):
                return True
    return False



def patient_answer(q: Question, t: Trial) -> Answer | None:
    results = any_of_groups(t, evaluate(t, q.patient))
    if not results:
        return None  # no criterion on these facts: the criteria and passages routes may still find one
    failing = [r for r in results if r.status == "not_met"]
    unknown = [r for r in results if r.status == "unknown"]
    asks_excluded = bool(q.asks_excl)
    if failing:
        verdict = "yes" if asks_excluded else "no"
    elif unknown:
        verdict = "unknown"
    else:
        verdict = "no" if asks_excluded else "yes"
    head = "Not eligible" if failing else "Undetermined" if unknown else "Meets the stated criteria"
    text = f"{head} for {trial_label(t)}:\n" + "\n".join(f"- {r.status.replace('_', ' ')}: {r.reason}" for r in results)
    return Answer(text, True, verdict, [t.id], unique_citations([r.citation for r in results]), [], "patient")


def any_of_groups(t: Trial, results: list[CriterionResult]) -> list[CriterionResult]:
    """Inclusion criteria listed under "at least 1 of the following risk factors": one met member
    satisfies the group, so the others neither fail nor leave the patient undetermined; with none
    met, a member that is not met leaves the group undetermined while another is unknown."""
    group_of = {(c.start, c.end): c.group for c in t.criteria
                if c.section == "inclusion" and c.group and V.any_of_group.search(c.group)}
    members: dict[str, list[CriterionResult]] = {}
    for r in results:
        g = group_of.get((r.citation.start, r.citation.end))
        if g and r.citation.trial_id == t.id:
            members.setdefault(g, []).append(r)
    out = []
    for r in results:
        g = group_of.get((r.citation.start, r.citation.end))
        group = members.get(g, []) if g else []
        if group and r.status != "met":
            met = next((m for m in group if m.status == "met"), None)
            if met is not None:
                r = CriterionResult(r.criterion, r.section, "met", f"not needed: \u201c{met.criterion}\u201d meets \u201c{g}\u201d",
                                    r.citation)
            elif r.status == "not_met" and any(m.status == "unknown" for m in group):
                r = CriterionResult(r.criterion, r.section, "unknown", f"{r.reason}; another of \u201c{g}\u201d may hold",
                                    r.citation)
        out.append(r)
    return out


def evaluate(t: Trial, facts: dict[str, Any]) -> list[CriterionResult]:
    out: list[CriterionResult] = []
    settled: list[tuple[str, int, int]] = []  # thresholds the patient's values were compared with
    if facts.get("age") is not None:
        out.extend(_age_results(t, facts["age"]))
    for fact in facts.get("labs", []):
        related = rules().related_analytes([fact.analyte])
        found = _threshold_results(t, "LAB", fact, lambda e, r=related: e.analyte in r, settled)
        if not found:
            # A requirement without a number ("bilirubin within normal limits") cannot be checked.
            found = [CriterionResult(c.text, c.section, "unknown",
                                     f"{fact.text.strip()} ({fact.analyte}) vs \u201c{c.text}\u201d: no numeric limit stated",
                                     cite(t, c)) for c in analyte_mentions({fact.analyte}, t)]
        out.extend(found)
    for fact in facts.get("percents", []):
        out.extend(_threshold_results(t, "PERCENT", fact, lambda e, f=fact: (e.analyte or "") == (f.analyte or e.analyte or ""),
                                      settled))
        # "HbA1c of 8.5%" is a LAB in percent in the criteria.
        out.extend(_threshold_results(t, "LAB", fact, lambda e, f=fact: e.unit == "%" and e.analyte == f.analyte, settled))
    for fact in facts.get("doses", []):
        out.extend(_threshold_results(t, "DOSE", fact, lambda e, f=fact: e.norm_unit == f.norm_unit, settled,
                                      drug=fact.concept))
    for fact in facts.get("windows", []):
        out.extend(_threshold_results(t, "TIME_WINDOW", fact, lambda e, f=fact: e.anchor == f.anchor))
    for fact in facts.get("times", []):
        out.extend(_time_results(t, fact))
    out.extend(_condition_results(t, facts.get("has", {}), facts.get("lacks", set()), facts.get("times", []),
                                  facts.get("phrases", {}), settled))
    return dedupe(out, lambda r: (r.criterion, r.status, r.reason))


def _age_results(t: Trial, age: float) -> list[CriterionResult]:
    """Age against the structured limits and against every age criterion in the text.

    When a criterion's bound equals the structured limit ("over 18 years old" with a minimum age of
    18 Years), the structured field decides whether the bound itself is allowed.
    """
    res = []
    structured = {}
    for which, a in (("minimum", t.min_age), ("maximum", t.max_age)):
        if a is None:
            continue
        ok = (age > a.years or (age == a.years and a.inclusive)) if which == "minimum" else \
             (age < a.years or (age == a.years and a.inclusive))
        structured[which] = a
        if a.source != "structured":
            continue  # the criterion it came from is checked below
        citation = (cite_field(t, "min_age" if which == "minimum" else "max_age", a.text) or
                    [Citation(t.id, "eligibility", a.text, 0, 0)])[0]
        reason = f"age {fmt(age)} vs {which} age {a.label()}{' (inclusive)' if a.inclusive else ' (exclusive)'}"
        res.append(CriterionResult(f"{which} age: {a.text}", "inclusion", "met" if ok else "not_met", reason, citation))
    for c in t.criteria:
        ages = [e for e in c.entities if e.label == "AGE" and not e.negated and e.norm_value is not None
                and enrollment_age(c.text, e)]
        if not ages:
            continue
        inside = True
        for e in ages:
            lo, lo_inc, hi, hi_inc = e.bounds()
            m, x = structured.get("minimum"), structured.get("maximum")
            if lo is not None and m is not None and m.source == "structured" and abs(m.years - lo) < 1e-9:
                lo_inc = m.inclusive
            if hi is not None and x is not None and x.source == "structured" and abs(x.years - hi) < 1e-9:
                hi_inc = x.inclusive
            if lo is not None and (age < lo or (age == lo and not lo_inc)):
                inside = False
            if hi is not None and (age > hi or (age == hi and not hi_inc)):
                inside = False
        met = inside if polarity(c) == "inclusion" else not inside
        bounds = "; ".join(e.text for e in ages)
        res.append(CriterionResult(c.text, c.section, "met" if met else "not_met",
                                   f"age {fmt(age)} vs \u201c{bounds}\u201d ({polarity(c)})", cite(t, c)))
    return res


def _threshold_results(t: Trial, label: str, fact: CriterionEntity, same,
                       settled: list[tuple[str, int, int]] | None = None, drug: str | None = None) -> list[CriterionResult]:
    """The patient's value against every comparable threshold; ``settled`` collects the thresholds
    compared (criterion text, start, end); a ``drug``'s dose only against criteria naming that drug."""
    res = []
    for c in t.criteria:
        if drug is not None and not any(x.label == "CONDITION" and (x.concept == drug or drug in ancestors(x.concept))
                                        for x in c.entities):
            continue
        for e in c.entities:
            if e.label != label or not same(e) or e.negated:
                continue
            if rules().implausible(e):
                res.append(CriterionResult(c.text, c.section, "unknown", f"\u201c{e.text}\u201d is not a plausible "
                                           f"{e.analyte} limit in {e.unit} (a unit error in the record?)", cite(t, c)))
                continue
            x = _comparable(fact, e)
            if x is None:
                res.append(CriterionResult(c.text, c.section, "unknown",
                                           f"cannot compare {fact.text.strip()} with \u201c{e.text}\u201d (units)", cite(t, c)))
                continue
            inside = e.admits(x)
            if inside is None:
                continue
            if settled is not None:
                settled.append((c.text, e.start, e.end))
            # An inclusion threshold must be met; an exclusion threshold must not be.
            met = inside if polarity(c) == "inclusion" else not inside
            reason = f"{fact.text.strip()} vs \u201c{e.text}\u201d ({polarity(c)})"
            res.append(CriterionResult(c.text, c.section, "met" if met else "not_met", reason, cite(t, c)))
    return res


def _comparable(fact: CriterionEntity, e: CriterionEntity) -> float | None:
    """The fact's value in the criterion's normalized unit, or None when units cannot be matched."""
    if fact.norm_unit and fact.norm_unit == e.norm_unit and fact.norm_value is not None:
        return fact.norm_value
    if fact.unit == e.unit and fact.value is not None and e.value is not None:
        # Same stated unit: compare stated values against the stated threshold.
        if e.norm_value is not None and e.value:
            return fact.value * (e.norm_value / e.value)
        return fact.value
    if fact.unit is None and e.unit is not None and fact.value is not None and e.norm_value is not None and e.value:
        return fact.value * (e.norm_value / e.value)  # a bare number is read in the criterion's unit
    return None


def _time_results(t: Trial, fact: dict) -> list[CriterionResult]:
    """An elapsed time ("admitted 9 days after onset", "last dose 5 weeks ago") against time windows."""
    cands = []
    for c in t.criteria:
        windows = [e for e in c.entities if e.label == "TIME_WINDOW" and e.norm_value is not None and not e.negated]
        mentions = [x for x in c.entities if x.label == "CONDITION" and x.concept in fact["concepts"]
                    and not _qualified_away(c.text, x, fact.get("qualifiers", ()))]
        # The patient's own drug or event ("carmustine": nitrosoureas) before its classes (chemotherapy).
        mentions = [x for x in mentions if x.concept in fact.get("direct", ())] or mentions
        if mentions and len(windows) > 1:
            windows = [_governing_window(c.text, windows, mentions)]
        for e in windows:
            shares = bool(mentions)
            anchored = fact["anchor"] is not None and (
                e.anchor == fact["anchor"] or (fact["anchor"] == "symptom onset" and _is_duration(c.text, e)))
            if shares or anchored:
                cands.append((c, e, shares))
    if any(s for _, _, s in cands):
        cands = [x for x in cands if x[2]]
    res = []
    for c, e, _ in cands:
        inside = e.admits(fact["days"])
        if inside is None:
            continue
        if polarity(c) == "inclusion":
            met = inside
        else:
            # An exclusion "X within 6 months": an event outside the window does not exclude.
            met = not inside if e.op in ("<", "<=", "=", "between") else inside
        res.append(CriterionResult(c.text, c.section, "met" if met else "not_met",
                                   f"{fact['text']} vs \u201c{e.text}\u201d ({polarity(c)})", cite(t, c)))
    return res


def _governing_window(text: str, windows: list[CriterionEntity], mentions: list[CriterionEntity]) -> CriterionEntity:
    """Of several windows in one criterion, the one that governs the mentions: a heading window
    ("Within 4 weeks: systemic steroid therapy. Within 2 months: cryotherapy") covers what follows
    its colon up to the next window; a window followed by "since X" belongs to X; otherwise the
    nearest, preferring one after the mention ("X within 2 weeks, Y within 4 weeks")."""
    def heads(w: CriterionEntity) -> bool:
        return text[w.end:w.end + 3].lstrip().startswith(":")

    def distance(w: CriterionEntity) -> float:
        best = float("inf")
        for m in mentions:
            if heads(w):
                later = [x.start for x in windows if x.start > w.end]
                covers = w.end <= m.start and m.start < min(later, default=len(text))
                best = min(best, 0 if covers else 1000)
            elif m.start >= w.end and m.start - w.end <= 40 and re.match(r"\s*(?:since|after|from|following)\b", text[w.end:]):
                best = min(best, -1)  # "at least 8 weeks since nitrosoureas": the window names its event
            elif w.start >= m.end:
                best = min(best, w.start - m.end)
            else:
                best = min(best, m.start - w.end + 40)
        return best
    return min(windows, key=distance)


def _qualified_away(text: str, mention: CriterionEntity, qualifiers) -> bool:
    """Whether the criterion qualifies this mention in a way the patient's fact contradicts
    ("topical corticosteroids" for a patient on oral prednisone)."""
    before = text[max(0, mention.start - 40):mention.end]
    return any(i in qualifiers and crit.search(before) for i, (crit, _) in enumerate(qualifier_pairs()))


def _is_duration(text: str, w: CriterionEntity) -> bool:
    """A window that measures how long the condition has lasted ("evolving for less than 7 days",
    "symptom duration of at most 48 hours"): time since its onset."""
    before = text[max(0, w.start - 40):w.start].lower()
    return w.text.lower().startswith("for ") or bool(re.search(r"\b(?:evolving|lasting|duration|since onset|history)\b(?:\s+\w+){0,2}\s*$", before))


def _condition_results(t: Trial, has: dict[str, set[int]], lacks: set[str], times: list[dict],
                       phrases: dict[str, list[list[str]]] | None = None,
                       settled: list[tuple[str, int, int]] = ()) -> list[CriterionResult]:
    pairs = qualifier_pairs()
    res = []
    timed = {c for f in times for c in f["concepts"]}
    for c in t.criteria:
        # A condition qualified by a threshold the patient's value was compared with ("uncontrolled
        # diabetes (HbA1c > 9.0%)", "aspirin (> 325 mg/d)") is judged by that threshold alone.
        near = [(a, b) for text, a, b in settled if text == c.text]
        named = [e for e in c.entities if e.label == "CONDITION" and e.concept in has and not e.hedged
                 and not any(-40 <= a - e.end <= 40 or -40 <= e.start - b <= 40 for a, b in near)
                 and not _inside_other(e, c.entities, has)]
        if not named:
            negs = [e for e in c.entities if e.label == "CONDITION" and e.concept in lacks]
            if negs and polarity(c) == "exclusion":
                res.append(CriterionResult(c.text, c.section, "met", f"patient does not have {negs[0].concept}", cite(t, c)))
            sibling = _sibling_requirement(c, has)
            if sibling:
                res.append(CriterionResult(c.text, c.section, "not_met", sibling, cite(t, c)))
            continue
        applies = []
        for e in named:
            # A time window on this condition is judged by _time_results.
            if e.concept in timed and any(x.label == "TIME_WINDOW" for x in c.entities):
                continue
            contradicted = [i for i, (crit_q, _) in enumerate(pairs)
                            if i in has[e.concept] and crit_q.search(c.text[max(0, e.start - 40):e.end + 20])]
            excepted = any(_excepted(c, ph) for ph in (phrases or {}).get(e.concept, []))
            applies.append((e, not contradicted and not excepted))
        if not applies:
            continue
        hits = [e for e, ok in applies if ok]
        required = required_concepts(c)
        if hits and required and not required <= set(has):
            # "Lyell syndrome induced by immunotherapy": the cause must hold too.
            status = "met" if polarity(c) == "exclusion" else "not_met"
            res.append(CriterionResult(c.text, c.section, status,
                                       f"applies only with {', '.join(sorted(required - set(has)))}", cite(t, c)))
            continue
        role_excl = criterion_role(c, any(e.negated for e in hits)) == "Exclusion" if hits else None
        if not hits:
            # The patient's condition is excepted: an exclusion does not reach them, a requirement is not met.
            excludes = criterion_role(c, any(e.negated for e, _ in applies)) == "Exclusion"
            status = "met" if excludes else "not_met"
            reason = f"the patient's {applies[0][0].concept} is not of the kind this criterion names"
        elif role_excl:
            status, reason = "not_met", f"patient has {', '.join(sorted({e.concept for e in hits}))}"
        else:
            status, reason = "met", f"patient has {', '.join(sorted({e.concept for e in hits}))}"
        res.append(CriterionResult(c.text, c.section, status, reason, cite(t, c)))
    return res


def _inside_other(e: CriterionEntity, entities: list[CriterionEntity], has: dict) -> bool:
    """Whether a mention is part of a longer, more specific one the patient does not have: "metastases"
    inside "CNS metastases" is about CNS metastases only."""
    return any(o.label == "CONDITION" and within(e, o) and o.concept not in has for o in entities)




def _sibling_requirement(c: Criterion, has: dict[str, set[int]]) -> str | None:
    """An inclusion criterion that requires a kind of condition the patient has another kind of:
    "The tumor harbors an Ex19del or Ex21-L858R substitution" for an exon 20 insertion (both EGFR
    mutations), "histologically confirmed melanoma" for lung cancer (both malignancies). Only
    conditions, and only criteria without a time window ("4 weeks since prior taxanes" asks for
    no taxane)."""
    if polarity(c) != "inclusion" or any(e.label == "TIME_WINDOW" for e in c.entities):
        return None
    required = [e for e in c.entities if e.label == "CONDITION" and e.concept_type == "condition"
                and not (e.negated or e.hedged or e.excepted) and e.concept not in V.population]
    for p in has:
        parents = set(concept_parents().get(p, []))
        kin = [e for e in required if parents & set(concept_parents().get(e.concept, []))]
        if parents and kin and not any(e.concept in has for e in kin) and p not in {e.concept for e in required}:
            return f"requires {' or '.join(sorted({e.concept for e in kin}))}; the patient has {p}"
    return None



def check_eligibility(qa: TrialStore, patient: dict, t: Trial) -> EligibilityReport:
    """Each criterion: met, not_met or unknown, with reason and citation; and an overall verdict."""
    if not isinstance(patient, dict):
        raise QueryError("patient must be a dict (age, sex, labs, ...)")
    r = rules()
    facts: dict[str, Any] = {}
    if patient.get("age") is not None:
        try:
            facts["age"] = float(patient["age"])
        except (TypeError, ValueError):
            raise QueryError(f"age must be a number, got {patient['age']!r}") from None
    for raw in patient.get("labs", []) or []:
        ents = [e for e in r.extract(re.sub(r"\s*=\s*", " ", str(raw))) if e.label == "LAB" and e.analyte]
        if not ents:
            raise QueryError(f"cannot read lab value {raw!r}; write it as NAME=VALUE UNIT, e.g. PMN=1200/mm3")
        facts.setdefault("labs", []).extend(ents)
    for key, label, unit, extra in (("days_since_onset", "TIME_WINDOW", "days", {"anchor": "symptom onset", "direction": "after"}),
                                    ("bsa_percent", "PERCENT", "%", {"analyte": "body surface area"})):
        if patient.get(key) is None:
            continue
        try:
            v = float(patient[key])
        except (TypeError, ValueError):
            raise QueryError(f"{key} must be a number, got {patient[key]!r}") from None
        e = CriterionEntity(label, f"{fmt(v)} {unit}", 0, 0, "=", v, None, unit, v, None, unit, **extra)
        facts.setdefault("windows" if label == "TIME_WINDOW" else "percents", []).append(e)
    has: dict[str, set[int]] = {}
    lacks: set[str] = set()
    for x in patient.get("conditions", []) or []:
        has[r.concept_lookup(str(x)) or str(x).lower()] = set()
    for x in patient.get("absent", []) or []:
        lacks.add(r.concept_lookup(str(x)) or str(x).lower())
    if patient.get("pregnant") is True:
        has["pregnancy"] = set()
    elif patient.get("pregnant") is False:
        lacks.add("pregnancy")
    facts["has"], facts["lacks"] = has, lacks
    results = evaluate(t, facts)
    if patient.get("sex") and t.sex in ("MALE", "FEMALE"):
        ok = str(patient["sex"]).upper().startswith(t.sex[0])
        results.append(CriterionResult(f"sex: {t.sex}", "inclusion", "met" if ok else "not_met",
                                       f"patient {patient['sex']} vs {t.sex.lower()} only",
                                       (cite_field(t, "sex", t.sex) or [Citation(t.id, "sex", t.sex, 0, 0)])[0]))
    covered = {x.criterion for x in results}
    for c in t.criteria:
        if c.text not in covered:
            results.append(CriterionResult(c.text, c.section, "unknown", "no patient fact given for this criterion", cite(t, c)))
    results = any_of_groups(t, results)
    verdict = ("not eligible" if any(x.status == "not_met" for x in results)
               else "eligible" if results and all(x.status == "met" for x in results) else "undetermined")
    return EligibilityReport(t.id, verdict, results)


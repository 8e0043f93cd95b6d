"""Patient answers: a described patient's facts against each criterion of a trial (met, not met or
unknown, with a reason and a citation), and the eligibility check behind ``TrialQA.check``.

The criteria are judged through their compiled requirements (``answering.eligibility``); this
module turns what the patient is known by (a ``check()`` dict, or the facts a question states) into
``Facts``, adds the structured age and sex limits, and settles "at least 1 of the following" groups."""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from ..errors import QueryError
from ..patients import FACT_KEYS
from ..extraction import CriterionEntity, enrollment_age, rules
from ..extraction.requirements import requirement_of, vocabulary
from ..extraction.wording import kind_words
from ..records import Trial
from .concepts import ancestors
from .criteria import analyte_mentions
from .eligibility import Facts, judge, read_blood_pressure, read_scores, read_sex, scale_name, score_value
from .polarity import polarity
from .question import Question, split_description
from .results import Answer, Citation, CriterionResult, EligibilityReport, cite, cite_field, dedupe, fmt, trial_label, unique_citations
from .store import TrialStore
from .vocabulary import V


def patient_answer(q: Question, t: Trial) -> Answer | None:
    results = any_of_groups(t, evaluate(t, q.patient, q.text))
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
    text = f"{head} for {trial_label(t)}:\n" + "\n".join(
        f"- {r.status.replace('_', ' ')}: {r.reason} \u2014 \u201c{_short(r.criterion)}\u201d" for r in results)
    return Answer(text, True, verdict, [t.id], unique_citations([r.citation for r in results]), [], "patient")


def _short(text: str, limit: int = 110) -> str:
    """A criterion as a line quotes it: whole when short, else cut at a word with an ellipsis."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "\u2026"


def any_of_groups(t: Trial, results: list[CriterionResult]) -> list[CriterionResult]:
    """Inclusion criteria listed under "at least 1 of the following risk factors": one met member
    satisfies the group, so the others neither fail nor leave the patient undetermined; with none
    met, a member that is not met leaves the group undetermined while another is unknown."""
    group_of = {(c.start, c.end): c.group for c in t.criteria
                if c.section == "inclusion" and c.group and V.any_of_group.search(c.group)}
    group_of.update(_or_chains(t))
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


_ENDS_WITH_OR = re.compile(r"\b(?:OR|or|Or)\s*[,;:]?\s*$")


def _or_chains(t: Trial) -> dict[tuple[int, int], str]:
    """Inclusion criteria joined by an "OR" that ends one of them ("Age 6 to 18 years, with egg IgE
    > 5 kUA/L OR" / "Age 5 to 6 years, with egg IgE >= 12 kUA/L"): alternatives, as a group is."""
    out: dict[tuple[int, int], str] = {}
    crit = [c for c in t.criteria if c.section == "inclusion"]
    for a, b in zip(crit, crit[1:]):
        if _ENDS_WITH_OR.search(a.text):
            label = out.get((a.start, a.end)) or f"one of the alternatives joined by OR from \u201c{_short(a.text, 60)}\u201d"
            out[(a.start, a.end)] = out[(b.start, b.end)] = label
    return out


def evaluate(t: Trial, facts: dict[str, Any] | Facts, text: str = "") -> list[CriterionResult]:
    """The criteria a patient's facts bear on, each judged once; ``facts`` as a question states them
    (see ``question._patient_facts``) or as ``Facts``; ``text`` the question, for facts read from it."""
    f = facts if isinstance(facts, Facts) else facts_from_question(facts, text)
    if not isinstance(facts, Facts):
        f = _without_trial_drugs(f, t)
    out = _age_results(t, f.age) if f.age is not None else []
    for c in t.criteria:
        r, consulted = judge(t, c, f, stated_only=True)
        if consulted:
            out.append(r)
    out.extend(_sex_result(t, f))
    for lab in f.labs:
        related = rules().related_analytes([lab.analyte]) if lab.analyte else set()
        if lab.analyte and not any(lab.analyte in r.reason for r in out) and not any(
                a.kind == "measurement" and a.name in related for c in t.criteria for a in requirement_of(c, t).atoms):
            # "Total bilirubin within normal institutional limits" states a requirement with no number.
            out.extend(CriterionResult(c.text, c.section, "unknown", f"{lab.text.strip()} ({lab.analyte}) vs \u201c{c.text}\u201d: "
                                       "no numeric limit stated", cite(t, c)) for c in analyte_mentions({lab.analyte}, t))
    return dedupe(out, lambda r: (r.criterion, r.status, r.reason))


def _without_trial_drugs(f: Facts, t: Trial) -> Facts:
    """A question's facts without the trial's own drugs: "the Darzalex TEN trial" names the trial,
    not a treatment the patient had (unless the question says when, or that it is taken now)."""
    given = tuple(name or "" for i in t.interventions for name in (i.name, *(i.other_names or ())))
    drugs = _drug_concepts(given)
    names = [n.lower() for n in given]
    timed = {c for x in f.times for c in x["concepts"]}

    def names_the_trial(concept: str) -> bool:
        # "a single dose of Engerix-B" for a HEPLISAV trial: another product of the trial drug's class, the patient's own
        said = {group[-1].lower() for group in f.phrases.get(concept, ()) if group}
        return not said or all(any(w in n or (n and n in w) for n in names) for w in said)  # "Heplisav-B", "HEPLISAV"

    gone = {d for d in drugs if d in f.has and d not in timed and d not in f.current and names_the_trial(d)}
    if gone:
        gone |= {p for d in gone for p in ancestors(d)} - {p for c in f.has if c not in gone for p in ancestors(c)} \
            - {c for c in f.has if c not in gone and not any(c in ancestors(g) for g in gone)}
        f.has = {c: q for c, q in f.has.items() if c not in gone}
    f.treatments = [x for x in f.treatments if not x["concepts"] & drugs or x["concepts"] & timed]
    return f


@lru_cache(maxsize=4096)
def _drug_concepts(names: tuple[str, ...]) -> frozenset[str]:
    """The drug concepts a trial's intervention names stand for; read once per trial, not once per question
    (a cross-trial patient question judges every trial)."""
    return frozenset(e.concept for name in names for e in rules().extract(name)
                     if e.label == "CONDITION" and e.concept_type == "drug")


def facts_from_question(facts: dict[str, Any], text: str = "") -> Facts:
    """``Facts`` from the facts a question states (entities already read) and its text."""
    f = Facts(age=facts.get("age"))
    f.has = {k: set(v) for k, v in (facts.get("has") or {}).items()}
    f.lacks = set(facts.get("lacks") or ())
    f.phrases = dict(facts.get("phrases") or {})
    f.said = {c: [group[0] for group in groups if group] for c, groups in f.phrases.items()}
    f.labs = [*facts.get("labs", []), *facts.get("percents", [])]
    f.doses = list(facts.get("doses", []))
    f.times = list(facts.get("times", []))
    f.windows = list(facts.get("windows", []))
    for w in f.windows:
        f.times.append({"days": w.norm_value, "text": w.text, "concepts": set(), "anchor": w.anchor})
    if text:
        f.blood_pressure = read_blood_pressure(text)
        f.scores = read_scores(text)
    for lab in [x for x in f.labs if x.analyte in vocabulary().analyte_scale]:
        # "Karnofsky 80%" is a score: judged on its scale (with equivalences), not as a lab value
        f.labs.remove(lab)
        if lab.value is not None:
            f.scores.setdefault(vocabulary().analyte_scale[lab.analyte], (lab.value, lab.value))
    if text and facts:
        f.sex = read_sex(text)
    if "pregnancy" in f.has:
        f.pregnant = True
    elif "pregnancy" in f.lacks:
        f.pregnant = False
    if text and facts:
        _add_note_facts(f, text)
        f.current = _taken_now(text, f)
    return f


_NOW = re.compile(r"\b(?:takes|taking|is\s+on|are\s+on|on|uses|using|receives|receiving|stay(?:s|ing)?\s+on|currently|"
                  r"still\s+on|maintained\s+on|treated\s+with)\s+(?:(?:a|an|the|his|her|daily|regular|low-dose)\s+)?$", re.I)


def _taken_now(text: str, f: Facts) -> set[str]:
    """The patient's treatments the question says are taken now ("takes warfarin", "needs to stay
    on clopidogrel"), with their classes; a drug named without a tense has no time."""
    out: set[str] = set()
    for concept, variants in f.phrases.items():
        for phrase in {p for group in variants for p in group}:
            for m in re.finditer(re.escape(phrase), text, re.I):
                if _NOW.search(text[max(0, m.start() - 30):m.start()]):
                    out.add(concept)
    return out | {p for c in out for p in ancestors(c)}


@lru_cache(maxsize=64)
def _note_facts_cached(text: str) -> tuple | None:
    from ..patients import read_note

    try:
        return tuple(read_note(text).to_dict().items())
    except QueryError:
        return None


def _note_facts(text: str) -> dict | None:
    """The note reader's facts for a question, read once per question, not once per trial judged
    (a cross-trial patient question judges every trial); a fresh dict each time."""
    got = _note_facts_cached(text)
    return None if got is None else copy.deepcopy(dict(got))


def _add_note_facts(f: Facts, text: str) -> None:
    """What the patient-note reader reads in a question that the question's own reading missed
    ("52 y/o woman w/ schizophrenia", "no autoimmune disease", "weighs 115 kg"): facts only added,
    never overriding one the question states."""
    # The description only: "Does his hemoglobin meet the olaparib-radiotherapy trial's ..." names the trial, not his treatments.
    note_facts = _note_facts(split_description(text)[0])
    if note_facts is None:
        return
    try:
        note = facts_from_patient(note_facts)
    except QueryError:
        return  # a fact the note reader found but check() cannot read: the question's own reading stands
    if f.age is None:
        f.age = note.age
    f.sex = f.sex or note.sex
    for c, quals in note.has.items():
        if c not in f.lacks:
            f.has.setdefault(c, quals)
            f.said.setdefault(c, []).extend(note.said.get(c, ()))
    f.history |= note.history
    # What the note reader reads as denied and never as had ("Never had botulinum toxin, phenol
    # blocks, surgery or casting") the question's own reading, which counts a "had" before it, does not keep.
    for c in note.lacks - set(note.has):
        if c in f.has and c not in f.current and not any(c in x["concepts"] for x in f.times):
            del f.has[c]
    f.lacks |= {c for c in note.lacks if c not in f.has}
    known = {e.analyte for e in f.labs}
    f.labs.extend(e for e in note.labs if e.analyte not in known)
    for k, v in note.scores.items():
        f.scores.setdefault(k, v)
    f.blood_pressure = f.blood_pressure or note.blood_pressure
    f.treatments.extend(note.treatments)
    for key in ("pregnant", "lactating", "childbearing_potential"):
        if getattr(f, key) is None:
            setattr(f, key, getattr(note, key))


def _age_results(t: Trial, age: float) -> list[CriterionResult]:
    """Age against the structured limits (the age criteria in the text are judged with the others)."""
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
    return res


def check_eligibility(qa: TrialStore, patient: dict, t: Trial) -> EligibilityReport:
    """Each criterion: met, not_met or unknown, with reason and citation; and an overall verdict."""
    if not isinstance(patient, dict):
        raise QueryError("patient must be a dict (age, sex, labs, ...)")
    f = facts_from_patient(patient)
    results = _age_results(t, f.age) if f.age is not None else []
    for c in t.criteria:
        results.append(judge(t, c, f)[0])
    results.extend(_sex_result(t, f))
    results = any_of_groups(t, dedupe(results, lambda r: (r.criterion, r.status, r.reason)))
    verdict = ("not eligible" if any(x.status == "not_met" for x in results)
               else "eligible" if results and all(x.status == "met" for x in results) else "undetermined")
    return EligibilityReport(t.id, verdict, results)


def _sex_result(t: Trial, f: Facts) -> list[CriterionResult]:
    if not f.sex or t.sex not in ("MALE", "FEMALE"):
        return []
    ok = f.sex.upper() == t.sex
    return [CriterionResult(f"sex: {t.sex}", "inclusion", "met" if ok else "not_met",
                            f"the patient is {f.sex}; the trial takes {t.sex.lower()} participants only",
                            (cite_field(t, "sex", t.sex) or [Citation(t.id, "sex", t.sex, 0, 0)])[0])]


def facts_from_patient(patient: dict) -> Facts:
    """``Facts`` from a ``check()`` dict (docs/patient_facts.md); a fact that cannot be read, or a key
    that is not a fact (a misspelt "lactation" would otherwise be ignored), is a ``QueryError``."""
    unknown = sorted(set(patient) - set(FACT_KEYS) - {"sources"})
    if unknown:
        raise QueryError(f"unknown patient fact {unknown[0]!r}; known: {', '.join(FACT_KEYS)}")
    r = rules()
    f = Facts()
    if patient.get("age") is not None:
        f.age = _number(patient, "age")
    sex = patient.get("sex")
    if sex:
        s = str(sex).strip().lower()
        f.sex = "female" if s.startswith(("f", "w")) else "male" if s.startswith("m") else None
        if f.sex is None:
            raise QueryError(f"sex must be female or male, got {sex!r}")
    for key in ("pregnant", "lactating", "childbearing_potential"):
        if patient.get(key) is not None:
            if not isinstance(patient[key], bool):
                raise QueryError(f"{key} must be true or false, got {patient[key]!r}")
            setattr(f, key, patient[key])
    for key in ("labs", "measurements"):
        for raw in _strings(patient, key):
            ents = [e for e in r.extract(re.sub(r"\s*=\s*", " ", raw)) if e.label in ("LAB", "PERCENT") and e.analyte]
            if not ents:
                raise QueryError(f"cannot read {key[:-1]} value {raw!r}; write it as NAME=VALUE UNIT, e.g. PMN=1200/mm3")
            f.labs.extend(ents)
    bp = patient.get("blood_pressure")
    if bp is not None:
        pair = read_blood_pressure(f"BP {bp}") if isinstance(bp, str) else tuple(bp) if isinstance(bp, (list, tuple)) else None
        if not pair or len(pair) != 2:
            raise QueryError(f"blood_pressure must be 'SYSTOLIC/DIASTOLIC' (mmHg), got {bp!r}")
        f.blood_pressure = (float(pair[0]), float(pair[1]))
    for name, value in (patient.get("scores") or {}).items():
        scale = scale_name(str(name))
        x = score_value(scale, value) if scale else None
        if scale is None or x is None:
            raise QueryError(f"cannot read score {name}={value!r}; known scales: ECOG, WHO, Karnofsky, Lansky, GOG, "
                             "Child-Pugh, NYHA, T-score")
        f.scores[scale] = x
    if patient.get("days_since_onset") is not None:
        d = _number(patient, "days_since_onset")
        f.times.append({"days": d, "text": f"{fmt(d)} days since onset", "concepts": set(), "anchor": "symptom onset"})
        f.windows.append(CriterionEntity("TIME_WINDOW", f"{fmt(d)} days", 0, 0, "=", d, None, "days", d, None, "days",
                                         anchor="symptom onset", direction="after"))
    if patient.get("bsa_percent") is not None:
        v = _number(patient, "bsa_percent")
        f.labs.append(CriterionEntity("PERCENT", f"{fmt(v)} %", 0, 0, "=", v, None, "%", v, None, "%", analyte="body surface area"))
        if v > 0:
            f.has.setdefault("skin detachment", set())  # the key is the detached area: some skin is detached
    for key, target in (("conditions", "has"), ("history", "history"), ("absent", "lacks")):
        for x in _strings(patient, key):
            concept = _concept(x)
            if target == "lacks":
                f.lacks.add(concept)
                continue
            for c in (concept, *ancestors(concept)):
                f.has.setdefault(c, set())
                f.said.setdefault(c, []).append(x)
            if target == "history":
                f.history.add(concept)
    for key in ("treatments", "procedures"):
        for item in patient.get(key) or []:
            f.treatments.append(_treatment(item, key))
            for c in f.treatments[-1]["concepts"]:
                f.has.setdefault(c, set())
                f.said.setdefault(c, []).append(f.treatments[-1]["text"])
                if f.treatments[-1]["ongoing"]:
                    f.current.add(c)
    if f.pregnant is None and "pregnancy" in f.has:
        f.pregnant = True
    if f.pregnant is True:
        f.has["pregnancy"] = set()
    elif f.pregnant is False:
        f.lacks.add("pregnancy")
    return f


def _concept(name: str) -> str:
    """The concept a patient fact names: the concept of that very name first ("cirrhosis", not the
    "liver failure" it is also a synonym of), else what the lexicon reads it as."""
    key = name.strip().lower()
    exact = next((c for c in rules().concepts if c.lower() == key), None)
    return exact or rules().concept_lookup(name) or _kind_of_concept(name.strip()) or key


def _kind_of_concept(phrase: str) -> str | None:
    """The concept of a phrase that names a kind of it ("renovascular hypertension", "abdominal surgery")."""
    for start, end, concept in rules().concept_gaz.find(phrase):
        if end == len(phrase) and start > 0 and kind_words(phrase, start) == phrase[:start].strip():
            return concept
    return None


def _number(patient: dict, key: str) -> float:
    try:
        return float(patient[key])
    except (TypeError, ValueError):
        raise QueryError(f"{key} must be a number, got {patient[key]!r}") from None


def _strings(patient: dict, key: str) -> list[str]:
    items = patient.get(key) or []
    if isinstance(items, str) or not isinstance(items, (list, tuple)):
        raise QueryError(f"{key} must be a list of strings, got {items!r}")
    return [str(x) for x in items]


def _treatment(item: Any, key: str) -> dict[str, Any]:
    """A treatment or procedure fact: ``{"name", "route"?, "days_ago"?, "ongoing"?}`` or just its name."""
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or not item.get("name"):
        raise QueryError(f"each of {key} must be a name or an object with a 'name', got {item!r}")
    concept = _concept(str(item["name"]))
    days = item.get("days_ago")
    if days is not None:
        try:
            days = float(days)
        except (TypeError, ValueError):
            raise QueryError(f"{key}: days_ago must be a number, got {days!r}") from None
    return {"concepts": {concept, *ancestors(concept)}, "route": item.get("route"), "days_ago": days,
            "ongoing": bool(item.get("ongoing")), "text": str(item["name"])}

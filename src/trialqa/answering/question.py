"""Question analysis: a question is read once into a ``Question`` (yes/no or not, what it asks to
include or exclude, the concepts, analytes and kind of threshold it names, a time anchor, the
spans that name a trial, and the patient facts it states)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..extraction import CriterionEntity, rules
from ..patients.note import PLANNED, read_age_and_sex
from ..units import to_days
from .concepts import ancestors, qualifier_pairs
from .vocabulary import V

NCT = re.compile(r"\bNCT\d{8}\b", re.I)


@dataclass
class Question:
    text: str
    yes_no: bool
    asks_excl: bool
    asks_incl: bool
    entities: list[CriterionEntity]
    concepts: set[str]
    analytes: set[str]
    kind: str | None
    anchor: str | None
    patient: dict[str, Any]
    refs: list[tuple[int, int]] = field(default_factory=list)  # spans naming a trial (trial_ref_spans)
    naming: set[str] = field(default_factory=set)  # words that named the trials in scope (scope.resolve_trials)
    name_spans: list[tuple[int, int]] = field(default_factory=list)  # phrases that named them (scope.name_phrases)


def analyse(question: str) -> Question:
    r = rules()
    ents = r.extract(question)
    conds = [e for e in ents if e.label == "CONDITION"]
    # "brain metastases" asks about brain metastases, not about any metastasis it contains.
    conds = [e for e in conds if not any(within(e, o) for o in conds)]
    concepts = {e.concept for e in conds} - V.population
    refs = trial_ref_spans(question)
    outside = {e.concept for e in conds if not any(a <= e.start < b for a, b in refs)} - V.population
    if outside:
        concepts = outside  # "... enter the indomethacin melanoma trial?": melanoma names the trial
    analytes = {name for _, _, name in r.analyte_gaz.find(question)}
    kind = None
    if analytes:
        kind = "PERCENT" if analytes & {"body surface area", "ejection fraction"} else "LAB"
    elif V.percent_question.search(question):
        kind = "PERCENT"
    elif V.time_question.search(question) or \
            any(e.label == "TIME_WINDOW" for e in ents):
        kind = "TIME_WINDOW"
    anchor = _question_anchor(question) if kind == "TIME_WINDOW" else None
    wh = V.wh_question.match(question)
    # "... allowed?" asks for a verdict unless it asks for a value ("What is the maximum bilirubin allowed?").
    yes_no = not wh and (bool(V.yes_no.search(question)) or question.rstrip().endswith(("allowed?", "eligible?", "excluded?")))
    asked = _asking_sentence(question)
    q = Question(question, yes_no,
                 bool(V.asks_excl.search(asked)), bool(V.asks_incl.search(asked)), ents, concepts, analytes, kind,
                 anchor, {}, refs)
    q.patient = _patient_facts(q)
    return q


def _asking_sentence(question: str) -> str:
    """The sentence that asks, after a patient's description ("... not eligible for any other study.
    Eligible for the expanded access protocol?"): whether it asks about exclusion is its own wording."""
    return split_description(question)[1]


def split_description(question: str) -> tuple[str, str]:
    """A question as the patient's description and the sentence that asks; a one-sentence question
    is both (its patient is described where it asks: "Can a 76-year-old enter ...?")."""
    parts = re.split(r"(?<=[.;!])\s+(?=[A-Z])", question.strip())
    if len(parts) > 1 and parts[-1].rstrip().endswith("?"):
        return " ".join(parts[:-1]), parts[-1]
    return question, question


def _shared_value(e, entities, text: str) -> bool:
    """Whether a value read for several analytes at once belongs to a nearer analyte name than ``e``'s."""
    if not any(o is not e and o.label == "LAB" and (o.start, o.end) == (e.start, e.end) for o in entities):
        return False
    named = rules().find_analyte(text, e.start, e.end)
    return named is not None and named[0] != e.analyte and \
        not rules().related_analytes([named[0]]) & rules().related_analytes([e.analyte])  # AST and ALT share "transaminases"


def _question_anchor(question: str) -> str | None:
    """The anchor event a time question names ("after onset" -> symptom onset)."""
    m = V.anchor_lead.search(question)
    return rules().find_anchor(m.group(2))[0] if m else None





def _patient_facts(q: Question) -> dict[str, Any]:
    """Facts about a patient stated in the question: age, lab values, percentages, elapsed times,
    and conditions the patient has (with their qualifiers) or does not have."""
    text = q.text
    facts: dict[str, Any] = {}
    m = V.patient_age.search(text)
    if m:
        facts["age"] = float(next(g for g in m.groups() if g))
    else:
        # "34 yo M w/ HIV ...", "63 y/o M, poor balance": a patient described as notes describe one,
        # with an age and a sex, in the description before the asking sentence
        note = read_age_and_sex(split_description(text)[0])
        if note.age is not None and note.sex is not None:
            facts["age"] = note.age
    # "The trial lists hemoglobin as 90 g/L. What's that in g/dL?" states the record's value, not a patient's.
    # a patient the note reader found is read by it (``patient._add_note_facts``), not by the question's own cues
    framed = bool(V.patient.search(text))
    converting = bool(V.conversion.search(text)) and not framed
    for e in q.entities:
        if converting:
            break
        # A stated value ("at most 8%") is the patient's value: compare it as such.
        if e.label == "LAB" and e.analyte and e.value is not None and (e.op in ("=", None) or framed):
            if _shared_value(e, q.entities, text):
                continue  # "ASAT/ALAT and alkaline phosphatase, creatinine clearance 70 ml/min" is the clearance
            facts.setdefault("labs", []).append(e)
        elif e.label == "PERCENT" and e.value is not None and (e.op in ("=", None) or framed):
            facts.setdefault("percents", []).append(e)
        elif e.label == "DOSE" and e.value is not None and e.op in ("=", None) and framed:
            # A dose is a dose of a drug: "simvastatin 40 mg" is compared only with limits on simvastatin.
            a, b = clause_span(text, e.start, e.end)
            drugs = [x for x in q.entities if x.label == "CONDITION" and x.concept_type == "drug" and a <= x.start < b]
            if drugs:
                near = min(drugs, key=lambda x: abs(x.start - e.start))
                facts.setdefault("doses", []).append(replace(e, concept=near.concept))
    for m in V.ago.finditer(text):
        amount, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        n = rules().number(amount) if amount.lower() not in ("a", "an") else 1.0
        if n is None:
            continue
        days = to_days(n, unit)
        clause = clause_span(text, m.start(), m.end())
        near = {e.concept for e in q.entities if e.label == "CONDITION" and e.concept not in V.population
                and clause[0] <= e.start < clause[1]}
        direct = set(near)
        near |= {p for c in list(near) for p in ancestors(c)}
        window = text[clause[0]:clause[1]]
        qualifiers = {i for i, (_, contra) in enumerate(qualifier_pairs()) if contra.search(window)}
        anchor = rules().find_anchor(window)[0]
        if anchor is None and V.onset_verb.search(window):
            anchor = "symptom onset"  # "the reaction started 5 days ago"
        facts.setdefault("times", []).append({"days": days, "text": m.group(0), "concepts": near, "direct": direct,
                                              "qualifiers": qualifiers, "anchor": anchor})
    for m in V.admitted_after.finditer(text):
        n = rules().number(m.group(1))
        if n is not None:
            tail = text[m.end():m.end() + 60]
            facts.setdefault("times", []).append({
                "days": to_days(n, m.group(2)), "text": m.group(0),
                "concepts": {rules().concept_lookup(m.group(0).split()[0]) or "hospitalization"},
                "anchor": rules().find_anchor(tail)[0] or "symptom onset"})
    if framed and not V.wh_question.match(text):
        has, lacks = {}, set()
        trial_refs = [m.span() for m in V.trial_ref.finditer(text)]
        for e in q.entities:
            if e.label != "CONDITION" or e.concept in V.population:
                continue
            if any(a <= e.start and e.end <= b for a, b in trial_refs):
                continue  # "the micellar paclitaxel psoriasis trial" names the trial, not the patient
            if PLANNED.search(text, max(0, e.start - 30), e.start):
                continue  # "no planned surgery", "a scheduled biopsy": not had
            if not V.have.search(text[max(0, e.start - 70):e.start]) and not re.match(r"\s*(?:positive|\+)", text[e.end:e.end + 12], re.I):
                continue
            clause = clause_span(text, e.start, e.end)
            window = text[clause[0]:clause[1]]
            if e.negated:
                lacks.add(e.concept)
            else:
                has.setdefault(e.concept, set()).update(
                    i for i, (_, contra) in enumerate(qualifier_pairs()) if contra.search(window))
                facts.setdefault("phrases", {}).setdefault(e.concept, []).append(_phrase(text, e.start, e.end))
        for concept in list(has):
            for parent in ancestors(concept):
                has.setdefault(parent, set()).update(has[concept])
                facts.setdefault("phrases", {}).setdefault(parent, []).extend(facts.get("phrases", {}).get(concept, []))
        if has:
            facts["has"] = has
        if lacks:
            facts["lacks"] = lacks
    # "As far as age is concerned", "the age criterion": judge only that aspect.
    aspect = V.aspect.search(text)
    if aspect and (aspect.group(1) or aspect.group(2) or "").lower() in ("age", "ages"):
        facts = {k: v for k, v in facts.items() if k == "age"}
    return facts


def _phrase(text: str, start: int, end: int) -> list[str]:
    """The mention and its extensions by up to three preceding words, longest first ("basal cell carcinoma")."""
    words = list(re.finditer(r"[\w'-]+", text[max(0, start - 60):start]))
    out = [text[start:end]]
    for k in range(1, min(3, len(words)) + 1):
        out.append(text[max(0, start - 60) + words[-k].start():end])
    return sorted(out, key=len, reverse=True)



def clause_span(text: str, start: int, end: int) -> tuple[int, int]:
    left = max(text.rfind(sep, 0, start) for sep in (".", ";", "?", ",", " and ", " but ")) + 1
    rights = [i for i in (text.find(sep, end) for sep in (".", ";", "?", ",", " and ", " but ")) if i >= 0]
    return max(left, 0), min(rights) if rights else len(text)



def trial_ref_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the phrases that name a trial by its drug, acronym or number ("the oral COL-3 phase
    I trial", "the indomethacin melanoma trial NCT00002535"): the shortest reference, from the last
    determiner before "trial"/"study", when it holds a name-like word (capital, digit) or an NCT id."""
    out = []
    for m in V.trial_ref.finditer(text):
        inner = list(re.finditer(r"\b(?:the|this|that)\s", m.group(0), re.I))
        start = m.start() + (inner[-1].start() if inner else 0)
        end = m.end()
        nct = NCT.match(text, end + 1)
        if nct:
            end = nct.end()
        ref = text[start:end]
        if nct or re.search(r"\s(?:[A-Z][\w-]*|\w*\d\w*)\b", ref):
            out.append((start, end))
    return out


def mask_trial_refs(q: Question) -> str:
    """The question with its trial references and the phrases that named its trials blanked out
    (see ``trial_ref_spans`` and ``scope.name_phrases``)."""
    text = q.text
    for a, b in [*q.refs, *q.name_spans]:
        text = text[:a] + " " * (b - a) + text[b:]
    return text



def within(e: CriterionEntity, o: CriterionEntity) -> bool:
    """Whether mention ``e`` lies inside the longer mention ``o``."""
    return o.start <= e.start and e.end <= o.end and o.end - o.start > e.end - e.start


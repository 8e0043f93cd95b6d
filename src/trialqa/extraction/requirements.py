"""Criteria compiled into structured requirements: whom a criterion concerns, an and/or expression
over typed atoms (condition, treatment, procedure, measurement, score, age, sex, pregnancy,
consent), each atom's qualifiers and time window, the exceptions, and the text left unparsed.

A requirement is built once per criterion from the criterion's extracted entities
(``compile_criterion``) and keeps the criterion's trial-independent facts: its polarity, its span
in the source file and, per atom, the span inside the criterion's text. Evaluating it against a
patient is answering's job (``answering.eligibility``). The words that steer compilation are data
(``data/requirements.json``, ``data/scores.json``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from .. import lexicons
from ..records import Criterion
from .conditional import mark_given
from .entity import CriterionEntity
from .hierarchy import ancestors
from .scales import class_points, score_op
from .windows import window_for
from .wording import CANNOT_TAKE, FILLER as _FILLER, HARM_OF, NAMED as _NAMED, REGIMEN_KIND, criterion_polarity, kind_words, negation_lead, read_negation, without_heading

ATOM_KINDS = ("condition", "treatment", "procedure", "measurement", "score", "age", "sex", "pregnancy", "consent")


@dataclass
class Atom:
    """One typed statement of a criterion; ``start``/``end`` are offsets into the criterion's text."""

    kind: str  # one of ATOM_KINDS
    text: str
    start: int
    end: int
    name: str | None = None  # concept, analyte or scale
    op: str | None = None  # <, <=, >, >=, =, between
    value: float | None = None
    value2: float | None = None
    unit: str | None = None
    norm_value: float | None = None
    norm_value2: float | None = None
    norm_unit: str | None = None
    component: str | None = None  # blood pressure: systolic / diastolic
    sex: str | None = None  # a limit stated for one sex ("less than 12 g/dl in women")
    route: str | None = None
    negated: bool = False
    qualifiers: list[str] = field(default_factory=list)
    window: dict[str, Any] | None = None  # {"op", "days", "days2", "anchor", "text", "start", "end"}
    given: dict[str, Any] | None = None  # a limit for patients with (or without) a condition: {"name", "present", "text"}
    subtype: str | None = None  # the words naming a kind of the concept that no concept names ("renovascular")

    def to_dict(self) -> dict[str, Any]:
        # Unset fields are left out; 0 and 0.0 are values (ECOG 0), so the test is by identity.
        return {k: v for k, v in asdict(self).items()
                if not (v is None or v is False or v == []) or k in ("kind", "text", "start", "end")}


@dataclass
class Requirement:
    """A criterion as a structure: ``expression`` is ``{"op": "and"|"or", "args": [atom index | expression]}``;
    ``applies_to`` lists the restrictions on whom it concerns (``{"kind": "cohort"|"childbearing_potential"|
    "female"|"male"|"condition"|"age", "text": ..., ...}``); ``unparsed`` the content words no atom covers."""

    trial_id: str
    section: str
    polarity: str  # inclusion / exclusion
    text: str
    start: int
    end: int
    atoms: list[Atom]
    expression: dict[str, Any]
    applies_to: list[dict[str, Any]]
    exceptions: list[Atom]
    unparsed: str

    @property
    def fully_parsed(self) -> bool:
        return not self.unparsed

    def to_dict(self) -> dict[str, Any]:
        return {"trial_id": self.trial_id, "section": self.section, "polarity": self.polarity, "start": self.start,
                "end": self.end, "applies_to": self.applies_to, "expression": self.expression,
                "atoms": [a.to_dict() for a in self.atoms], "exceptions": [a.to_dict() for a in self.exceptions],
                "unparsed": self.unparsed}


class _Vocabulary:
    """``data/requirements.json`` and ``data/scores.json`` compiled to patterns."""

    def __init__(self) -> None:
        data = lexicons.load("requirements")
        where = "data/requirements.json"
        self.applicability = [(kind, lexicons.compile_pattern(p, f"{where}: applicability.{kind}"))
                              for kind, pats in data["applicability"].items() for p in pats]
        self.qualifiers = [(name, re.compile(r"\b" + re.escape(w) + r"\s+(?:\w+\s+){0,2}$", re.I))
                           for name, words in data["qualifiers"].items() for w in sorted(words, key=len, reverse=True)]
        self.atom_kinds = data["atom_kinds"]
        self.consent = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in data["consent"]) + r")\b", re.I)
        self.or_words = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in data["connectives"]["or"]) + r")\b|/", re.I)
        self.and_words = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in data["connectives"]["and"]) + r")\b", re.I)
        self.administrative = set(data["administrative"])
        self.anchor_lead = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(data["anchor_lead"], key=len, reverse=True))
                                      + r")\s+(?:the\s+|an?\s+)?$", re.I)
        self.event_lead = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(data["event_lead"], key=len, reverse=True))
                                     + r")\s+(?:the\s+|an?\s+|study\s+)?$", re.I)
        self.outcome_after = re.compile(r"\s*(?:treatment\s+|therapy\s+)?(?:" + "|".join(map(re.escape, data["outcome_after"]))
                                        + r")\b", re.I)
        self.cessation = re.compile(r"[^.;]{0,30}?\b(?:must|should|shall|will|needs?\s+to|has\s+to|have\s+to)\s+(?:be\s+|have\s+been\s+)"
                                    r"(?:\w+\s+)?(?:" + "|".join(map(re.escape, data["cessation"])) + r")\b", re.I)
        self.connective = re.compile(r"\b(?P<or>or|and/or|either)\b|(?P<and>\band\b|\bas well as\b|\bplus\b)", re.I)
        scores = lexicons.load("scores")
        self.scales = scores["scales"]
        self.equivalent = scores["equivalent"]
        self.analyte_scale = {a: s["name"] for s in self.scales for a in s["analytes"]}
        names = sorted(((n, s) for s in self.scales for n in s["names"] if len(n) >= 3), key=lambda x: -len(x[0]))
        # Short names ("CDR", "GAF", "KPS") only in capitals: "gaf" or "ps" inside prose are not scales.
        self.scale_names = [(re.compile(r"(?<![\w-])" + re.escape(n if len(n) > 4 else n.upper()) + r"(?![\w-])",
                                        re.I if len(n) > 4 else 0), s) for n, s in names]
        # "NYHA class III or IV", "Child-Pugh class A or B", "T-score below -2.5"
        self.score_value = re.compile(
            r"[\s:(]*(?:(?:play|performance|status|rating|scale|score|class|grade|stage|flow|of|index|a)\s+){0,5}\s*(?P<op>[<>]=?|≤|≥|less than or equal to|greater than or equal to|below|under|above|over|"
            r"less than|more than|greater than|at least|at most|of at least|up to|no more than|worse than|better than)?\s*"
            r"(?P<v1>(?:-|minus\s+)?\d+(?:\.\d+)?|[A-D]\b|I{1,3}V?\b|IV\b)(?:\s*(?:-|to|–|or|and|,)\s*(?P<v2>-?\d+(?:\.\d+)?|[A-D]\b|I{1,3}V?\b|IV\b))?"
            r"(?:\s*(?:or|and)\s*(?P<v3>-?\d+(?:\.\d+)?|[A-D]\b|I{1,3}V?\b|IV\b))?", re.I)


@lru_cache(maxsize=1)
def vocabulary() -> _Vocabulary:
    return _Vocabulary()


_MEASURE_LABELS = {"LAB": "measurement", "PERCENT": "measurement"}
_CONTENT = re.compile(r"[A-Za-z][A-Za-z-]{3,}")


_RECOVERED_FROM = re.compile(r"\brecover(?:ed|y|ing)?\s+from\s+(?:(?:[\w-]+\s+){0,4}?(?:toxicit(?:y|ies)|toxic\s+effects?|side[\s-]+effects?|"
                             r"adverse\s+(?:events?|effects?|reactions?)|effects?|complications?|sequelae)\s+(?:of|from|due\s+to|related\s+to|"
                             r"associated\s+with)\b[^;.()]{0,60}|(?:(?:any|all|the|prior|previous|recent|major|minor)\s+)*)$", re.I)
_NON_MODIFIER = re.compile(r"\bnon-$", re.I)
# "At least 4 weeks since prior chemotherapy": how long ago the patient had it, the requirement itself
_WASHOUT = re.compile(r"\b(?:weeks?|days?|months?|years?|hours?|wks?|mos?|hrs?)\s+since\s+(?:(?:the|an?|any|all|prior|previous|last|other)\s+)*$", re.I)
_FOR_SEX = re.compile(r"\s*[(,]?\s*(?:in|for)?\s*(women|females?|men|males?)\b", re.I)
_LEAD = re.compile(r"(?:note\s*:\s*)?(?:(?:for|in|among|when)\b[^:;.]{3,90}:|if\b[^,:;.]{3,90}[,:])", re.I)
# "However, 1 or 2 cycles of chemotherapy ... are allowed": what follows states exceptions, not requirements
_ALLOWED = re.compile(r"(?:^|(?<=[.;]))\s*(?:however|but|nevertheless)\b[^.;]*|[^.;]*\b(?:is|are|will be|would be|would|will|may be|can be)\s+"
                      r"(?:allowed|permitted|acceptable|not excluded|not be excluded|an exception|exceptions|eligible|"
                      r"not considered)\b[^.;]*|[^.;]*\b(?:is|are)\s+not\s+considered\b[^.;]*|"
                      r"[^.;]*\b(?<!not )(?<!n't )(?:allowed|permitted|not specified|no restrictions?|not required)\s*(?:[.;]|$)|"
                      r"[^.;]*\b(?<!not )(?<!n't )(?<!be )(?:allowed|permitted)\s+(?:to|if|provided|as\s+long\s+as|up\s+to|only)\b(?:(?!\s[A-Z][a-z])[^.;])*|"
                      r"\((?:[^()]|\([^()]*\))*?\b(?:will|would|is|are|does|do)\s+not\s+(?:be\s+)?(?:a\s+)?(?:reasons?\s+to\s+)?"
                      r"exclude(?:[^()]|\([^()]*\))*\)|"
                      r"[^.;()]*\b(?:will|would|is|are|does|do)\s+not\s+(?:be\s+)?(?:a\s+)?(?:reasons?\s+to\s+)?exclude\b[^.;()]*", re.I)


def compile_criterion(c: Criterion, trial_id: str = "", studied: frozenset[str] = frozenset()) -> Requirement:
    """The requirement a criterion states, from its text and its extracted entities; ``studied`` are
    the concepts of the trial's own conditions (with their ancestors)."""
    v = vocabulary()
    text = c.text
    polarity = criterion_polarity(c)
    applies = _applicability(c, v)
    ents = [e for e in c.entities if not e.hedged or e.excepted]
    atoms: list[Atom] = []
    exceptions: list[Atom] = []
    windows = [e for e in ents if e.label == "TIME_WINDOW" and e.norm_value is not None]
    lead_end = max((a.get("end", 0) for a in applies), default=0)
    lead = _LEAD.match(text)
    if lead:
        lead_end = max(lead_end, lead.end())
    for e in ents:
        atom = _atom(e, text, v)
        if atom is None:
            continue
        if atom.kind == "age" and atom.start < lead_end:
            # "For patients younger than 16: ..." restricts whom the criterion concerns.
            applies.append({"kind": "age", "text": e.text, "op": e.op, "years": e.norm_value, "years2": e.norm_value2})
            continue
        (exceptions if e.excepted else atoms).append(atom)
    for sc in _score_atoms(text, v):
        if any(_overlap(sc, b) and b.kind in ("score", "measurement") for b in atoms):
            continue  # the extractor read this scale's threshold already
        # "NYHA class III" read as heart failure, "Child-Pugh" as cirrhosis: the class is the requirement
        atoms = [b for b in atoms if not (b.kind in _NAMED and sc.start <= b.start and b.end <= sc.end)]
        atoms.append(sc)
    for a in atoms:
        m = _FOR_SEX.match(text, a.end)
        if a.op is not None and m:
            a.sex = "female" if m.group(1).lower().startswith(("wom", "fem")) else "male"
        if a.kind == "measurement" and a.name == "HbA1c" and "mmol/mol" in a.text.lower():
            a.unit = a.norm_unit = "mmol/mol"  # the IFCC unit, not a concentration
    atoms = sorted(atoms, key=lambda a: (a.start, -a.end))
    _age_lower_bounds(text, atoms)
    for a in atoms:
        if a.kind in _NAMED:
            a.window = window_for(a, windows, text)
    atoms, body = without_heading(text, atoms, lead_end, polarity)
    atoms = _drop_inner(atoms)
    # "any non-bipolar psychiatric disorder": the prefixed word says which disorder, it is no atom of its own
    atoms = [a for a in atoms if not (_NON_MODIFIER.search(text, 0, a.start) and (m := re.match(r"\s+([A-Za-z]+)", text[a.end:]))
                                      and m.group(1).lower() not in _FILLER and not m.group(1).lower().rstrip("s") in _FILLER)]
    taken = [(e.start, e.end) for e in c.entities]
    for a in atoms:
        if a.kind in ("condition", "procedure"):
            a.subtype = kind_words(text, a.start, taken)
        elif a.kind == "treatment" and a.op is None:
            # a drug class's own words ("cytotoxic agents") are the class's; "platinum-based" names a kind of it
            kind = kind_words(text, a.start, taken)
            a.subtype = kind if kind and REGIMEN_KIND.search(kind) else None
    atoms = _without_context(atoms, text, polarity, studied, negation_lead(text, body) is not None)
    atoms = mark_given(atoms, text, [a for e in c.entities if e.hedged and not e.excepted and e.label == "CONDITION"
                                     and (a := _atom(e, text, v)) is not None])
    read_negation(text, atoms, polarity, body)
    allowed = [m.span() for m in _ALLOWED.finditer(text)]
    if allowed:
        # a limit allowed for some patients ("<= 5x ULN is acceptable if liver metastases") stays their limit
        permitted = [a for a in atoms if any(x <= a.start < y for x, y in allowed) and not a.given]
        exceptions += permitted
        atoms = [a for a in atoms if a not in permitted]
    inside_lead = [a for a in atoms if lead and a.kind in _NAMED and a.end <= lead.end()]
    if inside_lead and len(inside_lead) < len(atoms):
        # "For patients with CNS tumors: ..." / "If operated: ...": whom the criterion concerns
        applies.append({"kind": "patients_with", "text": lead.group(0).strip(" :,"), "where": "lead-in", "start": 0,
                        "end": lead.end(), "names": sorted({a.name for a in inside_lead if a.name})})
        atoms = [a for a in atoms if a not in inside_lead]
    for ap in [x for x in applies if x["kind"] == "patients_with" and x["where"] == "phrase"]:
        if lead and ap["start"] < lead.end():
            applies.remove(ap)  # the lead-in said it already
            continue
        inside = [a for a in atoms if a.kind in _NAMED and ap["start"] <= a.start and a.end <= ap["end"]]
        others = [a for a in atoms if a not in inside]
        if inside and others:
            ap["names"] = sorted({a.name for a in inside if a.name})
            atoms = others
        else:
            applies.remove(ap)
    for a in list(atoms):
        before = text[max(0, a.start - 40):a.start]
        if a.kind in _NAMED and (windows and v.anchor_lead.search(before) and not _WASHOUT.search(before)
                                 or v.event_lead.search(before)):
            atoms.remove(a)  # "within 48 hours prior to DARATUMUMAB treatment": the event the window counts from
        elif a.kind in _NAMED and _RECOVERED_FROM.search(text, max(0, a.start - 160), a.start):
            atoms.remove(a)  # "recovered from the toxicities of prior chemo and radiation": what is recovered from, not had
        elif a.kind in _NAMED and (a.name in v.administrative or v.consent.search(" ".join(before.split()[-4:]))):
            a.kind = "consent"  # "agreement to use effective contraception", "written consent": asked at screening
    for a in atoms:
        if a.kind == "treatment" and a.op is not None and a.name is None:
            # "Aspirin > 325 mg/day": a dose is a dose of the nearest drug named in its clause
            # ... and owns it: "fluticasone 1000 mcg + salmeterol 100 mcg" gives fluticasone no second dose
            drugs = [d for d in atoms if d.kind == "treatment" and d.op is None and not re.search(r"[;.]", text[min(d.end, a.end):max(d.start, a.start)])
                     and not any(o is not a and o.kind == "treatment" and o.op is not None
                                 and min(d.end, a.end) <= o.start < max(d.start, a.start) for o in atoms)]
            if drugs:
                # the drug just before the dose ("aspirin (> 325 mg/d)") before any other nearby
                before = [d for d in drugs if d.end <= a.start and a.start - d.end <= 30]
                a.name = (max(before, key=lambda d: d.end) if before else min(drugs, key=lambda d: abs(d.start - a.start))).name
    if {a.name for a in atoms if a.kind == "sex"} == {"female", "male"}:
        atoms = [a for a in atoms if a.kind != "sex"]  # "Males and females": no restriction by sex
    lone_subject = all(a.kind == "sex" for a in atoms) and bool(_unparsed(text, atoms, windows, c.entities))
    if atoms and (any(a.kind != "sex" for a in atoms) or lone_subject):
        # "Pregnant or breastfeeding women", "Women intending to conceive ...": the women are whom the
        # criterion concerns, not a requirement (a criterion about sex alone, "Male or female", keeps it).
        for a in [a for a in atoms if a.kind == "sex"]:
            atoms.remove(a)
            if not any(x["kind"] in ("female", "male", "childbearing_potential") for x in applies):
                applies.append({"kind": a.name, "text": a.text, "where": "subject"})
    for a in atoms:
        if a.kind == "treatment" and a.op is None and polarity == "inclusion" and v.cessation.match(text, a.end):
            a.negated = True  # "Systemic corticosteroids should be discontinued before ...": required stopped
        if a.kind in ("condition", "pregnancy") and _NEGATIVE_RESULT.search(_clause_around(text, a)):
            a.negated = True  # "negative hepatitis B screening", "HIV negative": required absent
    # "a complete blood count ... and HIV antibody test will be performed": a test to be done, with no
    # result stated, requires neither the condition nor its absence
    atoms = [a for a in atoms if not (a.kind in ("condition", "pregnancy") and not a.negated and _TEST_DONE.match(text, a.end)
                                      and not _POSITIVE_RESULT.search(_clause_around(text, a)))]
    if not atoms and v.consent.search(text):
        m = v.consent.search(text)
        atoms.append(Atom("consent", text, 0, len(text), name=m.group(0).lower()))
    exceptions = [x for i, x in enumerate(exceptions) if x.name not in {y.name for y in exceptions[:i]}]
    # "Fertile patients must use contraception. Allergy to shellfish.": the first sentence's subject is not the second's
    applies = [x for x in applies if "sentence_end" not in x or not any(a.start > x["sentence_end"] for a in atoms)]
    for x in applies:
        x.pop("sentence_end", None)
    expression = _expression(atoms, text, polarity, v)
    return Requirement(trial_id, c.section, polarity, text, getattr(c, "start", 0), getattr(c, "end", len(text)), atoms,
                       expression, applies, exceptions,
                       _unparsed(text, [*atoms, *exceptions], windows, c.entities))


def _age_lower_bounds(text: str, atoms: list[Atom]) -> None:
    """An age read as exact that opens a range is its lower bound: "Age: 6 to under 60", "Age 3
    months up to 100 years", "aged 6 months+"."""
    ages = [a for a in atoms if a.kind == "age"]
    for a, b in zip(ages, ages[1:] + [None]):
        if a.op != "=":
            continue
        after = text[a.end:b.start] if b is not None else ""
        if (b is not None and b.op in ("<", "<=") and re.fullmatch(r"\s*(?:to|up\s+to|until|through|-|\u2013)?\s*", after, re.I)) \
                or re.match(r"\s*\+|\s+(?:and|or)\s+(?:older|over|above)\b", text[a.end:]):
            a.op = ">="


def compile_trial(trial) -> list[Requirement]:
    """The requirements of every criterion of ``trial``, in order; each is also kept on its criterion."""
    out = []
    studied = studied_concepts(trial)
    for c in trial.criteria:
        c.requirement = compile_criterion(c, getattr(trial, "id", ""), studied)
        out.append(c.requirement)
    return out


def requirement_of(c: Criterion, trial=None) -> Requirement:
    """The criterion's compiled requirement, compiled now when loading did not (``trial`` gives its context)."""
    r = getattr(c, "requirement", None)
    if r is None or r.text != c.text:
        r = c.requirement = compile_criterion(c, getattr(trial, "id", ""), studied_concepts(trial) if trial else frozenset())
    return r


def studied_concepts(trial) -> frozenset[str]:
    """The concepts of a trial's conditions and title, with their ancestors: what it studies."""
    from .rules import rules

    found: set[str] = set()
    for text in (*(getattr(trial, "conditions", None) or ()), getattr(trial, "title", None) or ""):
        for e in rules().extract(text):
            if e.label == "CONDITION" and e.concept and e.concept_type != "population":
                found.add(e.concept)
    return frozenset(found | {p for c in found for p in ancestors(c)})


# Words before a mention that make it the object of something else ("medications for psoriasis",
# "designed to treat depression", "during this episode of depression"): not the patient's state.
_OBJECT_OF = re.compile(r"\b(?:(?:medications?|medicines?|drugs?|therap(?:y|ies)|treatments?|agents?|regimens?|psychotherap(?:y|ies))"
                        r"\s+(?:for|of|against)|(?:designed|used|given)?\s*to\s+treat|treating|episode\s+of|than\s+the(?:\s+underlying)?)"
                        r"\s+(?:the\s+|their\s+|this\s+|his\s+|her\s+)?(?:[\w+-]+\s+){0,3}$", re.I)
# Under a negation ("No prior chemotherapy for locoregionally recurrent colorectal cancer") what a
# treatment was for is its object; elsewhere ("Prior chemotherapy for Hodgkin's disease" excluded) it
# says which treatment, so it stays.
_TREATED_FOR = re.compile(r"\b(?:\w*therap(?:y|ies)|treat(?:ed|ments?)|surgery|resection|transplant(?:ation)?)\s+for\s+"
                          r"(?:the\s+|their\s+|this\s+|his\s+|her\s+)?(?:[\w+-]+\s+){0,5}$", re.I)
_PURPOSE = re.compile(r"\b(?:to\s+(?:avoid|prevent)|avoid(?:s|ing)?|prevent(?:s|ing|ion\s+of)?)\s+(?:an?\s+|any\s+|the\s+)?(?:[\w-]+\s+){0,1}$", re.I)
_COMPONENT_OF = re.compile(r"\b(?:combinations?|regimens?|cocktails?)\s+(?:that\s+(?:does|do)\s+not\s+(?:contain|include)|"
                           r"without|not\s+containing|lacking)\s+(?:an?\s+|the\s+|any\s+)?(?:[\w-]+\s+){0,2}$", re.I)
# "any drug interfering with tacrolimus metabolism", "may affect the absorption of tacrolimus": the drug is what is affected
_AFFECTING = re.compile(r"\b(?:interfer(?:e|es|ing)\s+with|interact(?:s|ing)?\s+with|(?:absorption|metabolism|clearance|levels?|"
                        r"concentrations?|effects?|efficacy)\s+of|(?:inhibit|induc|alter|affect)(?:s|es|ing|ed)?)\s+(?:the\s+)?$", re.I)
_MODIFIER = re.compile(r"-(?:sensitive|resistant|refractory|dependent|naive|naïve|induced|related|free|sparing)\b", re.I)
_REACTIONS = {"hypersensitivity", "drug allergy", "allergy", "intolerance"}
_REACTION_TO = re.compile(r"\b(?:reactions?|intolerance|intolerant|allerg(?:y|ies|ic)|hypersensitivity|sensitivity|"
                          r"contraindications?|side effects?)\s+(?:to|of|with)\s+(?:an?\s+|the\s+|any\s+)?(?:[\w-]+,?\s+){0,8}$", re.I)
_REACTION_AFTER = re.compile(r"\s*(?:intolerance|allergy|hypersensitivity|toxicity)\b", re.I)
_CONTEXT_EVENTS = {"hospitalization", "intensive care"}
_NAMES_A_STUDY = re.compile(r"^\s*(?:clinical\s+)?(?:study|studies|trial|trials|protocol)\b", re.I)


def _without_context(atoms: list[Atom], text: str, polarity: str, studied: frozenset[str], negating: bool = False) -> list[Atom]:
    """The atoms that state a requirement, without the mentions that are context: the object of a
    treatment ("medications for psoriasis"), a drug naming a study ("an apixaban clinical study"), a
    condition defined by the thresholds in the parenthesis after it ("hematologic disease (Hb < 9.0
    g/dL)"), and, in an exclusion, the condition the trial studies (unless "other": a psoriasis trial
    does not exclude psoriasis)."""
    out = []
    thresholds = [a for a in atoms if a.op is not None]
    for a in atoms:
        if a.kind in ("condition", "treatment", "procedure", "pregnancy"):
            before = text[max(0, a.start - 40):a.start]
            if a.kind in ("condition", "pregnancy") and a.op is None and _PURPOSE.search(before):
                continue  # "birth control to avoid pregnancy": what a measure is for, not the patient's state
            if a.kind == "pregnancy":
                out.append(a)
                continue
            if _NAMES_A_STUDY.match(text[a.end:a.end + 25]) or _MODIFIER.match(text[a.end:a.end + 15]):
                continue  # "an apixaban clinical study", "steroid-sensitive rejection"
            if a.name in _CONTEXT_EVENTS and re.match(r"\s*(?:with|for|because of|due to)\b", text[a.end:a.end + 15], re.I):
                continue  # "admitted with septic shock": the admission only introduces what it is for
            if re.search(r"\bindex\s+$", before, re.I):
                continue  # "before index MI": the trial's qualifying event
            if a.kind == "treatment" and a.op is None and not any(b.name in _REACTIONS for b in atoms) and (
                    _REACTION_TO.search(text, max(0, a.start - 90), a.start) or _REACTION_AFTER.match(text[a.end:a.end + 25])):
                continue  # "adverse reaction to a statin", "azathioprine intolerance": the reaction, not the drug
            if a.kind in ("treatment", "procedure") and a.op is None and (
                    HARM_OF.search(text, max(0, a.start - 90), a.start) or CANNOT_TAKE.search(text, max(0, a.start - 90), a.start)):
                continue  # "toxicities from previous chemotherapy", "inability to take corticosteroids"
            if a.kind == "condition" and a.op is None and (m := HARM_OF.search(text, max(0, a.start - 90), a.start)):
                a.subtype = a.subtype or m.group("harm").lower()  # "complications of Crohn's disease": which of its patients
            if a.kind == "condition" and a.op is None and negating and _TREATED_FOR.search(text[max(0, a.start - 90):a.start]):
                continue
            if (a.kind == "condition" and a.op is None and _OBJECT_OF.search(before)) or \
                    (a.op is None and _COMPONENT_OF.search(before)) or (a.kind == "treatment" and _AFFECTING.search(before)):
                continue  # "... any combination without a PI": what a regimen contains, not the patient's state
            paren = re.match(r"\s*(?:[(\[]([^)\]]*)|,?\s*(?:defined|as defined|documented|confirmed)\s+(?:as|by)\b[^.;]*)", text[a.end:])
            if a.op is None and paren and any(a.end < t.start <= a.end + paren.end() for t in thresholds):
                continue
            joined = [b for b in atoms if b is not a and _CAUSE.search(text[min(a.end, b.end):max(a.start, b.start)])]
            if (polarity == "exclusion" and a.kind == "condition" and a.name in studied and "other" not in a.qualifiers
                    and not a.negated and not joined):
                continue  # ("Lyell syndrome induced by immunotherapy" names the cause with the condition: kept)
        out.append(a)
    return out


def _applicability(c: Criterion, v: _Vocabulary) -> list[dict[str, Any]]:
    """Restrictions stated in the criterion's heading or lead-in ("Phase 2:", "For women of
    childbearing potential:", "If operated, ..."): they make the criterion concern only some patients."""
    out = []
    group = (getattr(c, "group", None) or "").strip()
    lead = c.text[:c.text.find(":") + 1] if 0 < c.text.find(":") <= 90 else ""
    for m in _FOR_PATIENTS_WITH.finditer(c.text):
        out.append({"kind": "patients_with", "text": m.group(0).strip(" ,:"), "where": "phrase", "start": m.start(1),
                    "end": m.end()})
    if group:
        # "Infants/toddlers aged >= 6 months to < 2 years:" heads the criteria of one age group
        from .rules import rules

        for e in rules().extract(group):
            if e.label == "AGE" and e.norm_value is not None and e.op in (">", ">=", "<", "<=", "between"):
                out.append({"kind": "age", "text": group.strip(" :"), "where": "group", "op": e.op,
                            "years": e.norm_value, "years2": e.norm_value2})
    first = re.search(r"[.;]\s", c.text)
    sentence = c.text[:first.start()] if first and first.start() < 120 else c.text[:120]
    for where, s, offset in (("group", group, None), ("lead", lead, 0), ("sentence", sentence, 0)):
        if not s:
            continue
        for kind, pat in v.applicability:
            if where == "sentence" and kind not in ("childbearing_potential", "condition"):
                continue
            m = pat.search(s)
            if m and not any(a["kind"] == kind for a in out):
                item = {"kind": kind, "text": m.group(0).strip(" ,:"), "where": where}
                if offset is not None:
                    item["end"] = m.end() if where != "lead" else len(lead)
                if where == "sentence":
                    item["sentence_end"] = len(sentence)
                out.append(item)
    return out


# "for patients with CNS tumors", "in subjects receiving warfarin": the criterion concerns those patients.
_FOR_PATIENTS_WITH = re.compile(r"\b(?:for|in)\s+(?:those\s+|all\s+)?(?:patients|subjects|participants|children|women|men|"
                                r"individuals|those)\s+(with|who\s+(?:have|had|are|were)|on|receiving|undergoing|treated\s+with)"
                                r"\b[^,;:.]{2,60}?(?=\s+(?:must|should|will|shall|are|is|have|has|may|can|need|require)\b|[,;:.)]|$)",
                                re.I)


def _atom(e: CriterionEntity, text: str, v: _Vocabulary) -> Atom | None:
    base = dict(text=e.text, start=e.start, end=e.end, op=e.op, value=e.value, value2=e.value2, unit=e.unit,
                norm_value=e.norm_value, norm_value2=e.norm_value2, norm_unit=e.norm_unit, negated=e.negated,
                qualifiers=_qualifiers(text, e.start, v, e.end))
    if e.label == "AGE":
        if e.op == "=" and not re.search(r"\b(?:age[ds]?|old|birthday)\b", text[max(0, e.start - 20):e.end + 12], re.I):
            return None  # "two years post-menopausal" is a time, not an age limit
        return Atom("age", name="age", **base)
    if e.label in _MEASURE_LABELS and e.analyte:
        if CHANGE_OF_VALUE.search(text[max(0, e.start - 40):e.start]):
            return None  # "weight loss of more than 10 lbs": a change of the analyte, not its level
        scale = v.analyte_scale.get(e.analyte)
        if scale:
            return Atom("score", name=scale, **base)
        return Atom("measurement", name=e.analyte, component=_bp_component(text, e) if e.analyte == "blood pressure" else None,
                    **base)
    if e.label == "DOSE":
        return Atom("treatment", name=e.concept, route=e.route, **base)
    if e.label == "CONDITION" and e.concept:
        if e.concept in ("pregnancy", "breastfeeding", "lactation"):
            if e.concept == "pregnancy" and _GESTATION.search(text[max(0, e.start - 30):e.start]):
                return None  # "born at full term of pregnancy": the patient's own birth, not a pregnancy
            return Atom("pregnancy", name=e.concept, **base)
        kind = v.atom_kinds.get(e.concept_type or "condition", "condition")
        if kind == "population":
            return _sex_atom(e, base)
        return Atom(kind, name=e.concept, route=e.route, **base)
    return None


# The words between an analyte and a value that make the value a change ("weight loss of 10 kg",
# "creatinine increase of 0.3 mg/dL"); the note reader reads notes alike.
CHANGE_OF_VALUE = re.compile(r"\b(?:loss|gain|change|reduction|decrease|increase|drop|decline|rise|fall)\s+(?:of\s+|by\s+)?$", re.I)
_GESTATION = re.compile(r"\b(?:term|weeks?|gestation(?:al)?|born|birth|preterm)\b(?:\s+\w+){0,2}\s*$", re.I)


def _sex_atom(e: CriterionEntity, base: dict) -> Atom | None:
    word = e.text.lower()
    if re.match(r"(?:wom[ae]n|females?|girls?|mothers?)\b", word):
        return Atom("sex", name="female", **base)
    if re.match(r"(?:m[ae]n|males?|boys?|fathers?)\b", word):
        return Atom("sex", name="male", **base)
    return None


_COMPONENT_AFTER = re.compile(r"\s*\(?\s*(systolic|diastolic|sbp|dbp)\b", re.I)


def _bp_component(text: str, e: CriterionEntity) -> str | None:
    after = _COMPONENT_AFTER.match(text, e.end)  # "≥ 160 mmHg (systolic) or ≥ 100 mmHg (diastolic)"
    if after:
        return "systolic" if after.group(1).lower() in ("systolic", "sbp") else "diastolic"
    before = text[max(0, e.start - 40):e.start].lower()
    hits = [(before.rfind(w), comp) for w, comp in (("systolic", "systolic"), ("sbp", "systolic"), ("diastolic", "diastolic"),
                                                     ("dbp", "diastolic"))]
    best = max(hits)
    return best[1] if best[0] >= 0 else None


def _qualifiers(text: str, start: int, v: _Vocabulary, end: int | None = None) -> list[str]:
    """The states the words before a mention (or its own first words: "other malignancy") give it."""
    head = text[start:end].split()[:-1] if end else []
    before = text[max(0, start - 40):start] + (" ".join(head) + " " if head else "")
    found = {name for name, pat in v.qualifiers if pat.search(before)}
    if end is not None and v.outcome_after.match(text, end):
        found.add("outcome")  # "anti-HIV treatment withdrawal", "methotrexate failure"
    return sorted(found)


def _score_atoms(text: str, v: _Vocabulary) -> list[Atom]:
    """Class and score thresholds the extractor reads as conditions or not at all ("NYHA class III
    or IV", "Child-Pugh B or C", "T-score below -2.5")."""
    out = []
    for pat, scale in v.scale_names:
        for m in pat.finditer(text):
            g = v.score_value.match(text, m.end())
            if not g or not g.group("v1"):
                continue
            ranges = [class_points(scale, x) for x in (g.group("v1"), g.group("v2"), g.group("v3")) if x]
            if None in ranges:
                continue
            tail = re.match(r"\s*(?:points?\s+)?or\s+(less|lower|below|fewer|more|higher|greater|above|better|worse)\b", text[g.end():])
            word = g.group("op") or ({"less": "at most", "lower": "at most", "below": "at most", "fewer": "at most",
                                      "worse": "at most"}.get(tail.group(1).lower(), "at least") if tail else None)
            op, lo, hi = score_op(word, ranges)
            out.append(Atom("score", text[m.start():g.end()].strip(), m.start(), g.end(), name=scale["name"], op=op,
                            value=lo, value2=hi, norm_value=lo, norm_value2=hi, qualifiers=_qualifiers(text, m.start(), v)))
    return out


_TEST_DONE = re.compile(r"(?:(?<=test)|(?<=tests)|(?<=testing)|(?<=screen)|(?<=screening)|\s*(?:antibody\s+|antigen\s+|serology\s+|serum\s+)?"
                        r"(?:tests?|testing|screen(?:ing)?|assays?))\s+(?:will\s+be|is|are|must\s+be|should\s+be|to\s+be|was|were|has\s+been|have\s+been)\s+"
                        r"(?:performed|done|obtained|drawn|collected|required|conducted|carried\s+out)\b", re.I)
_POSITIVE_RESULT = re.compile(r"\bpositive\b|\breactive\b|\bdetect(?:ed|able)\b", re.I)
_NEGATIVE_RESULT = re.compile(r"\bnegative\b|\bsero-?negative\b|\bnon-?reactive\b|\bnot\s+detect(?:ed|able)\b|"
                              r"\bundetectable\b|\bfree\s+of\b|\bruled\s+out\b", re.I)


def _clause_around(text: str, a: Atom) -> str:
    """Where a test result about a mention is stated: up to three words either side within its
    clause, and a "negative for ..." that heads the list the mention stands in."""
    left = re.split(r"[,;.(]", text[max(0, a.start - 40):a.start])[-1]
    right = re.split(r"[,;.)]", text[a.end:a.end + 40])[0]
    head = re.split(r"[;.]", text[max(0, a.start - 100):a.start])[-1]
    lead = "negative" if re.search(r"\bnegative\s+(?:for|to|on|test(?:s|ing)?\s+for|screening\s+for)\b", head, re.I) else ""
    return " ".join(left.split()[-3:]) + " | " + " ".join(right.split()[:3]) + " | " + lead


def _overlap(a: Atom, b: Atom) -> bool:
    return a.start < b.end and b.start < a.end





def _drop_inner(atoms: list[Atom]) -> list[Atom]:
    """One atom per statement: a mention inside a longer one ("tumors" in "brain tumors", "immunodeficiency"
    in "human immunodeficiency virus") or on the same words as an earlier, more specific one is dropped,
    and a concept named twice is one atom."""
    out: list[Atom] = []
    for a in atoms:
        named = a.kind in _NAMED
        if named and any(o is not a and o.kind in _NAMED and o.start <= a.start and a.end <= o.end
                         and (o.end - o.start) > (a.end - a.start) for o in atoms):
            continue
        same = [o for o in atoms if o is not a and o.kind in _NAMED and (o.start, o.end) == (a.start, a.end)]
        more_specific = [o for o in same if a.name in ancestors(o.name or "")]
        unrelated_kept = [o for o in same if o in out and o.name not in ancestors(a.name or "")]
        if named and (more_specific or unrelated_kept):
            continue  # "atrial fibrillation" is kept, not "heart disease" read on the same words
        if any(o.kind == a.kind and o.name == a.name and o.op is None and a.op is None and o.window == a.window for o in out):
            continue  # the same concept named twice ("hepatitis B (HBs, anti-HBs and HBc)") is one atom
        out.append(a)
    return out


def _last_connective(between: str, v: _Vocabulary) -> str | None:
    """The connective nearest the second of two mentions ("SJS or TEN evolving ... and with a progression
    of the detachment": and); a slash between two words is "or"."""
    found = list(v.connective.finditer(between))
    if found:
        return "or" if found[-1].group("or") else "and"
    return "or" if re.fullmatch(r"\s*/\s*", between) else None


def _shifted(expr: dict[str, Any] | int, k: int) -> dict[str, Any] | int:
    """An expression over a slice of the atoms, re-indexed to the whole list."""
    if isinstance(expr, int):
        return expr + k
    args = [_shifted(x, k) for x in expr["args"]]
    return args[0] if len(args) == 1 else {"op": expr["op"], "args": args}


def _named(a: Atom) -> bool:
    """A mention of something the patient has or had (not a threshold on it)."""
    return a.kind in _NAMED and a.op is None


def _expression(atoms: list[Atom], text: str, polarity: str, v: _Vocabulary) -> dict[str, Any]:
    """Alternatives where the text joins mentions with "or"; for an exclusion, named conditions are
    alternatives anyway (having any one excludes); otherwise conjuncts."""
    if not atoms:
        return {"op": "and", "args": []}
    for j in range(1, len(atoms)):
        if atoms[j - 1].kind == "condition" and atoms[j].kind == "treatment" and \
                re.match(r"\s*(?:\([^()]*\)\s*)?(?:(?:or|and|and/or)\s+[\w-]+\s+)?(?:to|against|towards)\b", text[atoms[j - 1].end:atoms[j].start], re.I):
            # "hypersensitivity to X or to one of the excipients": the reaction AND any of what it is to,
            # up to the end of its clause; the mentions before and after keep their own structure
            stop = re.search(r"[;.]", text[atoms[j].start:])
            end = atoms[j].start + stop.start() if stop else len(text)
            k = max(i for i in range(j, len(atoms)) if atoms[i].start < end)
            obj: Any = {"op": "or", "args": list(range(j, k + 1))} if k > j else j
            reaction = {"op": "and", "args": [j - 1, obj]}
            parts = [_shifted(_expression(atoms[:j - 1], text, polarity, v), 0)] if j > 1 else []
            parts.append(reaction)
            if k + 1 < len(atoms):
                parts.append(_shifted(_expression(atoms[k + 1:], text, polarity, v), k + 1))
            parts = [p for p in parts if not (isinstance(p, dict) and not p["args"])]
            return parts[0] if len(parts) == 1 else {"op": "or" if polarity == "exclusion" else "and", "args": parts}
    groups: list[list[int]] = [[0]]
    gaps = [text[atoms[i - 1].end:atoms[i].start] for i in range(1, len(atoms))]
    joins = [_last_connective(g, v) for g in gaps]
    for i in range(len(joins) - 2, -1, -1):
        if joins[i] is None and re.fullmatch(r"[\s,]*(?:[\w-]+\s+){0,4}", gaps[i]) and "," in gaps[i]:
            joins[i] = joins[i + 1]  # "A, B, or C": the commas of a list take its last connective
    for i in range(1, len(atoms)):
        prev, cur = atoms[i - 1], atoms[i]
        between = gaps[i - 1]
        same_family = _named(prev) == _named(cur)
        if _CAUSE.search(between):
            groups.append([i])  # "Lyell syndrome induced by immunotherapy": both must hold
        elif polarity == "inclusion" and prev.negated and cur.negated and joins[i - 1] == "or":
            groups.append([i])  # "must not be pregnant or nursing": neither
        elif joins[i - 1] == "or" or (polarity == "exclusion" and same_family and _named(cur)
                                      and not v.and_words.search(between)) or (
                polarity == "exclusion" and re.search(r"[,;]", between) and joins[i - 1] != "and"):
            groups[-1].append(i)
        elif polarity == "exclusion" and same_family and _named(cur):
            groups[-1].append(i)  # "heart disease, stroke and seizures": any one excludes
        elif prev.kind == cur.kind == "measurement" and prev.name == cur.name and prev.sex and cur.sex and prev.sex != cur.sex:
            groups[-1].append(i)  # "hemoglobin < 12 g/dL for women and < 13 g/dL for men": one applies to each patient
        else:
            groups.append([i])
    args: list[Any] = [g[0] if len(g) == 1 else {"op": "or", "args": g} for g in groups]
    return args[0] if len(args) == 1 and isinstance(args[0], dict) else {"op": "and", "args": args}


_CAUSE = re.compile(r"\b(?:induced|caused|due|secondary|attributable|related|associated|(?<!the )following|after)\b|"
                    r"^\s*(?:with|for)\s*$", re.I)


def _unparsed(text: str, atoms: list[Atom], windows: list[CriterionEntity], ents: list[CriterionEntity]) -> str:
    """The content words of the criterion that no atom, window or other entity covers."""
    covered = [(a.start, a.end) for a in atoms] + [(w.start, w.end) for w in windows] + [(e.start, e.end) for e in ents]
    covered += [(a.window["start"], a.window["end"]) for a in atoms if a.window]
    named = {w.lower() for a in atoms if a.name for w in re.findall(r"[A-Za-z][A-Za-z-]+", a.name)}
    words = []
    for m in _CONTENT.finditer(text):
        if any(s <= m.start() < e for s, e in covered) or m.group(0).lower().rstrip("s") in named or m.group(0).lower() in named:
            continue
        w = m.group(0).lower()
        if w in _FILLER or w.rstrip("s") in _FILLER:
            continue
        words.append(m.group(0))
    return " ".join(words)

"""Answer composition: question understanding, values, verdicts, abstention, citations; and the
eligibility check of a described patient against a trial's criteria.

Answers come from the selected trial's structured fields and extracted criteria entities; retrieval
ranks supporting passages. Nothing is borrowed across trials: every citation belongs to a trial
the answer is about, and a fact the record does not state gives ``found=False``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import QueryError
from .extraction import CriterionEntity, rules
from .records import Criterion, Trial

if TYPE_CHECKING:
    from .qa import TrialQA

MAX_QUESTION_CHARS = 2000
NCT = re.compile(r"\bNCT\d{8}\b", re.I)


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


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _label(trial: Trial) -> str:
    return trial.nct_id or (f"\u201c{trial.title}\u201d" if trial.title else trial.id)


# --- question understanding ----------------------------------------------------------------------

_TITLE_STOP = frozenset("""the a an of for in on with and or to trial study studies treatment patients patient
using new therapeutic target clinical phase versus vs by at from""".split())


def resolve_trials(qa: "TrialQA", question: str, trial: str | None) -> tuple[list[Trial], bool]:
    """The trials a question is about, and whether the question named them."""
    if trial:
        return [qa.trial(trial)], True
    ids = {m.group(0).upper() for m in NCT.finditer(question)}
    named = [t for t in qa.trials if t.nct_id in ids or t.id.upper() in ids]
    if named:
        return named, True
    if ids:
        raise QueryError(f"{', '.join(sorted(ids))} is not in these trial records")
    q_words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9-]{2,}", question)} - _TITLE_STOP
    scored = []
    for t in qa.trials:
        names = [t.title or "", t.acronym or "", t.official_title or "", t.sponsor or ""] + [i.name for i in t.interventions]
        words = {w.lower() for n in names for w in re.findall(r"[A-Za-z][A-Za-z0-9-]{2,}", n)} - _TITLE_STOP
        overlap = q_words & words
        acronym_hit = bool(t.acronym and re.search(rf"\b{re.escape(t.acronym)}\b", question, re.I))
        score = len(overlap) + (3 if acronym_hit else 0)
        if score >= 2 or acronym_hit:
            scored.append((score, t))
    if scored:
        top = max(s for s, _ in scored)
        return [t for s, t in scored if s == top], True
    return list(qa.trials), False


_INTENTS = [
    ("cross_trial", r"\b(which|what|list|any)\s+(trials?|studies)\b|\bhow many trials\b"),
    ("enrollment", r"\b(enrol+(ment|ed|ing)?|how many (participants|patients|subjects|people)|sample size|target (size|number))\b"),
    ("status", r"\b(status|recruiting|still open|open for|completed|terminated|withdrawn|active)\b"),
    ("phase", r"\bphase\b"),
    ("sponsor", r"\b(sponsor\w*|funded|funder|funding|collaborat\w*|who (runs|leads|is running))\b"),
    ("location", r"\b(where|location|site|sites|hospital|country|countries|city|centre|center)\b"),
    ("contact", r"\b(contact|phone|email|e-mail|call|reach)\b"),
    ("identifier", r"\b(identifier|ids?|ctis|eudract|secondary id|org(anization)? study|protocol number|registry number)\b"),
    ("date", r"\b(when|date|start|begin|began|end|ends|finish|complet\w*|last updated?|updated)\b"),
    ("design", r"\b(design|allocation|randomi[sz]ed|masking|blind\w*|open[- ]label|intervention model|single[- ]group|parallel|purpose|arms?)\b"),
    ("dose", r"\b(dose|dosage|dosing|mg/kg|administered|route|infusion|given|how much)\b"),
    ("sex", r"\b(sex|gender|male|female|men|women)\b(?!.*\b(pregnan|breast))"),
    ("healthy_volunteers", r"\bhealthy volunteers?\b"),
]


def detect_intent(question: str) -> str:
    q = question.lower()
    if re.search(r"\b(\d+)[- ]?(year|yr)s?[- ]old\b|\baged? \d+\b|\b(minimum|maximum|min|max|upper|lower)?\s*age\b|\bhow old\b|\byoung\b|\bolder\b", q):
        if not re.search(r"\bwhich trials\b", q):
            return "age"
    for name, pattern in _INTENTS:
        if re.search(pattern, q):
            return name
    return "criteria"


# --- answering -----------------------------------------------------------------------------------

def answer_question(qa: "TrialQA", question: str, trial: str | None = None) -> Answer:
    if not isinstance(question, str) or not question.strip():
        raise QueryError("the question is empty")
    question = question.strip()[:MAX_QUESTION_CHARS]
    try:
        trials, named = resolve_trials(qa, question, trial)
    except QueryError as exc:
        return Answer(f"{exc}.", False, None, [], [], [], "out_of_scope")
    intent = detect_intent(question)
    r = rules()
    q_ents = r.extract(question)
    if intent == "cross_trial" or (len(trials) > 1 and not named):
        return _cross_trial(qa, question, trials, q_ents)
    if len(trials) > 1:
        parts = [_answer_one(qa, question, t, intent, q_ents) for t in trials]
        return _merge(parts, intent)
    return _answer_one(qa, question, trials[0], intent, q_ents)


def _merge(parts: list[Answer], intent: str) -> Answer:
    found = any(p.found for p in parts)
    verdicts = {p.verdict for p in parts if p.verdict}
    return Answer("\n".join(p.text for p in parts), found, verdicts.pop() if len(verdicts) == 1 else (None if not verdicts else "unknown"),
                  [t for p in parts for t in p.trials], [c for p in parts for c in p.citations],
                  [e for p in parts for e in p.entities], intent)


def _answer_one(qa: "TrialQA", question: str, t: Trial, intent: str, q_ents: list[CriterionEntity]) -> Answer:
    patient = _patient_facts(question, q_ents)
    if patient:
        return _patient_answer(qa, question, t, patient)
    handler = {
        "age": _age, "enrollment": _enrollment, "status": _status, "phase": _phase, "sponsor": _sponsor,
        "location": _location, "contact": _contact, "identifier": _identifier, "date": _date,
        "design": _design, "dose": _dose, "sex": _sex, "healthy_volunteers": _healthy,
    }.get(intent)
    if handler:
        ans = handler(t, question)
        if ans is not None:
            ans.intent = intent
            return ans
    return _criteria_answer(qa, question, t, q_ents)


def _not_stated(t: Trial, what: str, intent: str) -> Answer:
    return Answer(f"{_label(t)}: the record does not state {what}.", False, None, [t.id], [], [], intent)


def _age(t: Trial, q: str) -> Answer | None:
    cites: list[Citation] = []
    for key, a in (("min_age", t.min_age), ("max_age", t.max_age)):
        if a is None:
            continue
        if a.source == "structured":
            cites += cite_field(t, key, a.text)
        else:
            c = next((c for c in t.inclusion if c.text == a.text), None)
            if c:
                cites.append(cite(t, c))
    # An age criterion in the text (e.g. "over 18 years old") supports the structured limits.
    for c in t.criteria:
        if any(e.label == "AGE" for e in c.entities) and all(x.text != c.text for x in cites):
            cites.append(cite(t, c))
    want_max = bool(re.search(r"\b(max\w*|upper|oldest|older|limit)\b", q, re.I))
    want_min = bool(re.search(r"\b(min\w*|lower|youngest|young)\b", q, re.I))
    lo = f"{_fmt(t.min_age.value)} {t.min_age.unit}{'' if t.min_age.inclusive else ' (exclusive)'}" if t.min_age else None
    hi = f"{_fmt(t.max_age.value)} {t.max_age.unit}{'' if t.max_age.inclusive else ' (exclusive)'}" if t.max_age else None
    if want_max and not want_min:
        if not hi:
            return Answer(f"{_label(t)}: no maximum age is stated" + (f" (minimum age {lo})." if lo else "."), False, None,
                          [t.id], _unique(cites), [], "age")
        return Answer(f"{_label(t)}: maximum age {hi}.", True, None, [t.id], _unique(cites))
    if want_min and not want_max:
        if not lo:
            return _not_stated(t, "a minimum age", "age")
        return Answer(f"{_label(t)}: minimum age {lo}" + (f"; maximum {hi}." if hi else "; no maximum age stated."), True, None,
                      [t.id], _unique(cites))
    if not lo and not hi:
        return _not_stated(t, "an age limit", "age")
    return Answer(f"{_label(t)}: ages {lo or 'no minimum'} to {hi or 'no maximum stated'}.", True, None, [t.id], _unique(cites))


def _enrollment(t: Trial, q: str) -> Answer:
    if t.enrollment is None:
        return _not_stated(t, "the enrollment", "enrollment")
    kind = {"ESTIMATED": " (anticipated)", "ACTUAL": " (actual)"}.get(t.enrollment_type or "", "")
    return Answer(f"{_label(t)}: enrollment {t.enrollment} participants{kind}.", True, None, [t.id],
                  cite_field(t, "enrollment", str(t.enrollment)))


def _status(t: Trial, q: str) -> Answer:
    if not t.status:
        return _not_stated(t, "the recruitment status", "status")
    nice = t.status.replace("_", " ").lower()
    return Answer(f"{_label(t)}: status {nice} ({t.status}).", True, None, [t.id], cite_field(t, "status", t.status))


def _phase(t: Trial, q: str) -> Answer:
    if not t.phases:
        return _not_stated(t, "a phase", "phase")
    nice = "/".join(p.replace("EARLY_PHASE", "early phase ").replace("PHASE", "phase ") for p in t.phases)
    return Answer(f"{_label(t)}: {nice}.", True, None, [t.id], cite_field(t, "phases", nice))


def _sponsor(t: Trial, q: str) -> Answer:
    if re.search(r"collaborat", q, re.I):
        if not t.collaborators:
            return _not_stated(t, "any collaborator", "sponsor")
        return Answer(f"{_label(t)}: collaborators {', '.join(t.collaborators)} (lead sponsor: {t.sponsor or 'not stated'}).",
                      True, None, [t.id], cite_field(t, "sponsor", t.sponsor or ""))
    if not t.sponsor:
        return _not_stated(t, "the sponsor", "sponsor")
    extra = f"; collaborators: {', '.join(t.collaborators)}" if t.collaborators else ""
    return Answer(f"{_label(t)}: lead sponsor {t.sponsor}{extra}.", True, None, [t.id], cite_field(t, "sponsor", t.sponsor))


def _location(t: Trial, q: str) -> Answer:
    if not t.locations:
        countries = t.design.get("countries")
        if countries:
            return Answer(f"{_label(t)}: countries {countries}.", True, None, [t.id], [])
        return _not_stated(t, "any location", "location")
    locs = "; ".join(l.label() for l in t.locations[:10])
    more = f" (and {len(t.locations) - 10} more)" if len(t.locations) > 10 else ""
    return Answer(f"{_label(t)}: {locs}{more}.", True, None, [t.id], [])


def _contact(t: Trial, q: str) -> Answer:
    if not t.contacts:
        return _not_stated(t, "a contact", "contact")
    seen, parts = set(), []
    for c in t.contacts:
        key = (c.name, c.phone, c.email)
        if key in seen:
            continue
        seen.add(key)
        parts.append(", ".join(x for x in (c.name, c.role and c.role.lower(), c.phone, c.email) if x))
    return Answer(f"{_label(t)}: " + "; ".join(parts) + ".", True, None, [t.id], [])


def _identifier(t: Trial, q: str) -> Answer:
    ids = [f"{i.id} ({i.type or i.source})" for i in t.identifiers]
    if t.nct_id:
        ids.insert(0, f"{t.nct_id} (NCT number)")
    if not ids:
        return _not_stated(t, "any identifier", "identifier")
    return Answer(f"{_label(t)}: identifiers {', '.join(ids)}.", True, None, [t.id], [])


def _date(t: Trial, q: str) -> Answer:
    ql = q.lower()
    options = [("start", "start_date", t.start_date), ("primary completion", "primary_completion_date", t.primary_completion_date),
               ("completion", "completion_date", t.completion_date), ("last update", "last_update", t.last_update)]
    if re.search(r"\b(start|begin|began)\b", ql):
        wanted = options[:1]
    elif re.search(r"\bprimary completion\b", ql):
        wanted = options[1:2]
    elif re.search(r"\b(end|ends|finish|complet\w*)\b", ql):
        wanted = [options[2], options[1]]
    elif re.search(r"\bupdat", ql):
        wanted = options[3:]
    else:
        wanted = options
    stated = [(label, key, v) for label, key, v in wanted if v]
    if not stated:
        return _not_stated(t, f"a {wanted[0][0]} date", "date")
    text = "; ".join(f"{label} date {v}" for label, _, v in stated[:2] if True)
    cites = [c for label, key, v in stated[:2] for c in cite_field(t, key, v)]
    return Answer(f"{_label(t)}: {text}.", True, None, [t.id], cites)


def _design(t: Trial, q: str) -> Answer:
    if not t.design and not t.study_type:
        return _not_stated(t, "the design", "design")
    parts = [f"{k.replace('_', ' ')}: {v}" for k, v in t.design.items() if k not in ("description", "arms", "countries")]
    if t.study_type:
        parts.insert(0, f"study type: {t.study_type}")
    desc = t.design.get("description")
    text = f"{_label(t)}: " + "; ".join(parts) + (f". {desc[:300]}" if desc else "")
    return Answer(text, True, None, [t.id], [])


def _dose(t: Trial, q: str) -> Answer | None:
    doses = []
    r = rules()
    for iv in t.interventions:
        for e in r.extract(f"{iv.name}. {iv.description or ''}"):
            if e.label == "DOSE":
                doses.append((iv, e))
    if not doses:
        return None  # the criteria may still state a dose
    iv, e = doses[0]
    extra = ", ".join(x for x in (e.route, e.frequency) if x)
    return Answer(f"{_label(t)}: {iv.name}: {_fmt(e.value)} {e.unit}" + (f" ({extra})" if extra else "") +
                  (f". {iv.description}" if iv.description else "."), True, None, [t.id], [], [e])


def _sex(t: Trial, q: str) -> Answer | None:
    if re.search(r"pregnan|breast", q, re.I):
        return None
    if not t.sex:
        return _not_stated(t, "which sexes are eligible", "sex")
    nice = {"ALL": "all sexes", "FEMALE": "female participants only", "MALE": "male participants only"}.get(t.sex, t.sex)
    return Answer(f"{_label(t)}: {nice}.", True, None, [t.id], cite_field(t, "sex", t.sex))


def _healthy(t: Trial, q: str) -> Answer:
    if t.healthy_volunteers is None:
        return _not_stated(t, "whether healthy volunteers are accepted", "healthy_volunteers")
    verdict = "yes" if t.healthy_volunteers else "no"
    return Answer(f"{_label(t)}: healthy volunteers {'are' if t.healthy_volunteers else 'are not'} accepted.", True, verdict,
                  [t.id], cite_field(t, "healthy_volunteers", verdict))


# --- criteria questions --------------------------------------------------------------------------

_KIND_WORDS = [
    ("LAB", None),
    ("TIME_WINDOW", r"\b(days?|weeks?|months?|hours?|years?|how long|how soon|time|window|onset|since|after|before|within)\b"),
    ("PERCENT", r"%|\bpercent\w*\b|\bbsa\b|\bbody surface\b|\bdetach\w*\b|\bejection fraction\b"),
    ("DOSE", r"\bdose\b|\bmg\b"),
]


def _query_targets(question: str, q_ents: list[CriterionEntity]) -> tuple[set[str], set[str], str | None]:
    r = rules()
    concepts = {e.concept for e in q_ents if e.label == "CONDITION"}
    analytes = {name for _, _, name in r.analyte_gaz.find(question)}
    kind = None
    if analytes:
        kind = "LAB" if not (analytes & {"body surface area", "ejection fraction"}) else "PERCENT"
    for k, pattern in _KIND_WORDS[1:]:
        if kind is None and re.search(pattern, question, re.I):
            kind = k
    return concepts, analytes, kind


def _criteria_answer(qa: "TrialQA", question: str, t: Trial, q_ents: list[CriterionEntity]) -> Answer:
    concepts, analytes, kind = _query_targets(question, q_ents)
    asks_polarity = YES_NO.match(question) and re.search(
        r"\b(exclu\w*|inclu\w*|allowed|eligible|enter|enrol\w*|participate|join|criteri\w*|accept\w*)\b", question, re.I)
    anchor = _question_anchor(question) if kind == "TIME_WINDOW" else None
    # Criteria whose entities match what the question names.
    matches: list[tuple[Criterion, list[CriterionEntity]]] = []
    for c in t.criteria:
        hit = [e for e in c.entities if (e.label == "CONDITION" and e.concept in concepts and e.concept not in ("women", "men", "adults"))
               or (e.analyte and e.analyte in analytes)
               or (kind and e.label == kind and not analytes and e.label != "CONDITION"
                   and (anchor is None or e.anchor == anchor))]
        if hit:
            matches.append((c, hit))
    if kind == "TIME_WINDOW" and concepts:
        # "How many days after onset?": prefer criteria that have both the window and the concept.
        both = [(c, h) for c, h in matches if any(e.label == "TIME_WINDOW" for e in c.entities)]
        matches = both or matches
    if not matches:
        hits = qa.retriever.search(question, k=3, trial=t.id)
        what = " / ".join(sorted(concepts | analytes)) or "this"
        if concepts or analytes or kind:
            return Answer(f"{_label(t)}: the record does not state a criterion about {what}.", False,
                          "unknown" if asks_polarity else None, [t.id], [], [], "criteria")
        if not hits:
            return Answer(f"{_label(t)}: nothing in the record answers this.", False, None, [t.id], [], [], "descriptive")
        return Answer(f"{_label(t)}: the closest passages:\n" + "\n".join(f"- {h.text}" for h in hits), True, None,
                      [t.id], [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in hits], [], "descriptive")

    lines, cites, ents = [], [], []
    verdict = None
    for c, hit in matches[:4]:
        cites.append(cite(t, c))
        ents.extend(hit)
        neg = all(e.negated for e in hit if e.label == "CONDITION") and any(e.label == "CONDITION" for e in hit)
        role = _role(c, neg)
        values = [_describe(e) for e in hit if e.label != "CONDITION"]
        lines.append(f"{role}: \u201c{c.text}\u201d" + (f" \u2192 {'; '.join(values)}" if values else ""))
    if asks_polarity:
        roles = [_role(c, all(e.negated for e in h if e.label == "CONDITION") and any(e.label == "CONDITION" for e in h))
                 for c, h in matches]
        asks_excl = re.search(r"\bexclu\w*\b|\bnot (allowed|eligible)\b", question, re.I)
        asks_incl = re.search(r"\binclu\w*\b|\brequire\w*\b|\bmust\b", question, re.I)
        is_excl = any(r_ == "Exclusion" for r_ in roles)
        is_incl = any(r_ == "Inclusion" for r_ in roles)
        if asks_excl and not asks_incl:
            verdict = "yes" if is_excl else "no"
        elif asks_incl and not asks_excl:
            verdict = "yes" if is_incl else "no"
        elif re.search(r"\b(can|may|could|eligible|allowed|enter|participate|join)\b", question, re.I):
            verdict = "no" if is_excl else "yes"
    prefix = {"yes": "Yes. ", "no": "No. "}.get(verdict or "", "")
    return Answer(f"{prefix}{_label(t)}:\n" + "\n".join(f"- {l}" for l in lines), True, verdict, [t.id], cites, ents, "criteria")


YES_NO = re.compile(r"^\s*(?:so\s+|and\s+)?(is|are|can|could|does|do|did|may|might|would|will|should|has|have|was|were|must)\b", re.I)


def _question_anchor(question: str) -> str | None:
    """The anchor event a time question names ("after onset" -> symptom onset)."""
    r = rules()
    m = re.search(r"\b(after|before|since|prior to|following|from|of)\s+(.{0,60})", question, re.I)
    if not m:
        return None
    return r.find_anchor(m.group(2))[0]


def _role(c: Criterion, negated: bool) -> str:
    """What a criterion does to a patient who has the thing it names."""
    if c.section == "exclusion":
        return "Inclusion" if negated else "Exclusion"
    return "Exclusion" if negated else "Inclusion"


def _describe(e: CriterionEntity) -> str:
    what = e.analyte or (e.anchor and f"after/before {e.anchor}") or e.label.lower()
    val = _fmt(e.value) + (f"\u2013{_fmt(e.value2)}" if e.value2 is not None else "")
    s = f"{what} {e.op} {val} {e.unit or ''}".strip()
    if e.label == "LAB" and e.norm_unit and e.norm_unit != e.unit and e.norm_value is not None:
        s += f" ({_fmt(e.norm_value)} {'x ' if e.norm_unit.startswith('10^') else ''}{e.norm_unit})"
    if e.label == "TIME_WINDOW" and e.anchor:
        s = f"{e.op} {val} {e.unit} {e.direction or ''} {e.anchor_text or e.anchor}".replace("  ", " ")
    return s


# --- patient facts -------------------------------------------------------------------------------

def _patient_facts(question: str, q_ents: list[CriterionEntity]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    m = re.search(r"\b(\d{1,3})[- ]?(?:year|yr)s?[- ]old\b|\baged (\d{1,3})\b|\b(\d{1,3}) years of age\b", question, re.I)
    if m:
        facts["age"] = float(next(g for g in m.groups() if g))
    for e in q_ents:
        if e.label == "LAB" and e.analyte and e.value is not None:
            facts.setdefault("labs", []).append(e)
        elif e.label == "PERCENT" and e.value is not None:
            facts.setdefault("percents", []).append(e)
        elif e.label == "TIME_WINDOW" and e.value is not None and e.anchor:
            facts.setdefault("windows", []).append(e)
    return facts


def _patient_answer(qa: "TrialQA", question: str, t: Trial, facts: dict[str, Any]) -> Answer:
    results = _evaluate(t, facts)
    if not results:
        return Answer(f"{_label(t)}: the record states no criterion on these facts.", False, "unknown", [t.id], [], [], "patient")
    failing = [r for r in results if r.status == "not_met"]
    unknown = [r for r in results if r.status == "unknown"]
    asks_excluded = re.search(r"\bexclu\w*\b|\bineligible\b", question, re.I)
    if failing:
        verdict = "yes" if asks_excluded else "no"
    elif unknown:
        verdict = "unknown"
    else:
        verdict = "no" if asks_excluded else "yes"
    head = ("Not eligible" if failing else "Undetermined" if unknown else "Meets the stated criteria")
    text = f"{head} for {_label(t)}:\n" + "\n".join(f"- {r.status.replace('_', ' ')}: {r.reason}" for r in results)
    return Answer(text, True, verdict, [t.id], _unique([r.citation for r in results]), [], "patient")


def _unique(cites: list[Citation]) -> list[Citation]:
    seen, out = set(), []
    for c in cites:
        key = (c.trial_id, c.start, c.end)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _evaluate(t: Trial, facts: dict[str, Any]) -> list[CriterionResult]:
    out: list[CriterionResult] = []
    age = facts.get("age")
    if age is not None:
        out.extend(_age_results(t, age))
    for fact in facts.get("labs", []):
        out.extend(_threshold_results(t, "LAB", fact, lambda e, f=fact: e.analyte == f.analyte))
    for fact in facts.get("percents", []):
        out.extend(_threshold_results(t, "PERCENT", fact, lambda e, f=fact: (e.analyte or "") == (f.analyte or e.analyte or "")))
    for fact in facts.get("windows", []):
        out.extend(_threshold_results(t, "TIME_WINDOW", fact, lambda e, f=fact: e.anchor == f.anchor or (e.anchor and f.anchor and e.anchor in f.anchor)))
    return out


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
        reason = f"age {_fmt(age)} vs {which} age {_fmt(a.value)} {a.unit}{' (inclusive)' if a.inclusive else ' (exclusive)'}"
        res.append(CriterionResult(f"{which} age: {a.text}", "inclusion", "met" if ok else "not_met", reason, citation))
    for c in t.criteria:
        ages = [e for e in c.entities if e.label == "AGE" and not e.negated and e.norm_value is not None]
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
        met = inside if c.section == "inclusion" else not inside
        bounds = "; ".join(e.text for e in ages)
        res.append(CriterionResult(c.text, c.section, "met" if met else "not_met",
                                   f"age {_fmt(age)} vs \u201c{bounds}\u201d ({c.section})", cite(t, c)))
    return res


def _threshold_results(t: Trial, label: str, fact: CriterionEntity, same) -> list[CriterionResult]:
    res = []
    for c in t.criteria:
        for e in c.entities:
            if e.label != label or not same(e) or e.negated:
                continue
            x = _comparable(fact, e)
            if x is None:
                res.append(CriterionResult(c.text, c.section, "unknown", f"cannot compare {fact.text} with \u201c{e.text}\u201d (units)", cite(t, c)))
                continue
            inside = e.admits(x)
            if inside is None:
                continue
            # An inclusion threshold must be met; an exclusion threshold must not be.
            met = inside if c.section == "inclusion" else not inside
            reason = f"{fact.text.strip()} vs \u201c{e.text}\u201d ({c.section})"
            res.append(CriterionResult(c.text, c.section, "met" if met else "not_met", reason, cite(t, c)))
    return res


def _comparable(fact: CriterionEntity, e: CriterionEntity) -> float | None:
    """The fact's value in the criterion's normalized unit, or None when units cannot be matched."""
    if fact.norm_unit == e.norm_unit and fact.norm_value is not None:
        return fact.norm_value
    if fact.unit == e.unit and fact.value is not None:
        return fact.value if e.norm_unit == e.unit else None
    return None


def check_eligibility(qa: "TrialQA", patient: dict, t: Trial) -> EligibilityReport:
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
        ents = [e for e in r.extract(str(raw).replace("=", " ")) if e.label == "LAB" and e.analyte]
        if not ents:
            raise QueryError(f"cannot read lab value {raw!r}; write it as NAME=VALUE UNIT, e.g. PMN=1200/mm3")
        facts.setdefault("labs", []).extend(ents)
    if patient.get("days_since_onset") is not None:
        e = CriterionEntity("TIME_WINDOW", f"{patient['days_since_onset']} days after onset", 0, 0, "=",
                            float(patient["days_since_onset"]), None, "days", float(patient["days_since_onset"]), None, "days",
                            anchor="symptom onset", direction="after")
        facts["windows"] = [e]
    if patient.get("bsa_percent") is not None:
        e = CriterionEntity("PERCENT", f"{patient['bsa_percent']}% body surface area", 0, 0, "=", float(patient["bsa_percent"]),
                            None, "%", float(patient["bsa_percent"]), None, "%", analyte="body surface area")
        facts["percents"] = [e]
    results = _evaluate(t, facts)
    results += _condition_results(t, patient)
    if patient.get("sex") and t.sex in ("MALE", "FEMALE"):
        ok = str(patient["sex"]).upper().startswith(t.sex[0])
        results.append(CriterionResult(f"sex: {t.sex}", "inclusion", "met" if ok else "not_met",
                                       f"patient {patient['sex']} vs {t.sex.lower()} only",
                                       (cite_field(t, "sex", t.sex) or [Citation(t.id, "sex", t.sex, 0, 0)])[0]))
    covered = {x.criterion for x in results}
    for c in t.criteria:
        if c.text not in covered:
            results.append(CriterionResult(c.text, c.section, "unknown", "no patient fact given for this criterion", cite(t, c)))
    verdict = ("not eligible" if any(x.status == "not_met" for x in results)
               else "eligible" if results and all(x.status == "met" for x in results) else "undetermined")
    return EligibilityReport(t.id, verdict, results)


def _condition_results(t: Trial, patient: dict) -> list[CriterionResult]:
    r = rules()
    present = {r.concept_lookup(x) or str(x).lower() for x in patient.get("conditions", []) or []}
    absent = {r.concept_lookup(x) or str(x).lower() for x in patient.get("absent", []) or []}
    if patient.get("pregnant") is True:
        present.add("pregnancy")
    elif patient.get("pregnant") is False:
        absent.add("pregnancy")
    res = []
    for c in t.criteria:
        names = {e.concept for e in c.entities if e.label == "CONDITION" and not e.negated and not e.hedged}
        negs = {e.concept for e in c.entities if e.label == "CONDITION" and e.negated}
        if names & present:
            status = "not_met" if c.section == "exclusion" else "met"
            res.append(CriterionResult(c.text, c.section, status, f"patient has {', '.join(sorted(names & present))}", cite(t, c)))
        elif names & absent and c.section == "exclusion":
            res.append(CriterionResult(c.text, c.section, "met", f"patient does not have {', '.join(sorted(names & absent))}", cite(t, c)))
        elif negs & present:
            status = "not_met" if c.section == "inclusion" else "met"
            res.append(CriterionResult(c.text, c.section, status, f"patient has {', '.join(sorted(negs & present))}", cite(t, c)))
    return res


def _cross_trial(qa: "TrialQA", question: str, trials: list[Trial], q_ents: list[CriterionEntity]) -> Answer:
    concepts, analytes, kind = _query_targets(question, q_ents)
    concepts -= {"women", "men", "adults"} if concepts - {"women", "men", "adults"} else set()
    want_excl = re.search(r"\bexclu\w*\b", question, re.I)
    want_incl = re.search(r"\b(inclu\w*|require\w*|accept\w*|enrol\w*)\b", question, re.I)
    matched: list[tuple[Trial, Criterion]] = []
    for t in trials:
        # Exclusion-section criteria first: "Pregnant women" states an exclusion more plainly than
        # an inclusion requiring a negative pregnancy test.
        ordered = sorted(t.criteria, key=lambda c: 0 if (c.section == "exclusion") == bool(want_excl) else 1)
        for c in ordered:
            names = {e.concept for e in c.entities if e.label == "CONDITION" and not e.hedged}
            labs = {e.analyte for e in c.entities if e.analyte}
            if not ((concepts and names & concepts) or (analytes and labs & analytes)):
                continue
            neg = any(e.negated for e in c.entities if e.label == "CONDITION" and e.concept in concepts)
            role = _role(c, neg)
            if want_excl and role != "Exclusion":
                continue
            if want_incl and not want_excl and role != "Inclusion":
                continue
            matched.append((t, c))
            break
    if not concepts and not analytes:
        hits = qa.retriever.search(question, k=5)
        return Answer("Closest passages:\n" + "\n".join(f"- {h.trial_id}: {h.text}" for h in hits), bool(hits), None,
                      sorted({h.trial_id for h in hits}), [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in hits],
                      [], "cross_trial")
    if not matched:
        return Answer(f"No trial in these records has such a criterion ({', '.join(sorted(concepts | analytes))}).", False, None,
                      [], [], [], "cross_trial")
    lines = [f"- {_label(t)}{'' if _label(t) == t.id else f' ({t.id})'}: \u201c{c.text}\u201d" for t, c in matched]
    return Answer(f"{len(matched)} trial(s):\n" + "\n".join(lines), True, None, [t.id for t, _ in matched],
                  [cite(t, c) for t, c in matched], [], "cross_trial")

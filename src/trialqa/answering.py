"""Answer composition: question understanding, values, verdicts, abstention, citations; and the
eligibility check of a described patient against a trial's criteria.

A question is analysed once (``analyse``): the trials it is about, whether it is a yes/no
question, the criteria targets it names (concepts, analytes, a kind of threshold, an anchor
event), the patient facts it states, and the record field it asks about. Precedence: patient
facts, then criteria targets, then record fields, then passages. Answers come from the selected
trials' structured fields and extracted entities; nothing is borrowed across trials, and a fact
the record does not state gives ``found=False``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from . import lexicons
from .errors import QueryError
from .extraction import CriterionEntity, rules, unit_factor
from .records import Criterion, Trial

if TYPE_CHECKING:
    from .qa import TrialQA

MAX_QUESTION_CHARS = 2000
NCT = re.compile(r"\bNCT\d{8}\b", re.I)
POPULATION = {"women", "men", "adults", "children", "elderly", "healthy volunteers", "childbearing potential"}
GENERIC_WORDS = frozenset("""summary record protocol trial study studies quoted reported listed mentioned described according
stated states state say says said observed patient patients participant participants subject subjects what which who whom
how when where why does do did is are was were be been the a an of for to in on at by with and or this that these those
there their it its as from into than any all some give list tell me please about per long soon many much must should
required require requirement allowed time rationale purpose reason aim goal objective happens happen define defined definition
explain describe background hypothesis kind type history exclusionary take part already lead""".split())


# --- results -------------------------------------------------------------------------------------

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


def _dedupe(items: list, key) -> list:
    """``items`` in order, without those whose ``key`` was seen before."""
    seen, out = set(), []
    for x in items:
        k = key(x)
        if k not in seen:
            seen.add(k)
            out.append(x)
    return out


def _unique(cites: list[Citation]) -> list[Citation]:
    return _dedupe(cites, lambda c: (c.trial_id, c.start, c.end))


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _label(trial: Trial) -> str:
    return trial.nct_id or (f"\u201c{trial.title}\u201d" if trial.title else trial.id)


# --- question analysis ---------------------------------------------------------------------------

YES_NO = re.compile(r"(?:^|[,;:]\s*|\?\s*)(?:so\s+|and\s+|but\s+)?(is|are|can|could|does|do|did|may|might|would|will|should|has|have|was|were|must)\s+(?!you\b)", re.I)
ASKS_EXCL = re.compile(r"\bexclu\w*\b|\bineligible\b|\bnot (?:be )?(?:allowed|eligible|permitted)\b|\bdisqualif\w*\b|\brule[sd]? out\b"
                       r"|\b(?:would|will|does|do|can) ?(?:not|n't) (?:accept|admit|take|enrol+|include|allow|permit)\b"
                       r"|\breject\w*\b|\brefuse\w*\b", re.I)
ASKS_ALLOW = re.compile(r"\b(?:allow\w*|permit\w*|accept\w*|admit\w*|eligible)\b", re.I)
# An exclusion that still admits some patients: "unless treated and stable", "are allowed if ...".
ALLOWANCE = re.compile(r"(?<!\bnot )(?<!\bnever )(?<!n't )(?<!\bnot be )"
                       r"\b(?:allowed|permitted|eligible|unless|except|provided|as long as|if (?:they|stable|treated|asymptomatic))\b",
                       re.I)
ASKS_INCL = re.compile(r"\binclu\w*\b|\brequire\w*\b|\bmust\b|\bneed(?:ed|s)?\b|\bmandatory\b|\bhave to\b|\bcriterion for entry\b", re.I)
PATIENT = re.compile(
    r"\b(?:my|a|an|the|this|our|her|his)\s+(?:\d{1,3}[- ]year[- ]old\s+)?(?:patient|woman|man|girl|boy|child|teenager|adolescent|infant|baby|toddler|adult|subject|participant|person|individual|lady|gentleman|mother|father)\b"
    r"|\bsomeone\b|\bsomebody\b|\b(?:he|she)\s+(?:is|has|had|was|takes|took|developed|arrived|turned|completed|received)\b"
    r"|\b\d{1,3}[- ]?(?:year|yr)s?[- ]old\b|\b(?:patient|woman|man)\s+(?:who|with|is|has|had|was|takes|taking|arrived|developed|turned)\b", re.I)
AGO = re.compile(r"\b(\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty)\s+"
                 r"(days?|weeks?|months?|years?|hours?)\s+(?:ago|earlier|before|previously)\b|\b(?:since|for(?: the (?:past|last))?)\s+"
                 r"(\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten)\s+(days?|weeks?|months?|years?|hours?)\b", re.I)
HAVE = re.compile(r"\b(?:has|had|have|having|with|(?:who|she|he) (?:is|was)|currently|harbou?rs?|harbou?ring|carries|carrying|takes|taking|took|on|receives|receiving|received|developed|develops|arrived in|"
                  r"admitted with|diagnosed with|suffers? from|suffering from|treated for|stopped|finished|completed|"
                  r"underwent|recipient|history of)\b", re.I)
ONSET_VERB = re.compile(r"\b(?:started|start|began|begun|begin|appeared|arose|onset|first (?:signs?|symptoms?))\b", re.I)
TRIAL_FOR = re.compile(r"\b(?:trial|study)\s+(?:for|in|of|on|about|treating)\s+(?:(?:patients|people|adults|children)\s+with\s+|the\s+)?$",
                       re.I)
TRIAL_REF = re.compile(r"\b(?:the|this|that)\s+[^.?,;]{0,70}?\b(?:trial|study)\b", re.I)
DAYS_PER = {"hour": 1 / 24, "day": 1.0, "week": 7.0, "month": 30.4375, "year": 365.25}


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
    refs: list[tuple[int, int]] = field(default_factory=list)  # spans naming a trial (_trial_ref_spans)


def analyse(question: str) -> Question:
    r = rules()
    ents = r.extract(question)
    conds = [e for e in ents if e.label == "CONDITION"]
    # "brain metastases" asks about brain metastases, not about any metastasis it contains.
    conds = [e for e in conds if not any(_within(e, o) for o in conds)]
    concepts = {e.concept for e in conds} - POPULATION
    refs = _trial_ref_spans(question)
    outside = {e.concept for e in conds if not any(a <= e.start < b for a, b in refs)} - POPULATION
    if outside:
        concepts = outside  # "... enter the indomethacin melanoma trial?": melanoma names the trial
    analytes = {name for _, _, name in r.analyte_gaz.find(question)}
    kind = None
    if analytes:
        kind = "PERCENT" if analytes & {"body surface area", "ejection fraction"} else "LAB"
    elif re.search(r"%|\bpercent\w*\b", question, re.I):
        kind = "PERCENT"
    elif re.search(r"\b(how long|how many (days|weeks|months|hours|years)|how soon|how recent\w*|time window|within (how|what)|what (period|time frame|timeframe|interval))\b", question, re.I) or \
            any(e.label == "TIME_WINDOW" for e in ents):
        kind = "TIME_WINDOW"
    anchor = _question_anchor(question) if kind == "TIME_WINDOW" else None
    wh = re.match(r"\s*(what|which|who|when|where|how|why)\b", question, re.I)
    # "... allowed?" asks for a verdict unless it asks for a value ("What is the maximum bilirubin allowed?").
    yes_no = not wh and (bool(YES_NO.search(question)) or question.rstrip().endswith(("allowed?", "eligible?", "excluded?")))
    q = Question(question, yes_no,
                 bool(ASKS_EXCL.search(question)), bool(ASKS_INCL.search(question)), ents, concepts, analytes, kind,
                 anchor, {}, refs)
    q.patient = _patient_facts(q)
    return q


def _question_anchor(question: str) -> str | None:
    """The anchor event a time question names ("after onset" -> symptom onset)."""
    m = re.search(r"\b(after|before|since|prior to|following|from|of|until)\s+(.{0,60})", question, re.I)
    return rules().find_anchor(m.group(2))[0] if m else None


@lru_cache(maxsize=1)
def _qualifier_pairs() -> list[tuple[re.Pattern, re.Pattern]]:
    data = lexicons.load("qualifiers")
    out = []
    for p in data["pairs"]:
        lexicons.require(p, ("criterion", "contradicted_by"), "qualifiers.json")
        alt = lambda words: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b", re.I)
        out.append((alt(p["criterion"]), alt(p["contradicted_by"])))
    return out


def _patient_facts(q: Question) -> dict[str, Any]:
    """Facts about a patient stated in the question: age, lab values, percentages, elapsed times,
    and conditions the patient has (with their qualifiers) or does not have."""
    text = q.text
    facts: dict[str, Any] = {}
    m = re.search(r"\b(\d{1,3})[- ]?(?:year|yr)s?[- ]old\b|\baged (\d{1,3})\b|\b(\d{1,3}) years of age\b|\bturned (\d{1,3})\b"
                  r"|\b(?:is|am|are) (\d{1,3}) years(?: old)?\b", text, re.I)
    if m:
        facts["age"] = float(next(g for g in m.groups() if g))
    for e in q.entities:
        # A stated value ("at most 8%") is the patient's value: compare it as such.
        if e.label == "LAB" and e.analyte and e.value is not None and (e.op in ("=", None) or PATIENT.search(text)):
            facts.setdefault("labs", []).append(e)
        elif e.label == "PERCENT" and e.value is not None and (e.op in ("=", None) or PATIENT.search(text)):
            facts.setdefault("percents", []).append(e)
        elif e.label == "DOSE" and e.value is not None and e.op in ("=", None) and PATIENT.search(text):
            facts.setdefault("doses", []).append(e)
    framed = bool(PATIENT.search(text))
    for m in AGO.finditer(text):
        amount, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        n = rules().number(amount) if amount.lower() not in ("a", "an") else 1.0
        if n is None:
            continue
        days = n * DAYS_PER[unit.lower().rstrip("s")]
        clause = _clause(text, m.start(), m.end())
        near = {e.concept for e in q.entities if e.label == "CONDITION" and e.concept not in POPULATION
                and clause[0] <= e.start < clause[1]}
        direct = set(near)
        near |= {p for c in list(near) for p in ancestors(c)}
        window = text[clause[0]:clause[1]]
        qualifiers = {i for i, (_, contra) in enumerate(_qualifier_pairs()) if contra.search(window)}
        anchor = rules().find_anchor(window)[0]
        if anchor is None and ONSET_VERB.search(window):
            anchor = "symptom onset"  # "the reaction started 5 days ago"
        facts.setdefault("times", []).append({"days": days, "text": m.group(0), "concepts": near, "direct": direct,
                                              "qualifiers": qualifiers, "anchor": anchor})
    for m in re.finditer(r"\b(?:admitted|included|enrolled|hospitali[sz]ed|seen|treated|randomi[sz]ed)\s+(?:(?:exactly|only|about|approximately|around|just|some|on day)\s+)?(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen)\s+(days?|weeks?|hours?)\s+(after|from|since)\b", text, re.I):
        n = rules().number(m.group(1))
        if n is not None:
            tail = text[m.end():m.end() + 60]
            facts.setdefault("times", []).append({
                "days": n * DAYS_PER[m.group(2).lower().rstrip("s")], "text": m.group(0),
                "concepts": {rules().concept_lookup(m.group(0).split()[0]) or "hospitalization"},
                "anchor": rules().find_anchor(tail)[0] or "symptom onset"})
    if framed and not re.match(r"\s*(how|what|which|when|where|why|who)\b", text, re.I):
        has, lacks = {}, set()
        trial_refs = [m.span() for m in TRIAL_REF.finditer(text)]
        for e in q.entities:
            if e.label != "CONDITION" or e.concept in POPULATION:
                continue
            if any(a <= e.start and e.end <= b for a, b in trial_refs):
                continue  # "the micellar paclitaxel psoriasis trial" names the trial, not the patient
            if not HAVE.search(text[max(0, e.start - 70):e.start]) and not re.match(r"\s*(?:positive|\+)", text[e.end:e.end + 12], re.I):
                continue
            clause = _clause(text, e.start, e.end)
            window = text[clause[0]:clause[1]]
            if e.negated:
                lacks.add(e.concept)
            else:
                has.setdefault(e.concept, set()).update(
                    i for i, (_, contra) in enumerate(_qualifier_pairs()) if contra.search(window))
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
    aspect = re.search(r"\bas far as (?:the )?(\w+)|\b(?:meet|meets|satisfy|fulfil+) the (\w+)(?: \w+)? (?:criterion|requirement|limit)", text, re.I)
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


EXCEPTION_CLAUSE = re.compile(r"(?:\bexcept(?: for)?\b|\bother than\b|\bexcluding\b|\bunless\b|\bwith the exception of\b|\bapart from\b|"
                              r"\bthough\b|\bhowever\b|\bbut not\b)[^.;]*|\([^()]*\b(?:allowed|permitted|acceptable|eligible|except)\b[^()]*\)"
                              r"|[^.;()]*\b(?:is|are|will be|would be)\s+(?:allowed|permitted|acceptable|eligible|an exception)\b"
                              r"|[^.;()]*\b(?:will|would|shall) not be (?:a )?(?:reason|grounds?) (?:to|for) exclu\w*"
                              r"|[^.;()]*\b(?:will|would|shall|are|is) not (?:be )?excluded\b", re.I)


def _excepted(c: Criterion, phrases: list[str]) -> bool:
    """Whether the patient's condition, as they name it, is what the criterion makes an exception for."""
    low = c.text.lower()
    spans = [m.span() for m in EXCEPTION_CLAUSE.finditer(c.text)]
    for ph in phrases:
        p = ph.lower().strip()
        if len(p) < 4:
            continue
        for m in re.finditer(re.escape(p), low):
            if any(a <= m.start() and m.end() <= b for a, b in spans):
                return True
    return False


@lru_cache(maxsize=1)
def _parents() -> dict[str, list[str]]:
    data = lexicons.load("concept_parents")
    known = set(rules().concepts)
    for child, parents in data["parents"].items():
        for name in [child, *parents]:
            if name not in known:
                raise lexicons.ConfigError(f"concept_parents.json: {name!r} is not a concept in concepts.json")
    return data["parents"]


def ancestors(concept: str) -> set[str]:
    out, todo = set(), [concept]
    while todo:
        for p in _parents().get(todo.pop(), []):
            if p not in out:
                out.add(p)
                todo.append(p)
    return out


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    left = max(text.rfind(sep, 0, start) for sep in (".", ";", "?", ",", " and ", " but ")) + 1
    rights = [i for i in (text.find(sep, end) for sep in (".", ";", "?", ",", " and ", " but ")) if i >= 0]
    return max(left, 0), min(rights) if rights else len(text)


# --- trials --------------------------------------------------------------------------------------

_TITLE_STOP = frozenset("""the a an of for in on with and or to trial study studies treatment patients patient
using new therapeutic target clinical phase versus vs by at from""".split())


def resolve_trials(qa: "TrialQA", question: str, trial: str | None, q: Question | None = None) -> tuple[list[Trial], bool]:
    """The trials a question is about, and whether the question named them (``q``: the question
    already analysed, to reuse its entities)."""
    if trial:
        return [qa.trial(trial)], True
    ids = {m.group(0).upper() for m in NCT.finditer(question)}
    named = [t for t in qa.trials if t.nct_id in ids or t.id.upper() in ids]
    if named:
        return named, True
    if ids:
        raise QueryError(f"{', '.join(sorted(ids))} is not in these trial records")
    # A condition the question asks about is not a trial's name ("Which trials exclude interstitial
    # lung disease?" over lung-cancer trials), unless it is part of a reference to a trial ("the
    # indomethacin melanoma trial", "the MSC trial for Lyell syndrome").
    refs = q.refs if q is not None else _trial_ref_spans(question)
    named_text = question
    for e in (q.entities if q is not None else rules().extract(question)):
        if e.label == "CONDITION" and e.concept_type == "condition" and not any(a <= e.start < b for a, b in refs) \
                and not TRIAL_FOR.search(question, 0, e.start):
            named_text = named_text[:e.start] + " " * (e.end - e.start) + named_text[e.end:]
    q_words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9-]{2,}", named_text)} - _TITLE_STOP
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


# --- entry point ---------------------------------------------------------------------------------

def answer_question(qa: "TrialQA", question: str, trial: str | None = None) -> Answer:
    if not isinstance(question, str) or not question.strip():
        raise QueryError("the question is empty")
    question = question.strip()[:MAX_QUESTION_CHARS]
    q = analyse(question)
    try:
        trials, named = resolve_trials(qa, question, trial, q)
    except QueryError as exc:
        return Answer(f"{exc}.", False, None, [], [], [], "out_of_scope")
    if re.search(r"\b(which|what|list|any|how many)\s+(?:of (?:the|these|those|our)\s+)?(trials?|studies)\b", question, re.I) or (len(trials) > 1 and not named):
        return _cross_trial(qa, q, trials)
    parts = [_answer_one(qa, q, t) for t in trials]
    return parts[0] if len(parts) == 1 else _merge(parts)


def _merge(parts: list[Answer]) -> Answer:
    verdicts = {p.verdict for p in parts if p.verdict}
    return Answer("\n".join(p.text for p in parts), any(p.found for p in parts),
                  verdicts.pop() if len(verdicts) == 1 else (None if not verdicts else "unknown"),
                  [t for p in parts for t in p.trials], [c for p in parts for c in p.citations],
                  [e for p in parts for e in p.entities], parts[0].intent)


def _answer_one(qa: "TrialQA", q: Question, t: Trial) -> Answer:
    if q.patient and (set(q.patient) - {"lacks"}):
        ans = _patient_answer(q, t)
        if ans is not None:
            return ans
    fieldname = detect_field(q)
    strong = fieldname in STRONG_FIELDS or bool(fieldname in STRONG_FORMS and re.search(STRONG_FORMS[fieldname], q.text, re.I))
    if DESCRIPTIVE.search(q.text):
        ans = _passages(qa, q, t, quiet=True, prose_first=True)
        if ans is not None:
            return ans
    if fieldname and (strong or not (q.concepts or q.analytes or q.kind)):
        ans = FIELD_HANDLERS[fieldname](t, q)
        if ans is not None:
            ans.intent = fieldname
            return ans
    if q.kind == "TIME_WINDOW" and not (q.concepts or q.analytes or q.anchor):
        ans = _passages(qa, q, t, quiet=True)
        if ans is not None:
            return ans
    listing = LISTING.search(q.text)
    if listing:
        return _list_criteria(t, listing.group(2).lower())
    if q.concepts or q.analytes or q.kind:
        ans = _criteria_answer(qa, q, t)
        if ans is not None:
            return ans
    if fieldname:
        ans = FIELD_HANDLERS[fieldname](t, q)
        if ans is not None:
            ans.intent = fieldname
            return ans
    return _passages(qa, q, t)


TEST_NOUN = re.compile(r"\s*\b(?:test|tests|testing|screening|serology|assay)\b", re.I)
LISTING = re.compile(r"\b(list|what are|show|give)\b.*\b(inclusion|exclusion|eligibility)\s+criteria\b", re.I)
DESCRIPTIVE = re.compile(r"\b(summary|rationale|background|hypothesis|why could|why would|why does|why is|explain|describe|"
                         r"according to|what happens|define|definition|defined)\b", re.I)


# --- record fields -------------------------------------------------------------------------------

FIELD_PATTERNS = [
    ("why_stopped", r"\bwhy\b.*\b(stopp\w*|terminat\w*|withdra\w*|suspend\w*|halt\w*|end(ed)? early)\b|\breason\b.*\b(stop\w*|terminat\w*|withdra\w*)\b"),
    ("outcome", r"\b(?:primary|secondary|main|other|study|trial)\s+(?:outcome|end ?point)s?\b|\boutcome measure|\bend ?points?\b"
                r"|\b(?:what|which|list)\b[^?]{0,30}\boutcomes\b|\boutcomes? (?:are |is |were |was )?(?:measured|assessed|evaluated)\b"),
    ("nct_id", r"\bnct (number|id)\b|\bclinicaltrials\.gov (number|id)\b"),
    ("identifier", r"\b(identifier|org(anization'?s?)? study id|internal study id|ctis|eudract|secondary id|protocol number|registry number)s?\b"),
    ("responsible_party", r"\bresponsible party\b"),
    ("contact", r"\b(contacts?|phone|telephone|e-?mail|whom? (to|should i) (call|contact))\b"),
    ("sponsor", r"\b(sponsor\w*|funded|funder|funding|collaborat\w*|pharmaceutical company|drug company|industry)\b"),
    ("enrollment", r"\bhow many\b(?!\s+(?:minutes|hours|days|weeks|months|years)\b)[^?]*\b(enrol\w*|participants|patients|subjects|people)\b(?![^?]*\b(before|after|per|each|until|at the|in the first)\b)"
                   r"|\b(target|planned|anticipated|actual|total|expected)\s+(enrol+ment|sample size|number of (participants|patients))\b"
                   r"|\benrol+ment\s+(target|count|number|size|figure)\b|\bsample size\b|\bwhat is the enrol+ment\b"),
    ("phase", r"\bphase\b"),
    ("status", r"(?<!performance )\b(status|recruiting|still open|open for (enrollment|recruitment)|completed|terminated|withdrawn|active)\b"),
    ("healthy_volunteers", r"\bhealthy volunteers?\b"),
    ("study_type", r"\binterventional or (an )?observational\b|\bobservational or (an )?interventional\b|\bstudy type\b|\btype of study\b|\bis (this|it) an? (interventional|observational)\b"),
    ("conditions", r"\b(conditions?|diseases?|indications?)\b.*\b(studied|listed|about|targeted|investigated|for)\b|\bwhat (condition|disease)s?\b"),
    ("design_model", r"\bintervention model\b|\ballocation\b|\bmasking\b"),
    ("interventions", r"\b(which|what) (drugs?|interventions?|treatments?|products?|therap(y|ies)|agents?)\b|\b(which|what)\b[^?]{0,40}\b(antibod(y|ies)|inhibitors?|vaccines?)\b (is|are) (used|tested|given|studied|evaluated)\b|\binterventions?\b(?! model)|\bcomparators?\b(?!.*\barm\b)"),
    ("dose", r"(?<!first )(?<!last )(?<!initial )(?<!final )(?<!prior )(?<!previous )\b(doses?|dosages?|dosing)\b|\bmg/kg\b|\bhow much\b|\bhow is \w+ (given|administered|infused|injected)\b|\broute\b"),
    ("design", r"\b(design\w*|allocation|randomi[sz]ed|masking|masked|blind\w*|open[- ]label|intervention model|single[- ]group|parallel|primary purpose|placebo|comparator|control arm|arms?)\b"),
    ("location", r"\b(where|location|sites?|country|countries|city|centres?|centers?|take place|taking place|conducted|held)\b|\bwhich hospital\b(?! department)"),
    ("date", r"\b(when|date|start\w*|begin|began|finish|complet\w*|end date|last updated?)\b"),
    ("sex", r"\b(sex|gender|both (men|males) and (women|females)|men and women|males?|females?|women|men)\b"),
    ("age", r"\b(\d+)[- ]?(year|yr)s?[- ]old\b|\b(minimum|maximum|min|max|upper|lower)\s+age\b|\bage (limit|range|criteri\w*|requirement)s?\b|\bhow old\b|\bages?\b"),
]
STRONG_FIELDS = {"outcome", "why_stopped", "nct_id", "identifier", "responsible_party", "contact", "phase", "healthy_volunteers", "study_type",
                 "age", "enrollment", "conditions", "interventions", "dose", "sponsor", "design_model"}
# Field questions that win over criteria targets only when asked this explicitly.
STRONG_FORMS = {
    "location": r"\b(take|takes|taking) place\b|\bconducted\b|\bheld\b|\bwhich (hospital|city|country|site|centre|center)s? (is|are|will|does)\b|\bwhere is\b|\bsites?\b",
    "design": r"\brandomi[sz]ed\b|\bblind\w*\b|\bmasking\b|\bplacebo\b|\bcomparator\b|\bintervention model\b|\ballocation\b",
    "date": r"\b(start|completion|end|primary completion) date\b|\bwhen (does|did|will) (it|the (trial|study)|\w+) (start|begin|end|finish|complete)\b",
    "status": r"\b(recruiting|recruitment status|(?<!performance )status)\b",
}


def _trial_ref_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the phrases that name a trial by its drug, acronym or number ("the oral COL-3 phase
    I trial", "the indomethacin melanoma trial NCT00002535"): the shortest reference, from the last
    determiner before "trial"/"study", when it holds a name-like word (capital, digit) or an NCT id."""
    out = []
    for m in TRIAL_REF.finditer(text):
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


def _mask_trial_refs(q: Question) -> str:
    """The question with its trial references blanked out (see ``_trial_ref_spans``)."""
    text = q.text
    for a, b in q.refs:
        text = text[:a] + " " * (b - a) + text[b:]
    return text


def detect_field(q: Question) -> str | None:
    # "the oral COL-3 phase I trial" names the trial; it does not ask for its phase.
    text = _mask_trial_refs(q)
    for name, pattern in FIELD_PATTERNS:
        if re.search(pattern, text, re.I):
            if name == "dose" and q.kind == "TIME_WINDOW":
                continue  # "how long after the last dose ...?"
            if name == "sex" and (q.concepts - {"women", "men"}):
                continue
            if name == "age" and q.kind and q.kind != "TIME_WINDOW":
                continue
            return name
    return None


def _not_stated(t: Trial, what: str, intent: str, q: Question | None = None) -> Answer:
    verdict = "unknown" if q is not None and q.yes_no else None
    return Answer(f"{_label(t)}: the record does not state {what}.", False, verdict, [t.id], [], [], intent)


def _yn(q: Question, value: bool) -> str | None:
    return ("yes" if value else "no") if q.yes_no else None


def _age(t: Trial, q: Question) -> Answer | None:
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
    for c in t.criteria:
        if any(e.label == "AGE" for e in c.entities) and all(x.text != c.text for x in cites):
            cites.append(cite(t, c))
    cites = _unique(cites)
    want_max = bool(re.search(r"\b(max\w*|upper|oldest|older than|limit)\b", q.text, re.I))
    want_min = bool(re.search(r"\b(min\w*|lower|youngest|young)\b", q.text, re.I))
    lo = f"{_fmt(t.min_age.value)} {t.min_age.unit}{'' if t.min_age.inclusive else ' (exclusive)'}" if t.min_age else None
    hi = f"{_fmt(t.max_age.value)} {t.max_age.unit}{'' if t.max_age.inclusive else ' (exclusive)'}" if t.max_age else None
    if want_max and not want_min:
        if not hi:
            return Answer(f"{_label(t)}: no maximum age is stated" + (f" (minimum age {lo})." if lo else "."), False,
                          "no" if q.yes_no else None, [t.id], cites, [], "age")
        return Answer(f"{_label(t)}: maximum age {hi}" + (f" (minimum {lo})." if lo else "."), True, _yn(q, True), [t.id], cites)
    if want_min and not want_max:
        if not lo:
            return _not_stated(t, "a minimum age", "age", q)
        return Answer(f"{_label(t)}: minimum age {lo}" + (f"; maximum {hi}." if hi else "; no maximum age stated."), True,
                      _yn(q, True), [t.id], cites)
    if not lo and not hi:
        return _not_stated(t, "an age limit", "age", q)
    return Answer(f"{_label(t)}: ages {lo or 'no minimum'} to {hi or 'no maximum stated'}.", True, None, [t.id], cites)


def _enrollment(t: Trial, q: Question) -> Answer:
    if t.enrollment is None:
        return _not_stated(t, "the enrollment", "enrollment", q)
    kind = {"ESTIMATED": " (anticipated)", "ACTUAL": " (actual)"}.get(t.enrollment_type or "", "")
    return Answer(f"{_label(t)}: enrollment {t.enrollment} participants{kind}.", True, None, [t.id],
                  cite_field(t, "enrollment", str(t.enrollment)))


def _status(t: Trial, q: Question) -> Answer:
    if not t.status:
        return _not_stated(t, "the recruitment status", "status", q)
    nice = t.status.replace("_", " ").lower()
    verdict = None
    if q.yes_no:
        asked = next((w for w in ("not yet recruiting", "recruiting", "completed", "terminated", "withdrawn", "suspended", "active")
                      if re.search(rf"\b{w}\b", q.text, re.I)), None)
        if asked == "recruiting" and re.search(r"\b(still|already|currently|now)\b", q.text, re.I):
            verdict = "yes" if t.status in ("RECRUITING", "ENROLLING_BY_INVITATION") else "no"
        elif asked == "active":
            verdict = "yes" if t.status.startswith(("ACTIVE", "RECRUITING", "ENROLLING")) else "no"
        elif asked:
            verdict = "yes" if t.status == asked.upper().replace(" ", "_") else "no"
    extra = f" Reason given: {t.why_stopped}" if t.why_stopped else ""
    return Answer(f"{_label(t)}: status {nice} ({t.status}).{extra}", True, verdict, [t.id], cite_field(t, "status", t.status))


def _why_stopped(t: Trial, q: Question) -> Answer:
    if t.why_stopped:
        return Answer(f"{_label(t)}: {t.status.replace('_', ' ').lower() if t.status else 'stopped'} \u2014 {t.why_stopped}",
                      True, None, [t.id], cite_field(t, "why_stopped", t.why_stopped))
    if t.status in ("TERMINATED", "WITHDRAWN", "SUSPENDED"):
        return _not_stated(t, f"why it was {t.status.lower()}", "why_stopped", q)
    return Answer(f"{_label(t)}: the record does not say the trial was stopped (status {str(t.status).replace('_', ' ').lower()}).",
                  False, None, [t.id], cite_field(t, "status", t.status or ""), [], "why_stopped")


def _outcomes(t: Trial, q: Question) -> Answer | None:
    if not t.outcomes:
        return None  # registry pages and reports give outcomes as prose: the passages may state them
    m = re.search(r"\b(primary|main|secondary|other)\s+(?:outcome|end ?point)", q.text, re.I)
    kind = {"main": "primary"}.get(m.group(1).lower(), m.group(1).lower()) if m else None
    outs = [o for o in t.outcomes if kind is None or o.kind == kind]
    if not outs:
        return _not_stated(t, f"{kind} outcome measures", "outcome", q)
    lines = [f"- {o.kind}: {o.measure}" + (f" (time frame: {o.time_frame})" if o.time_frame else "") for o in outs[:12]]
    more = f"\n({len(outs) - 12} more)" if len(outs) > 12 else ""
    return Answer(f"{_label(t)}: {len(outs)} {kind + ' ' if kind else ''}outcome measure(s):\n" + "\n".join(lines) + more,
                  True, None, [t.id], [Citation(t.id, "outcome", o.measure, o.start, o.end) for o in outs[:12]], [], "outcome")


def _phase(t: Trial, q: Question) -> Answer:
    if not t.phases:
        return _not_stated(t, "a phase", "phase", q)
    nice = "/".join(p.replace("EARLY_PHASE", "early phase ").replace("PHASE", "phase ") for p in t.phases)
    verdict = None
    if q.yes_no:
        asked = {m for m in re.findall(r"\bphase\s*(i{1,3}|iv|\d)\b", q.text, re.I)}
        nums = {{"i": "1", "ii": "2", "iii": "3", "iv": "4"}.get(a.lower(), a) for a in asked}
        verdict = "yes" if nums and all(f"PHASE{n}" in t.phases for n in nums) else "no" if nums else None
    return Answer(f"{_label(t)}: {nice}.", True, verdict, [t.id], cite_field(t, "phases", nice))


def _sponsor(t: Trial, q: Question) -> Answer:
    industry = [n for n, c in t.sponsor_classes.items() if c == "INDUSTRY"]
    roles = {n: ("lead sponsor" if n == t.sponsor else "collaborator") for n in t.sponsor_classes}
    if re.search(r"\b(pharmaceutical|drug company|industry|company)\b", q.text, re.I):
        if not t.sponsor_classes:
            return _not_stated(t, "the kind of organizations involved", "sponsor", q)
        if not industry:
            return Answer(f"{_label(t)}: no industry sponsor or collaborator is listed (lead sponsor {t.sponsor}).", True,
                          _yn(q, False), [t.id], cite_field(t, "sponsor", t.sponsor or ""))
        return Answer(f"{_label(t)}: " + "; ".join(f"{n} ({roles.get(n, 'collaborator')}, industry)" for n in industry) + ".",
                      True, _yn(q, True), [t.id], cite_field(t, "sponsor", t.sponsor or ""))
    if re.search(r"collaborat", q.text, re.I):
        if not t.collaborators:
            return Answer(f"{_label(t)}: no collaborator is listed (lead sponsor: {t.sponsor or 'not stated'}).", False,
                          _yn(q, False), [t.id], [], [], "sponsor")
        return Answer(f"{_label(t)}: collaborators {', '.join(t.collaborators)} (lead sponsor: {t.sponsor or 'not stated'}).",
                      True, _yn(q, True), [t.id], cite_field(t, "sponsor", t.sponsor or ""))
    if not t.sponsor:
        return _not_stated(t, "the sponsor", "sponsor", q)
    extra = f"; collaborators: {', '.join(t.collaborators)}" if t.collaborators else ""
    return Answer(f"{_label(t)}: lead sponsor {t.sponsor}{extra}.", True, None, [t.id], cite_field(t, "sponsor", t.sponsor))


def _responsible(t: Trial, q: Question) -> Answer:
    if not t.responsible_party:
        return _not_stated(t, "the responsible party", "responsible_party", q)
    who = t.sponsor if t.responsible_party == "SPONSOR" else None
    return Answer(f"{_label(t)}: responsible party: {t.responsible_party.replace('_', ' ').lower()}" + (f" ({who})." if who else "."),
                  True, None, [t.id], cite_field(t, "responsible_party", t.responsible_party))


def _location(t: Trial, q: Question) -> Answer | None:
    if not t.locations:
        countries = t.design.get("countries")
        if countries:
            return Answer(f"{_label(t)}: countries {countries}.", True, None, [t.id], [])
        if q.concepts and not re.search(STRONG_FORMS["location"], q.text, re.I):
            return None  # "in which departments ..." is a criteria question
        return _not_stated(t, "any location", "location", q)
    locs = "; ".join(loc.label() for loc in t.locations[:10])
    more = f" (and {len(t.locations) - 10} more)" if len(t.locations) > 10 else ""
    return Answer(f"{_label(t)}: {locs}{more}.", True, None, [t.id], [])


def _contact(t: Trial, q: Question) -> Answer:
    if not t.contacts:
        return _not_stated(t, "a contact", "contact", q)
    seen, parts = set(), []
    for c in t.contacts:
        key = (c.name, c.phone, c.email)
        if key in seen:
            continue
        seen.add(key)
        parts.append(", ".join(x for x in (c.name, c.role and c.role.lower(), c.phone, c.email, c.affiliation) if x))
    return Answer(f"{_label(t)}: " + "; ".join(parts) + ".", True, None, [t.id], [])


def _nct(t: Trial, q: Question) -> Answer:
    if not t.nct_id:
        return Answer(f"{_label(t)}: the record states no NCT number (TrialQA id {t.id}).", False,
                      "no" if q.yes_no else None, [t.id], [], [], "nct_id")
    return Answer(f"{_label(t)}: {t.nct_id}.", True, _yn(q, True), [t.id], cite_field(t, "nct_id", t.nct_id))


def _identifier(t: Trial, q: Question) -> Answer:
    ids = [f"{i.id} ({(i.type or i.source or '').replace('_', ' ')})" for i in t.identifiers]
    if t.nct_id:
        ids.insert(0, f"{t.nct_id} (NCT number)")
    if not ids:
        return _not_stated(t, "any identifier", "identifier", q)
    return Answer(f"{_label(t)}: identifiers {', '.join(ids)}.", True, None, [t.id], [])


def _date(t: Trial, q: Question) -> Answer | None:
    ql = q.text.lower()
    options = [("start", "start_date", t.start_date), ("primary completion", "primary_completion_date", t.primary_completion_date),
               ("completion", "completion_date", t.completion_date), ("last update", "last_update", t.last_update)]
    if re.search(r"\b(start\w*|begin|began)\b", ql):
        wanted = options[:1]
    elif re.search(r"\bprimary completion\b", ql):
        wanted = options[1:2]
    elif re.search(r"\b(end|ends|finish\w*|complet\w*)\b", ql):
        wanted = [options[2], options[1]]
    elif re.search(r"\bupdat", ql):
        wanted = options[3:]
    elif q.concepts or q.analytes:
        return None
    else:
        wanted = options
    stated = [(label, key, v) for label, key, v in wanted if v]
    if not stated:
        return _not_stated(t, f"a {wanted[0][0]} date", "date", q)
    text = "; ".join(f"{label} date {v}" for label, _, v in stated[:2])
    cites = [c for label, key, v in stated[:2] for c in cite_field(t, key, v)]
    return Answer(f"{_label(t)}: {text}.", True, None, [t.id], cites)


def _design(t: Trial, q: Question) -> Answer:
    d = t.design
    ql = q.text.lower()
    if q.yes_no:
        if re.search(r"randomi[sz]", ql):
            alloc = d.get("allocation")
            if not alloc:
                return _not_stated(t, "whether it is randomized", "design", q)
            rnd = alloc.upper().startswith("RANDOMIZED")
            return Answer(f"{_label(t)}: allocation {alloc}" + ("" if rnd else " (not randomized)") + ".", True,
                          "yes" if rnd else "no", [t.id], [])
        if re.search(r"blind|mask", ql):
            mask = d.get("masking")
            if not mask:
                return _not_stated(t, "the masking", "design", q)
            blinded = not mask.upper().startswith(("NONE", "OPEN"))
            return Answer(f"{_label(t)}: masking {mask}" + (" (open label)." if not blinded else "."), True,
                          "yes" if blinded else "no", [t.id], [])
        if re.search(r"placebo|comparator|control arm|control group", ql):
            model = d.get("intervention_model", "")
            arms = d.get("arms", "")
            has = bool(re.search(r"placebo|comparator|control", arms + " " + d.get("description", ""), re.I)) and "SINGLE" not in model.upper()
            if not model and not arms:
                return _not_stated(t, "the arms", "design", q)
            return Answer(f"{_label(t)}: intervention model {model or 'not stated'}" + ("; a comparator arm is described." if has else
                          "; no placebo or comparator arm (single group)." if "SINGLE" in model.upper() else "."),
                          True, "yes" if has else "no", [t.id], [])
    if not q.yes_no and re.search(r"comparator|control (arm|group)|placebo", ql) and t.interventions:
        return _interventions(t, q)
    if not d and not t.study_type:
        return _not_stated(t, "the design", "design", q)
    parts = [f"{k.replace('_', ' ')}: {v}" for k, v in d.items() if k not in ("description", "arms", "countries")]
    if t.study_type:
        parts.insert(0, f"study type: {t.study_type}")
    desc = d.get("description")
    return Answer(f"{_label(t)}: " + "; ".join(parts) + (f". {desc[:400]}" if desc else ""), True, None, [t.id], [])


def _study_type(t: Trial, q: Question) -> Answer:
    if not t.study_type:
        return _not_stated(t, "the study type", "study_type", q)
    return Answer(f"{_label(t)}: {t.study_type.lower()} study.", True, None, [t.id], cite_field(t, "study_type", t.study_type))


def _conditions(t: Trial, q: Question) -> Answer:
    if not t.conditions:
        found = sorted({e.concept for c in t.inclusion for e in c.entities
                        if e.label == "CONDITION" and e.concept_type == "condition" and not e.negated})
        if not found:
            return _not_stated(t, "the conditions studied", "conditions", q)
        return Answer(f"{_label(t)}: no condition list is given; the inclusion criteria name {', '.join(found)}.", True, None,
                      [t.id], [cite(t, c) for c in t.inclusion if any(e.concept in found for e in c.entities)][:3])
    return Answer(f"{_label(t)}: conditions: {'; '.join(t.conditions)}.", True, None, [t.id],
                  cite_field(t, "conditions[0]", t.conditions[0]))


def _interventions(t: Trial, q: Question) -> Answer:
    if not t.interventions:
        # No intervention list: the title may still name what is tested.
        drugs = [e for e in rules().extract(t.title or "") if e.label == "CONDITION" and e.concept_type == "drug"]
        if drugs:
            return Answer(f"{_label(t)}: no intervention list is given; the title names {drugs[0].concept} ({t.title}).", True,
                          None, [t.id], cite_field(t, "title", t.title or ""))
        return _not_stated(t, "the interventions", "interventions", q)
    parts = [f"{iv.name} ({(iv.type or '').lower() or 'type not stated'}{', ' + iv.dose if iv.dose else ''})" for iv in t.interventions]
    return Answer(f"{_label(t)}: interventions: {'; '.join(parts)}.", True, None, [t.id], [])


def _dose(t: Trial, q: Question) -> Answer | None:
    r = rules()
    rows = []
    for iv in t.interventions:
        doses = [e for e in r.extract(f"{iv.name}. {iv.description or ''}") if e.label == "DOSE"]
        if doses:
            e = doses[0]
            extra = ", ".join(x for x in (e.route, e.frequency) if x)
            rows.append((iv, f"{iv.name}: {e.text.strip()}" + (f" ({extra})" if extra else ""), doses))
    if q.concepts:
        named = [row for row in rows if r.concept_lookup(row[0].name.split(" (")[0]) in q.concepts
                 or any(n.lower() in q.text.lower() for n in [row[0].name.split(" (")[0]])]
        rows = named or rows
    if not rows and q.concepts:
        for c in t.criteria:
            doses = [e for e in c.entities if e.label == "DOSE"]
            if doses and any(e.label == "CONDITION" and e.concept in q.concepts for e in c.entities):
                return Answer(f"{_label(t)}: {'; '.join(e.text.strip() for e in doses)} (\u201c{c.text}\u201d, {polarity(c)}).", True, None,
                              [t.id], [cite(t, c)], doses, "dose")
    if not rows:
        prose = []
        for key in ("description", "summary", "design"):
            mt = t.texts.get(key)
            if mt is None:
                continue
            for e in r.extract(mt.text):
                if e.label == "DOSE" and e.unit not in ("mL",):
                    a, b = mt.raw_span(max(0, mt.text.rfind(".", 0, e.start) + 1), e.end)
                    prose.append((e, key, a, b))
        if not prose:
            return _not_stated(t, "a dose", "dose", q)
        e, key, a, b = prose[0]
        src = t.source_text()
        from .corpus import span_text

        sentence = span_text(src, t.format, a, b)
        return Answer(f"{_label(t)}: {e.text.strip()} ({key}: \u201c{sentence}\u201d)", True, None, [t.id],
                      [Citation(t.id, key, sentence, a, b)], [x[0] for x in prose])
    text = "; ".join(r_[1] for r_ in rows)
    desc = " ".join(iv.description for iv, _, _ in rows[:2] if iv.description)
    return Answer(f"{_label(t)}: {text}." + (f" {desc}" if desc else ""), True, None, [t.id], [],
                  [d for _, _, ds in rows for d in ds])


def _sex(t: Trial, q: Question) -> Answer | None:
    if not t.sex:
        return _not_stated(t, "which sexes are eligible", "sex", q)
    nice = {"ALL": "all sexes are eligible", "FEMALE": "female participants only", "MALE": "male participants only"}.get(t.sex, t.sex)
    verdict = None
    if q.yes_no:
        asks_f = bool(re.search(r"\b(women|females?|girls?)\b", q.text, re.I))
        asks_m = bool(re.search(r"\b(men|males?|boys?)\b", q.text, re.I))
        ok = (t.sex == "ALL") or (asks_f and not asks_m and t.sex == "FEMALE") or (asks_m and not asks_f and t.sex == "MALE")
        verdict = "yes" if ok else "no"
    return Answer(f"{_label(t)}: {nice}.", True, verdict, [t.id], cite_field(t, "sex", t.sex))


def _healthy(t: Trial, q: Question) -> Answer:
    if t.healthy_volunteers is None:
        return _not_stated(t, "whether healthy volunteers are accepted", "healthy_volunteers", q)
    return Answer(f"{_label(t)}: healthy volunteers {'are' if t.healthy_volunteers else 'are not'} accepted.", True,
                  "yes" if t.healthy_volunteers else "no", [t.id], cite_field(t, "healthy_volunteers", "yes" if t.healthy_volunteers else "no"))


FIELD_HANDLERS = {
    "outcome": _outcomes, "age": _age, "enrollment": _enrollment, "status": _status, "why_stopped": _why_stopped, "phase": _phase,
    "sponsor": _sponsor, "responsible_party": _responsible, "location": _location, "contact": _contact, "nct_id": _nct,
    "identifier": _identifier, "date": _date, "design": _design, "study_type": _study_type, "conditions": _conditions,
    "interventions": _interventions, "dose": _dose, "design_model": lambda t, q: _design(t, q), "sex": _sex, "healthy_volunteers": _healthy,
}


# --- criteria questions --------------------------------------------------------------------------

EXCLUSION_STATEMENT = re.compile(r"\b(?:are|is|will be|shall be|must be|to be)\s+(?:excluded|ineligible|not eligible|not allowed|not permitted|prohibited)\b"
                                 r"|\bnot (?:be )?eligible\b|\bexclusion\b", re.I)


def polarity(c: Criterion) -> str:
    """What a criterion is: an exclusion when in the exclusion section or when it says so itself
    ("... will be excluded" under an inclusion heading)."""
    if c.section == "exclusion":
        return "exclusion"
    return "exclusion" if EXCLUSION_STATEMENT.search(c.text) else "inclusion"


def _role(c: Criterion, negated: bool) -> str:
    """What a criterion does to a patient who has the thing it names."""
    excl = polarity(c) == "exclusion"
    if c.section == "inclusion" and excl:
        negated = False  # "Patients with X ... are not eligible": the negation is the exclusion itself
    if excl:
        return "Inclusion" if negated else "Exclusion"
    return "Exclusion" if negated else "Inclusion"


def _matching_criteria(q: Question, t: Trial) -> list[tuple[Criterion, list[CriterionEntity]]]:
    matches = []
    analytes = rules().related_analytes(q.analytes)  # a question about AST reads "transaminases <= 3 x ULN"
    for c in t.criteria:
        hit = [e for e in c.entities
               if (e.label == "CONDITION" and e.concept in q.concepts)
               or (e.analyte and e.analyte in analytes)
               or (q.kind and e.label == q.kind and not q.analytes and e.label != "CONDITION"
                   and (q.anchor is None or e.anchor == q.anchor))]
        if hit:
            matches.append((c, hit))
    if q.kind == "TIME_WINDOW":
        timed = [(c, h) for c, h in matches if any(e.label == "TIME_WINDOW" for e in c.entities)]
        if q.concepts:
            both = [(c, h) for c, h in timed if any(e.label == "CONDITION" and e.concept in q.concepts for e in c.entities)]
            timed = both or timed
        matches = timed or matches
    # Criteria that name more of the question's targets first.
    matches.sort(key=lambda m: -len({e.concept or e.analyte for e in m[1]}))
    return matches


ELIGIBILITY_WORDS = re.compile(r"\b(eligib\w*|criteri\w*|requir\w*|exclu\w*|inclu\w*|allowed|permitted|must|need\w*|enrol\w*|enter|"
                               r"participat\w*|join|take part|accept\w*|threshold|limit|minimum|maximum|cut-?off|at least|washout|"
                               r"prior|before|after|within|since|how long|how soon|how many days)\b", re.I)


def _criteria_answer(qa: "TrialQA", q: Question, t: Trial) -> Answer | None:
    if not (q.yes_no or q.kind or ELIGIBILITY_WORDS.search(q.text)):
        return _passages(qa, q, t)  # "what response rate was observed?" is not an eligibility question
    matches = _matching_criteria(q, t)
    if matches and not q.yes_no and q.kind in ("PERCENT", "LAB"):
        # A percentage may come as a LAB in percent (ejection fraction, HbA1c).
        valued = [(c, h) for c, h in matches
                  if any(e.label == q.kind or (q.kind == "PERCENT" and e.unit == "%") for e in c.entities)]
        if not valued:
            what = " / ".join(sorted(q.concepts | q.analytes)) or q.kind.lower()
            return Answer(f"{_label(t)}: the record states no {'percentage' if q.kind == 'PERCENT' else 'value'} threshold for {what}.",
                          False, None, [t.id], [], [], "criteria")
        matches = valued
    unvalued = False
    if not matches and q.analytes:
        # "Total bilirubin: within normal institutional limits" states a requirement with no number.
        matches = [(c, []) for c in _analyte_mentions(q.analytes, t)]
        unvalued = bool(matches)
    if not matches:
        passages = _passages(qa, q, t, quiet=True)
        if passages is not None:
            return passages
        what = " / ".join(sorted(q.concepts | q.analytes)) or "this"
        return Answer(f"{_label(t)}: the record does not state a criterion about {what}.", False,
                      "unknown" if q.yes_no else None, [t.id], [], [], "criteria")
    lines, cites, ents = [], [], []
    roles = []
    asked_unit = _asked_unit(q.text)
    # "Is a pregnancy test required?" asks about the test, which a criterion requiring a negative
    # result requires all the same: the negation of the condition does not turn it into an exclusion.
    asks_test = any(e.label == "CONDITION" and (TEST_NOUN.search(e.text) or TEST_NOUN.match(q.text, e.end))
                    for e in q.entities)
    for c, hit in matches[:4]:
        cites.append(cite(t, c))
        ents.extend(hit)
        neg = any(e.label == "CONDITION" for e in hit) and all(e.negated for e in hit if e.label == "CONDITION")
        role = _role(c, neg and not asks_test)
        needs = _required_concepts(c) - q.concepts
        if needs:
            role = f"{role} only with {', '.join(sorted(needs))}"
        roles.append(role)
        values = [_describe(e, asked_unit) for e in hit if e.label != "CONDITION"]
        lines.append(f"{role}: \u201c{c.text}\u201d" + (f" \u2192 {'; '.join(values)}" if values else ""))
    verdict = None
    if q.yes_no:
        is_excl, is_incl = "Exclusion" in roles, "Inclusion" in roles
        if q.asks_excl and not q.asks_incl:
            verdict = "yes" if is_excl else "no"
        elif q.asks_incl and not q.asks_excl:
            verdict = "yes" if is_incl else "no"
        else:
            verdict = "no" if is_excl else "yes"
    if unvalued and verdict:
        verdict = "unknown"  # "within normal limits" neither allows nor excludes "above the ULN" in so many words
    prefix = {"yes": "Yes. ", "no": "No. "}.get(verdict or "", "")
    note = f" no numeric limit for {' / '.join(sorted(q.analytes))} is stated; the criteria that name it" if unvalued else ""
    return Answer(f"{prefix}{_label(t)}:{note}\n" + "\n".join(f"- {line}" for line in lines), True, verdict, [t.id], cites, ents,
                  "criteria")


def _analyte_mentions(analytes: set[str], t: Trial) -> list[Criterion]:
    """Criteria that name one of the analytes (or a group or member of one), with or without a value."""
    r = rules()
    analytes = r.related_analytes(analytes)
    return [c for c in t.criteria if any(name in analytes for _, _, name in r.analyte_gaz.find(c.text))]


def _asked_unit(question: str) -> str | None:
    """The unit a question asks the answer in ("What is the neutrophil threshold in cells/mm3?")."""
    m = re.search(r"\b(?:in|as|into|expressed in)\s+([^\s?]{1,20}(?:\s[^\s?]{1,8})?)\s*\??\s*$", question, re.I)
    if not m:
        return None
    r = rules()
    for cand in (m.group(1), m.group(1).split()[0]):
        info = r.unit_canon.get(r._ukey(cand))
        if info:
            return info["canonical"]
    return None


def _describe(e: CriterionEntity, asked_unit: str | None = None) -> str:
    val = _fmt(e.value) + (f"\u2013{_fmt(e.value2)}" if e.value2 is not None else "")
    if e.label == "TIME_WINDOW":
        return f"{e.op} {val} {e.unit} {e.direction or ''} {e.anchor_text or e.anchor or ''}".replace("  ", " ").strip()
    what = e.analyte or e.label.lower()
    s = f"{what} {e.op} {val} {e.unit or ''}".strip()
    if rules().implausible(e):
        return s + f" (not a plausible {what} limit in {e.unit}: probably a unit error in the record, not converted)"
    if e.label == "LAB" and e.norm_unit and e.norm_unit != e.unit and e.norm_value is not None:
        nv = _fmt(e.norm_value) + (f"\u2013{_fmt(e.norm_value2)}" if e.norm_value2 is not None else "")
        s += f" (= {nv} {'x ' if e.norm_unit.startswith('10^') else ''}{e.norm_unit})"
    if e.label == "LAB" and asked_unit and e.unit and e.analyte and asked_unit not in (e.unit, e.norm_unit) \
            and e.value is not None:
        factor = unit_factor(e.analyte, e.unit, asked_unit)
        if factor is not None:
            conv = _fmt(round(e.value * factor, 6)) + (f"\u2013{_fmt(round(e.value2 * factor, 6))}" if e.value2 is not None else "")
            s += f" (= {conv} {asked_unit})"
    return s


def _list_criteria(t: Trial, which: str) -> Answer:
    crits = t.exclusion if which == "exclusion" else t.inclusion if which == "inclusion" else t.criteria
    if not crits:
        return _not_stated(t, f"{which} criteria", "criteria")
    return Answer(f"{_label(t)}: {len(crits)} {which} criteria:\n" + "\n".join(f"- {c.text}" for c in crits), True, None,
                  [t.id], [cite(t, c) for c in crits], [], "criteria")


def _stem(w: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "ary", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def _content_words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z0-9][a-z0-9-]+", text.lower()) if w not in GENERIC_WORDS and len(w) > 2}


PROSE = ("summary", "description", "design", "intervention", "results", "adverse_events", "title", "conditions")


STUDY_ANCHORS = {"inclusion", "randomization", "treatment start", "now"}


def _passages(qa: "TrialQA", q: Question, t: Trial, quiet: bool = False, prose_first: bool = False) -> Answer | None:
    """The best passages when they cover the question's content words; otherwise not stated."""
    hits = qa.retriever.search(q.text, k=5, trial=t.id, sections=PROSE) if prose_first else []
    hits = hits + [h for h in qa.retriever.search(q.text, k=5, trial=t.id) if h.chunk_id not in {x.chunk_id for x in hits}]
    if q.kind == "TIME_WINDOW" and q.anchor and q.anchor not in STUDY_ANCHORS:
        # "How long after surgery ...?" is answered only by a passage about that event (the study's
        # own start is worded too many ways: "prior to study", "before day 1").
        rx = next((rx for name, rx in rules().anchor_list if name == q.anchor), None)
        hits = [h for h in hits if rx is None or rx.search(h.text)]
    want = _content_words(q.text)
    # The trial's own topic words (its drug, its condition) say nothing about which passage answers.
    topic = _content_words(" ".join([t.title or "", t.acronym or "", *[i.name for i in t.interventions], *t.conditions]))
    want = (want - topic) or want
    cue_only = not want
    if cue_only:
        # "What is the hypothesis?": the cue word itself is what a passage must state.
        want = {_stem(w.lower()) for w in DESCRIPTIVE.findall(q.text) if len(w) > 3}
    r = rules()
    good = []
    for h in hits:
        have = _content_words(h.text) if not cue_only else {_stem(w) for w in re.findall(r"[a-z0-9-]+", h.text.lower())}
        # Concepts count as covered when the passage names them with any synonym.
        covered = {w for w in want if w in have}
        concept_words = {w for c in q.concepts for w in _content_words(c)}
        for e in r.extract(h.text):
            if e.label == "CONDITION" and e.concept in q.concepts:
                covered |= {w for w in want if w in _content_words(e.text) or w in concept_words}
        # Half of the words, and both of two ("response rate" is not answered by "mortality rate").
        if want and len(covered) >= (len(want) if len(want) <= 2 else len(want) / 2):
            good.append((len(covered) / len(want), h))
    if not good:
        if quiet:
            return None
        return Answer(f"{_label(t)}: the record does not state this.", False, "unknown" if q.yes_no else None,
                      [t.id], [], [], "descriptive")
    good = [h for _, h in sorted(good, key=lambda x: -x[0])][:3]
    verdict = None
    if q.yes_no and good[0].section in ("inclusion", "exclusion"):
        crit = next((c for c in t.criteria if c.start == good[0].start and c.end == good[0].end), None)
        if crit is not None:
            is_excl = polarity(crit) == "exclusion"
            if q.asks_excl and not q.asks_incl:
                verdict = "yes" if is_excl else "no"
            elif q.asks_incl and not q.asks_excl:
                verdict = "no" if is_excl else "yes"
            else:
                verdict = "no" if is_excl else "yes"
    if verdict:
        return Answer(f"{'Yes' if verdict == 'yes' else 'No'}. {_label(t)}:\n" + "\n".join(f"- {h.text}" for h in good), True, verdict,
                      [t.id], [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in good], [], "criteria")
    return Answer(f"{_label(t)}:\n" + "\n".join(f"- {h.text}" for h in good), True, None, [t.id],
                  [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in good], [], "descriptive")


# --- patient facts -------------------------------------------------------------------------------

def _patient_answer(q: Question, t: Trial) -> Answer | None:
    results = _evaluate(t, q.patient)
    if not results:
        if set(q.patient) <= {"has", "lacks"}:
            return None  # no criterion on those conditions: let the criteria path say so
        return Answer(f"{_label(t)}: the record states no criterion on these facts.", False, "unknown", [t.id], [], [], "patient")
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
    text = f"{head} for {_label(t)}:\n" + "\n".join(f"- {r.status.replace('_', ' ')}: {r.reason}" for r in results)
    return Answer(text, True, verdict, [t.id], _unique([r.citation for r in results]), [], "patient")


def _evaluate(t: Trial, facts: dict[str, Any]) -> list[CriterionResult]:
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
                                     cite(t, c)) for c in _analyte_mentions({fact.analyte}, t)]
        out.extend(found)
    for fact in facts.get("percents", []):
        out.extend(_threshold_results(t, "PERCENT", fact, lambda e, f=fact: (e.analyte or "") == (f.analyte or e.analyte or ""),
                                      settled))
        # "HbA1c of 8.5%" is a LAB in percent in the criteria.
        out.extend(_threshold_results(t, "LAB", fact, lambda e, f=fact: e.unit == "%" and e.analyte == f.analyte, settled))
    for fact in facts.get("doses", []):
        out.extend(_threshold_results(t, "DOSE", fact, lambda e, f=fact: e.norm_unit == f.norm_unit, settled))
    for fact in facts.get("windows", []):
        out.extend(_threshold_results(t, "TIME_WINDOW", fact, lambda e, f=fact: e.anchor == f.anchor))
    for fact in facts.get("times", []):
        out.extend(_time_results(t, fact))
    out.extend(_condition_results(t, facts.get("has", {}), facts.get("lacks", set()), facts.get("times", []),
                                  facts.get("phrases", {}), settled))
    return _dedupe(out, lambda r: (r.criterion, r.status, r.reason))


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
        met = inside if polarity(c) == "inclusion" else not inside
        bounds = "; ".join(e.text for e in ages)
        res.append(CriterionResult(c.text, c.section, "met" if met else "not_met",
                                   f"age {_fmt(age)} vs \u201c{bounds}\u201d ({polarity(c)})", cite(t, c)))
    return res


def _threshold_results(t: Trial, label: str, fact: CriterionEntity, same,
                       settled: list[tuple[str, int, int]] | None = None) -> list[CriterionResult]:
    """The patient's value against every comparable threshold; ``settled`` collects the thresholds
    compared (criterion text, start, end)."""
    res = []
    for c in t.criteria:
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
    return any(i in qualifiers and crit.search(before) for i, (crit, _) in enumerate(_qualifier_pairs()))


def _is_duration(text: str, w: CriterionEntity) -> bool:
    """A window that measures how long the condition has lasted ("evolving for less than 7 days",
    "symptom duration of at most 48 hours"): time since its onset."""
    before = text[max(0, w.start - 40):w.start].lower()
    return w.text.lower().startswith("for ") or bool(re.search(r"\b(?:evolving|lasting|duration|since onset|history)\b(?:\s+\w+){0,2}\s*$", before))


def _condition_results(t: Trial, has: dict[str, set[int]], lacks: set[str], times: list[dict],
                       phrases: dict[str, list[list[str]]] | None = None,
                       settled: list[tuple[str, int, int]] = ()) -> list[CriterionResult]:
    pairs = _qualifier_pairs()
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
        required = _required_concepts(c)
        if hits and required and not required <= set(has):
            # "Lyell syndrome induced by immunotherapy": the cause must hold too.
            status = "met" if polarity(c) == "exclusion" else "not_met"
            res.append(CriterionResult(c.text, c.section, status,
                                       f"applies only with {', '.join(sorted(required - set(has)))}", cite(t, c)))
            continue
        role_excl = _role(c, any(e.negated for e in hits)) == "Exclusion" if hits else None
        if not hits:
            # The patient's condition is excepted: an exclusion does not reach them, a requirement is not met.
            excludes = _role(c, any(e.negated for e, _ in applies)) == "Exclusion"
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
    return any(o.label == "CONDITION" and _within(e, o) and o.concept not in has for o in entities)


def _within(e: CriterionEntity, o: CriterionEntity) -> bool:
    """Whether mention ``e`` lies inside the longer mention ``o``."""
    return o.start <= e.start and e.end <= o.end and o.end - o.start > e.end - e.start


def _sibling_requirement(c: Criterion, has: dict[str, set[int]]) -> str | None:
    """An inclusion criterion that requires a kind of condition the patient has another kind of:
    "The tumor harbors an Ex19del or Ex21-L858R substitution" for an exon 20 insertion (both EGFR
    mutations), "histologically confirmed melanoma" for lung cancer (both malignancies). Only
    conditions, and only criteria without a time window ("4 weeks since prior taxanes" asks for
    no taxane)."""
    if polarity(c) != "inclusion" or any(e.label == "TIME_WINDOW" for e in c.entities):
        return None
    required = [e for e in c.entities if e.label == "CONDITION" and e.concept_type == "condition"
                and not (e.negated or e.hedged or e.excepted) and e.concept not in POPULATION]
    for p in has:
        parents = set(_parents().get(p, []))
        kin = [e for e in required if parents & set(_parents().get(e.concept, []))]
        if parents and kin and not any(e.concept in has for e in kin) and p not in {e.concept for e in required}:
            return f"requires {' or '.join(sorted({e.concept for e in kin}))}; the patient has {p}"
    return None


CAUSAL = re.compile(r"\b(?:induced by|due to|caused by|secondary to|related to|associated with|attributable to|following)\b", re.I)


def _required_concepts(c: Criterion) -> set[str]:
    """Concepts a criterion requires together: those after a causal link ("induced by X")."""
    m = CAUSAL.search(c.text)
    if not m:
        return set()
    return {e.concept for e in c.entities if e.label == "CONDITION" and e.start >= m.end() and e.concept not in POPULATION}


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
        e = CriterionEntity(label, f"{_fmt(v)} {unit}", 0, 0, "=", v, None, unit, v, None, unit, **extra)
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
    results = _evaluate(t, facts)
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


# --- across trials -------------------------------------------------------------------------------

def _cross_trial(qa: "TrialQA", q: Question, trials: list[Trial]) -> Answer:
    ql = q.text.lower()
    if q.patient and (set(q.patient) - {"has", "lacks"}):
        return _cross_patient(q, trials)
    if SPONSORED_BY.search(q.text) or not (q.concepts or q.analytes):
        filt = _field_filter(q.text)
        if filt is not None:
            what, pred, show = filt
            chosen = [t for t in trials if pred(t)]
            if not chosen:
                return Answer(f"No trial in these records {what}.", False, None, [], [], [], "cross_trial")
            return Answer(f"{len(chosen)} trial(s) {what}:\n" + "\n".join(f"- {_label(t)}{'' if _label(t) == t.id else f' ({t.id})'}: {show(t)}"
                                                                        for t in chosen),
                          True, None, [t.id for t in chosen], [], [], "cross_trial")
    matched: list[tuple[Trial, Criterion]] = []
    allow = bool(ASKS_ALLOW.search(q.text)) and not q.asks_excl
    for t in trials:
        # Criteria that state the asked polarity first: "Pregnant women" states an exclusion more
        # plainly than an inclusion requiring a negative pregnancy test.
        ordered = sorted(t.criteria, key=lambda c: 0 if (polarity(c) == "exclusion") == q.asks_excl else 1)
        for c in ordered:
            names = {e.concept for e in c.entities if e.label == "CONDITION" and not e.hedged}
            labs = {e.analyte for e in c.entities if e.analyte}
            if not ((q.concepts and names & q.concepts) or (q.analytes and labs & q.analytes)):
                continue
            neg = any(e.negated for e in c.entities if e.label == "CONDITION" and e.concept in q.concepts)
            role = _role(c, neg)
            if q.asks_excl and role != "Exclusion":
                continue
            if allow and role == "Exclusion" and not ALLOWANCE.search(c.text):
                continue  # "Which trials allow brain metastases?": a plain exclusion does not
            if q.asks_incl and not q.asks_excl and role != "Inclusion":
                continue
            matched.append((t, c))
            break
    if not q.concepts and not q.analytes:
        # The same sentence in two sections (summary and description) is one passage.
        hits = _dedupe(qa.retriever.search(q.text, k=8), lambda h: (h.trial_id, h.text))[:5]
        return Answer("Closest passages:\n" + "\n".join(f"- {h.trial_id}: {h.text}" for h in hits), bool(hits), None,
                      sorted({h.trial_id for h in hits}), [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in hits],
                      [], "cross_trial")
    if not matched:
        return Answer(f"No trial in these records has such a criterion ({', '.join(sorted(q.concepts | q.analytes))}).", False, None,
                      [], [], [], "cross_trial")
    lines = [f"- {_label(t)}{'' if _label(t) == t.id else f' ({t.id})'}: \u201c{c.text}\u201d" for t, c in matched]
    return Answer(f"{len(matched)} trial(s):\n" + "\n".join(lines), True, None, [t.id for t, _ in matched],
                  [cite(t, c) for t, c in matched], [], "cross_trial")


def _cross_patient(q: Question, trials: list[Trial]) -> Answer:
    ok, excluded, unknown = [], [], []
    cites: dict[str, list[Citation]] = {}
    for t in trials:
        results = _evaluate(t, q.patient)
        if not results:
            unknown.append(t)
            continue
        if any(r.status == "not_met" for r in results):
            excluded.append(t)
            cites[t.id] = [r.citation for r in results if r.status == "not_met"][:1]
        else:
            ok.append(t)
            cites[t.id] = [r.citation for r in results][:1]
    wants_excluded = q.asks_excl
    chosen = excluded if wants_excluded else ok
    cites = [c for t in chosen for c in cites[t.id]]  # only the trials the answer names
    lines = [f"- {_label(t)}{'' if _label(t) == t.id else f' ({t.id})'}" for t in chosen]
    text = (f"{len(chosen)} trial(s) would {'exclude' if wants_excluded else 'accept'} this patient on the stated facts:\n"
            + "\n".join(lines) + (f"\n({len(unknown)} trial(s) state no criterion on these facts.)" if unknown else ""))
    return Answer(text, bool(chosen), None, [t.id for t in chosen], _unique(cites), [], "cross_trial")


def _name_words(name: str) -> set[str]:
    """The significant words of an organisation's name, lower case ("the Children's Oncology Group")."""
    return {w for w in re.findall(r"[a-z0-9][a-z0-9'&.-]*", name.lower()) if w not in _TITLE_STOP and len(w) > 1}


SPONSORED_BY = re.compile(r"\b(sponsored|led|funded|run|supported|organi[sz]ed|financed)\s+by\s+(?:the\s+)?(.+?)\s*\??$", re.I)


def _field_filter(question: str):
    """A structured-field question across trials: (what, predicate, shown value) or None."""
    ql = question.lower()
    by = SPONSORED_BY.search(question)
    if by:
        want = _name_words(by.group(2))
        funded = by.group(1).lower() in ("funded", "supported", "financed")

        def orgs(t: Trial) -> list[str]:
            return [t.sponsor or ""] + (list(t.collaborators) if funded else [])
        return (f"are {by.group(1)} by {by.group(2)}", lambda t: any(want and want <= _name_words(o) for o in orgs(t)),
                lambda t: "; ".join(o for o in orgs(t) if o))
    phase = re.search(r"\bphase\s*(i{1,3}|iv|\d)\b", ql)
    if phase:
        n = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}.get(phase.group(1), phase.group(1))
        return f"are phase {n}", lambda t: f"PHASE{n}" in t.phases, lambda t: "/".join(t.phases)
    if re.search(r"\b(upper|maximum|max)\s+age\b|\bage limit\b|\bolder than\b", ql):
        return "state a maximum age", lambda t: t.max_age is not None, lambda t: f"maximum age {t.max_age.text if t.max_age and t.max_age.source == 'structured' else _fmt(t.max_age.value) + ' ' + t.max_age.unit}"
    if re.search(r"\b(children|minors|under 18|younger than 18|pediatric|paediatric|adolescents)\b", ql):
        return "accept patients under 18", lambda t: t.min_age is None or t.min_age.years < 18, \
            lambda t: f"minimum age {t.min_age.text if t.min_age and t.min_age.source == 'structured' else (_fmt(t.min_age.value) + ' ' + t.min_age.unit) if t.min_age else 'none stated'}"
    if re.search(r"\b(stopped|ended|closed) early\b|\bstopped\b|\bhalted\b", ql):
        return "were stopped early", lambda t: t.status in ("TERMINATED", "WITHDRAWN", "SUSPENDED"), \
            lambda t: f"{t.status}" + (f" ({t.why_stopped})" if t.why_stopped else "")
    for word, status in (("not yet recruiting", "NOT_YET_RECRUITING"), ("recruiting", "RECRUITING"), ("completed", "COMPLETED"),
                         ("terminated", "TERMINATED"), ("withdrawn", "WITHDRAWN"), ("suspended", "SUSPENDED")):
        if re.search(rf"\b{word}\b", ql):
            return f"are {word}", lambda t, s=status: t.status == s, lambda t: str(t.status)
    country = re.search(r"\b(?:in|from)\s+((?:the\s+)?[a-z]+(?:\s(?:states|kingdom|korea|zealand|africa|arabia))?)\s*\??$", ql)
    if re.search(r"\b(sites?|located|countr\w*|run in|held in|conducted in|take place in)\b", ql) and country:
        name = re.sub(r"^the\s+", "", country.group(1).lower())
        return (f"have sites in {name.title()}",
                lambda t: any(name in (loc.country or "").lower() or name in (loc.city or "").lower() for loc in t.locations)
                or name in t.design.get("countries", "").lower(),
                lambda t: "; ".join(loc.label() for loc in t.locations[:3]))
    if re.search(r"\bhealthy volunteers?\b", ql):
        return "accept healthy volunteers", lambda t: t.healthy_volunteers is True, lambda t: "yes"
    return None

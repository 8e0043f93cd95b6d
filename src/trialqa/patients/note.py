"""Read a free-text patient note ("A 58-year-old woman ... h/o breast cancer s/p mastectomy ... no
history of diabetes ... BP 150/95 mmHg") into ``PatientFacts``.

The criteria extractor (``extraction.rules().extract``) does the work it already does on criteria:
conditions, drugs and procedures from the concept lexicon with ConText negation, lab values with
units. This module adds what notes have and criteria do not (``data/patient_note.json``): the
patient's age and sex, history and family-history cues, diagnoses named outside the lexicon
("diagnosed with hemochromatosis"), how long ago a drug or procedure was, vital signs."""

from __future__ import annotations

import re
from functools import lru_cache

from .. import lexicons
from ..extraction import rules
from ..extraction.requirements import CHANGE_OF_VALUE
from ..extraction.lexicon import unit_key
from ..extraction.wording import kind_words
from ..units import convert_value, time_unit, to_days
from .facts import PatientFacts

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9(\"'])|\n\s*\n|\n(?=\s*[-*\u2022])")
_WORD_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "several": 3, "few": 3}
_ARTICLES = re.compile(r"^(?:(?:a|an|the|of|with|as|to|have|be|been|having|known|possible|probable|likely|case of)\s+)+", re.I)
_MAX_PHRASE_WORDS = 5
NEGATION_REACH = 25  # characters before a mention a note's negation ("doesn't smoke") reaches over
LIST_REACH = 120  # ... and over a list of items after it ("no heart, liver or gallbladder disease")


class _Vocab:
    """The note vocabulary of data/patient_note.json, compiled once."""

    def __init__(self) -> None:
        d = lexicons.load("patient_note")
        where = "data/patient_note.json"
        self.ages = [lexicons.compile_pattern(p, f"{where}: age_patterns") for p in d["age_patterns"]]
        self.sex = {sex: _words(ws) for sex, ws in d["sex_words"].items()}
        self.history = _words(d["history_cues"])
        self.family = _words(d["family_cues"])
        self.negation = _words(d["negation_cues"])
        self.diagnosis = _words(d["diagnosis_cues"])
        self.procedure = _words(d["procedure_cues"])
        self.stops = _words(d["phrase_stops"])
        self.ongoing = _words(d["ongoing_cues"])
        self.affirming = _words(d["affirming_cues"])
        self.list_negation = _words(d["list_negation_cues"])
        self.ago = lexicons.compile_pattern(d["ago_pattern"], f"{where}: ago_pattern")
        self.bp = [lexicons.compile_pattern(p, f"{where}: blood_pressure") for p in d["blood_pressure"]]
        self.vitals = {name: lexicons.compile_pattern(p, f"{where}: vital_patterns.{name}")
                       for name, p in d["vital_patterns"].items()}
        self.height = lexicons.compile_pattern(d["height_pattern"], f"{where}: height_pattern")
        self.measurements = set(d["measurement_analytes"])
        self.scores = dict(d["score_analytes"])
        # the words of the note's cues ("reports", "denies", "status post") are never a kind of a condition
        self.cue_words = frozenset(w.lower() for key in ("affirming_cues", "history_cues", "negation_cues", "diagnosis_cues",
                                                         "procedure_cues", "phrase_stops", "ongoing_cues", "family_cues")
                                   for phrase in d[key] for w in phrase.split())


def _words(phrases: list[str]) -> re.Pattern:
    """One pattern for a list of phrases; a one-letter phrase ("M", "F") matches only as written."""
    longest = sorted(phrases, key=len, reverse=True)
    alts = [f"(?-i:{re.escape(p)})" if len(p) == 1 else re.escape(p) for p in longest]
    return re.compile(r"(?<![\w/])(?:" + "|".join(alts) + r")(?![\w/])", re.I)


@lru_cache(maxsize=1)
def vocab() -> _Vocab:
    return _Vocab()


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``."""
    out, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        if text[pos:m.start()].strip():
            out.append((pos, m.start()))
        pos = m.end()
    if text[pos:].strip():
        out.append((pos, len(text)))
    return out


def read_note(text: str) -> PatientFacts:
    """The facts a patient note states, each with the span it was read from."""
    if not isinstance(text, str):
        raise TypeError(f"a patient note must be text, got {type(text).__name__}")
    facts = PatientFacts(text=text)
    v = vocab()
    _age_and_sex(text, facts, v)
    for a, b in sentences(text):
        _sentence(text, a, b, facts, v)
    for rx in v.bp:
        for m in rx.finditer(text):
            if not _in_family(text, m.start(), v) and \
                    not any(a <= m.start("sys") < b for a, b in facts.sources.get("blood_pressure", [])):
                facts.add("blood_pressure", f"{m.group('sys')}/{m.group('dia')}", m.span())
    _vitals(text, facts, v)
    if facts.sex == "male":  # "born after an uncomplicated pregnancy": his mother's
        for key in ("pregnant", "lactating"):
            setattr(facts, key, None)
            facts.sources.pop(key, None)
    return facts


def read_age_and_sex(text: str) -> PatientFacts:
    """Only the age and sex a note states ("34 yo M", "a 58-year-old woman"), without reading the
    rest: whether a question describes a patient the way notes do."""
    facts = PatientFacts(text=text)
    _age_and_sex(text, facts, vocab())
    return facts


def _vitals(text: str, facts: PatientFacts, v: _Vocab) -> None:
    """Vital signs the way notes write them ("pulse is 105/min", "temperature 38.9 C"), unless the
    general reading already has that analyte."""
    have = {item.rsplit(" ", 2)[0] for item in facts.measurements}
    for name, rx in v.vitals.items():
        if name in have:
            continue
        for m in rx.finditer(text):
            if _in_family(text, m.start(), v):
                continue
            if CHANGE_OF_VALUE.search(text[max(0, m.start() - 40):m.start()]):
                continue  # "lost 20 lb" is no weight of 20 lb
            written = m.groupdict().get("unit") or ""
            unit = {"C": "°C", "F": "°F"}.get(written.upper(), "bpm" if name == "heart rate" else written)
            item = f"{name} {m.group('value')} {unit}".strip()
            if _rereads(item):
                facts.add("measurements", item, m.span())
                break
    _body_mass_index(text, facts, v)


_NAIVE = re.compile(r"(?:-|\s+)na[iï]ve\b", re.I)
_STATES_BMI = re.compile(r"\b(?:BMI|body[- ]mass[- ]index)\b", re.I)


def _body_mass_index(text: str, facts: PatientFacts, v: _Vocab) -> None:
    """A body mass index from the height and weight a note states ("5 ft 6 in and 260 lb"), when it
    states none: criteria limit BMI far more often than notes state it."""
    if any(x.startswith("body mass index ") for x in facts.measurements) or _STATES_BMI.search(text):
        return
    weight = next((x for x in facts.measurements if x.startswith("body weight ")), None)
    h = next((m for m in v.height.finditer(text) if not _in_family(text, m.start(), v)), None)
    if weight is None or h is None:
        return
    value, unit = weight.split()[-2:]
    canon = rules().lex.unit_canon.get(unit_key(unit))
    kg = convert_value("body weight", float(value), canon["canonical"], "kg") if canon else None
    if kg is None:
        return
    if h.group("ft"):
        metres = (int(h.group("ft")) * 12 + int(h.group("inch") or 0)) * 0.0254
    else:
        metres = int(h.group("cm")) / 100 if h.group("cm") else float(h.group("m"))
    bmi = kg / metres ** 2
    if 10 <= bmi <= 80:
        span = facts.sources["measurements"][facts.measurements.index(weight)]
        facts.add("measurements", f"body mass index {bmi:.1f} kg/m2", (min(span[0], h.start()), max(span[1], h.end())))


def own_text(facts: PatientFacts) -> str:
    """The note with what is not the patient's blanked (same length, offsets kept): clauses about
    relatives ("her mother had breast cancer") and conditions stated as absent ("no history of
    diabetes"). What the patient is searched by: a trial about a relative's disease or one the
    patient does not have is not about the patient."""
    text = facts.text
    v = vocab()
    out = list(text)
    for a, b in sentences(text):
        kept = _without_relatives(text[a:b], v)
        out[a:b] = list(kept)
    for a, b in facts.sources.get("absent", []):
        out[a:b] = [" "] * (b - a)
    return "".join(out)


def _age_and_sex(text: str, facts: PatientFacts, v: _Vocab) -> None:
    """The patient's age: the first stated age that is not a relative's; sex from the same phrase,
    else the first sex word near it, else the pronouns the note uses most."""
    found = []
    for p in v.ages:
        for m in p.finditer(text):
            if not _in_family(text, m.start(), v):
                found.append(m)
                break
    if found:
        m = min(found, key=lambda x: x.start())
        age = float(m.group("age"))
        unit = m.groupdict().get("unit") or "years"
        years = to_days(age, time_unit(unit) or "year") / 365.25
        if 0 <= years <= 130:
            facts.add("age", round(years, 2), m.span("age"))
        sex = m.groupdict().get("sex")
        if sex:
            facts.add("sex", "female" if sex.upper() == "F" else "male", m.span("sex"))
            return
        near = text[m.end():m.end() + 40]
        for s, pat in v.sex.items():
            hit = pat.search(near)
            if hit and len(hit.group(0)) > 3 and not any(o.search(near[:hit.start()]) for o in v.sex.values()):
                facts.add("sex", s, (m.end() + hit.start(), m.end() + hit.end()))
                return
    counts = {s: [h for h in pat.finditer(text) if not _in_family(text, h.start(), v)] for s, pat in v.sex.items()}
    best = max(counts, key=lambda s: len(counts[s]))
    if counts[best] and len(counts[best]) > len(counts["male" if best == "female" else "female"]):
        facts.add("sex", best, counts[best][0].span())


def _in_family(text: str, pos: int, v: _Vocab) -> bool:
    """Whether a mention at ``pos`` is about a relative ("his father died at age 35")."""
    start = max(text.rfind(".", 0, pos), text.rfind(";", 0, pos)) + 1
    return bool(v.family.search(text, start, pos))


def _sentence(text: str, a: int, b: int, facts: PatientFacts, v: _Vocab) -> None:
    s = _without_relatives(text[a:b], v)
    if not s.strip():
        return
    r = rules()
    ents = r.extract(s)
    named = []
    conds = [e for e in ents if e.label == "CONDITION"]
    for e in ents:
        span = (a + e.start, a + e.end)
        if e.label == "CONDITION" and any(o is not e and o.start <= e.start and e.end <= o.end
                                          and o.end - o.start > e.end - e.start for o in conds):
            continue  # "infection" inside "HIV infection"
        if e.label == "CONDITION":
            named.append((e.start, e.end))
            _condition(s, e, span, facts, v, [(o.start, o.end) for o in ents if o is not e])
        elif e.label in ("LAB", "PERCENT") and e.analyte and e.value is not None:
            _value(s, e, span, facts, v)
    _diagnoses(s, a, named, facts, v)
    _scores(s, a, facts, v)


_SCORE_VALUE = re.compile(r"\s*(?:(?:score|status|of|is|was|=|:)\s*)*(\d{1,3})(?!\d|\.\d|\s*(?:/|[-\u2013]\s*\d|years?|yo))")


def _scores(s: str, a: int, facts: PatientFacts, v: _Vocab) -> None:
    """Performance and severity scales stated as a bare number ("ECOG 1", "Karnofsky 70"), which the
    criteria extractor (it looks for thresholds) leaves alone."""
    for start, end, name in rules().analyte_gaz.find(s):
        scale = v.scores.get(name)
        m = _SCORE_VALUE.match(s, end) if scale else None
        if m:
            facts.add("scores", (scale, float(m.group(1))), (a + start, a + m.end(1)))


def _without_relatives(s: str, v: _Vocab) -> str:
    """The sentence with each clause about a relative blanked ("a family history of heart disease",
    "his father had a stroke"), offsets kept."""
    for m in list(v.family.finditer(s)):
        end = re.search(r"[,;]|\bbut\b|\bhowever\b", s[m.end():])
        stop = m.end() + end.start() if end else len(s)
        s = s[:m.start()] + " " * (stop - m.start()) + s[stop:]
    return s


def _history_cue(s: str, pos: int, v: _Vocab, own: bool = False) -> bool:
    """A history cue in the clause before ``pos`` (or anywhere, for ``own``)."""
    if own:
        return bool(v.history.search(s))
    clause = max(s.rfind(",", 0, pos), s.rfind(";", 0, pos), s.rfind(":", 0, pos)) + 1
    return bool(v.history.search(s, 0 if re.match(r"\s*(?:past medical|medical|pmh)", s, re.I) else clause, pos))


def _negated(s: str, start: int, end: int, v: _Vocab) -> bool:
    """ConText negation, or a negation of the notes' phrasing ("doesn't smoke") earlier in the clause."""
    if rules().context_flags(s, start, end)[0] or _NAIVE.match(s, end):
        return True  # "chemo-naive", "treatment naïve": never had it
    but = s.rfind(" but ", 0, start)
    clause = max(s.rfind(",", 0, start), s.rfind(";", 0, start), but + 4 if but >= 0 else -1, start - NEGATION_REACH)
    cue = v.negation.search(s, max(clause, 0), start)
    if cue and not (cue.group(0).lower().startswith("non") and s[cue.end():start].strip(" -")):
        return True  # "non" negates only the word it is joined to ("non-smoker", not "non-operable NSCLC")
    # "No heart disease, diabetes, thyroid, liver or gallbladder disease": a negated list reaches every item
    sentence = max(s.rfind(";", 0, start), s.rfind(". ", 0, start), but + 4 if but >= 0 else 0, start - LIST_REACH, 0)
    cue = _last_negation(s, sentence, start, v)
    if cue is not None and not v.list_negation.fullmatch(cue.group(0)):
        return False  # "Stopped metformin last year, hypertension": only a list's own negator reaches its items
    if cue is None or "," not in s[cue.end():start]:
        return False
    # the verb of the negation itself ("Never had X, Y, surgery", "denies having") is not a new clause
    between = _NEGATED_VERB.sub("", s[cue.end():start], count=1)
    return not re.search(r"[:()\d]", between) and not any(
        m.group(0).lower() not in ("and", "or") for m in v.stops.finditer(between))


def _last_negation(s: str, a: int, b: int, v: _Vocab) -> re.Match | None:
    """The last negation cue between ``a`` and ``b``: the one whose reach a mention at ``b`` is in."""
    cue = None
    for cue in v.negation.finditer(s, a, b):
        pass
    return cue


def _affirmed(s: str, start: int, v: _Vocab) -> bool:
    """A negation whose reach a new clause ends: "No prior chemotherapy, ECOG 1, has hypertension"
    (ConText reads to the end of the sentence; a note's comma and verb start a statement of its own)."""
    cue = _last_negation(s, max(0, start - LIST_REACH), start, v)
    if cue is None:
        return False
    comma = s.rfind(",", cue.end(), start)
    # the clause the mention is in starts with the verb: "..., has hypertension", not "..., hypertension with retinopathy"
    return comma >= 0 and bool(v.affirming.match(s[comma + 1:start].lstrip()))


_NEGATED_VERB = re.compile(r"^\s*(?:ever\s+)?(?:had|has|have|having|been|taken|took|received|used|undergone|underwent|got)\b", re.I)
# A procedure or treatment still to come ("no planned surgery", "scheduled for a lumpectomy") is no fact of having had it.
PLANNED = re.compile(r"\b(?:planned|planning|scheduled|upcoming|future|awaiting|pending)\s+(?:for\s+)?(?:an?\s+|the\s+)?(?:[\w-]+\s+)?$", re.I)
_BECOME = re.compile(r"\b(?:become|becoming|get|getting)\s+$", re.I)


def _condition(s: str, e, span, facts: PatientFacts, v: _Vocab, taken: list[tuple[int, int]] = ()) -> None:
    kind, name = e.concept_type, e.concept
    if kind == "population" or not name:
        return
    # The kind the note names ("renovascular hypertension"), shown and kept so that a criterion
    # naming that kind can be decided; the criteria reader maps it to its concept again.
    of_kind = kind_words(s, e.start, taken, v.cue_words) if kind not in ("drug", "situation") else None
    if not e.negated and _negated(s, e.start, e.end, v):
        e.negated = True
    elif e.negated and _affirmed(s, e.start, v):
        e.negated = False
    if kind == "situation":
        low = e.text.lower()
        if name == "pregnancy" and _BECOME.search(s, max(0, e.start - 30), e.start):
            return  # "would like to become pregnant": a wish, not a state
        if name == "pregnancy" and re.search(r"pregnan|gravid|gestation", low):
            facts.add("pregnant", not e.negated, span)
        elif name == "breastfeeding":
            facts.add("lactating", not e.negated, span)
        elif name in ("smoking", "alcohol use"):
            facts.add("absent" if e.negated else "conditions", name, span)
        return
    if kind in ("drug", "procedure"):
        if PLANNED.search(s, max(0, e.start - 30), e.start):
            return  # "planned surgery", "scheduled for a biopsy": not had yet
        if e.negated:
            if kind == "procedure" and not of_kind:
                facts.add("absent", name, span)  # "never had surgery": none of it (a drug's "no medications" names none)
            return  # "takes no medications": nothing taken, and no name to exclude
        # The drug as written ("methotrexate"), not the lexicon's class ("antimetabolites"): the
        # criteria reader maps it to its classes again, and people see what the note said.
        item = {"name": e.text.strip() if kind == "drug" else f"{of_kind} {name}" if of_kind else name}
        ago = _ago(s)
        if ago is not None:
            item["days_ago"] = ago
        if kind == "drug" and v.ongoing.search(s):
            item["ongoing"] = True
        facts.add("treatments" if kind == "drug" else "procedures", item, span)
        return
    if e.negated:
        if not of_kind:  # "no renovascular hypertension" denies that kind, not hypertension
            facts.add("absent", name, span)
    else:
        shown = f"{of_kind} {e.text.strip()}" if of_kind else name  # as written: "arm paresthesias", not "arm peripheral neuropathy"
        facts.add("conditions", shown, span)
        if _history_cue(s, e.start, v):
            facts.add("history", shown, span)


def _value(s: str, e, span, facts: PatientFacts, v: _Vocab) -> None:
    """A measured value: a score, a vital sign or a lab, written ``NAME VALUE UNIT``. Only a value
    right after its analyte's name: in a list of labs, a farther name is another value's."""
    if e.value2 is not None:
        return  # a range ("ECOG 0-1") is a limit someone states, not the patient's value
    named = rules().find_analyte(s, e.start, e.end)
    if named is None or (named[1] < e.start and re.search(r"\d|,", s[named[1]:e.start])):
        return
    if CHANGE_OF_VALUE.search(s[max(0, e.start - 40):e.start]):
        return  # "a weight loss of 10 kg" is not a weight of 10 kg
    if named[0] != e.analyte and not rules().related_analytes([named[0]]) & rules().related_analytes([e.analyte]):
        return  # "ASAT/ALAT and alkaline phosphatase, creatinine clearance 70 ml/min": the value is the nearest name's
    if e.analyte in v.scores:
        facts.add("scores", (v.scores[e.analyte], e.value), span)
        return
    if e.analyte == "blood pressure":
        return  # read as SYS/DIA by its own pattern; a lone number after "BP" is not a pressure
    if e.analyte == "body surface area" and e.unit == "%":
        facts.add("bsa_percent", e.value, span)
        return
    unit = e.unit or ""
    item = f"{e.analyte} {e.value:g} {unit}".strip()
    if e.analyte in v.measurements:
        facts.add("measurements", item, span)
    elif _rereads(item):
        facts.add("labs", item, span)


@lru_cache(maxsize=512)
def _rereads(item: str) -> bool:
    """Whether ``check()`` will read the lab back (it refuses one it cannot)."""
    return any(x.label == "LAB" and x.analyte for x in rules().extract(item))


def _ago(s: str) -> float | None:
    m = vocab().ago.search(s)
    if not m:
        return None
    n = m.group("n").lower()
    amount = _WORD_NUMBERS.get(n) or float(n)
    unit = time_unit(m.group("unit").lower())
    return round(to_days(float(amount), unit), 1) if unit else None


def _diagnoses(s: str, a: int, named: list[tuple[int, int]], facts: PatientFacts, v: _Vocab) -> None:
    """Conditions the lexicon does not know, named after a diagnosis cue ("diagnosed with X",
    "consistent with X", "h/o X"): the words up to a stop word or punctuation, at most a few."""
    for m in v.diagnosis.finditer(s):
        rest = s[m.end():]
        lead = len(rest) - len(rest.lstrip())
        phrase = _ARTICLES.sub("", rest.lstrip())
        start = m.end() + lead + (len(rest.lstrip()) - len(phrase))
        cut = re.search(r"[,.;:()\d]|\s(?:" + v.stops.pattern + r")", phrase, re.I)
        phrase = phrase[:cut.start()] if cut else phrase
        words = phrase.split()[:_MAX_PHRASE_WORDS]
        phrase = " ".join(words).strip(" -")
        end = start + len(phrase)
        if len(phrase) < 4 or not re.search(r"[a-z]{3}", phrase, re.I):
            continue
        if any(x < end and start < y for x, y in named):
            continue  # the lexicon already read a condition there
        named.append((start, end))
        negated = _negated(s, start, end, v)
        span = (a + start, a + end)
        name = phrase.lower()
        if negated:
            facts.add("absent", name, span)
            continue
        if v.procedure.fullmatch(m.group(0)):
            item = {"name": name}
            ago = _ago(s[m.start():])
            if ago is not None:
                item["days_ago"] = ago
            facts.add("procedures", item, span)
            continue
        facts.add("conditions", name, span)
        if v.history.fullmatch(m.group(0)) or _history_cue(s, start, v):
            facts.add("history", name, span)

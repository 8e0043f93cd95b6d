"""``Rules``: the extractor. It classifies the quantities of a text (ages, time windows,
percentages, lab thresholds, doses), adds the named concepts, and flags each entity's context."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Iterable

from ..errors import ConfigError
from ..units import to_days, to_years
from .context import Context, spread_over_coordination
from .entity import CriterionEntity
from .gazetteer import TOKEN, Gazetteer, token_key
from .lexicon import Lexicon, unit_key
from .quantities import Quantity, QuantityReader

_COORDINATED = re.compile(r"[\s()]*(?:/|,|&|and/or|and|or)[\s()]*", re.I)
_SAME_ANALYTE = re.compile(r"[\s(]*")
_DIRECTION = re.compile(
    r"(?P<d>prior\s+to|before|preceding|previous\s+to|ahead\s+of|ago|earlier|after|following|since|from|post|of|"
    r"in\s+the\s+(?:past|last|previous|preceding)|of\s+the\s+(?:past|last)|before\s+the|"
    r"during\s+the\s+(?:first|last|past)?)\b",
    re.I,
)
# "within the past", "during the previous", "in the next", "prior", "last": what stands before a duration.
_TIME_LEAD = re.compile(
    r"(?:\b(?P<lead>within|in|during|over|for|since|throughout)\s+)?(?:the\s+)?"
    r"(?:(?P<dir>past|last|previous|prior|preceding|recent|most\s+recent|next|following|coming|upcoming|first|initial)\s+)?"
    r"(?:(?:approximately|about|around|at\s+least|at\s+most|up\s+to)\s+)?$",
    re.I,
)
_DURATION_BEFORE = re.compile(
    r"(?:within|past|last|previous|prior|since|for|during|history|duration|ago|after|before|over|lasting|"
    r"diagnosed|diagnosis|existing|stable|treated|treatment|therapy|use)\W*(?:the\s+)?"
    r"(?:(?:at\s+least|less\s+than|more\s+than|greater\s+than|longer\s+than|a\s+minimum\s+of|minimum|"
    r"a\s+maximum\s+of|maximum|up\s+to|over|under|[<>≤≥=]+)\s*)?$",
    re.I,
)


def _window_start(text: str, pos: int, width: int = 80) -> int:
    """Where the look-back window for an analyte before ``pos`` starts: ``width`` characters back,
    but not before the start of the line."""
    left = max(0, pos - width)
    nl = text.rfind("\n", left, pos)
    left = nl + 1 if nl >= 0 else left
    # nor before the sentence it stands in: "Life expectancy > 3 months. Bili 0.8 mg/dL" is no life expectancy
    ends = [m.end() for m in _SENTENCE_END.finditer(text, left, pos)]
    return ends[-1] if ends else left


_SENTENCE_END = re.compile(r"(?<=[a-z)])\.\s+(?=[A-Z])")


class Rules:
    """The extractor, compiled from the package lexicons (validated on construction)."""

    _ukey = staticmethod(unit_key)  # answering reads unit spellings through it

    def __init__(self) -> None:
        self.lex = lex = Lexicon()
        self.quantities = QuantityReader(lex)
        self.context = Context(lex)
        self.units = lex.lab_units
        # The vocabulary other modules read (answering, retrieval).
        self.analytes, self.analyte_gaz = lex.analytes, lex.analyte_gaz
        self.concepts, self.concept_gaz = lex.concepts, lex.concept_gaz
        self.unit_canon, self.anchor_list = lex.unit_canon, lex.anchor_list

    def number(self, tok: str | None) -> float | None:
        return self.quantities.number(tok)

    def context_flags(self, text: str, start: int, end: int) -> tuple[bool, bool]:
        """(negated, hedged) of a mention, ConText-style: triggers in its clause, within reach."""
        negated, hedged, _ = self.context.flags(text, start, end)
        return negated, hedged

    def find_analyte(self, text: str, start: int, end: int) -> tuple[str, int] | None:
        """The analyte named closest before the value in the same clause, else right after it."""
        left = _window_start(text, start)
        window = text[left:start]
        best = None
        for a, b, name in self.analyte_gaz.find(window):
            if ";" in window[b:]:
                continue
            if best is None or b > best[1]:
                best = (name, b)
        if best:
            return best[0], left + best[1]
        after = text[end:end + 40]
        lead = re.match(r"\s*(?:(?:of|in)\s+)?", after).end()  # "10 g/dL of hemoglobin", "40 kg in weight"
        for a, b, name in self.analyte_gaz.find(after):
            if a == lead:
                return name, end
        return None

    def implausible(self, e: CriterionEntity) -> bool:
        """Whether a lab limit, read in its stated unit, lies far outside anything its analyte's limits
        take ("absolute neutrophil count > 1,500/mL" is 0.0015 x 10^9/L: a unit typo for /uL)."""
        if e.label != "LAB" or e.value is None or not e.unit:
            return False
        # Multiples of ULN and other relative units say nothing about size (plausible() is None).
        return self.units.plausible(e.analyte or "", e.unit, e.value, e.value2) is False

    def related_analytes(self, names: Iterable[str]) -> set[str]:
        """The analytes plus their groups and members ("AST" -> AST, transaminases)."""
        return {r for n in names for r in self.lex.analyte_groups.get(n, {n})}

    def _coordinated_analytes(self, text: str, labs: list[CriterionEntity]) -> list[CriterionEntity]:
        """A limit after coordinated analytes holds for each: "AST(SGOT)/ALT(SGPT) <= 3 x ULN" is a
        limit on ALT and one on AST (same span)."""
        out = []
        for e in labs:
            left = _window_start(text, e.start)
            mentions = [(a + left, b + left, name) for a, b, name in self.analyte_gaz.find(text[left:e.start])]
            if not mentions or mentions[-1][2] != e.analyte or text[mentions[-1][1]:e.start].strip(" :()[]\\") != "":
                continue  # the analyte is not the mention right before the limit
            head, names = mentions[-1], [e.analyte]
            for m in reversed(mentions[:-1]):
                gap = text[m[1]:head[0]]
                if m[2] == head[2] and _SAME_ANALYTE.fullmatch(gap):
                    head = m  # "ALT (SGPT)": one analyte named twice
                elif _COORDINATED.fullmatch(gap):
                    head = m
                    if m[2] not in names:
                        names.append(m[2])
                else:
                    break
            out.extend(self._normalized(replace(e, analyte=name)) for name in names[1:])
        return out

    def concept_lookup(self, s: str) -> str | None:
        """The concept a whole phrase names, if any."""
        s = s.strip()
        hits = self.concept_gaz.find(s)
        return hits[0][2] if hits and hits[0][0] == 0 and hits[0][1] == len(s) else None

    def find_anchor(self, tail: str) -> tuple[str | None, str | None]:
        """Anchor event in the words after a direction word."""
        m = re.match(r"[^;.,:()\n]{0,80}", tail)
        span = m.group(0) if m else ""
        # The anchor phrase ends at a conjunction that starts another clause.
        span = re.split(r"\s+(?:and|or|with|who|which|if|unless|but)\s+", span, maxsplit=1)[0]
        words = span.strip()
        best = None
        for name, rx in self.anchor_list:
            if name == "now":
                continue
            am = rx.search(span)
            if am and (best is None or am.start() < best[1]):
                best = (name, am.start())
        return (best[0] if best else None), words[:80] or None

    def extract(self, text: str, polarity: str | None = None) -> list[CriterionEntity]:
        """The entities of ``text`` in order of position; offsets are into ``text``."""
        ents: list[CriterionEntity] = []
        prev: tuple[Quantity, CriterionEntity] | None = None
        for q in self.quantities.find(text):
            if re.search(r"\d\s*\+\s*$", text[max(0, q.num_start - 8):q.num_start]):
                continue  # the addend of a sum ("24 + 0 weeks" of gestation, Gleason "3+4") is no limit
            if prev and prev[1].label == "AGE" and not q.unit \
                    and re.fullmatch(r"\s*,?\s*(?:and|or|to|and/or|-)?\s*", text[prev[1].end:q.start], re.I):
                # "age >= 18 and < 65 years", "13-17 years or 18-20": a limit coordinated with an age is an age.
                q.age = True
            e = self._classify(text, q)
            if e is None:
                continue
            if prev and e.label == "LAB" and not (q.cb or q.ca or q.plus) and prev[1].label == "LAB" \
                    and prev[1].analyte == e.analyte and e.unit and e.unit != prev[1].unit \
                    and re.fullmatch(r"\s*(?:or|\(|/|,|;|=)?\s*", text[prev[1].end:q.num_start], re.I):
                # The same limit in another unit: "> 2.0 mg/dL (177 µmol/L)".
                e.op = prev[1].op
            e.polarity = polarity
            ents.append(e)
            prev = (q, e)
        for e in self._reference_limits(text, ents):
            e.polarity = polarity
            ents.append(e)
        ents.extend(self._coordinated_analytes(text, [e for e in ents if e.label == "LAB" and e.analyte]))
        toks = Gazetteer.tokens(text)
        ents.extend(self._concepts(text, polarity, toks))
        triggers = self.context.find_triggers(text, toks) if ents else {}
        for e in ents:
            e.negated, e.hedged, e.excepted = self.context.flags(text, e.start, e.end, triggers)
        ents.sort(key=lambda e: (e.start, -e.end))
        spread_over_coordination(text, ents)
        return ents

    def _reference_limits(self, text: str, ents: list[CriterionEntity]) -> list[CriterionEntity]:
        """Limits stated against a reference with no number: "total bilirubin <= institutional upper
        limit of normal" is <= 1 x ULN of total bilirubin."""
        out = []
        for unit, rx in self.lex.reference_limits:
            for m in rx.finditer(text):
                if any(x.start < m.end() and m.start() < x.end for x in ents):
                    continue
                analyte = self.find_analyte(text, m.start(), m.end())
                if analyte is None:
                    continue  # "<= ULN" of nothing named is no threshold
                op = self.lex.before_ops.get(token_key(m.group("op")))
                if op is None:
                    continue
                out.append(self._normalized(CriterionEntity("LAB", m.group(0), m.start(), m.end(), op, 1.0, None, unit,
                                                             analyte=analyte[0])))
        return out

    def _concepts(self, text: str, polarity: str | None, toks: list | None = None) -> list[CriterionEntity]:
        out: list[CriterionEntity] = []
        for a, b, name in self.concept_gaz.find(text, toks):
            # A mention inside a longer mention of the same concept adds nothing.
            if any(o.start <= a and b <= o.end and o.concept == name for o in out[-8:]):
                continue
            out.append(CriterionEntity("CONDITION", text[a:b], a, b, concept=name,
                                       concept_type=self.concepts[name]["type"], polarity=polarity))
        return out

    def _is_age_comparator(self, phrase: str) -> bool:
        return any(w in self.lex.age_intrinsic for w in phrase.split())

    def _classify(self, text: str, q: Quantity) -> CriterionEntity | None:
        v1 = self.number(q.v1)
        v2 = self.number(q.v2)
        if v1 is None:
            return None
        op = q.op_before or self.lex.after_ops.get(q.ca)
        if q.plus and op is None:
            op = ">="
        if v2 is not None:
            op = "between"
        start, end = q.start, q.end
        age_after = q.age_suffix or unit_key(q.tunit or "") in self.lex.age_units or self.lex.age_after.match(text, q.tail_from or end)
        intrinsic = self._is_age_comparator(q.cb) or self._is_age_comparator(q.ca)
        is_word_number = q.v1.lower() in self.lex.word_numbers

        if q.tunit:
            unit = self.lex.time_key.get(unit_key(q.tunit))
            if unit is None:
                return None
            if unit in ("years", "months", "weeks", "days", "hours") and self._age_like(text, q, unit, bool(age_after), intrinsic):
                return self._age(text, q, op, v1, v2, unit)
            return self._time(text, q, v1, v2, op, unit)

        unit_info = self.unit_canon.get(unit_key(q.unit)) if q.unit else None
        if is_word_number and not unit_info:
            return None
        if self._not_threshold(text, q, v2):
            return None
        # Numbers that are part of identifiers, dates, exponents or list markers are not thresholds.
        if not q.cb and re.search(r"(?:\d[/.\-]|[A-Za-z]-?|#|\^|(?<![A-Za-z])[x×*]\s?|\b[A-Z]\.\s?)$", text[max(0, q.num_start - 4):q.num_start]):
            return None
        nxt = text[end:end + 3]
        if not unit_info and not q.ca and re.match(r"[/.\-]?\d|\s*(?:st|nd|rd|th)\b|/", nxt):
            return None
        if not unit_info and v2 is None and op is None and re.match(r"[.)]", nxt) \
                and re.search(r"(?:^|\n|\()[\s\-•*]*$", text[max(0, q.num_start - 8):q.num_start]):
            return None  # a list marker: "1.", "2)", "(3)"
        # Unitless ages: "Age >= 18", "aged 18-65", "patients older than 18", "20-70 age".
        if not unit_info and 0 <= v1 <= 120 and (v2 is None or v2 <= 120) and not is_word_number:
            if q.age or intrinsic or (age_after and not q.ca) or (q.population and op and self._ends_phrase(text, end)):
                return self._age(text, q, op, v1, v2, "years")

        analyte = self.find_analyte(text, q.num_start, end)
        analyte_name = analyte[0] if analyte else None

        if unit_info and unit_info["kind"] == "percent":
            measure = self._percent_measure(text, q.num_start, end, analyte_name)
            if analyte_name and self.analytes[analyte_name]["unit"] == "%" and analyte_name != "body surface area":
                return self._entity("LAB", text, q, op or "=", v1, v2, "%", v1, v2, "%", analyte=analyte_name)
            if op is None and not measure:
                return None
            return self._entity("PERCENT", text, q, op or "=", v1, v2, "%", v1, v2, "%", analyte=measure)

        if unit_info and unit_info["kind"] == "dose" and analyte_name and unit_info["canonical"] in ("g", "kg", "lb") \
                and self.analytes[analyte_name]["unit"] in ("kg", "g"):
            return self._lab(text, q, op or "=", v1, v2, unit_info, analyte_name)  # "birth weight at least 800 grams"
        if unit_info and unit_info["kind"] == "dose":
            if analyte_name and unit_info["canonical"] in ("mg", "g") and re.match(r"\s*/\s*(?:d|dl|l)\b", text[end:end + 5], re.I):
                return None
            e = self._entity("DOSE", text, q, op or "=", v1, v2, unit_info["canonical"], v1, v2, unit_info["canonical"])
            e.route = self._nearest(self.lex.routes, text, start, end, 40)
            e.frequency = self._nearest(self.lex.freqs, text, start, end, 0)
            return e

        if analyte_name is None and unit_info is None:
            # A stated comparator makes a threshold even for a measure no lexicon names
            # ("PHQ-9 score >= 10", "> 7 drinks per week").
            if op is None or is_word_number:
                return None
            return self._lab(text, q, op, v1, v2, None, None)
        if analyte_name is None:
            if op is None:
                return None
            return self._lab(text, q, op, v1, v2, unit_info, None)
        if op is None and unit_info is None and v2 is None:
            # A bare number after an analyte with neither comparator nor unit is not a threshold.
            return None
        return self._lab(text, q, op or "=", v1, v2, unit_info, analyte_name)

    @staticmethod
    def _nearest(table: list[tuple[str, re.Pattern]], text: str, start: int, end: int, back: int) -> str | None:
        """The entry of ``table`` named closest to a dose: up to 90 characters after it in its clause,
        or ``back`` characters before it ("7.2 mg/kg IV or 9.0 mg/kg orally")."""
        tail = re.split(r"[;\n]", text[end:end + 90], maxsplit=1)[0]
        head = text[max(0, start - back):start]
        best: tuple[int, str] | None = None
        for name, rx in table:
            m = rx.search(tail)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), name)
            for m in rx.finditer(head):
                d = len(head) - m.end() + 10  # a following mention wins a tie
                if best is None or d < best[0]:
                    best = (d, name)
        return best[1] if best else None

    def _not_threshold(self, text: str, q: Quantity, v2: float | None) -> bool:
        """A sample size ("n = 20"), a scale's range ("0-10 scale"), a numbered item ("type 2",
        "grade 1-2", "day 1") rather than a limit."""
        if v2 is not None and self.lex.not_after.match(text, q.end):
            return True
        if q.cb not in ("", "=") or q.ca or q.between:
            return False  # "visit between 9.5-13.5 g/dl": the words before "between" do not number it
        words = [w.lower() for w in TOKEN.findall(text[max(0, q.start - 30):q.start])][-3:]
        if q.cb == "=":
            return bool(words) and words[-1] == "n"
        return any(" ".join(words[-k:]) in self.lex.not_before for k in range(1, len(words) + 1))

    @staticmethod
    def _ends_phrase(text: str, end: int) -> bool:
        """Nothing but punctuation or a function word follows: "patients >= 18 who ..."."""
        m = re.match(r"\s*([A-Za-z]+)", text[end:end + 20])
        return m is None or m.group(1).lower() in ("who", "that", "and", "or", "at", "with", "in", "on", "are", "is",
                                                   "were", "was", "will", "to", "when", "if", "from", "presenting",
                                                   "undergoing", "scheduled", "admitted", "having", "of")

    def _age_like(self, text: str, q: Quantity, unit: str, age_after: bool, intrinsic: bool) -> bool:
        """Whether a duration is a participant's age: an age word or comparator, a population noun
        before it, or a bare number of years standing as the whole criterion."""
        if age_after or intrinsic or q.age:
            return True
        if unit not in ("years", "months") or q.tadj:
            return False  # "two successive years" is a period, not an age
        after = text[q.end:q.end + 60]
        if self._has_direction(after) or _DURATION_BEFORE.search(text[max(0, q.start - 40):q.start]):
            return False
        if q.population:
            return True
        # A bare "< 60 years" or "18-65 years" standing as the whole criterion is an age limit (a
        # bare "at least 3 months" is more often a life expectancy).
        if unit != "years":
            return False
        lo = max(0, q.start - 200)
        nl = text.rfind("\n", lo, q.start)
        line = text[nl + 1:q.start] if nl >= 0 or lo == 0 else "..."
        return bool(re.fullmatch(r"[\s\-•*·]*(?:\(?\w{1,2}[.)]\s*)?", line)
                    and re.match(r"\s*(?:[,;.(]|$|\n|(?:and|or|male|female|men|women|both)\b)", after, re.I))

    def _age(self, text: str, q: Quantity, op: str | None, v1: float, v2: float | None, unit: str) -> CriterionEntity:
        n1 = round(to_years(v1, self._lower_unit(q, unit)), 6)
        n2 = None if v2 is None else round(to_years(v2, unit), 6)
        return self._entity("AGE", text, q, op or "=", v1, v2, unit, n1, n2, "years")

    def _lower_unit(self, q: Quantity, unit: str) -> str:
        """The unit of a range's lower bound: its own ("2 months to 18 years"), else the range's."""
        return self.lex.time_key.get(unit_key(q.tunit1 or "")) or unit

    def _percent_measure(self, text: str, start: int, end: int, analyte: str | None) -> str | None:
        after = text[end:end + 80]
        mm = re.match(r"\s*(?:of\s+(?:the\s+)?(?:patient'?s?\s+)?(?:total\s+)?)?([^;,.()]{0,60})", after, re.I)
        if mm:
            hits = self.analyte_gaz.find(mm.group(1))
            if hits:
                return hits[0][2]
        return analyte

    def _time(self, text: str, q: Quantity, v1: float, v2: float | None, op: str | None, unit: str) -> CriterionEntity:
        start, end = q.start, q.end
        after_text = text[end:end + 60]
        direction, anchor, anchor_text = None, None, None
        # Direction and anchor: "10 days after onset", "within 48 hours prior to treatment".
        dm = _DIRECTION.match(after_text.lstrip(" ,"))
        if dm:
            d = dm.group("d").lower()
            direction = ("before" if any(w in d for w in ("prior", "before", "preced", "previous", "ahead", "past", "last", "ago", "earlier"))
                         else "after" if any(w in d for w in ("after", "follow", "since", "from", "post", "first"))
                         else "within")
            tail = after_text.lstrip(" ,")[dm.end():]
            anchor, anchor_text = self.find_anchor(tail)
            if d in ("ago", "earlier") and anchor is None:
                anchor = "now"
        elif q.ca.startswith("ago"):  # "12 months ago or less": the comparator took the "ago"
            direction, anchor = "before", "now"
        window_start = max(0, start - 50)
        nl = text.rfind("\n", window_start, start)
        lead = _TIME_LEAD.search(text, nl + 1 if nl >= 0 else window_start, start)
        lead_word = (lead.group("lead") or "").lower() if lead else ""
        lead_dir = re.sub(r"\s+", " ", (lead.group("dir") or "").lower()) if lead else ""
        lead_dir = lead_dir or q.tadj or ""  # "within the 6 previous months"
        if q.cb == "within":
            lead_word = "within"
        if lead_dir in ("past", "last", "previous", "prior", "preceding", "recent", "most recent"):
            if direction in (None, "within"):
                direction = "before"
            anchor = anchor or "now"
            if op in (None, "="):
                op = "<="
        elif lead_dir in ("next", "following", "coming", "upcoming"):
            direction = direction or "after"
            anchor = anchor or "now"
            if op in (None, "="):
                op = "<="
        elif lead_dir in ("first", "initial"):
            direction = direction or "after"
        if lead_word == "within":
            direction = direction or "within"
            if op in (None, "="):
                op = "<="
        if v2 is not None:
            op = "between"
        e = self._entity("TIME_WINDOW", text, q, op or "=", v1, v2, unit, round(to_days(v1, self._lower_unit(q, unit)), 6),
                         None if v2 is None else round(to_days(v2, unit), 6), "days")
        e.direction, e.anchor, e.anchor_text = direction, anchor, anchor_text
        if lead and (lead_word or lead_dir) and lead.start() < e.start:
            e.start, e.text = lead.start(), text[lead.start():e.end]
        return e

    def _has_direction(self, after_text: str) -> bool:
        return bool(re.match(r"\s*(prior|before|after|following|since|preceding|ago|of\s+(?:the\s+)?(?:start|first|study|randomi|inclusion|enrol|screening|treatment|diagnosis|onset))", after_text, re.I))

    def _lab(self, text, q, op, v1, v2, unit_info, analyte) -> CriterionEntity:
        unit = unit_info["canonical"] if unit_info else None
        return self._normalized(self._entity("LAB", text, q, op, v1, v2, unit, None, None, None, analyte=analyte))

    def _normalized(self, e: CriterionEntity) -> CriterionEntity:
        """A lab entity with its value in its analyte's canonical unit (as stated when it has no analyte)."""
        if e.analyte:
            e.norm_value, e.norm_value2, e.norm_unit = self.units.convert(e.analyte, e.value, e.value2, e.unit)
        else:
            e.norm_value, e.norm_value2, e.norm_unit = e.value, e.value2, e.unit
        return e

    def _entity(self, label, text, q, op, v1, v2, unit, n1, n2, nunit, analyte=None) -> CriterionEntity:
        start, end = q.start, q.end
        end = start + len(text[start:end].rstrip())
        return CriterionEntity(label, text[start:end], start, end, op, v1, v2, unit, n1, n2, nunit, analyte=analyte)


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The compiled rules, built once per process."""
    try:
        return Rules()
    except KeyError as exc:
        raise ConfigError(f"a lexicon data file lacks the key {exc}") from None

"""Rule-based extraction of criteria entities: ages, time windows, percentages, lab thresholds,
doses and named concepts, with negation/hedging and inclusion/exclusion polarity.

The rules live in ``trialqa/data/*.json``. ``Rules.extract`` works on plain text and returns
``CriterionEntity`` objects with offsets; the spaCy components in ``pipeline`` wrap it and put the
entities in ``doc.spans["criteria"]``. ``extract_criteria(text)`` is the public entry point.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from . import lexicons
from .errors import ConfigError, QueryError

PRE_SCOPE_WORDS = 4  # how far a negation trigger reaches forward, in words
LABELS = ("AGE", "TIME_WINDOW", "PERCENT", "LAB", "DOSE", "CONDITION")
MAX_TEXT = 1_000_000


@dataclass
class CriterionEntity:
    """One extracted entity. Offsets are into the text given to the extractor."""

    label: str
    text: str
    start: int
    end: int
    op: str | None = None  # <, <=, >, >=, =, between
    value: float | None = None
    value2: float | None = None  # upper bound of a range
    unit: str | None = None
    norm_value: float | None = None
    norm_value2: float | None = None
    norm_unit: str | None = None
    analyte: str | None = None  # LAB / PERCENT: what is measured (canonical name)
    concept: str | None = None  # CONDITION: canonical concept
    concept_type: str | None = None
    anchor: str | None = None  # TIME_WINDOW: canonical anchor event
    anchor_text: str | None = None
    direction: str | None = None  # before / after / within
    route: str | None = None
    frequency: str | None = None
    negated: bool = False
    hedged: bool = False
    polarity: str | None = None  # inclusion / exclusion of the criterion it stands in

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def bounds(self) -> tuple[float | None, bool, float | None, bool]:
        """(low, low_inclusive, high, high_inclusive) of the allowed range in normalized units."""
        v, v2 = self.norm_value, self.norm_value2
        if v is None:
            return None, False, None, False
        return {
            ">=": (v, True, None, False), ">": (v, False, None, False),
            "<=": (None, False, v, True), "<": (None, False, v, False),
            "=": (v, True, v, True), "between": (v, True, v2, True),
        }.get(self.op or "=", (v, True, v, True))

    def admits(self, x: float) -> bool | None:
        """Whether a normalized value satisfies this threshold (None when it has no threshold)."""
        lo, lo_inc, hi, hi_inc = self.bounds()
        if lo is None and hi is None:
            return None
        if lo is not None and (x < lo or (x == lo and not lo_inc)):
            return False
        if hi is not None and (x > hi or (x == hi and not hi_inc)):
            return False
        return True


def _alt(phrases: Iterable[str], *, bound: bool = True) -> str:
    """Regex alternation, longest first; alphabetic edges get word boundaries, spaces match any run."""
    out = []
    for p in sorted(set(phrases), key=len, reverse=True):
        esc = re.escape(p).replace(r"\ ", r"\s+").replace(r"\-", r"[\s\-‐]?")
        if bound and p[:1].isalnum():
            esc = r"(?<![\w])" + esc
        if bound and p[-1:].isalnum():
            esc = esc + r"(?![\w])"
        out.append(esc)
    return "|".join(out)


_TOKEN = re.compile(r"\w+|[^\w\s]")


class Gazetteer:
    """Phrase lookup by token n-grams: case-insensitive (or exact-case) keys, hyphens ignored.

    Much faster than one regex alternation of thousands of phrases, and the same tokenization is
    applied to phrases and text so "breast-feeding", "breast feeding" and "breastfeeding"... all
    meet where the lexicon lists their variants.
    """

    def __init__(self) -> None:
        self.ci: dict[str, list[str]] = {}
        self.cs: dict[str, list[str]] = {}
        self.max_len = 1

    @staticmethod
    def tokens(text: str) -> list[tuple[str, int, int]]:
        return [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text) if m.group(0) not in "-‐–"]

    def add(self, phrase: str, value: str, case_sensitive: bool = False) -> None:
        toks = [t for t, _, _ in self.tokens(phrase)]
        if not toks:
            return
        self.max_len = max(self.max_len, len(toks))
        table, key = (self.cs, " ".join(toks)) if case_sensitive else (self.ci, " ".join(toks).lower())
        values = table.setdefault(key, [])
        if value not in values:
            values.append(value)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """All (start, end, value) matches; at each position the longest phrase wins."""
        toks = self.tokens(text)
        words = [t for t, _, _ in toks]
        out = []
        n = len(toks)
        for i in range(n):
            for k in range(min(self.max_len, n - i), 0, -1):
                key = " ".join(words[i:i + k])
                values = self.cs.get(key, []) + [v for v in self.ci.get(key.lower(), []) if v not in self.cs.get(key, [])]
                if values:
                    out.extend((toks[i][1], toks[i + k - 1][2], v) for v in values)
                    break
        return out


class Rules:
    """Compiled extraction rules from the package lexicons (validated on construction)."""

    def __init__(self) -> None:
        comp = lexicons.load("comparators")
        units = lexicons.load("units")
        analytes = lexicons.load("analytes")
        concepts = lexicons.load("concepts")
        anchors = lexicons.load("anchors")
        context = lexicons.load("context")
        numbers = lexicons.load("numbers")
        dose = lexicons.load("dose")

        self.word_numbers = {k.lower(): float(v) for k, v in numbers["words"].items() if k not in ("a", "an", "single", "a single")}
        num_words = _alt(self.word_numbers)
        self.num = rf"(?:(?<![\w.,])(?:\d{{1,3}}(?:,\d{{3}})+(?![\d])|\d+)(?:\.\d+)?(?![\d])|(?<![\w.])\.\d+|{num_words})"

        self.before_ops: dict[str, str] = {}
        for op, phrases in comp["before"].items():
            for p in phrases:
                self.before_ops[p.lower()] = op
        self.after_ops: dict[str, str] = {}
        for op, phrases in comp["after"].items():
            for p in phrases:
                self.after_ops[p.lower()] = op

        self.unit_canon: dict[str, dict] = {}
        for u in units["units"]:
            lexicons.require(u, ("canonical", "kind", "spellings"), "units.json")
            for s in u["spellings"]:
                self.unit_canon.setdefault(s.lower(), u)
        self.units_by_canon = {u["canonical"]: u for u in units["units"]}
        self.time_canon = {s.lower(): canon for canon, spellings in units["time"].items() for s in spellings}

        unit_alt = _alt(self.unit_canon)
        time_alt = _alt(self.time_canon)
        before_alt = _alt(self.before_ops)
        after_alt = _alt(self.after_ops)
        n = self.num
        rng = rf"(?:\s*(?:-|–|—|to|and|through)\s*(?P<v2>{n}))"
        self.quantity = re.compile(
            rf"(?:(?P<between>between|from)\s+)?(?:(?P<cb>{before_alt})\s*(?:than\s+)?)?"
            rf"(?P<v1>{n})(?:\s*(?:%\s*)?{rng})?"
            rf"(?:\s*(?P<tunit>{time_alt})(?:[\s\-]*(?:old|of\s+age))?|\s*(?P<unit>{unit_alt}))?"
            rf"(?:\s*(?P<ca>{after_alt}))?",
            re.I,
        )

        self.analytes: dict[str, dict] = {}
        self.analyte_gaz = Gazetteer()
        for a in analytes["analytes"]:
            lexicons.require(a, ("name", "unit", "synonyms"), "analytes.json")
            self.analytes[a["name"]] = a
            for syn in a["synonyms"]:
                # Short all-capital abbreviations (PT, AP, EF) match only in capitals.
                exact = len(syn) <= 4 and not syn.islower()
                self.analyte_gaz.add(syn, a["name"], case_sensitive=exact)

        variants = {k.lower(): v.lower() for k, v in concepts.get("variants", {}).items()}
        self.variants = variants
        self.concepts: dict[str, dict] = {}
        self.concept_gaz = Gazetteer()
        for c in concepts["concepts"]:
            lexicons.require(c, ("name", "type", "synonyms"), "concepts.json")
            self.concepts[c["name"]] = c
            case_sensitive = set(c.get("case_sensitive", []))
            for syn in c["synonyms"]:
                forms = {syn}
                for a, b in variants.items():
                    for f in list(forms):
                        if b in f.lower():
                            forms.add(re.sub(re.escape(b), a, f, flags=re.I))
                for f in forms:
                    self.concept_gaz.add(f, c["name"], case_sensitive=syn in case_sensitive)

        self.anchor_list = []
        for a in anchors["anchors"]:
            lexicons.require(a, ("name", "phrases"), "anchors.json")
            self.anchor_list.append((a["name"], re.compile(_alt(a["phrases"]), re.I)))

        self.neg_pre = re.compile(_alt(context["negation_pre"]), re.I)
        self.neg_post = re.compile(_alt(context["negation_post"]), re.I)
        self.hedge_pre = re.compile(_alt(context["hedge_pre"]), re.I)
        self.exception = re.compile(_alt(context["exception"]), re.I)
        self.terminators = [t.lower() for t in context["terminators"]]

        self.routes = [(name, re.compile(_alt(ph), re.I if name else 0)) for name, ph in dose["routes"].items()]
        self.freqs = [(name, re.compile(_alt(ph), re.I)) for name, ph in dose["frequencies"].items()]

        self.direction = re.compile(
            r"(?P<d>prior\s+to|before|preceding|previous\s+to|ahead\s+of|after|following|since|from|post|of|"
            r"in\s+the\s+(?:past|last|previous|preceding)|of\s+the\s+(?:past|last)|before\s+the|"
            r"during\s+the\s+(?:first|last|past)?)\b",
            re.I,
        )
        self.age_cue_before = re.compile(
            r"(?:\bage[sd]?\b|\baging\b|\bborn\b|\bolder\b|\byounger\b|\badults?\b|\bpatients?\b|\bsubjects?\b|\bparticipants?\b|"
            r"\bmen\b|\bwomen\b|\bmales?\b|\bfemales?\b|\bchildren\b|\bchild\b|\bindividuals?\b|\bpersons?\b|\bpeople\b|"
            r"\bvolunteers?\b|\bboys?\b|\bgirls?\b|\bteenagers?\b|\badolescents?\b|\binfants?\b|\bneonates?\b)[^.;:\d]{0,25}$",
            re.I,
        )
        self.age_cue_after = re.compile(r"^[\s\-]*(?:old|of\s+age|or\s+older|or\s+younger|and\s+older|and\s+over|of\s+age\s+or\s+older|at\s+(?:the\s+)?time)", re.I)
        self.age_word = re.compile(r"\bage[sd]?\b[\s:]*(?:of\s+)?$", re.I)

    @staticmethod
    def _key(s: str) -> str:
        return re.sub(r"[\s\-‐]+", " ", s.lower()).strip()

    # --- helpers -------------------------------------------------------------------------------

    def number(self, tok: str | None) -> float | None:
        if tok is None:
            return None
        t = tok.strip().lower()
        if t in self.word_numbers:
            return self.word_numbers[t]
        try:
            return float(t.replace(",", ""))
        except ValueError:
            return None

    def clause_bounds(self, text: str, start: int, end: int) -> tuple[int, int]:
        """The clause around [start, end): bounded by ; . : and terminator words."""
        low = text.lower()
        left, right = 0, len(text)
        for t in self.terminators:
            i = low.rfind(t, 0, start)
            if i >= 0:
                if t == "." and i > 0 and i + 1 < len(low) and low[i - 1].isdigit() and low[i + 1].isdigit():
                    continue
                left = max(left, i + len(t))
            j = low.find(t, end)
            if j >= 0:
                if t == "." and j > 0 and j + 1 < len(low) and low[j - 1].isdigit() and low[j + 1].isdigit():
                    continue
                right = min(right, j)
        return left, right

    def context_flags(self, text: str, start: int, end: int) -> tuple[bool, bool]:
        left, right = self.clause_bounds(text, start, end)
        before = text[left:start]
        after = text[end:right]
        negated = self._trigger_near(self.neg_pre, before, PRE_SCOPE_WORDS)
        if not negated:
            m = self.neg_post.search(after[:25])
            negated = bool(m and len(after[:m.start()].split()) <= 1)
        hedged = self._trigger_near(self.hedge_pre, before, 3) or bool(self.exception.search(before))
        return negated, hedged

    @staticmethod
    def _trigger_near(rx: re.Pattern, before: str, max_words: int) -> bool:
        """A trigger ending at most ``max_words`` words before the entity (ConText's scope window)."""
        for m in rx.finditer(before):
            if len(before[m.end():].split()) <= max_words:
                return True
        return False

    def find_analyte(self, text: str, start: int, end: int) -> tuple[str, int] | None:
        """The analyte named closest before the value in the same clause, else right after it."""
        left = max(0, start - 80)
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
        lead = len(after) - len(after.lstrip(" of"))
        for a, b, name in self.analyte_gaz.find(after):
            if a == lead:
                return name, end
        return None

    def analyte_lookup(self, s: str) -> str | None:
        """The analyte a whole phrase names, if any."""
        hits = self.analyte_gaz.find(s)
        return hits[0][2] if len(hits) == 1 and hits[0][0] == 0 and hits[0][1] == len(s.strip()) else None

    def concept_lookup(self, s: str) -> str | None:
        """The concept a whole phrase names, if any."""
        s = s.strip()
        hits = self.concept_gaz.find(s)
        return hits[0][2] if hits and hits[0][0] == 0 and hits[0][1] == len(s) else None

    def find_anchor(self, tail: str) -> tuple[str | None, str | None]:
        """Anchor event in the words after a direction word."""
        m = re.match(r"[^;.,:()]{0,80}", tail)
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

    # --- extraction ----------------------------------------------------------------------------

    def extract(self, text: str, polarity: str | None = None) -> list[CriterionEntity]:
        ents: list[CriterionEntity] = []
        taken: list[tuple[int, int]] = []
        for m in self.quantity.finditer(text):
            if not m.group("v1"):
                continue
            e = self._classify(text, m)
            if e is None:
                continue
            e.polarity = polarity
            ents.append(e)
            taken.append((e.start, e.end))
        ents.extend(self._concepts(text, polarity))
        for e in ents:
            e.negated, e.hedged = self.context_flags(text, e.start, e.end)
        ents.sort(key=lambda e: (e.start, -e.end))
        return ents

    def _concepts(self, text: str, polarity: str | None) -> list[CriterionEntity]:
        out: list[CriterionEntity] = []
        for a, b, name in self.concept_gaz.find(text):
            # A mention inside a longer mention of the same concept adds nothing.
            if any(o.start <= a and b <= o.end and o.concept == name for o in out):
                continue
            out.append(CriterionEntity("CONDITION", text[a:b], a, b, concept=name,
                                       concept_type=self.concepts[name]["type"], polarity=polarity))
        return out

    def _classify(self, text: str, m: re.Match) -> CriterionEntity | None:
        v1 = self.number(m.group("v1"))
        v2 = self.number(m.group("v2"))
        if v1 is None:
            return None
        cb = (m.group("cb") or "").lower()
        ca = (m.group("ca") or "").lower()
        cb_key = re.sub(r"\s+", " ", cb)
        ca_key = re.sub(r"\s+", " ", ca)
        op = self.before_ops.get(cb_key) or self.after_ops.get(ca_key)
        if m.group("between") or (v2 is not None and op in (None, "=", ">=")):
            if v2 is not None:
                op = "between"
        tunit = m.group("tunit")
        unit_tok = m.group("unit")
        start, end = m.start(), m.end()
        # Trim a trailing comparator word that was not read as such ("of", "min").
        before_text = text[max(0, start - 60):start]
        after_text = text[end:end + 60]
        matched = m.group(0)
        is_word_number = m.group("v1").lower() in self.word_numbers

        if tunit:
            unit = self.time_canon[tunit.lower()]
            if is_word_number and not cb and not re.search(r"(within|past|last|previous|in the)\s*$", before_text, re.I):
                pass
            return self._time(text, m, v1, v2, op, unit, before_text, after_text)

        unit_info = self.unit_canon.get(re.sub(r"\s+", " ", unit_tok.lower())) if unit_tok else None
        if unit_tok and unit_info is None:
            unit_info = self.unit_canon.get(unit_tok.lower())
        if is_word_number and not unit_info:
            return None
        # Numbers that are part of identifiers, dates or list markers are not thresholds.
        if re.search(r"(?:\d[/.-]|[A-Za-z]-?|#|\^|x\s?10)$", text[max(0, start - 3):start]) and not cb:
            return None
        if re.match(r"[/.-]?\d|\s*(?:st|nd|rd|th)\b|\)|\.\s", text[end:end + 3]) and not unit_info and not ca:
            return None

        analyte = self.find_analyte(text, start, end)
        analyte_name = analyte[0] if analyte else None
        # Age without unit: "Age: 18 and over", "aged 18-65".
        if not unit_info and self.age_word.search(before_text[-20:]) and 0 <= v1 <= 120:
            if op is None and v2 is None and not cb and not ca:
                op = "="
            return self._entity("AGE", text, m, op or "=", v1, v2, "years", v1, v2, "years")

        if unit_info and unit_info["kind"] == "percent" or (unit_tok or "").strip() == "%":
            measure = self._percent_measure(text, start, end, analyte_name)
            if analyte_name and self.analytes[analyte_name]["unit"] == "%" and analyte_name != "body surface area" \
                    and analyte_name not in ("ejection fraction",):
                return self._entity("LAB", text, m, op or "=", v1, v2, "%", v1, v2, "%", analyte=analyte_name)
            if op is None and not measure:
                return None
            return self._entity("PERCENT", text, m, op or "=", v1, v2, "%", v1, v2, "%", analyte=measure)

        if unit_info and unit_info["kind"] == "dose":
            if analyte_name and unit_info["canonical"] in ("mg", "g") and re.match(r"\s*/\s*(?:d|dl|l)\b", text[end:end + 5], re.I):
                return None
            e = self._entity("DOSE", text, m, op or "=", v1, v2, unit_info["canonical"], v1, v2, unit_info["canonical"])
            tail = text[end:end + 90]
            for name, rx in self.routes:
                if rx.search(tail) or rx.search(text[max(0, start - 40):start]):
                    e.route = name
                    break
            for name, rx in self.freqs:
                if rx.search(tail):
                    e.frequency = name
                    break
            return e

        if analyte_name is None and unit_info is None:
            return None
        if analyte_name is None:
            if unit_info["kind"] in ("count", "mass_conc", "molar_conc", "enzyme", "rate", "ratio", "other", "score"):
                if op is None:
                    return None
                return self._lab(text, m, op, v1, v2, unit_info, None)
            return None
        if op is None and unit_info is None:
            # A bare number right after an analyte with no comparator ("ECOG 0-1" is a range).
            if v2 is None:
                return None
        return self._lab(text, m, op or ("between" if v2 is not None else "="), v1, v2, unit_info, analyte_name)

    def _percent_measure(self, text: str, start: int, end: int, analyte: str | None) -> str | None:
        after = text[end:end + 80]
        mm = re.match(r"\s*(?:of\s+(?:the\s+)?(?:patient'?s?\s+)?(?:total\s+)?)?([^;,.()]{0,60})", after, re.I)
        if mm:
            hits = self.analyte_gaz.find(mm.group(1))
            if hits:
                return hits[0][2]
        return analyte

    def _time(self, text, m, v1, v2, op, unit, before_text, after_text) -> CriterionEntity:
        start, end = m.start(), m.end()
        matched = m.group(0)
        age_like = unit in ("years", "months", "weeks", "days") and (
            self.age_cue_after.match(after_text) or re.search(r"(?:\bold|of\s+age)\b", matched, re.I)
            or (self.age_cue_before.search(before_text) and not self._has_direction(after_text))
        )
        if age_like and unit in ("years", "months") and not re.search(
                r"(within|past|last|previous|since|for|during|history|duration|ago|after|before|prior)\W*(?:the\s+)?(?:at\s+least\s+|less\s+than\s+|more\s+than\s+)?$",
                before_text, re.I):
            years = v1 / (12.0 if unit == "months" else 1.0)
            years2 = (v2 / (12.0 if unit == "months" else 1.0)) if v2 is not None else None
            return self._entity("AGE", text, m, op or ">=", v1, v2, unit, round(years, 4),
                                None if years2 is None else round(years2, 4), "years")

        days_per = {"years": 365.25, "months": 30.4375, "weeks": 7.0, "days": 1.0, "hours": 1 / 24, "minutes": 1 / 1440}[unit]
        # Direction and anchor: "10 days after onset", "within 48 hours prior to treatment".
        direction, anchor, anchor_text = None, None, None
        dm = self.direction.match(after_text.lstrip(" ,"))
        lead = re.search(r"(within|in\s+the\s+(?:past|last|previous|preceding)|during\s+the\s+(?:first|last|past)?|for|since|over\s+the\s+(?:past|last))\s+(?:the\s+)?(?:(?:past|last|previous|first)\s+)?$",
                         text[max(0, start - 40):start], re.I)
        if dm:
            d = dm.group("d").lower()
            direction = ("before" if any(w in d for w in ("prior", "before", "preced", "previous", "ahead", "past", "last"))
                         else "after" if any(w in d for w in ("after", "follow", "since", "from", "post", "first"))
                         else "within")
            tail = after_text.lstrip(" ,")[dm.end():]
            anchor, anchor_text = self.find_anchor(tail)
        if lead:
            lw = lead.group(0).lower()
            if any(w in lw for w in ("past", "last", "previous", "preceding")) and direction in (None, "within"):
                direction = "before"
            if direction is None:
                direction = "before" if any(w in lw for w in ("past", "last", "previous", "preceding")) else "within"
            if op is None:
                op = "<=" if ("within" in lw or "during" in lw or "past" in lw or "last" in lw or "previous" in lw) else op
            if lw.startswith("within") or "past" in lw or "last" in lw:
                op = op if op not in (None, "=") else "<="
        if anchor is None and direction == "before" and lead and any(w in lead.group(0).lower() for w in ("past", "last", "previous", "preceding")):
            anchor = "now"
        if op is None and direction is None:
            # A bare duration ("for 21 days", "6 months") without comparator or anchor.
            op = "="
        e = self._entity("TIME_WINDOW", text, m, op or "=", v1, v2, unit, round(v1 * days_per, 4),
                         None if v2 is None else round(v2 * days_per, 4), "days")
        e.direction, e.anchor, e.anchor_text = direction, anchor, anchor_text
        if lead and lead.start() + max(0, start - 40) < e.start and op is not None:
            s = max(0, start - 40) + lead.start()
            e.start, e.text = s, text[s:e.end]
        return e

    def _has_direction(self, after_text: str) -> bool:
        return bool(re.match(r"\s*(prior|before|after|following|since|preceding|of\s+(?:the\s+)?(?:start|first|study|randomi|inclusion|enrol|screening|treatment|diagnosis|onset))", after_text, re.I))

    def _lab(self, text, m, op, v1, v2, unit_info, analyte) -> CriterionEntity:
        unit = unit_info["canonical"] if unit_info else None
        e = self._entity("LAB", text, m, op, v1, v2, unit, None, None, None, analyte=analyte)
        if analyte:
            e.norm_value, e.norm_value2, e.norm_unit = convert(analyte, v1, v2, unit, self)
        elif unit:
            e.norm_value, e.norm_value2, e.norm_unit = v1, v2, unit
        return e

    def _entity(self, label, text, m, op, v1, v2, unit, n1, n2, nunit, analyte=None) -> CriterionEntity:
        start, end = m.start(), m.end()
        # Leading "between"/"from" and trailing spaces stay out of the span when they carry nothing.
        seg = text[start:end]
        stripped = seg.rstrip()
        end = start + len(stripped)
        return CriterionEntity(label, text[start:end], start, end, op, v1, v2, unit, n1, n2, nunit, analyte=analyte)


# --- unit conversion -----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _ureg():
    import pint

    return pint.UnitRegistry()


def convert(analyte: str, v1: float, v2: float | None, unit: str | None, rules: Rules) -> tuple[float | None, float | None, str | None]:
    """Convert a value of ``analyte`` from ``unit`` to the analyte's canonical unit (pint).

    Multiples of ULN and units pint cannot relate are kept as stated. A bare count for an analyte
    with a ``default_unit`` is read in that unit when the value is large (``100,000`` platelets).
    """
    info = rules.analytes.get(analyte, {})
    target = info.get("unit")
    if unit is None:
        default = info.get("default_unit")
        if default and v1 >= 50:
            unit = default
        else:
            return v1, v2, None
    if unit == target or target is None:
        return v1, v2, unit
    src = rules.units_by_canon.get(unit, {})
    dst = rules.units_by_canon.get(target, {})
    if not src.get("pint") or not dst.get("pint"):
        return v1, v2, unit
    ureg = _ureg()

    def one(v: float | None) -> float | None:
        if v is None:
            return None
        q = ureg.Quantity(v * src.get("scale", 1.0), src["pint"])
        try:
            out = q.to(dst["pint"])
        except Exception:
            mm = info.get("molar_mass")
            if not mm:
                raise
            molar = ureg.Quantity(mm, "g/mol")
            out = (q * molar).to(dst["pint"]) if src["kind"] == "molar_conc" else (q / molar).to(dst["pint"])
        return round(float(out.magnitude) / dst.get("scale", 1.0), 6)

    try:
        return one(v1), one(v2), target
    except Exception:
        return v1, v2, unit


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The compiled rules, built once per process."""
    try:
        return Rules()
    except KeyError as exc:
        raise ConfigError(f"a lexicon data file lacks the key {exc}") from None


# --- public API ----------------------------------------------------------------------------------

def extract_criteria(text: str, polarity: str | None = None) -> list[CriterionEntity]:
    """Extract criteria entities from ``text`` (a criterion or a whole eligibility block).

    When the text contains inclusion/exclusion headings, each entity gets the polarity of the
    block it stands in; otherwise ``polarity`` (default None).
    """
    if not isinstance(text, str):
        raise QueryError(f"extract_criteria needs a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise QueryError(f"text is {len(text):,} characters; the limit is {MAX_TEXT:,}")
    from .pipeline import nlp

    doc = nlp()(text)
    ents = [s._.entity for s in doc.spans.get("criteria", [])]
    return _with_polarity(text, ents, polarity)


def _with_polarity(text: str, ents: list[CriterionEntity], polarity: str | None) -> list[CriterionEntity]:
    from .sections import match_header, split_eligibility

    if any(match_header(line) for line in text.splitlines()):
        blocks = split_eligibility(text)
        for e in ents:
            for b in blocks:
                if b.start <= e.start < b.end + 1:
                    e.polarity = b.section
                    break
    else:
        for e in ents:
            e.polarity = polarity
    return ents


def attach_entities(trials: Iterable) -> None:
    """Fill ``criterion.entities`` for every criterion of every trial."""
    from .pipeline import nlp

    pipe = nlp()
    crits = [c for t in trials for c in t.criteria]
    for c, doc in zip(crits, pipe.pipe((c.text for c in crits), batch_size=256)):
        c.entities = [s._.entity for s in doc.spans.get("criteria", [])]
        for e in c.entities:
            e.polarity = c.section


def ages_from_criteria(trial) -> tuple[Any, Any]:
    """Minimum and maximum age stated in inclusion criteria, for records with no structured ages."""
    from .records import Age

    lo = hi = None
    r = rules()
    for c in trial.inclusion:
        for e in (c.entities or r.extract(c.text, c.section)):
            if e.label != "AGE" or e.negated or e.norm_value is None:
                continue
            unit = e.unit if e.unit in ("years", "months") else "years"
            if e.op == "between":
                lo = lo or Age(e.value, unit, c.text, True, "criteria")
                hi = hi or Age(e.value2, unit, c.text, True, "criteria")
            elif e.op in (">=", ">") and lo is None:
                lo = Age(e.value, unit, c.text, e.op == ">=", "criteria")
            elif e.op in ("<=", "<") and hi is None:
                hi = Age(e.value, unit, c.text, e.op == "<=", "criteria")
    return lo, hi

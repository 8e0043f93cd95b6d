"""Rule-based extraction of criteria entities: ages, time windows, percentages, lab thresholds,
doses and named concepts, with negation/hedging and inclusion/exclusion polarity.

The rules live in ``trialqa/data/*.json``. ``Rules.extract`` works on plain text and returns
``CriterionEntity`` objects with offsets; the spaCy components in ``pipeline`` wrap it and put the
entities in ``doc.spans["criteria"]``. ``extract_criteria(text)`` is the public entry point.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any, Iterable

from . import lexicons
from .errors import ConfigError, QueryError

PRE_SCOPE_WORDS = 4  # how far a negation trigger reaches forward, in words
CLAUSE_REACH = 400  # the farthest a clause boundary is looked for, in characters
MAX_TEXT = 1_000_000


@dataclass
class CriterionEntity:
    """One extracted entity. Offsets are into the text given to the extractor."""

    label: str  # AGE, TIME_WINDOW, PERCENT, LAB, DOSE or CONDITION
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
    excepted: bool = False  # named in an exception ("except", "other than", "unless"); also hedged

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
_DASHES = {"-", "‐", "–"}


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
        # Longest phrase starting with each first token: most tokens start none and are skipped.
        self.first_ci: dict[str, int] = {}
        self.first_cs: dict[str, int] = {}

    @staticmethod
    def tokens(text: str) -> list[tuple[str, int, int]]:
        return [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text) if m.group(0) not in _DASHES]

    def add(self, phrase: str, value: str, case_sensitive: bool = False) -> None:
        toks = [t for t, _, _ in self.tokens(phrase)]
        if not toks:
            return
        self.max_len = max(self.max_len, len(toks))
        first, head = (self.first_cs, toks[0]) if case_sensitive else (self.first_ci, toks[0].lower())
        first[head] = max(first.get(head, 0), len(toks))
        table, key = (self.cs, " ".join(toks)) if case_sensitive else (self.ci, " ".join(toks).lower())
        values = table.setdefault(key, [])
        if value not in values:
            values.append(value)

    def find(self, text: str, toks: list[tuple[str, int, int]] | None = None) -> list[tuple[int, int, str]]:
        """All (start, end, value) matches; at each position the longest phrase wins. ``toks`` may
        pass ``tokens(text)`` when the caller already has them."""
        if toks is None:
            toks = self.tokens(text)
        out = self._find(toks)
        # "central nervous system (CNS) metastases": the defined abbreviation inside a phrase
        # does not break it.
        inner = _without_inner_abbreviations(toks)
        if len(inner) < len(toks):
            have = set(out)
            out.extend(m for m in self._find(inner) if m not in have and "(" in text[m[0]:m[1]])
            out.sort(key=lambda m: (m[0], -m[1]))
        return out

    def _find(self, toks: list[tuple[str, int, int]]) -> list[tuple[int, int, str]]:
        words = [t for t, _, _ in toks]
        out = []
        n = len(toks)
        lower = [w.lower() for w in words]
        for i in range(n):
            lim = max(self.first_ci.get(lower[i], 0), self.first_cs.get(words[i], 0))
            for k in range(min(lim, n - i), 0, -1):
                key = " ".join(words[i:i + k])
                cs = self.cs.get(key, [])
                values = cs + [v for v in self.ci.get(" ".join(lower[i:i + k]), []) if v not in cs]
                if values:
                    out.extend((toks[i][1], toks[i + k - 1][2], v) for v in values)
                    break
        return out


def _without_inner_abbreviations(toks: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Tokens without "( ABBR )" groups that stand between two words (ABBR: one short token with a
    capital letter)."""
    out, i, n = [], 0, len(toks)
    while i < n:
        if toks[i][0] == "(" and i + 2 < n and toks[i + 2][0] == ")" and 0 < i and i + 3 < n \
                and len(toks[i + 1][0]) <= 8 and any(ch.isupper() for ch in toks[i + 1][0]) \
                and toks[i - 1][0][:1].isalnum() and toks[i + 3][0][:1].isalnum():
            i += 3
            continue
        out.append(toks[i])
        i += 1
    return out


@dataclass
class _Quantity:
    """A number or range found in the text, with the words that qualify it."""

    start: int  # span start: the comparator or "between" when there is one
    end: int
    num_start: int
    v1: str
    v2: str | None
    cb: str  # comparator before the value, token-normalized ("" when none)
    op_before: str | None  # its operator
    ca: str  # comparator after the value and its unit
    unit: str | None  # unit as written (not a time unit)
    tunit: str | None  # time unit as written
    between: bool  # "between" / "from" before the value
    age: bool  # an age word stands right before ("aged", "over the age of")
    population: bool  # a population noun stands before the comparator ("patients >= 18")
    plus: bool  # "18+"
    age_suffix: bool = False  # "years old", "months of age"
    tail_from: int | None = None  # where the age cue is read when the unit is shared with the next value
    tunit1: str | None = None  # the lower bound's own time unit: "2 months to 18 years"


def _key(phrase: str) -> str:
    """Token key of a phrase: "> or =", ">= " and ">/=" style spellings meet on their tokens."""
    return " ".join(t.lower() for t in _TOKEN.findall(phrase))


def _suffix(words: list[str], j: int, table: dict[str, Any], max_len: int) -> tuple[int, Any]:
    """Longest phrase of ``table`` ending at token ``j`` (exclusive): (its length, its value)."""
    for k in range(min(max_len, j), 0, -1):
        v = table.get(" ".join(words[j - k:j]))
        if v is not None:
            return k, v
    return 0, None


def _plural(phrase: str) -> str:
    """Regular English plural of a phrase's last word ("lung disease" -> "lung diseases"); the
    phrase itself when its last word is short, capitalized or already plural-looking."""
    m = re.search(r"([a-z]{4,})$", phrase)
    if not m or phrase.endswith(("s", "x", "ch", "sh")):
        return phrase
    w = m.group(1)
    if w.endswith("y") and w[-2] not in "aeiou":
        return phrase[:-1] + "ies"
    return phrase + "s"


def _right_alt(phrases: Iterable[str]) -> str:
    """Alternation for what follows a number: no left word boundary, so "18yrs" and "5mg" match."""
    out = []
    for p in sorted(set(phrases), key=len, reverse=True):
        esc = re.escape(p).replace(r"\ ", r"\s*").replace(r"\-", r"[\s\-‐]?")
        if not p.startswith("/"):
            esc = re.sub(r"(?:\\s\*)?/(?:\\s\*)?", r"\\s*/\\s*", esc)  # "x 109 /L", "mg / dL"
        if p in CASE_SENSITIVE_UNITS:
            esc = f"(?-i:{esc})"
        if p[-1:].isalnum():
            esc += r"(?![\w])"
        out.append(esc)
    return "|".join(out)


_MULT = ("x", "×", "*", "X", "´")  # "´": a multiplication sign mis-encoded in some API v2 records
# Spellings that mean another unit in another case: "G/L" (giga per litre) is not "g/L" (grams).
CASE_SENSITIVE_UNITS = frozenset({"G/L", "Giga/L", "G/l"})


# "X or Y", "X, Y and Z", "neither X nor Y": a conjunct shares the negation of the one before it.
_COORDINATION = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:or|and|nor|and/or)\s+|/)\s*"
                           r"(?:(?!(?:with|has|have|had|is|are|was|were|must|should|will|be|but|who|that|which|requires?|required|to|use|using|take|taking|become)\b)\w+\s+){0,2}?", re.I)


def _spread_over_coordination(text: str, ents: list[CriterionEntity]) -> None:
    """Negation reaches across a list of concepts joined by commas, "or", "nor" and "and"
    ("must not have a history of erythema multiforme or Stevens Johnson Syndrome")."""
    concepts = [e for e in ents if e.label == "CONDITION"]
    for a, b in zip(concepts, concepts[1:]):
        if a.negated and not (b.negated or a.excepted or b.excepted) and b.start >= a.end \
                and _COORDINATION.fullmatch(text[a.end:b.start]):
            b.negated = True


def _window_start(text: str, pos: int, width: int = 80) -> int:
    """Where the look-back window for an analyte before ``pos`` starts: ``width`` characters back,
    but not before the start of the line."""
    left = max(0, pos - width)
    nl = text.rfind("\n", left, pos)
    return nl + 1 if nl >= 0 else left


_COORDINATED = re.compile(r"[\s()]*(?:/|,|&|and/or|and|or)[\s()]*", re.I)
_SAME_ANALYTE = re.compile(r"[\s(]*")


def _unit_spellings(spellings: Iterable[str]) -> list[str]:
    """Spellings plus their variants with another multiplication sign ("x 10^9/L", "* 10^9/L", "times"
    written "x") and with an exponent whose superscript was lost in parentheses ("/mm^3", "/mm3" -> "/mm(3)")."""
    out = []
    for s in spellings:
        forms = [s, re.sub(r"\^(\d)", r"(\1)", s), re.sub(r"(?<=[a-zA-Z])(\d)$", r"(\1)", s)]
        if s.startswith("times "):
            forms.append("x " + s[6:])  # "1.5x the upper limit of the normal range" as "1.5 times ..."
        for f in forms:
            out.append(f)
            if f[:1] in _MULT and (len(f) == 1 or f[1] in " 1ULN"):
                out.extend(m + f[1:] for m in _MULT)
    return list(dict.fromkeys(out))


class Rules:
    """Compiled extraction rules from the package lexicons (validated on construction)."""

    def __init__(self) -> None:
        self.factors: dict[tuple[str, str, str], float | None] = {}  # unit conversion factors, filled on use
        comp = lexicons.load("comparators")
        units = lexicons.load("units")
        analytes = lexicons.load("analytes")
        concepts = lexicons.load("concepts")
        anchors = lexicons.load("anchors")
        context = lexicons.load("context")
        numbers = lexicons.load("numbers")
        dose = lexicons.load("dose")
        lexicons.require(comp, ("before", "after", "age_cues"), "comparators.json")
        lexicons.require(comp["age_cues"], ("before", "after", "intrinsic", "population", "population_links", "approximators"),
                         "comparators.json age_cues")
        lexicons.require(units, ("units", "time"), "units.json")
        for side in ("before", "after"):
            bad = set(comp[side]) - {"<", "<=", ">", ">=", "="}
            if bad:
                raise ConfigError(f"comparators.json: unknown operator(s) {sorted(bad)} under {side!r}")
        if any(not isinstance(v, (int, float)) for v in numbers["words"].values()):
            raise ConfigError("numbers.json: every number word needs a numeric value")
        if set(units["time"]) - {"years", "months", "weeks", "days", "hours", "minutes"}:
            raise ConfigError("units.json: time units are years, months, weeks, days, hours and minutes")

        # Articles count things ("a history of") but never stand for a threshold value.
        self.word_numbers = {k.lower(): float(v) for k, v in numbers["words"].items() if k not in ("a", "an", "single", "a single")}
        num_words = _alt(self.word_numbers)
        n = rf"(?:(?:\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?:\.\d+)?(?!\d)|\.\d+|{num_words})"
        self.num = n
        # Where a quantity can begin; the full pattern is tried only there (the text is mostly words).
        words_rx = "|".join(re.escape(w) for w in sorted(self.word_numbers, key=len, reverse=True))
        self.candidates = re.compile(rf"\d|\b(?:{words_rx})\b", re.I)

        self.before_ops: dict[str, str] = {}
        for op, phrases in comp["before"].items():
            for p in phrases:
                self.before_ops[_key(p)] = op
        self.before_len = max(len(k.split()) for k in self.before_ops)
        self.reference_limits = self._reference_limit_patterns(comp["before"], units.get("reference_limits", {}))
        self.after_ops: dict[str, str] = {}
        for op, phrases in comp["after"].items():
            for p in phrases:
                self.after_ops[_key(p)] = op
        cues = comp["age_cues"]
        self.age_before = {_key(p): True for p in cues["before"]}
        self.age_intrinsic = {w.lower() for w in cues["intrinsic"]}
        self.population = {_key(p): True for p in cues["population"]}
        self.population_links = {_key(p): True for p in cues["population_links"]}
        self.approximators = {_key(p): True for p in cues["approximators"]}
        self.cue_len = max(len(k.split()) for table in (self.age_before, self.population, self.population_links) for k in table)
        self.age_after = re.compile(r"[\s\-‐,]*(?:" + _alt(cues["after"]) + ")", re.I)

        self.unit_canon: dict[str, dict] = {}
        for u in units["units"]:
            lexicons.require(u, ("canonical", "kind", "spellings"), "units.json")
            for s in _unit_spellings(u["spellings"]):
                self.unit_canon.setdefault(self._ukey(s), u)
        self.units_by_canon = {u["canonical"]: u for u in units["units"]}
        self.time_canon = {s.lower(): canon for canon, spellings in units["time"].items() for s in spellings}
        self.age_units = {s.lower() for s in cues.get("units", [])}
        self.time_canon.update({s: "years" for s in self.age_units})
        self.not_age = {_key(w) for w in cues.get("not_age", [])}
        self.age_units = {self._ukey(s) for s in self.age_units}
        self.time_key = {self._ukey(s): canon for s, canon in self.time_canon.items()}

        spellings = [s for u in units["units"] for s in _unit_spellings(u["spellings"])]
        unit_alt = _right_alt(spellings)
        time_alt = _right_alt(self.time_canon)
        after_alt = _right_alt(p for phrases in comp["after"].values() for p in phrases)
        sep = r"(?:-|–|—|~|～|to|and|through|until|till|or)"
        # "three (3) months" restates the number; "140/90 mmHg" and "4/10" carry a second figure
        # (diastolic pressure, the scale's maximum) that is not a range.
        head = (rf"(?P<v1>{n})(?P<restate>\s*\(\s*\d+(?:\.\d+)?\s*\))?"
                rf"(?P<over>\s*/\s*\d{{1,3}}(?![\d/.]|,\d))?(?P<plus>\s*\+(?![\d+]))?")
        rng = (rf"(?:(?P<u1>[\s\-‐]*(?:{time_alt})(?:[\s\-‐]+old)?|\s*%)?\s*(?P<sep>{sep})\s*(?P<v2>{n}))?")
        tail = (rf"(?:[\s\-‐]*(?P<tunit>{time_alt})(?P<agesfx>[\s\-‐]*(?:old|of\s+age|of\s+life)(?![\w]))?|\s*(?P<unit>{unit_alt}))?"
                rf"(?:\s*(?P<ca>{after_alt})(?!\s*(?:\d|{num_words})))?")
        self.quantity = re.compile(head + rng + tail, re.I)
        self.quantity_single = re.compile(head + tail, re.I)

        self.analytes: dict[str, dict] = {}
        self.analyte_gaz = Gazetteer()
        for a in analytes["analytes"]:
            lexicons.require(a, ("name", "unit", "synonyms"), "analytes.json")
            self.analytes[a["name"]] = a
            for syn in a["synonyms"]:
                # Short all-capital abbreviations (PT, AP, EF) match only in capitals.
                exact = len(syn) <= 4 and not syn.islower()
                self.analyte_gaz.add(syn, a["name"], case_sensitive=exact)
        for a in analytes["analytes"]:
            lo_hi = a.get("plausible")
            if lo_hi is not None and not (isinstance(lo_hi, list) and len(lo_hi) == 2
                                          and all(isinstance(x, (int, float)) for x in lo_hi) and lo_hi[0] < lo_hi[1]):
                raise ConfigError(f"analytes.json: {a['name']!r} plausible must be [low, high], got {lo_hi!r}")
        self.analyte_groups: dict[str, set[str]] = {}  # analyte -> itself, its members and its groups
        for a in analytes["analytes"]:
            for m in a.get("members", []):
                if m not in self.analytes:
                    raise ConfigError(f"analytes.json: {a['name']!r} has an unknown member {m!r}")
                self.analyte_groups.setdefault(a["name"], {a["name"]}).add(m)
                self.analyte_groups.setdefault(m, {m}).add(a["name"])

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
                if syn not in case_sensitive:
                    forms.add(_plural(syn))
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

        lexicons.require(context, ("negation_pre", "negation_post", "hedge_pre", "exception", "terminators"), "context.json")
        # ConText triggers, found once per text by token lookup (a regex alternation per mention
        # was the extractor's main cost).
        self.triggers = Gazetteer()
        self.negation_prefix = {w.lower() for w in context.get("negation_prefix", [])}
        self.result_nouns = [w.lower() for w in context.get("negative_result_nouns", [])]
        for kind in ("negation_pre", "negation_post", "hedge_pre", "exception", "pseudo_negation"):
            for phrase in context.get(kind, []):
                self.triggers.add(phrase, kind)
        self.terminators = [t.lower() for t in context["terminators"]]

        self.scale_words = {w.lower() for w in numbers.get("scale_words", [])}
        # "0, 1 or 2": a list of neighbouring grades is read as their range.
        self.choice = re.compile(r"(\d{1,2})((?:\s*,\s*\d{1,2}){1,5})\s*,?\s*(?:or|and/or)\s+(\d{1,2})(?![\d.,/])")
        nt = numbers.get("not_thresholds", {"before": [], "after": []})
        self.not_before = {_key(p): True for p in nt["before"]}
        self.not_after = re.compile(r"[\s\-‐]*(?:" + (_alt(nt["after"]) or "(?!)") + ")", re.I)

        self.routes = [(name, re.compile(_alt(ph), re.I if name else 0)) for name, ph in dose["routes"].items()]
        self.freqs = [(name, re.compile(_alt(ph), re.I)) for name, ph in dose["frequencies"].items()]

        self.direction = re.compile(
            r"(?P<d>prior\s+to|before|preceding|previous\s+to|ahead\s+of|ago|earlier|after|following|since|from|post|of|"
            r"in\s+the\s+(?:past|last|previous|preceding)|of\s+the\s+(?:past|last)|before\s+the|"
            r"during\s+the\s+(?:first|last|past)?)\b",
            re.I,
        )
        # "within the past", "during the previous", "in the next", "prior", "last": what stands before a duration.
        self.time_lead = re.compile(
            r"(?:\b(?P<lead>within|in|during|over|for|since|throughout)\s+)?(?:the\s+)?"
            r"(?:(?P<dir>past|last|previous|prior|preceding|recent|most\s+recent|next|following|coming|upcoming|first|initial)\s+)?"
            r"(?:(?:approximately|about|around|at\s+least|at\s+most|up\s+to)\s+)?$",
            re.I,
        )
        self.duration_before = re.compile(
            r"(?:within|past|last|previous|prior|since|for|during|history|duration|ago|after|before|over|lasting|"
            r"diagnosed|diagnosis|existing|stable|treated|treatment|therapy|use)\W*(?:the\s+)?"
            r"(?:(?:at\s+least|less\s+than|more\s+than|greater\s+than|longer\s+than|a\s+minimum\s+of|minimum|"
            r"a\s+maximum\s+of|maximum|up\s+to|over|under|[<>≤≥=]+)\s*)?$",
            re.I,
        )

    @staticmethod
    def _ukey(s: str) -> str:
        k = re.sub(r"[\s\-‐]+", "", s)
        return k if k in CASE_SENSITIVE_UNITS else k.lower()

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
        """The clause around [start, end): bounded by ; . : line breaks and terminator words.

        Looks at most ``CLAUSE_REACH`` characters either way, so a megabyte without punctuation
        stays linear."""
        lo, hi = max(0, start - CLAUSE_REACH), min(len(text), end + CLAUSE_REACH)
        low = text[lo:hi].lower()
        s, e = start - lo, end - lo
        left, right = 0, len(low)
        for t in self.terminators + ["\n"]:
            i = low.rfind(t, 0, s)
            while i >= 0 and t == "." and 0 < i < len(low) - 1 and low[i - 1].isdigit() and low[i + 1].isdigit():
                i = low.rfind(t, 0, i)
            if i >= 0:
                left = max(left, i + len(t))
            j = low.find(t, e)
            while j >= 0 and t == "." and 0 < j < len(low) - 1 and low[j - 1].isdigit() and low[j + 1].isdigit():
                j = low.find(t, j + 1)
            if j >= 0:
                right = min(right, j)
        return lo + left, lo + right

    def context_flags(self, text: str, start: int, end: int) -> tuple[bool, bool]:
        """(negated, hedged) of a mention, ConText-style: triggers in its clause, within reach."""
        negated, hedged, _ = self._context(text, start, end)
        return negated, hedged

    def find_triggers(self, text: str, toks: list | None = None) -> dict[str, list[tuple[int, int]]]:
        """ConText trigger spans of a text by kind (negation_pre, negation_post, hedge_pre, exception,
        pseudo_negation)."""
        out: dict[str, list[tuple[int, int]]] = {}
        for a, b, kind in self.triggers.find(text, toks):
            out.setdefault(kind, []).append((a, b))
        return out

    def _context(self, text: str, start: int, end: int,
                 triggers: dict[str, list[tuple[int, int]]] | None = None) -> tuple[bool, bool, bool]:
        if triggers is None:
            triggers = self.find_triggers(text)
        left, right = self.clause_bounds(text, start, end)
        pseudo = triggers.get("pseudo_negation", [])
        negated = self._trigger_near(text, triggers.get("negation_pre", []), left, start, PRE_SCOPE_WORDS, pseudo)
        if not negated and self.negation_prefix:
            # "non-pregnant": the prefix negates the word it is hyphenated to, and nothing further.
            m = re.search(r"(\w+)[-‐]\s*$", text[max(0, start - 8):start])
            negated = bool(m and m.group(1).lower() in self.negation_prefix)
        if not negated and self.result_nouns:
            # "negative hepatitis B screening", "negative serum pregnancy test": the condition is absent.
            before = text[max(left, start - 40):start].lower()
            after = text[start:min(right, end + 30)].lower()
            if re.search(r"\bnegative\b(?:\s+\S+){0,3}\s*$", before) and any(
                    re.search(rf"\b{re.escape(n)}\b", after) for n in self.result_nouns):
                negated = True
        if not negated:
            post = triggers.get("negation_post", [])
            i = bisect.bisect_left(post, (end, -1))
            negated = any(a < min(end + 25, right) and b <= right and len(text[end:a].split()) <= 1
                          for a, b in post[i:i + 3])
        # An exception reaches over a list ("except basal cell carcinoma, cervical cancer in situ")
        # to the end of its sentence.
        lo = max([text.rfind(c, max(0, start - 200), start) + 1 for c in ";\n"] + [start - 200, 0])
        dot = re.search(r"\.(?:\s|$)", text[lo:start][::-1])
        if dot:
            lo = start - dot.start()
        # ... unless the exception sits in brackets that close before the mention: "(except skin cancers) or HIV".
        exc = [(a, b) for a, b in triggers.get("exception", [])
               if not (text.rfind("(", lo, a) > text.rfind(")", lo, a) and ")" in text[b:start])]
        excepted = self._trigger_near(text, exc, lo, start, 12)
        hedged = self._trigger_near(text, triggers.get("hedge_pre", []), left, start, 3) or excepted
        return negated, hedged, excepted

    @staticmethod
    def _trigger_near(text: str, spans: list[tuple[int, int]], left: int, start: int, max_words: int,
                      pseudo: list[tuple[int, int]] = ()) -> bool:
        """A trigger in [left, start) ending at most ``max_words`` words before the entity (ConText's
        scope window); triggers inside a pseudo-trigger ("no increase") do not count."""
        for a, b in spans[bisect.bisect_left(spans, (left, -1)):]:
            if a >= start:
                break
            if b > start:
                continue
            if any(pa <= a < pb and (pa, pb) != (a, b) for pa, pb in pseudo[max(0, bisect.bisect_left(pseudo, (a, -1)) - 3):
                                                                             bisect.bisect_right(pseudo, (a, 1 << 60))]):
                continue
            if len(text[b:start].split()) <= max_words:
                return True
        return False

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
        lead = len(after) - len(after.lstrip(" of"))
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
        return self.plausible(e.analyte or "", e.unit, e.value, e.value2) is False

    def plausible(self, analyte: str, unit: str, v1: float, v2: float | None = None) -> bool | None:
        """Whether values in ``unit`` fall in the analyte's plausible range (None: no range or no conversion)."""
        info = self.analytes.get(analyte, {})
        lo_hi, target = info.get("plausible"), info.get("unit")
        if not lo_hi or not target:
            return None
        factor = 1.0 if unit == target else _factor(self, analyte, unit, target)
        if factor is None:
            return None
        return all(lo_hi[0] <= v * factor <= lo_hi[1] for v in (v1, v2) if v is not None)

    def related_analytes(self, names: Iterable[str]) -> set[str]:
        """The analytes plus their groups and members ("AST" -> AST, transaminases)."""
        return {r for n in names for r in self.analyte_groups.get(n, {n})}

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

    # --- extraction ----------------------------------------------------------------------------

    def extract(self, text: str, polarity: str | None = None) -> list[CriterionEntity]:
        ents: list[CriterionEntity] = []
        quantities = self._quantities(text)
        prev: tuple[_Quantity, CriterionEntity] | None = None
        for i, q in enumerate(quantities):
            self._inherit_unit(text, q, quantities[i + 1] if i + 1 < len(quantities) else None)
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
        triggers = self.find_triggers(text, toks) if ents else {}
        for e in ents:
            e.negated, e.hedged, e.excepted = self._context(text, e.start, e.end, triggers)
        ents.sort(key=lambda e: (e.start, -e.end))
        _spread_over_coordination(text, ents)
        return ents

    @staticmethod
    def _reference_limit_patterns(before: dict[str, list[str]], refs: dict[str, list[str]]) -> list[tuple[str, re.Pattern]]:
        """A comparator right before a reference phrase ("<= ULN"), one pattern per canonical unit."""
        ops = []
        for phrases in before.values():
            for ph in phrases:
                if re.search(r"\b(?:age|aged|older|younger|from|until|min|minimum)\b", ph, re.I):
                    continue  # comparators of ages and periods, or too loose to stand before a limit
                rx = r"\s*".join(re.escape(w) for w in ph.split())
                ops.append(rf"\b{rx}" if ph[0].isalnum() else rx)
        op_alt = "|".join(sorted(set(ops), key=len, reverse=True))
        out = []
        for unit, patterns in refs.items():
            ref = "|".join(f"(?:{lexicons.compile_pattern(x, 'units.json reference_limits').pattern})" for x in patterns)
            out.append((unit, re.compile(rf"(?P<op>{op_alt})\s*(?P<ref>{ref})", re.I)))
        return out

    def _reference_limits(self, text: str, ents: list[CriterionEntity]) -> list[CriterionEntity]:
        """Limits stated against a reference with no number: "total bilirubin <= institutional upper
        limit of normal" is <= 1 x ULN of total bilirubin."""
        out = []
        for unit, rx in self.reference_limits:
            for m in rx.finditer(text):
                if any(x.start < m.end() and m.start() < x.end for x in ents):
                    continue
                analyte = self.find_analyte(text, m.start(), m.end())
                if analyte is None:
                    continue  # "<= ULN" of nothing named is no threshold
                op = self.before_ops.get(_key(m.group("op")))
                if op is None:
                    continue
                out.append(self._normalized(CriterionEntity("LAB", m.group(0), m.start(), m.end(), op, 1.0, None, unit,
                                                             analyte=analyte[0])))
        return out

    def _quantities(self, text: str) -> list[_Quantity]:
        out: list[_Quantity] = []
        last = 0
        for c in self.candidates.finditer(text):
            pos = c.start()
            if pos < last:
                continue
            if text[pos].isdigit():
                prev = text[pos - 1] if pos else " "
                if prev == "." and (pos < 2 or not (text[pos - 2].isalnum() or text[pos - 2] in "_.,")):
                    pos -= 1  # ".5 mg"
                elif prev.isalnum() or prev in "_.,":
                    continue  # inside a word or a number: "CD4", "mm3", "1,500"
            m = self.quantity.match(text, pos)
            if not m:
                continue
            cb, op_before, start, between, age, pop = self._left(text, pos)
            if m.group("v2") is not None and not self._is_range(m, between):
                m = self.quantity_single.match(text, pos)
            gd = m.groupdict()
            if gd["over"] and not self._over_ok(text, m, cb):
                continue
            v2, end = gd.get("v2"), m.end()
            ch = self.choice.match(text, pos) if v2 is None and not gd["over"] else None
            if ch:
                grades = [int(x) for x in re.findall(r"\d+", ch.group(0))]
                if grades == list(range(grades[0], grades[0] + len(grades))):
                    v2, end = ch.group(3), ch.end()
                    gd = {**gd, "unit": None, "tunit": None, "u1": None, "ca": None, "agesfx": None}
            q = _Quantity(start, end, pos, gd["v1"], v2, cb, op_before, _key(gd["ca"] or ""),
                          gd["unit"], gd["tunit"] or gd.get("u1") and self._time_token(gd["u1"]),
                          between, age, pop, bool(gd["plus"]), bool(gd.get("agesfx")))
            if gd.get("u1") and gd["tunit"]:
                q.tunit1 = self._time_token(gd["u1"])
            out.append(q)
            last = end
        return out

    def _over_ok(self, text: str, m: re.Match, cb: str) -> bool:
        """"140/90 mmHg" (a pressure) and "> 4/10" (a score out of 10) keep their first figure as
        the value; other slashed figures are dates or ratios."""
        unit = (m.group("unit") or "").lower().replace(" ", "")
        if unit == "mmhg":
            return True
        a = self.number(m.group("v1"))
        b = self.number(m.group("over").strip(" /"))
        if a is None or b is None:
            return False
        if b in (5, 10, 20, 100) and a <= b:
            return bool(cb)
        # A pressure without its unit: "BP > 140/90".
        return bool(cb) and 60 <= a <= 260 and 30 <= b <= 160 and b < a

    def _is_range(self, m: re.Match, between: bool) -> bool:
        """"18 and over" is no range, "between 18 and 65" is; "0 or 1" (ECOG, ASA class, a score)
        is a choice of neighbouring grades, read as their range; "2 or 5" is not."""
        sep = m.group("sep").lower()
        if sep in ("and", "until", "till"):
            return between
        if sep == "or":
            a, b = self.number(m.group("v1")), self.number(m.group("v2"))
            return a is not None and b is not None and a == int(a) and b - a == 1 and not m.group("u1")
        return True

    def _time_token(self, s: str) -> str | None:
        s = re.sub(r"[\s\-‐]+(old)?$", "", s.strip(" -‐"), flags=re.I)
        return s if self._ukey(s) in self.time_key else None

    def _left(self, text: str, pos: int) -> tuple[str, str | None, int, bool, bool, bool]:
        """What qualifies the number at ``pos`` from the left: (comparator words, its operator,
        span start, between, age word, population noun)."""
        lo = max(0, pos - 70)
        nl = text.rfind("\n", lo, pos)
        if nl >= 0:
            lo = nl + 1
        toks = [(m.group(0), m.start()) for m in _TOKEN.finditer(text, lo, pos)]
        if lo > 0 and toks and toks[0][1] == lo and text[lo - 1].isalnum():
            toks = toks[1:]
        words = [t.lower() for t, _ in toks]
        j = len(words)
        start, age, between, pop = pos, False, False, False

        def skip_punct(k: int) -> int:
            while k > 0 and words[k - 1] in ("(", "[", ":"):
                k -= 1
            return k

        # A comparator restated in brackets: "less than (<) 90", "less than or equal to (=<) 40".
        bracketed = None
        if j >= 3 and words[j - 1] == ")" and "(" in words[max(0, j - 5):j - 1]:
            o = j - 2 - words[max(0, j - 5):j - 1][::-1].index("(")
            bracketed = self.before_ops.get(" ".join(words[o + 1:j - 1]))
            if bracketed:
                start = toks[o][1]
                words, toks, j = words[:o], toks[:o], o
        # A comparator that names the age itself ("before the age of") goes first.
        k, op = _suffix(words, j, self.before_ops, self.before_len)
        if not (k and "age" in words[j - k:j]):
            k, _ = _suffix(words, skip_punct(j), self.age_before, self.cue_len)
            if k:
                j = skip_punct(j) - k
                age = not (j > 0 and words[j - 1] in self.not_age)
                k, _ = _suffix(words, j, self.approximators, 2)
            j -= k
            k, op = _suffix(words, j, self.before_ops, self.before_len)
            if not k and j > 1 and words[j - 1] in self.scale_words:
                # ">= grade 2", "< class 3": the comparator stands before the scale's name.
                k, op = _suffix(words, j - 1, self.before_ops, self.before_len)
                if k:
                    j -= 1
        else:
            age = True
        cb = ""
        if k:
            cb = " ".join(words[j - k:j])
            j -= k
            start = toks[j][1]
        if bracketed:
            op, cb = bracketed, cb or bracketed
        elif age and j < len(words):
            start = toks[j][1] if words[j] not in ("(", "[", ":") else start
        if j > 0 and words[j - 1] in ("between", "from"):
            between = True
            j -= 1
            start = toks[j][1]
        if not age:
            jj = skip_punct(j)
            k, _ = _suffix(words, jj, self.age_before, self.cue_len)
            age = bool(k) and not (jj - k > 0 and words[jj - k - 1] in self.not_age)
        if not age:
            jj = skip_punct(j)
            k, _ = _suffix(words, jj, self.population_links, self.cue_len)
            k2, _ = _suffix(words, jj - k, self.population, self.cue_len)
            pop = bool(k2)
        return cb, op, start, between, age, pop

    def _inherit_unit(self, text: str, q: _Quantity, nxt: _Quantity | None) -> None:
        """A bare number coordinated with a unit-bearing one shares its unit: "under 40 or over 60
        years of age", ">= 3 and <= 18 years"."""
        if nxt is None or q.unit or q.tunit or q.v2 is not None or q.ca:
            return
        gap = text[q.end:nxt.start]
        if (nxt.unit or nxt.tunit) and re.fullmatch(r"\s*(?:,|and|or|and/or|to|-|/)?\s*", gap, re.I) and nxt.cb and q.cb:
            q.unit, q.tunit = nxt.unit, nxt.tunit
            q.age = q.age or nxt.age or nxt.age_suffix
            q.tail_from = nxt.end

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
        return any(w in self.age_intrinsic for w in phrase.split())

    def _classify(self, text: str, q: _Quantity) -> CriterionEntity | None:
        v1 = self.number(q.v1)
        v2 = self.number(q.v2)
        if v1 is None:
            return None
        op = q.op_before or self.after_ops.get(q.ca)
        if q.plus and op is None:
            op = ">="
        if v2 is not None:
            op = "between"
        start, end = q.start, q.end
        age_after = q.age_suffix or self._ukey(q.tunit or "") in self.age_units or self.age_after.match(text, q.tail_from or end)
        intrinsic = self._is_age_comparator(q.cb) or self._is_age_comparator(q.ca)
        is_word_number = q.v1.lower() in self.word_numbers

        if q.tunit:
            unit = self.time_key.get(self._ukey(q.tunit))
            if unit is None:
                return None
            if unit in ("years", "months", "weeks", "days", "hours") and self._age_like(text, q, unit, bool(age_after), intrinsic):
                return self._age(text, q, op, v1, v2, unit)
            return self._time(text, q, v1, v2, op, unit)

        unit_info = self.unit_canon.get(self._ukey(q.unit)) if q.unit else None
        if is_word_number and not unit_info:
            return None
        if self._not_threshold(text, q, v2):
            return None
        # Numbers that are part of identifiers, dates, exponents or list markers are not thresholds.
        if not q.cb and re.search(r"(?:\d[/.\-]|[A-Za-z]-?|#|\^|[x×*]\s?|\b[A-Z]\.\s?)$", text[max(0, q.num_start - 4):q.num_start]):
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
            e.route = self._nearest(self.routes, text, start, end, 40)
            e.frequency = self._nearest(self.freqs, text, start, end, 0)
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

    def _not_threshold(self, text: str, q: _Quantity, v2: float | None) -> bool:
        """A sample size ("n = 20"), a scale's range ("0-10 scale"), a numbered item ("type 2",
        "grade 1-2", "day 1") rather than a limit."""
        if v2 is not None and self.not_after.match(text, q.end):
            return True
        if q.cb not in ("", "=") or q.ca:
            return False
        words = [w.lower() for w in _TOKEN.findall(text[max(0, q.start - 30):q.start])][-3:]
        if q.cb == "=":
            return bool(words) and words[-1] == "n"
        return any(" ".join(words[-k:]) in self.not_before for k in range(1, len(words) + 1))

    @staticmethod
    def _ends_phrase(text: str, end: int) -> bool:
        """Nothing but punctuation or a function word follows: "patients >= 18 who ..."."""
        m = re.match(r"\s*([A-Za-z]+)", text[end:end + 20])
        return m is None or m.group(1).lower() in ("who", "that", "and", "or", "at", "with", "in", "on", "are", "is",
                                                   "were", "was", "will", "to", "when", "if", "from", "presenting",
                                                   "undergoing", "scheduled", "admitted", "having", "of")

    def _age_like(self, text: str, q: _Quantity, unit: str, age_after: bool, intrinsic: bool) -> bool:
        """Whether a duration is a participant's age: an age word or comparator, a population noun
        before it, or a bare number of years standing as the whole criterion."""
        if age_after or intrinsic or q.age:
            return True
        if unit not in ("years", "months"):
            return False
        after = text[q.end:q.end + 60]
        if self._has_direction(after) or self.duration_before.search(text[max(0, q.start - 40):q.start]):
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

    def _age(self, text: str, q: _Quantity, op: str | None, v1: float, v2: float | None, unit: str) -> CriterionEntity:
        per_year = {"years": 1.0, "months": 12.0, "weeks": 52.1775, "days": 365.25, "hours": 8766.0}
        unit1 = self.time_key.get(self._ukey(q.tunit1 or "")) or unit
        n1 = round(v1 / per_year.get(unit1, 1.0), 6)
        per_year = per_year[unit]
        n2 = None if v2 is None else round(v2 / per_year, 6)
        return self._entity("AGE", text, q, op or "=", v1, v2, unit, n1, n2, "years")

    def _percent_measure(self, text: str, start: int, end: int, analyte: str | None) -> str | None:
        after = text[end:end + 80]
        mm = re.match(r"\s*(?:of\s+(?:the\s+)?(?:patient'?s?\s+)?(?:total\s+)?)?([^;,.()]{0,60})", after, re.I)
        if mm:
            hits = self.analyte_gaz.find(mm.group(1))
            if hits:
                return hits[0][2]
        return analyte

    def _time(self, text: str, q: _Quantity, v1: float, v2: float | None, op: str | None, unit: str) -> CriterionEntity:
        start, end = q.start, q.end
        after_text = text[end:end + 60]
        days_per = {"years": 365.25, "months": 30.4375, "weeks": 7.0, "days": 1.0, "hours": 1 / 24, "minutes": 1 / 1440}[unit]
        direction, anchor, anchor_text = None, None, None
        # Direction and anchor: "10 days after onset", "within 48 hours prior to treatment".
        dm = self.direction.match(after_text.lstrip(" ,"))
        if dm:
            d = dm.group("d").lower()
            direction = ("before" if any(w in d for w in ("prior", "before", "preced", "previous", "ahead", "past", "last", "ago", "earlier"))
                         else "after" if any(w in d for w in ("after", "follow", "since", "from", "post", "first"))
                         else "within")
            tail = after_text.lstrip(" ,")[dm.end():]
            anchor, anchor_text = self.find_anchor(tail)
            if d in ("ago", "earlier") and anchor is None:
                anchor = "now"
        window_start = max(0, start - 50)
        nl = text.rfind("\n", window_start, start)
        lead = self.time_lead.search(text, nl + 1 if nl >= 0 else window_start, start)
        lead_word = (lead.group("lead") or "").lower() if lead else ""
        lead_dir = re.sub(r"\s+", " ", (lead.group("dir") or "").lower()) if lead else ""
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
        unit1 = self.time_key.get(self._ukey(q.tunit1 or "")) or unit
        days_per1 = {"years": 365.25, "months": 30.4375, "weeks": 7.0, "days": 1.0, "hours": 1 / 24, "minutes": 1 / 1440}[unit1]
        e = self._entity("TIME_WINDOW", text, q, op or "=", v1, v2, unit, round(v1 * days_per1, 6),
                         None if v2 is None else round(v2 * days_per, 6), "days")
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
            e.norm_value, e.norm_value2, e.norm_unit = convert(e.analyte, e.value, e.value2, e.unit, self)
        else:
            e.norm_value, e.norm_value2, e.norm_unit = e.value, e.value2, e.unit
        return e

    def _entity(self, label, text, q, op, v1, v2, unit, n1, n2, nunit, analyte=None) -> CriterionEntity:
        start, end = q.start, q.end
        end = start + len(text[start:end].rstrip())
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
            if rules.plausible(analyte, default, v1) is False and rules.plausible(analyte, target, v1):
                return v1, v2, target  # "platelets at least 100" counts thousands per mm3: 100 x 10^9/L
            unit = default
        else:
            return v1, v2, None
    if unit == target or target is None:
        return v1, v2, unit
    factor = _factor(rules, analyte, unit, target)
    if factor is None:
        return v1, v2, unit
    return round(v1 * factor, 6), (None if v2 is None else round(v2 * factor, 6)), target


def unit_factor(analyte: str, unit: str, target: str) -> float | None:
    """The factor converting a value of ``analyte`` from ``unit`` to ``target`` (None when the
    units cannot be related, e.g. multiples of ULN)."""
    return _factor(rules(), analyte, unit, target)


def _factor(rules: Rules, analyte: str, unit: str, target: str) -> float | None:
    """Multiplier from ``unit`` to ``target`` for ``analyte`` (pint, via the molar mass when mass and
    molar units meet); None when pint cannot relate them. Cached: pint parsing is slow and these
    units are all proportional."""
    key = (analyte, unit, target)
    if key in rules.factors:
        return rules.factors[key]
    src = rules.units_by_canon.get(unit, {})
    dst = rules.units_by_canon.get(target, {})
    factor = None
    if src.get("pint") and dst.get("pint"):
        ureg = _ureg()
        q = ureg.Quantity(src.get("scale", 1.0), src["pint"])
        try:
            try:
                out = q.to(dst["pint"])
            except Exception:
                mm = rules.analytes.get(analyte, {}).get("molar_mass")
                if not mm:
                    raise
                molar = ureg.Quantity(mm, "g/mol")
                out = (q * molar).to(dst["pint"]) if src["kind"] == "molar_conc" else (q / molar).to(dst["pint"])
            factor = float(out.magnitude) / dst.get("scale", 1.0)
        except Exception:
            factor = None
    rules.factors[key] = factor
    return factor


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


GROUP_CONTEXT = 60  # longest criterion lead-in ("Life expectancy", "Hematopoietic") read as context


def _lead_in(c) -> str:
    """The heading a criterion stands under, as a prefix that gives its figures their sense:
    "Life expectancy: At least 3 months" is no age, "Age: 18 and over" is."""
    group = (getattr(c, "group", None) or "").strip().rstrip(":")
    return f"{group}: " if group and len(group) <= GROUP_CONTEXT and "\n" not in group else ""


def _shift(ents: list[CriterionEntity], k: int) -> list[CriterionEntity]:
    """Entities of "lead-in + text" re-based on the text; those inside the lead-in belong to it."""
    out = []
    for e in ents:
        if e.start < k:
            continue
        e.start, e.end = e.start - k, e.end - k
        out.append(e)
    return out


def attach_entities(trials: Iterable) -> None:
    """Fill ``criterion.entities`` for every criterion of every trial; offsets are into ``c.text``."""
    from .pipeline import nlp

    pipe = nlp()
    crits = [c for t in trials for c in t.criteria]
    leads = [_lead_in(c) for c in crits]
    texts = (lead + c.text for lead, c in zip(leads, crits))
    for c, lead, doc in zip(crits, leads, pipe.pipe(texts, batch_size=256)):
        c.entities = _shift([s._.entity for s in doc.spans.get("criteria", [])], len(lead))
        for e in c.entities:
            e.polarity = c.section


def ages_from_criteria(trial) -> tuple[Any, Any]:
    """Minimum and maximum age stated in inclusion criteria, for records with no structured ages."""
    from .records import Age

    lo = hi = None
    r = rules()
    for c in trial.inclusion:
        lead = _lead_in(c)
        for e in (c.entities or _shift(r.extract(lead + c.text, c.section), len(lead))):
            if e.label != "AGE" or e.negated or e.norm_value is None:
                continue
            unit = e.unit if e.unit in ("years", "months", "weeks", "days", "hours") else "years"

            def age(value: float, norm: float, inclusive: bool):
                a = Age(value, unit, c.text, inclusive, "criteria")
                # "2 months to 18 years": a bound in another unit than the stated one is kept in years.
                return a if abs(a.years - norm) < 1e-3 else Age(norm, "years", c.text, inclusive, "criteria")

            if e.op == "between" and e.value2 is not None:
                lo = lo or age(e.value, e.norm_value, True)
                hi = hi or age(e.value2, e.norm_value2, True)
            elif e.op in (">=", ">") and lo is None:
                lo = age(e.value, e.norm_value, e.op == ">=")
            elif e.op in ("<=", "<") and hi is None:
                hi = age(e.value, e.norm_value, e.op == "<=")
    return lo, hi

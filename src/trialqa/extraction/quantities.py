"""Numbers in text: ``QuantityReader`` finds each number or range with its unit and the
comparator, age and population words around it, as a ``Quantity`` for the rules to classify."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable

from .gazetteer import TOKEN, alternation, suffix_match, token_key
from .lexicon import CASE_SENSITIVE_UNITS, Lexicon, unit_key


@dataclass
class Quantity:
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
    tadj: str | None = None  # a qualifier before the time unit: "6 previous months"


_TIME_QUALIFIERS = ("consecutive|successive|continuous|uninterrupted|full|complete|calendar|additional|further|"
                    "previous|preceding|prior|past|last|recent|next|following|subsequent|coming")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻−", "0123456789--")
_TIMES_TEN = re.compile(r"\s*[x×*]\s*10\s*(?:\^|\*\*)?\s*")  # "2 x 10^3" -> "2e3" (superscripts already digits)


def _right_alternation(phrases: Iterable[str]) -> str:
    """Alternation for what follows a number: no left word boundary, so "18yrs" and "5mg" match."""
    out = []
    for p in sorted(set(phrases), key=lambda p: (-len(p), p)):  # ties by text: the same regex in every process
        esc = re.escape(p).replace(r"\ ", r"\s*").replace(r"\-", r"[\s\-‐]?")
        if not p.startswith("/"):
            esc = re.sub(r"(?:\\s\*)?/(?:\\s\*)?", r"\\s*/\\s*", esc)  # "x 109 /L", "mg / dL"
        if p in CASE_SENSITIVE_UNITS:
            esc = f"(?-i:{esc})"
        if p[-1:].isalnum():
            esc += r"(?![\w])"
        out.append(esc)
    return "|".join(out)


class QuantityReader:
    """Finds quantities with patterns compiled from the lexicon's numbers, units and comparators."""

    def __init__(self, lex: Lexicon):
        self.lex = lex
        num_words = alternation(lex.word_numbers)
        unit_alt = _right_alternation(lex.unit_spellings)
        # Scientific notation: "2e3"; "2 x 10^3", "2×10³", "2 * 10**3" when a unit follows that does
        # not take the power of ten itself ("1.5 x 10^9/L" is 1.5 in 10^9/L). A bare "2.0 x 10^9"
        # stays 2.0: the analyte's plausible range gives its unit.
        times_ten = r"\s*[x×*]\s*10\s*(?:(?:\^|\*\*)\s*[-−+]?\d{1,2}|⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]{1,2})(?![\w^])"
        exp = (rf"(?:[eE][-+]?\d{{1,2}}(?![\w^])|(?=\s*[x×*])(?!\s*(?:{unit_alt})){times_ten}(?=\s*(?:{unit_alt})))")
        # A decimal comma ("≥18,5", "7,0 mM") when one or two digits follow and no list goes on ("0,1 or 2").
        dec_comma = r"\d+,\d{1,2}(?![\d,]|\s*(?:or|and|&|and/or)\s+\d)"
        n = rf"(?:(?:(?:\d{{1,3}}(?:,\d{{3}})+(?!\d)|{dec_comma}|\d+)(?:\.\d+)?(?!\d)|\.\d+){exp}?|{num_words})"
        # Where a quantity can begin; the full pattern is tried only there (the text is mostly words).
        words_rx = "|".join(re.escape(w) for w in sorted(lex.word_numbers, key=len, reverse=True))
        self.candidates = re.compile(rf"\d|\b(?:{words_rx})\b", re.I)
        time_alt = _right_alternation(lex.time_canon)
        after_alt = _right_alternation(lex.after_phrases)
        sep = r"(?:-|–|—|~|～|to|and|through|until|till|or)"
        # "three (3) months" restates the number; "140/90 mmHg" and "4/10" carry a second figure
        # (diastolic pressure, the scale's maximum) that is not a range.
        head = (rf"(?P<v1>{n})(?P<restate>\s*\(\s*\d+(?:\.\d+)?\s*\))?"
                rf"(?P<over>\s*/\s*\d{{1,3}}(?![\d/]|[.,]\d))?(?P<plus>\s*\+(?![+]|\s*\d))?")
        # The lower bound may carry the unit too: "2 months to 18 years", "10% to 20%", "between 50 kg and 90 kg".
        rng = (rf"(?:(?P<u1>[\s\-‐]*(?:{time_alt})(?:[\s\-‐]+old)?|\s*%|\s*(?P<lu1>{unit_alt}))?"
               rf"\s*(?P<sep>{sep})\s*(?P<v2>{n}))?")
        # "6 consecutive weeks", "the 6 previous months": a qualifier between a number and its time unit.
        tail = (rf"(?:[\s\-‐]*(?:(?P<tadj>{_TIME_QUALIFIERS})\s+)?(?P<tunit>{time_alt})(?P<agesfx>[\s\-‐]*(?:old|of\s+age|of\s+life)(?![\w]))?|\s*(?P<unit>{unit_alt}))?"
                rf"(?:\s*(?P<ca>{after_alt})(?!\s*(?:\d|{num_words})))?")
        self.quantity = re.compile(head + rng + tail, re.I)
        self.quantity_single = re.compile(head + tail, re.I)
        # "0, 1 or 2": a list of neighbouring grades is read as their range.
        self.choice = re.compile(r"(\d{1,2})((?:\s*,\s*\d{1,2}){1,5})\s*,?\s*(?:or|and/or)\s+(\d{1,2})(?![\d.,/])")

    def number(self, tok: str | None) -> float | None:
        """The value of a figure or number word ("1,500", ".5", "2e3", "2 x 10^3", "2×10³", "twice");
        None for anything else (and for a figure too large to be finite)."""
        if tok is None:
            return None
        t = tok.strip().lower()
        if t in self.lex.word_numbers:
            return self.lex.word_numbers[t]
        if re.fullmatch(r"[-−]?\d+,\d{1,2}", t):
            t = t.replace(",", ".")  # a decimal comma; thousands take three digits
        t = _TIMES_TEN.sub("e", t.translate(_SUPERSCRIPT).replace(",", "").replace("−", "-"))
        try:
            v = float(t)
        except ValueError:
            return None
        return v if math.isfinite(v) else None

    def time_unit(self, s: str) -> str | None:
        """``s`` when it spells a time unit ("years-old" as "years"), else None."""
        s = re.sub(r"[\s\-‐]+(old)?$", "", s.strip(" -‐"), flags=re.I)
        return s if unit_key(s) in self.lex.time_key else None

    def find(self, text: str) -> list[Quantity]:
        """The quantities of ``text`` in order; a bare number coordinated with the next one shares its unit."""
        out: list[Quantity] = []
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
            q = self._read(text, pos)
            if q is not None:
                out.append(q)
                last = q.end
        for q, nxt in zip(out, out[1:]):
            self._inherit_unit(text, q, nxt)
        return out

    def _read(self, text: str, pos: int) -> Quantity | None:
        m = self.quantity.match(text, pos)
        if not m:
            return None
        cb, op_before, start, between, age, pop = self._left(text, pos)
        # A minus sign right after a comparator is the value's sign: "T-score < -2.5".
        negative = not cb and pos > 1 and text[pos - 1] in "-−" and (text[pos - 2].isspace() or text[pos - 2] in "<>≤≥=")
        if negative:
            left = self._left(text, pos - 1)
            negative = left[1] is not None and not left[3]
            if negative:
                cb, op_before, start, between, age, pop = left
        if m.group("v2") is not None and not (self._is_range(m, between) and self._same_unit(m)):
            m = self.quantity_single.match(text, pos)
        gd = m.groupdict()
        if gd["over"] and not self._over_ok(m, cb):
            return None
        v2, end = gd.get("v2"), m.end()
        ch = self.choice.match(text, pos) if v2 is None and not gd["over"] else None
        if ch:
            grades = [int(x) for x in re.findall(r"\d+", ch.group(0))]
            if grades == list(range(grades[0], grades[0] + len(grades))):
                v2, end = ch.group(3), ch.end()
                gd = {**gd, "unit": None, "tunit": None, "u1": None, "ca": None, "agesfx": None}
        q = Quantity(start, end, pos, "-" * negative + gd["v1"], v2, cb, op_before, token_key(gd["ca"] or ""),
                     gd["unit"], gd["tunit"] or gd.get("u1") and self.time_unit(gd["u1"]),
                     between, age, pop, bool(gd["plus"]), bool(gd.get("agesfx")))
        if gd.get("u1") and gd["tunit"]:
            q.tunit1 = self.time_unit(gd["u1"])
        q.tadj = (gd.get("tadj") or "").lower() or None
        return q

    def _over_ok(self, m: re.Match, cb: str) -> bool:
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

    @staticmethod
    def _same_unit(m: re.Match) -> bool:
        """A lab unit after the lower bound is the range's only when the upper one repeats it."""
        lu1 = m.group("lu1")
        return lu1 is None or unit_key(lu1) == unit_key(m.group("unit") or "")

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

    def _left(self, text: str, pos: int) -> tuple[str, str | None, int, bool, bool, bool]:
        """What qualifies the number at ``pos`` from the left: (comparator words, its operator,
        span start, between, age word, population noun)."""
        lex = self.lex
        lo = max(0, pos - 70)
        nl = text.rfind("\n", lo, pos)
        if nl >= 0:
            lo = nl + 1
        toks = [(m.group(0), m.start()) for m in TOKEN.finditer(text, lo, pos)]
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
            bracketed = lex.before_ops.get(" ".join(words[o + 1:j - 1]))
            if bracketed:
                start = toks[o][1]
                words, toks, j = words[:o], toks[:o], o
        # A comparator that names the age itself ("before the age of") goes first.
        k, op = suffix_match(words, j, lex.before_ops, lex.before_len)
        if not (k and "age" in words[j - k:j]):
            k, _ = suffix_match(words, skip_punct(j), lex.age_before, lex.cue_len)
            if k:
                j = skip_punct(j) - k
                age = not (j > 0 and words[j - 1] in lex.not_age)
                k, _ = suffix_match(words, j, lex.approximators, 2)
            j -= k
            k, op = suffix_match(words, j, lex.before_ops, lex.before_len)
            if not k and j > 1 and words[j - 1] in ("a", "an"):
                # "at least a 4-week washout", "more than an 8-hour fast"
                k, op = suffix_match(words, j - 1, lex.before_ops, lex.before_len)
                if k:
                    j -= 1
            if not k and j > 1 and words[j - 1] in lex.scale_words:
                # ">= grade 2", "< class 3": the comparator stands before the scale's name.
                k, op = suffix_match(words, j - 1, lex.before_ops, lex.before_len)
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
            if words[max(0, j - 3):j] == ["equal", "to", "or"]:
                j -= 3  # "age equal to or between 18 and 65 years"
            start = toks[j][1]
        if not age:
            jj = skip_punct(j)
            k, _ = suffix_match(words, jj, lex.age_before, lex.cue_len)
            age = bool(k) and not (jj - k > 0 and words[jj - k - 1] in lex.not_age)
        if not age:
            jj = skip_punct(j)
            k, _ = suffix_match(words, jj, lex.population_links, lex.cue_len)
            k2, _ = suffix_match(words, jj - k, lex.population, lex.cue_len)
            pop = bool(k2)
        return cb, op, start, between, age, pop

    @staticmethod
    def _inherit_unit(text: str, q: Quantity, nxt: Quantity) -> None:
        """A bare number coordinated with a unit-bearing one shares its unit: "under 40 or over 60
        years of age", ">= 3 and <= 18 years"."""
        if q.unit or q.tunit or q.v2 is not None or q.ca:
            return
        gap = text[q.end:nxt.start]
        if (nxt.unit or nxt.tunit) and re.fullmatch(r"\s*(?:,|and|or|and/or|to|-|/)?\s*", gap, re.I) and nxt.cb and q.cb:
            q.unit, q.tunit = nxt.unit, nxt.tunit
            q.age = q.age or nxt.age or nxt.age_suffix
            q.tail_from = nxt.end

"""Score the criteria extractor against brat-annotated corpora (LCT and Chia).

Gold items
----------
LCT (Leaf Clinical Trials): every ``Eq-Comparison`` event that has a value. Its kind is

* ``age``: the comparison is the ``Numeric-Filter`` of an ``Age`` event;
* ``time``: it has an ``Eq-Temporal-Unit`` (durations, recency windows, "life expectancy > 6 months");
* ``numeric``: anything else (labs, vitals, scores, doses, counts).

The operator comes from the ``Eq-Operator-Value`` attribute (none stated reads as ``=``); a
``Value2`` with no operator or with ``EQ`` ("= 8-15", "0 or 1") is a range.

Chia: ``Value`` entities, by what they hang on (``Has_value``): a ``Person`` or a measurement named
"age" makes an ``age`` (Chia also hangs weights and creatinine limits "for males" on persons, and
"gestational age" is no age); a value with a time unit is ``time``; the rest is ``numeric``.
``Temporal`` entities with a number and a time unit are ``time`` too. Chia has no operator
annotation: operators and values are read from the gold span by :func:`parse_constraints`, a reader
of its own (deliberately not the extractor's lexicon, so the evaluation does not grade the
extractor with its own rules). Chia writes "greater than or equal to 10" as two values joined by
OR ("greater than 10", "equal to 10"); the pair is read as the one inclusive limit.

Negation: gold mentions (conditions, drugs, procedures, observations...) that one of our
``CONDITION`` entities overlaps; gold says negated when an LCT ``Negation`` event negates the
mention or a Chia ``Has_negation`` relation leaves it, or a Chia ``Has_value`` "negative" (a negative
test result: the tested condition is absent) qualifies it. Chia also marks exceptions ("except",
"other than") as negation, so the Chia figure is given for ``negated`` and, as ``negation+exc``,
for ``negated or excepted``.

Matching
--------
A prediction matches a gold item when their spans overlap and, after normalization, the operator
and the value agree: numbers are compared as stated (``1,500`` = 1500, ``three`` = 3; a range by its
two ends in either order); ages and time windows in days, whatever the units on either side; the
operator of a time window only when the gold states one (LCT leaves it out of "6 months prior
to"). Each gold item and each prediction is used at most once.

Recall of a kind counts the gold items of that kind matched by a prediction of the matching labels
(``numeric``: LAB, PERCENT, DOSE; ``age``: AGE; ``time``: TIME_WINDOW). Precision counts the
predictions of those labels: one that agrees with an overlapping gold item of any kind is right;
one that overlaps no gold item, or only disagreeing ones, is wrong; one that overlaps only gold
items set aside by an exclusion rule, or lies inside a criterion Chia flags as left unannotated
(``Not_a_criteria``, ``Non-query-able``, ``Parsing_Error``...), is not scored.

Exclusion rules (the ``scoped`` figures; ``all`` keeps everything)
----------------------------------------------------------------
* ``count``: comparisons that count occurrences: LCT ``Minimum-Count`` of an event and ``Min-Value`` /
  ``Max-Value`` of a ``Criteria-Count`` ("one or more events", "at least 2 prior regimens"); Chia
  ``Multiplier`` entities. They are not measurement thresholds.
* ``stage``: LCT comparisons that are a disease ``Stage`` ("stage II-IV", "grade 3").
* ``categorical``: gold values that are not numbers (Roman numerals "III or IV", "positive",
  "normal", letters "C or D"). LCT comparisons with no value at all, whose limit is a reference
  ("greater than the upper limit of normal"), are not gold items; a prediction inside one is not
  scored.
* ``unlinked``: Chia values that hang on nothing (no ``Has_value``), so have no kind.

Each rule is structural (an annotation role, an entity type or the form of the value), never a
list of sentences.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from ..units import DAYS_PER
from .brat import Document, read_corpus

KINDS = ("numeric", "age", "time", "negation")
LABELS_FOR = {"numeric": ("LAB", "PERCENT", "DOSE"), "age": ("AGE",), "time": ("TIME_WINDOW",)}
LCT_OPS = {"GT": ">", "GTEQ": ">=", "LT": "<", "LTEQ": "<=", "EQ": "=", "BETWEEN": "between", "PLUS-MINUS": "+-"}
COUNT_ROLES = ("Minimum-Count", "Min-Value", "Max-Value")
STAGE_ROLES = ("Stage",)
DAYS = {**DAYS_PER, "second": 1 / 86400}  # the one time table, and seconds for the gold's rare ones

# --- reading values from gold text -------------------------------------------------------------

_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "twice": 2, "thrice": 3, "double": 2, "triple": 3, "half": 0.5, "birth": 0,
}
# Digits glued to letters, after "/" or "^" (mm3, /1.73 m2, 10^9) are part of a unit, not a value.
_NUMBER = re.compile(r"(?<![\w/^.,])(?:\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)|\b(?:%s)\b" % "|".join(_WORDS), re.I)
_EXPONENT = re.compile(r"[x×*]\s*10\s*(?:\^|e|E)?\s*\(?[0-9]{1,2}\)?(?=\s*(?:/|cells|per|\b))|10[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_W = "|".join(_WORDS)
# Comparators written before a value; inclusive forms are tried before the strict ones they contain.
_PRE_OPS: list[tuple[str, str]] = [
    (r"≥|>\s*/?\s*=|=\s*/?\s*>|\b(?:equal\s+(?:to\s+)?or\s+)?superior\s+or\s+equal\b|\bequal\s+(?:to\s+)?or\s+superior\b|>\s*or\s*=|⩾|≧|\bat\s+least\b|\bno\s+(?:less|fewer|lower)\s+than\b|\bnot\s+(?:less|fewer|lower)\s+than\b|"
     r"\b(?:greater|more|higher|older)\s+(?:than\s+)?or\s+equal\b|\bequal\s+(?:to\s+)?or\s+(?:greater|more|higher|better)\b|\bminimum\b", ">="),
    (r"≤|<\s*/?\s*=|=\s*/?\s*<|\binferior\s+or\s+equal\b|\bequal\s+(?:to\s+)?or\s+inferior\b|<\s*or\s*=|⩽|≦|\bat\s+most\b|\bno\s+(?:more|greater|higher|older)\s+than\b|"
     r"\bnot\s+(?:more|greater|higher|older)\s+than\b|\bnot\s+(?:to\s+)?exceed|"
     r"\b(?:less|lower|fewer)\s+(?:than\s+)?or\s+equal\b|\bequal\s+(?:to\s+)?or\s+(?:less|lower)\b|"
     r"\bup\s+to\b|\bmaximum\b|\bwithin\b|\buntil\b", "<="),
    (r">|\b(?:greater|more|higher|older|longer|bigger|larger)\s+than\b|\bover\b|\babove\b|\bexceed|\bbeyond\b|\bin\s+excess\s+of\b|\bafter\s+the\s+age\b|\bsuperior\s+to\b", ">"),
    (r"<|\b(?:less|fewer|lower|younger|shorter|smaller)\s+than\b|\bunder\b|\bbelow\b|\bbefore\s+the\s+age\b|\binferior\s+to\b", "<"),
    (r"=", "="),
]
# Comparators written after a value ("18 years or older").
_POST_OPS: list[tuple[str, str]] = [
    (r"^\s*\+|\bor\s+(?:more|greater|older|above|over|higher|longer|later)\b|\band\s+(?:older|above|over|up|more)\b", ">="),
    (r"\bor\s+(?:less|fewer|younger|below|under|lower|shorter|earlier)\b|\band\s+(?:younger|below|under|less)\b|\bago\s+or\s+less\b", "<="),
]
_PRE_RX = [(re.compile(p, re.I), op) for p, op in _PRE_OPS]
_POST_RX = [(re.compile(p, re.I), op) for p, op in _POST_OPS]
_RANGE_GAP = re.compile(r"\s*(?:[a-zµ%°]+\.?\s*)?(?:-|–|—|~|～|to|and|through|until)\s*", re.I)


# A time unit counts only right after a number: "at least 18 at the day of screening" is no duration.
_TIME_UNIT = re.compile(r"(?:\d|\b(?:%s))\s*-?\s*(?:(year|yr|month|mo|mth|week|wk|day|hour|hr|minute|min|second)s?\b|(y|yrs?|mos?|wks?|d|h|hrs?)\b)" % _W, re.I)
_TIME_CANON = {"yr": "year", "y": "year", "yrs": "year", "mo": "month", "mos": "month", "mth": "month", "wk": "week",
               "wks": "week", "d": "day", "h": "hour", "hr": "hour", "hrs": "hour", "min": "minute"}


def number(tok: str) -> float | None:
    """A number as written: digits with thousands commas, decimals, or a number word."""
    t = tok.strip().lower()
    if t in _WORDS:
        return float(_WORDS[t])
    try:
        return float(t.replace(",", ""))
    except ValueError:
        return None


def _first_op(rxs: list[tuple[re.Pattern, str]], text: str) -> str | None:
    return next((op for rx, op in rxs if rx.search(text)), None)


def parse_constraints(text: str) -> list[tuple[str, tuple[float, ...]]]:
    """The (operator, values) constraints stated in a gold value span.

    ``>/= 50 years`` gives ``[(">=", (50,))]``; ``18-65`` and ``between 7 and 75 years`` a range
    ``[("between", (18, 65))]``; ``>= 18 and < 70 years`` two constraints. A value with no
    comparator reads as ``=``.
    """
    text = _EXPONENT.sub(lambda m: " " * len(m.group(0)), text)
    nums = [(m, number(m.group(0))) for m in _NUMBER.finditer(text)]
    nums = [(m, v) for m, v in nums if v is not None]
    if not nums:
        return []
    if len(nums) >= 2:
        (m1, v1), (m2, v2) = nums[0], nums[1]
        gap = text[m1.end():m2.start()]
        if (_RANGE_GAP.fullmatch(gap) and not _first_op(_PRE_RX, gap)) or re.search(r"\bbetween\b", text[:m1.start()], re.I):
            return [("between", (v1, v2))]
    if len(nums) >= 2 and all(re.fullmatch(r"\s*(?:,|or|and|&|and/or|,\s*or|,\s*and)\s*", text[a[0].end():b[0].start()], re.I)
                              for a, b in zip(nums, nums[1:])) and not _first_op(_PRE_RX, text[:nums[0][0].start()]):
        # "0, 1 or 2": a choice of neighbouring grades is their range.
        vals = [v for _, v in nums]
        if all(v == int(v) for v in vals) and vals == list(range(int(vals[0]), int(vals[0]) + len(vals))):
            return [("between", (vals[0], vals[-1]))]
    out = []
    for i, (m, v) in enumerate(nums):
        pre = text[nums[i - 1][0].end() if i else 0:m.start()]
        post = text[m.end():nums[i + 1][0].start() if i + 1 < len(nums) else len(text)]
        out.append((_first_op(_PRE_RX, pre) or _first_op(_POST_RX, post) or "=", (v,)))
    return out


def time_unit(text: str) -> str | None:
    m = _TIME_UNIT.search(text)
    if not m:
        return None
    u = (m.group(1) or m.group(2)).lower()
    return _TIME_CANON.get(u, u)


# --- gold and predictions ----------------------------------------------------------------------

@dataclass
class GoldItem:
    doc: str
    kind: str
    start: int
    end: int
    text: str
    op: str | None
    values: tuple[float, ...]
    days: float | None = None  # days per unit of the values when they are durations or ages
    op_stated: bool = True
    excluded: str | None = None  # the exclusion rule that sets it aside
    negated: bool = False
    alternatives: tuple[tuple[str, tuple[float, ...]], ...] = ()  # further constraints of the same span


@dataclass
class Prediction:
    doc: str
    label: str
    start: int
    end: int
    text: str
    op: str | None
    value: float | None
    value2: float | None
    norm_value: float | None
    norm_value2: float | None
    negated: bool = False
    excepted: bool = False


@dataclass
class Score:
    """Recall counts gold items (``matched`` of ``gold``); precision counts predictions
    (``correct`` of ``predicted``). The two differ when a prediction is right about a gold item of
    another kind, or two predictions state the two limits of one gold span."""

    gold: int = 0
    matched: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class CorpusResult:
    name: str
    documents: int
    scoped: dict[str, Score]
    all: dict[str, Score]
    excluded: dict[str, int]  # gold items set aside per rule
    errors: dict[str, list[dict]] = field(default_factory=dict)  # kind -> false positives / negatives (scoped)

    def to_dict(self) -> dict:
        return {"name": self.name, "documents": self.documents, "excluded": self.excluded,
                "scoped": {k: s.to_dict() for k, s in self.scoped.items()},
                "all": {k: s.to_dict() for k, s in self.all.items()}, "errors": self.errors}


@dataclass
class ExtractionEvaluation:
    corpora: dict[str, CorpusResult]
    seconds: float

    def to_dict(self) -> dict:
        return {"corpora": {k: v.to_dict() for k, v in self.corpora.items()}, "seconds": round(self.seconds, 2)}

    def table(self) -> str:
        """Plain-text table: one row per corpus, setting and kind."""
        rows = [f"{'corpus':6} {'setting':7} {'kind':12} {'gold':>5} {'found':>5} {'pred':>5} {'right':>5} {'P':>6} {'R':>6} {'F1':>6}"]
        for name, res in self.corpora.items():
            for setting, scores in (("scoped", res.scoped), ("all", res.all)):
                for kind, s in scores.items():
                    rows.append(f"{name:6} {setting:7} {kind:12} {s.gold:5d} {s.matched:5d} {s.predicted:5d} {s.correct:5d} "
                                f"{s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}")
            ex = ", ".join(f"{k}: {v}" for k, v in res.excluded.items()) or "none"
            rows.append(f"{name:6} excluded gold items: {ex}")
        return "\n".join(rows)


def lct_gold(doc: Document) -> list[GoldItem]:
    """Gold comparisons and negated mentions of one LCT document."""
    parents: dict[str, list[tuple[str, str]]] = {}
    for ev in doc.events.values():
        for role, ref in ev.args:
            parents.setdefault(ref, []).append((ev.type, re.sub(r"\d+$", "", role)))
    out: list[GoldItem] = []
    for ev in doc.events.values():
        if ev.type != "Eq-Comparison":
            continue
        value_ids = ev.all("Value") + ev.all("Value2")
        tb = doc.span_of(ev.id)
        if tb is None:
            continue
        if not value_ids:
            # A limit given by a reference ("greater than the upper limit of normal"): no number to
            # check a prediction against, so one inside it is not scored.
            out.append(GoldItem(doc.name, "region", tb.start, tb.end, tb.text, None, ()))
            continue
        op_id = ev.arg("Operator")
        op_attr = doc.attrs(op_id).get("Eq-Operator-Value") if op_id else None
        raw = [doc.entities[i].text for i in value_ids if i in doc.entities]
        values = tuple(v for v in (number(r) for r in raw) if v is not None)
        # A Value2 with no operator, or with EQ ("= 8-15"), is a range or a choice of neighbours ("0 or 1").
        op = LCT_OPS.get(op_attr or "", "=")
        if ev.all("Value2") and len(values) == 2 and op == "=":
            op = "between"
        tunit_id = ev.arg("Temporal-Unit")
        tunit_attr = doc.attrs(tunit_id).get("Eq-Temporal-Unit-Value") if tunit_id else None
        tunit = tunit_attr or (time_unit(doc.entities[tunit_id].text) if tunit_id else None)
        roles = parents.get(ev.id, [])
        if any(p == "Age" and r == "Numeric-Filter" for p, r in roles):
            kind, days = "age", DAYS.get(tunit or "year", 365.25)
        elif tunit:
            kind, days = "time", DAYS.get(tunit, 1.0)
        else:
            kind, days = "numeric", None
        excluded = None
        if len(values) < len(raw) or not values:
            excluded = "categorical"
        elif any(r in COUNT_ROLES for _, r in roles):
            excluded = "count"
        elif any(r in STAGE_ROLES for _, r in roles):
            excluded = "stage"
        out.append(GoldItem(doc.name, kind, tb.start, tb.end, tb.text, op, values, days,
                            op_stated=op_attr is not None, excluded=excluded))
    negated = {ref for ev in doc.events.values() if ev.type == "Negation"
               for role, ref in ev.args if role.startswith("Negates")}
    for ev in doc.events.values():
        if ev.type in ("Condition", "Drug", "Procedure", "Observation", "Allergy", "Immunization", "Encounter"):
            tb = doc.span_of(ev.id)
            if tb is not None:
                out.append(GoldItem(doc.name, "negation", tb.start, tb.end, tb.text, None, (), negated=ev.id in negated))
    return out


_AGE_WORDS = re.compile(r"\bage[sd]?\b|\bold\b|\byears?\b|\by/o\b|\bbirth", re.I)
_NON_TIME_UNIT = re.compile(r"[a-z]+/|\bkg\b|\bmg\b|\bcm\b|%|\bg\b|\bmmol", re.I)
# Chia marks criteria it leaves unannotated inside (not a criterion, not representable, parse
# errors...): predictions there are not scored.
CHIA_UNANNOTATED = ("Not_a_criteria", "Non-query-able", "Non-representable", "Post-eligibility", "Competing_trial",
                    "Informed_consent", "Pregnancy_considerations", "Context_Error", "Parsing_Error")


def _chia_item(doc: Document, tb, kind: str, days: float | None, excluded: str | None = None) -> GoldItem:
    # The pieces of a discontinuous span, read in text order ("18 years ... or older").
    cons = parse_constraints(" ".join(doc.text[a:b] for a, b in sorted(tb.spans)))
    op, nums = cons[0] if cons else ("=", ())
    return GoldItem(doc.name, kind, tb.start, tb.end, tb.text, op, nums, days, op_stated=op != "=",
                    excluded=excluded or (None if nums else "categorical"), alternatives=tuple(cons[1:]))


def chia_gold(doc: Document) -> list[GoldItem]:
    """Gold values, ages, time windows, counts and negated mentions of one Chia document."""
    out: list[GoldItem] = []
    heads: dict[str, list[str]] = {}
    for rel in doc.relations:
        if rel.type == "Has_value" and rel.arg2 in doc.entities and rel.arg1 in doc.entities:
            heads.setdefault(rel.arg2, []).append(rel.arg1)
    for tb in doc.entities.values():
        if tb.type == "Value":
            head_types = {doc.entities[h].type for h in heads.get(tb.id, [])}
            head_text = " ".join(doc.entities[h].text for h in heads.get(tb.id, []))
            u = time_unit(" ".join(doc.text[a:b] for a, b in sorted(tb.spans)))
            # Ages hang on a person ("Men", "subjects") or on a measurement named "age".
            age_head = (("Person" in head_types and (_AGE_WORDS.search(head_text) or u)) or re.search(r"\bage[sd]?\b", head_text, re.I)) \
                and not re.search(r"gestation", head_text, re.I)
            if age_head and not _NON_TIME_UNIT.search(tb.text):
                out.append(_chia_item(doc, tb, "age", DAYS[u or "year"]))
            elif u and not _NON_TIME_UNIT.search(tb.text):
                out.append(_chia_item(doc, tb, "time", DAYS[u]))
            else:
                out.append(_chia_item(doc, tb, "numeric", None, None if head_types else "unlinked"))
        elif tb.type == "Temporal":
            u = time_unit(tb.text)
            if u is not None:
                item = _chia_item(doc, tb, "time", DAYS[u])
                if item.values:
                    out.append(item)
        elif tb.type == "Multiplier":
            item = _chia_item(doc, tb, "numeric", None, "count")
            if item.values:
                out.append(item)
        elif tb.type in CHIA_UNANNOTATED:
            out.append(GoldItem(doc.name, "region", tb.start, tb.end, tb.text, None, ()))
    out = _merge_inclusive(out)
    negated = {rel.arg1 for rel in doc.relations if rel.type == "Has_negation"}
    # Chia writes a negative test result ("negative serum pregnancy test") as Has_value "negative",
    # not as negation; what it states is the same absence of the condition our negation marks.
    negated |= {head for value, hs in heads.items()
                if re.match(r"negative\b", doc.entities[value].text.strip(), re.I) for head in hs}
    for tb in doc.entities.values():
        if tb.type in ("Condition", "Drug", "Procedure", "Observation", "Device", "Measurement"):
            out.append(GoldItem(doc.name, "negation", tb.start, tb.end, tb.text, None, (), negated=tb.id in negated))
    return out


def _merge_inclusive(items: list[GoldItem]) -> list[GoldItem]:
    """Chia writes "greater than or equal to 10 g/dL" as two overlapping values joined by OR,
    "greater than 10 g/dL" and "equal to 10 g/dL": read the pair as the one inclusive limit."""
    merged: set[int] = set()
    out = list(items)
    for i, a in enumerate(items):
        for j, b in enumerate(items):
            if j <= i or i in merged or j in merged or a.kind != b.kind or not a.values or a.values != b.values:
                continue
            if not (a.start < b.end and b.start < a.end):
                continue
            ops = {a.op, b.op}
            if ops in ({">", "="}, {"<", "="}):
                strict = (ops - {"="}).pop()
                out[i] = replace(a, op=strict + "=", start=min(a.start, b.start), end=max(a.end, b.end), op_stated=True)
                merged.add(j)
    return [g for k, g in enumerate(out) if k not in merged]


Extractor = Callable[[list[str]], list[list]]


def default_extractor(lines: list[str]) -> list[list]:
    """The production path: the spaCy pipeline over criteria, as ``attach_entities`` runs it."""
    from ..extraction.pipeline import nlp

    return [[s._.entity for s in doc.spans.get("criteria", [])] for doc in nlp().pipe(lines, batch_size=256)]


def predictions(doc: Document, extractor: Extractor) -> list[Prediction]:
    """Run the extractor line by line (one criterion per line in both corpora)."""
    lines, offsets = [], []
    pos = 0
    for line in doc.text.split("\n"):
        if line.strip():
            lines.append(line)
            offsets.append(pos)
        pos += len(line) + 1
    out, seen = [], set()
    for off, ents in zip(offsets, extractor(lines)):
        for e in ents:
            # One limit over coordinated analytes ("AST/ALT <= 3 x ULN") is one prediction of its span.
            key = (e.label, off + e.start, off + e.end, e.op, e.value, e.value2)
            if e.label != "CONDITION" and key in seen:
                continue
            seen.add(key)
            out.append(Prediction(doc.name, e.label, off + e.start, off + e.end, e.text, e.op, e.value, e.value2,
                                  e.norm_value, e.norm_value2, e.negated, bool(getattr(e, "excepted", False))))
    return out


def _overlap(a: GoldItem | Prediction, b: GoldItem | Prediction) -> bool:
    return a.start < b.end and b.start < a.end


def _close(x: float | None, y: float | None) -> bool:
    return x is not None and y is not None and abs(x - y) <= 1e-6 + 0.01 * max(abs(x), abs(y))


def agrees(p: Prediction, g: GoldItem) -> bool:
    """Operator and value(s) of a prediction agree with a gold item (see the module docstring)."""
    if any(_agrees(p, replace(g, op=op, values=vals, alternatives=())) for op, vals in g.alternatives):
        return True
    return _agrees(p, g)


def _agrees(p: Prediction, g: GoldItem) -> bool:
    if not g.values:
        return False
    if g.days is not None and p.label in ("AGE", "TIME_WINDOW"):
        # Durations and ages compare in days, whatever the units on either side.
        per = 365.25 if p.label == "AGE" else 1.0
        ours = [v * per for v in (p.norm_value, p.norm_value2) if v is not None]
        gold = [v * g.days for v in g.values]
    else:
        ours = [v for v in (p.value, p.value2) if v is not None]
        gold = list(g.values)
    if not ours:
        return False
    if g.op == "between":
        if p.op != "between" or len(ours) < 2 or len(gold) < 2:
            return False
        return _close(min(ours), min(gold[:2])) and _close(max(ours), max(gold[:2]))
    if g.kind == "time" and not g.op_stated:
        return _close(ours[0], gold[0]) or (len(gold) > 1 and _close(ours[0], gold[-1]))
    if p.op != g.op:
        return False
    return _close(ours[0], gold[0]) or (len(gold) > 1 and _close(ours[0], gold[-1]))


def score(golds: list[GoldItem], preds: list[Prediction], use_exclusions: bool,
          errors: dict[str, list[dict]] | None = None) -> dict[str, Score]:
    """Scores per kind for one document set (items of several documents may be mixed)."""
    scores = {k: Score() for k in KINDS}
    by_doc: dict[str, tuple[list[GoldItem], list[Prediction]]] = {}
    for g in golds:
        by_doc.setdefault(g.doc, ([], []))[0].append(g)
    for p in preds:
        by_doc.setdefault(p.doc, ([], []))[1].append(p)
    for name, (gs, ps) in by_doc.items():
        values = [g for g in gs if g.kind in LABELS_FOR]
        scored = [g for g in values if not (use_exclusions and g.excluded)]
        ignored = [g for g in values if use_exclusions and g.excluded]
        regions = [g for g in gs if g.kind == "region"]
        used_p: set[int] = set()
        matched_g: set[int] = set()
        # Gold items of a kind first look for predictions of that kind's labels.
        for gi, g in enumerate(scored):
            for pi, p in enumerate(ps):
                if pi in used_p or p.label not in LABELS_FOR[g.kind] or not _overlap(p, g):
                    continue
                if agrees(p, g):
                    used_p.add(pi)
                    matched_g.add(gi)
                    break
        for gi, g in enumerate(scored):
            s = scores[g.kind]
            s.gold += 1
            if gi in matched_g:
                s.matched += 1
            else:
                if errors is not None:
                    near = [f"{p.label} {p.op} {p.value} {p.value2} [{p.text}]" for p in ps if _overlap(p, g)]
                    errors.setdefault(g.kind, []).append({"type": "fn", "doc": name, "gold": g.text, "op": g.op,
                                                          "values": g.values, "ours": near})
        # Predictions: right if they matched, or agree with an overlapping gold item of another kind.
        for pi, p in enumerate(ps):
            kind = next((k for k, labels in LABELS_FOR.items() if p.label in labels), None)
            if kind is None:
                continue
            s = scores[kind]
            if pi in used_p:
                s.predicted += 1
                s.correct += 1
                continue
            over = [g for g in scored if _overlap(p, g)]
            if not over and (any(_overlap(p, g) for g in ignored) or any(r.start <= p.start and p.end <= r.end for r in regions)):
                continue
            s.predicted += 1
            if any(agrees(p, g) for g in over):
                s.correct += 1
            else:
                if errors is not None:
                    errors.setdefault(kind, []).append({"type": "fp", "doc": name, "ours": f"{p.op} {p.value} {p.value2}",
                                                        "text": p.text, "gold": [g.text for g in over]})
        # Negation: gold mentions that one of our concept mentions overlaps.
        s = scores["negation"]
        concepts = [p for p in ps if p.label == "CONDITION"]
        for g in gs:
            if g.kind != "negation":
                continue
            hits = [p for p in concepts if _overlap(p, g)]
            if not hits:
                continue
            ours = any(p.negated for p in hits)
            if errors is not None and ours != g.negated:
                errors.setdefault("negation", []).append({"type": "fp" if ours else "fn", "doc": name, "gold": g.text,
                                                          "text": hits[0].text, "ours": f"negated={ours}"})
            s.gold += int(g.negated)
            s.predicted += int(ours)
            if ours and g.negated:
                s.matched += 1
                s.correct += 1
    return scores


def _merge(total: dict[str, Score], part: dict[str, Score]) -> None:
    for k, s in part.items():
        t = total[k]
        t.gold += s.gold
        t.matched += s.matched
        t.predicted += s.predicted
        t.correct += s.correct


def evaluate_corpus(name: str, docs: Iterable[Document], gold_of: Callable[[Document], list[GoldItem]],
                    extractor: Extractor, keep_errors: bool = False, exceptions_negate: bool = False) -> CorpusResult:
    """Score one corpus. ``exceptions_negate`` adds ``negation+exc``: our excepted mentions read as
    negated, Chia's convention."""
    kinds = KINDS + (("negation+exc",) if exceptions_negate else ())
    scoped = {k: Score() for k in kinds}
    everything = {k: Score() for k in kinds}
    excluded: dict[str, int] = {}
    errors: dict[str, list[dict]] = {}
    n = 0
    for doc in docs:
        n += 1
        golds = gold_of(doc)
        preds = predictions(doc, extractor)
        for g in golds:
            if g.excluded and g.kind in LABELS_FOR:
                excluded[g.excluded] = excluded.get(g.excluded, 0) + 1
        _merge(scoped, score(golds, preds, True, errors if keep_errors else None))
        _merge(everything, score(golds, preds, False))
        if exceptions_negate:
            widened = [replace(p, negated=p.negated or p.excepted) for p in preds]
            neg = score([g for g in golds if g.kind == "negation"], widened, True)["negation"]
            _merge(scoped, {"negation+exc": neg})
            _merge(everything, {"negation+exc": neg})
    return CorpusResult(name, n, scoped, everything, dict(sorted(excluded.items())), errors)


def evaluate_extraction(lct: str | Path | None = None, chia: str | Path | None = None,
                        extractor: Extractor | None = None, keep_errors: bool = False,
                        limit: int | None = None) -> ExtractionEvaluation:
    """Evaluate the extractor on an LCT and/or a Chia directory of brat files.

    ``limit`` keeps the first N documents of each corpus (sorted by name), for quick runs.
    """
    import itertools
    import time

    extractor = extractor or default_extractor
    t0 = time.perf_counter()
    out: dict[str, CorpusResult] = {}
    if lct:
        docs = itertools.islice(read_corpus(lct), limit)
        out["lct"] = evaluate_corpus("lct", docs, lct_gold, extractor, keep_errors)
    if chia:
        docs = itertools.islice(read_corpus(chia), limit)
        out["chia"] = evaluate_corpus("chia", docs, chia_gold, extractor, keep_errors, exceptions_negate=True)
    return ExtractionEvaluation(out, time.perf_counter() - t0)

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

Value recall and comparator agreement
-------------------------------------
Two figures split a threshold's match into its two halves, over the gold items of the ``numeric``,
``age`` and ``time`` kinds in the scoped setting (per kind and for the three together, ``overall``):

* **value recall**: the share of those gold items for which a threshold prediction (any of LAB,
  PERCENT, DOSE, AGE, TIME_WINDOW) overlapping the gold span states the same value(s) after
  normalization, whatever its comparator: numbers as stated, ages and durations in days; a gold
  range needs a prediction with both ends, a single gold value any end of a prediction. Whether
  the label is the kind's is what precision and recall above grade: the LCT kind follows the
  arguments annotators attached (an age limit with no ``Age`` event is a ``time`` item, "< 50
  ml/min" has a temporal unit), so here the value is graded alone. Predictions agreeing in
  comparator too are assigned first, then value-only ones among the rest; each is used at most once.
  ``found_as_kind`` counts the same with predictions of the kind's own labels only (the stricter
  ``value_recall_as_kind``).
* **comparator agreement**: among the gold items whose value was found, the share whose comparator
  agrees: the same one of ``<``, ``<=``, ``>``, ``>=``, ``=`` or ``between`` (a range is
  ``between``; "at least", "no more than", "up to", "exceeding", "18 or older"... are the
  extractor's reading of the words). A time window whose gold states no operator (LCT leaves it
  out of "6 months prior to") has no comparator to agree with: it counts for value recall but not
  here (``judged`` says how many were compared).

Exclusion rules (the ``scoped`` figures; ``all`` keeps everything)
----------------------------------------------------------------
* ``count``: comparisons that count occurrences: LCT ``Minimum-Count`` of an event and ``Min-Value`` /
  ``Max-Value`` of a ``Criteria-Count`` ("one or more events", "at least 2 prior regimens"); Chia
  ``Multiplier`` entities. They are not measurement thresholds.
* ``stage``: LCT comparisons that are a disease ``Stage`` ("stage II-IV", "grade 3").
* ``tolerance``: LCT comparisons with the ``PLUS-MINUS`` operator ("stable weight (±2 kg)", "23 (+/- 4)"):
  a tolerance around a value, outside the comparators a threshold takes (<, <=, >, >=, =, between).
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
from .gold_text import number, parse_constraints, time_unit

KINDS = ("numeric", "age", "time", "negation")
LABELS_FOR = {"numeric": ("LAB", "PERCENT", "DOSE"), "age": ("AGE",), "time": ("TIME_WINDOW",)}
THRESHOLD_LABELS = tuple(label for labels in LABELS_FOR.values() for label in labels)
LCT_OPS = {"GT": ">", "GTEQ": ">=", "LT": "<", "LTEQ": "<=", "EQ": "=", "BETWEEN": "between", "PLUS-MINUS": "+-"}
COUNT_ROLES = ("Minimum-Count", "Min-Value", "Max-Value")
STAGE_ROLES = ("Stage",)
DAYS = {**DAYS_PER, "second": 1 / 86400}  # the one time table, and seconds for the gold's rare ones

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


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


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
        return _share(self.correct, self.predicted)

    @property
    def recall(self) -> float:
        return _share(self.matched, self.gold)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class ValueScore:
    """Value recall (``found`` of ``gold``) and comparator agreement (``agreed`` of ``judged``: the
    found items whose gold states a comparator); see the module docstring."""

    gold: int = 0
    found: int = 0
    judged: int = 0
    agreed: int = 0
    found_as_kind: int = 0

    @property
    def value_recall(self) -> float:
        return _share(self.found, self.gold)

    @property
    def value_recall_as_kind(self) -> float:
        return _share(self.found_as_kind, self.gold)

    @property
    def comparator_agreement(self) -> float:
        return _share(self.agreed, self.judged)

    def add(self, other: "ValueScore") -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    def to_dict(self) -> dict:
        return {**asdict(self), "value_recall": round(self.value_recall, 4),
                "comparator_agreement": round(self.comparator_agreement, 4),
                "value_recall_as_kind": round(self.value_recall_as_kind, 4)}


@dataclass
class CorpusResult:
    name: str
    documents: int
    scoped: dict[str, Score]
    all: dict[str, Score]
    excluded: dict[str, int]  # gold items set aside per rule
    errors: dict[str, list[dict]] = field(default_factory=dict)  # kind -> false positives / negatives (scoped)
    values: dict[str, ValueScore] = field(default_factory=dict)  # numeric, age, time and "overall" (the three)

    def to_dict(self) -> dict:
        return {"name": self.name, "documents": self.documents, "excluded": self.excluded,
                "scoped": {k: s.to_dict() for k, s in self.scoped.items()},
                "all": {k: s.to_dict() for k, s in self.all.items()},
                "values": {k: v.to_dict() for k, v in self.values.items()}, "errors": self.errors}


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
            for kind, v in res.values.items():
                rows.append(f"{name:6} {'values':7} {kind:12} {v.gold:5d} {v.found:5d} value recall {v.value_recall:.3f}, "
                            f"comparator agreement {v.comparator_agreement:.3f} ({v.agreed}/{v.judged}); "
                            f"as its kind {v.value_recall_as_kind:.3f}")
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
        categorical = len(values) < len(raw) or not values
        values, op, alternatives = _two_limits(doc, ev, value_ids, values, op)
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
        if categorical:
            excluded = "categorical"
        elif any(r in COUNT_ROLES for _, r in roles):
            excluded = "count"
        elif any(r in STAGE_ROLES for _, r in roles):
            excluded = "stage"
        elif op == "+-":
            excluded = "tolerance"
        out.append(GoldItem(doc.name, kind, tb.start, tb.end, tb.text, op, values, days,
                            op_stated=op_attr is not None, excluded=excluded, alternatives=alternatives))
    negated = {ref for ev in doc.events.values() if ev.type == "Negation"
               for role, ref in ev.args if role.startswith("Negates")}
    for ev in doc.events.values():
        if ev.type in ("Condition", "Drug", "Procedure", "Observation", "Allergy", "Immunization", "Encounter"):
            tb = doc.span_of(ev.id)
            if tb is not None:
                out.append(GoldItem(doc.name, "negation", tb.start, tb.end, tb.text, None, (), negated=ev.id in negated))
    return out


def _two_limits(doc: Document, ev, value_ids: list[str], values: tuple[float, ...], op: str):
    """(values, op, alternatives): one LCT comparison that states two limits, each operator before
    its own value ("≥18,5 and ≤27,5"), is the first limit with the second as an alternative."""
    ops = sorted({(doc.entities[i].start, LCT_OPS.get(doc.attrs(i).get("Eq-Operator-Value") or ""))
                  for role, i in ev.args if re.fullmatch(r"Operator\d*", role) and i in doc.entities})
    ops = [(at, o) for at, o in ops if o in ("<", "<=", ">", ">=")]  # not the "and" some tag BETWEEN
    vals = sorted((doc.entities[i].start, number(doc.entities[i].text)) for i in value_ids if i in doc.entities)
    if len(ops) == len(vals) == 2 and len(values) == 2 and ops[0][0] < vals[0][0] < ops[1][0] < vals[1][0]:
        return (vals[0][1],), ops[0][1], ((ops[1][1], (vals[1][1],)),)
    return values, op, ()


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


def _compared(p: Prediction, g: GoldItem) -> tuple[list[float], list[float]]:
    """(ours, gold) values on a common scale: durations and ages in days, whatever the units on
    either side; other numbers as stated."""
    if g.days is not None and p.label in ("AGE", "TIME_WINDOW"):
        per = 365.25 if p.label == "AGE" else 1.0
        return [v * per for v in (p.norm_value, p.norm_value2) if v is not None], [v * g.days for v in g.values]
    return [v for v in (p.value, p.value2) if v is not None], list(g.values)


def value_agrees(p: Prediction, g: GoldItem) -> bool:
    """The prediction states the gold value(s), whatever its comparator: both ends of a gold
    range, or the one gold value at either end of ours."""
    for vals in [g.values, *(v for _, v in g.alternatives)]:
        ours, gold = _compared(p, replace(g, values=vals))
        if not ours or not gold:
            continue
        if g.op == "between" and len(gold) >= 2:
            if len(ours) >= 2 and _close(min(ours), min(gold[:2])) and _close(max(ours), max(gold[:2])):
                return True
        elif any(_close(o, x) for o in ours for x in (gold[0], gold[-1])):
            return True
    return False


def comparator_judged(g: GoldItem) -> bool:
    """Whether the gold states a comparator to agree with (LCT leaves it out of "6 months prior to")."""
    return not (g.kind == "time" and not g.op_stated)


def _agrees(p: Prediction, g: GoldItem) -> bool:
    if not g.values:
        return False
    ours, gold = _compared(p, g)
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
    for name, (gs, ps) in _by_doc(golds, preds).items():
        values = [g for g in gs if g.kind in LABELS_FOR]
        scored = [g for g in values if not (use_exclusions and g.excluded)]
        ignored = [g for g in values if use_exclusions and g.excluded]
        regions = [g for g in gs if g.kind == "region"]
        used_p: set[int] = set()
        # Gold items of a kind first look for predictions of that kind's labels.
        matched_g = _assign(scored, ps, agrees, used_p)
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


def _by_doc(golds: list[GoldItem], preds: list[Prediction]) -> dict[str, tuple[list[GoldItem], list[Prediction]]]:
    out: dict[str, tuple[list[GoldItem], list[Prediction]]] = {}
    for g in golds:
        out.setdefault(g.doc, ([], []))[0].append(g)
    for p in preds:
        out.setdefault(p.doc, ([], []))[1].append(p)
    return out


def _assign(golds: list[GoldItem], preds: list[Prediction], ok: Callable[[Prediction, GoldItem], bool],
            used: set[int], skip: set[int] = frozenset(), any_label: bool = False) -> set[int]:
    """Each gold item (but ``skip``) takes the first unused overlapping prediction of its kind's
    labels (of any threshold label with ``any_label``) that ``ok`` accepts; returns the gold
    indices matched and marks the predictions used."""
    matched: set[int] = set()
    for gi, g in enumerate(golds):
        if gi in skip:
            continue
        labels = THRESHOLD_LABELS if any_label else LABELS_FOR[g.kind]
        for pi, p in enumerate(preds):
            if pi not in used and p.label in labels and _overlap(p, g) and ok(p, g):
                used.add(pi)
                matched.add(gi)
                break
    return matched


def value_scores(golds: list[GoldItem], preds: list[Prediction],
                 errors: dict[str, list[dict]] | None = None) -> dict[str, ValueScore]:
    """Value recall and comparator agreement per kind and for the three together (scoped gold)."""
    out = {k: ValueScore() for k in (*LABELS_FOR, "overall")}
    for name, (gs, ps) in _by_doc(golds, preds).items():
        scored = [g for g in gs if g.kind in LABELS_FOR and not g.excluded]
        used: set[int] = set()
        full = _assign(scored, ps, agrees, used, any_label=True)  # value and comparator first
        found = full | _assign(scored, ps, value_agrees, used, skip=full, any_label=True)
        used = set()
        kind_full = _assign(scored, ps, agrees, used)
        as_kind = kind_full | _assign(scored, ps, value_agrees, used, skip=kind_full)
        for gi, g in enumerate(scored):
            judged = gi in found and comparator_judged(g)
            part = ValueScore(1, int(gi in found), int(judged), int(judged and gi in full), int(gi in as_kind))
            out[g.kind].add(part)
            out["overall"].add(part)
            if errors is not None and not part.agreed and (judged or gi not in found):
                near = [f"{p.label} {p.op} {p.value} {p.value2} [{p.text}]" for p in ps if _overlap(p, g)]
                errors.setdefault("comparator" if judged else "value", []).append(
                    {"type": "fn", "kind": g.kind, "doc": name, "gold": g.text, "op": g.op, "values": g.values, "ours": near})
    return out


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
    values = {k: ValueScore() for k in (*LABELS_FOR, "overall")}
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
        for k, v in value_scores(golds, preds, errors if keep_errors else None).items():
            values[k].add(v)
        if exceptions_negate:
            widened = [replace(p, negated=p.negated or p.excepted) for p in preds]
            neg = score([g for g in golds if g.kind == "negation"], widened, True)["negation"]
            _merge(scoped, {"negation+exc": neg})
            _merge(everything, {"negation+exc": neg})
    return CorpusResult(name, n, scoped, everything, dict(sorted(excluded.items())), errors, values)


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

"""``CriterionEntity``: one entity the extractor found, with its threshold in normalized units."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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

"""Unit conversion, the one place for it: time units (one table of days per unit) and lab units
(pint, through an analyte's molar mass where mass and molar units meet).

Time: ``to_days(2, "weeks")``, ``to_years(6, "months")``; ``time_unit`` names the unit a word
stands for. Lab values: ``LabUnits`` is built from the ``units`` and ``analytes`` lexicons;
``convert`` and ``unit_factor`` use the process-wide table unless given one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from . import lexicons

DAYS_PER = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1.0, "week": 7.0, "month": 30.4375, "year": 365.25}


def time_unit(word: str) -> str | None:
    """The unit of ``DAYS_PER`` a unit name stands for ("Weeks" -> "week", "hrs" -> "hour"), None for other words."""
    return _time_spellings().get(word.strip().lower())


@lru_cache(maxsize=1)
def _time_spellings() -> dict[str, str]:
    """Each spelling of the units lexicon's time units ("weeks", "week", "wks") -> its ``DAYS_PER`` name."""
    return {s.lower(): canon[:-1] for canon, spellings in lexicons.load("units")["time"].items()
            for s in spellings if canon[:-1] in DAYS_PER}


def _known(unit: str) -> str:
    name = time_unit(unit)
    if name is None:
        raise ValueError(f"{unit!r} is not a time unit ({', '.join(DAYS_PER)})")
    return name


def to_days(value: float, unit: str) -> float:
    """``value`` of a time unit (singular or plural) in days."""
    return value * DAYS_PER[_known(unit)]


def to_years(value: float, unit: str) -> float:
    """``value`` of a time unit (singular or plural) in years."""
    # Divided by the units per year: exactly 12 months and 8766 hours, as ages always counted them.
    name = _known(unit)
    return value / (DAYS_PER["year"] / DAYS_PER[name])


# --- lab units -----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _registry():
    import pint  # slow to import: only when a conversion is first needed

    return pint.UnitRegistry()


class LabUnits:
    """Conversion between the lab units of ``units.json`` for the analytes of ``analytes.json``."""

    def __init__(self, units: list[dict[str, Any]], analytes: dict[str, dict[str, Any]]):
        self.by_canonical = {u["canonical"]: u for u in units}
        self.analytes = analytes
        self._factors: dict[tuple[str, str, str], float | None] = {}
        self._offsets: dict[str, bool] = {}

    @classmethod
    def from_lexicons(cls) -> "LabUnits":
        return cls(lexicons.load("units")["units"], {a["name"]: a for a in lexicons.load("analytes")["analytes"]})

    def factor(self, analyte: str, unit: str, target: str) -> float | None:
        """Multiplier from ``unit`` to ``target`` for ``analyte``; None when pint cannot relate them
        (multiples of ULN). Cached: pint parsing is slow and these units are all proportional."""
        key = (analyte, unit, target)
        if key not in self._factors:
            self._factors[key] = self._pint_factor(analyte, unit, target)
        return self._factors[key]

    def offset(self, unit: str) -> bool:
        """Whether ``unit`` has an offset zero (°C, °F): converted value by value, never by a factor."""
        info = self.by_canonical.get(unit, {})
        if not info.get("pint"):
            return False
        if unit not in self._offsets:
            # Zero of an offset unit is not zero of its base unit (0 °C is 273.15 K).
            self._offsets[unit] = _registry().Quantity(0.0, info["pint"]).to_base_units().magnitude != 0
        return self._offsets[unit]

    def convert_value(self, analyte: str, value: float, unit: str, target: str) -> float | None:
        """``value`` of ``analyte`` from ``unit`` in ``target``, offsets included (38 °C is 100.4 °F);
        None when the units cannot be related."""
        if unit == target:
            return value
        if self.offset(unit) or self.offset(target):
            src, dst = self.by_canonical.get(unit, {}), self.by_canonical.get(target, {})
            try:
                return float(_registry().Quantity(value, src["pint"]).to(dst["pint"]).magnitude)
            except Exception:  # pint raises several unrelated types for units it cannot relate
                return None
        factor = self.factor(analyte, unit, target)
        return None if factor is None else value * factor

    def _pint_factor(self, analyte: str, unit: str, target: str) -> float | None:
        src, dst = self.by_canonical.get(unit, {}), self.by_canonical.get(target, {})
        if not (src.get("pint") and dst.get("pint")) or self.offset(unit) or self.offset(target):
            return None  # no factor turns 38 °C into 100.4 °F
        ureg = _registry()
        q = ureg.Quantity(src.get("scale", 1.0), src["pint"])
        try:
            try:
                out = q.to(dst["pint"])
            except Exception:
                mm = self.analytes.get(analyte, {}).get("molar_mass")
                if not mm:
                    raise
                molar = ureg.Quantity(mm, "g/mol")
                out = (q * molar).to(dst["pint"]) if src["kind"] == "molar_conc" else (q / molar).to(dst["pint"])
            return float(out.magnitude) / dst.get("scale", 1.0)
        except Exception:  # pint raises several unrelated types for units it cannot relate
            return None

    def plausible(self, analyte: str, unit: str, v1: float, v2: float | None = None) -> bool | None:
        """Whether values in ``unit`` fall in the analyte's plausible range (None: no range or no conversion)."""
        info = self.analytes.get(analyte, {})
        lo_hi, target = info.get("plausible"), info.get("unit")
        if not lo_hi or not target:
            return None
        values = [self.convert_value(analyte, v, unit, target) for v in (v1, v2) if v is not None]
        if any(v is None for v in values):
            return None
        return all(lo_hi[0] <= v <= lo_hi[1] for v in values)

    def convert(self, analyte: str, v1: float, v2: float | None,
                unit: str | None) -> tuple[float | None, float | None, str | None]:
        """A value of ``analyte`` from ``unit`` in the analyte's canonical unit.

        Multiples of ULN and units pint cannot relate are kept as stated. A bare count for an analyte
        with a ``default_unit`` is read in that unit when the value is large (``100,000`` platelets);
        a bare number for an analyte measured in percent is a percentage when plausible as one.
        """
        info = self.analytes.get(analyte, {})
        target = info.get("unit")
        if unit is None and target == "%" and all(self.plausible(analyte, "%", v) is not False for v in (v1, v2) if v is not None):
            return v1, v2, "%"  # "hematocrit of less than 30", "LVEF below 40": a percentage, the only unit it has
        if unit is None:
            default = info.get("default_unit")
            if not (default and v1 >= 50):
                return v1, v2, None
            if self.plausible(analyte, default, v1) is False and self.plausible(analyte, target, v1):
                return v1, v2, target  # "platelets at least 100" counts thousands per mm3: 100 x 10^9/L
            unit = default
        if unit == target or target is None:
            return v1, v2, unit
        c1 = self.convert_value(analyte, v1, unit, target)
        c2 = None if v2 is None else self.convert_value(analyte, v2, unit, target)
        if c1 is None or (v2 is not None and c2 is None):
            return v1, v2, unit
        return round(c1, 6), (None if c2 is None else round(c2, 6)), target


@lru_cache(maxsize=1)
def lab_units() -> LabUnits:
    """The process-wide table, from the package lexicons."""
    return LabUnits.from_lexicons()


def convert(analyte: str, v1: float, v2: float | None, unit: str | None,
            table: LabUnits | None = None) -> tuple[float | None, float | None, str | None]:
    """``LabUnits.convert`` on ``table`` (default: the process-wide one)."""
    return (table or lab_units()).convert(analyte, v1, v2, unit)


def convert_value(analyte: str, value: float, unit: str, target: str) -> float | None:
    """``LabUnits.convert_value`` on the process-wide table: offsets included (38 °C -> 100.4 °F)."""
    return lab_units().convert_value(analyte, value, unit, target)


def unit_factor(analyte: str, unit: str, target: str) -> float | None:
    """The factor converting a value of ``analyte`` from ``unit`` to ``target`` (None when the
    units cannot be related, e.g. multiples of ULN)."""
    return lab_units().factor(analyte, unit, target)

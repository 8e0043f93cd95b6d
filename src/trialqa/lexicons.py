"""Package data files (rules and lexicons), loaded once and checked against a declared schema.

Every file ``trialqa/data/<name>.json`` has one entry in ``SCHEMAS``. ``load(name)`` reads the file
and validates it: an unknown key, a missing key or a value of the wrong type is a ``ConfigError``
that names the file and the key path (``data/comparators.json: unknown key 'age_cues.befor'``).
A new data file needs one declaration, e.g. ``SCHEMAS["routes"] = {"routes": Map([str])}``.

Schema notation:

* ``str``, ``int``, ``float``, ``bool`` or a union such as ``str | None``: a value of that type
  (``float`` takes integers too; a boolean is never a number);
* ``[spec]``: a list whose items match ``spec``; ``(spec, spec)``: a list of exactly those items;
* ``{"key": spec, "other?": spec}``: an object with exactly these keys, ``?`` marking optional ones;
* ``Map(spec)``: an object whose keys are free (or limited to ``keys=``) and whose values match ``spec``.

Every file may carry a top-level ``"description"``. Checks that relate entries (a group's members
exist, a range's low end is below its high end) stay with the code that reads the file.
"""

from __future__ import annotations

import json
import re
import types
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import ConfigError

DATA_DIR = resources.files("trialqa") / "data"


@dataclass(frozen=True)
class Map:
    """An object with free keys (or only ``keys``) whose values all match ``value``."""

    value: Any
    keys: tuple[str, ...] | None = None


_OPERATORS = ("<", "<=", ">", ">=", "=")
_TIME_UNITS = ("years", "months", "weeks", "days", "hours", "minutes")

SCHEMAS: dict[str, dict[str, Any]] = {
    "analytes": {"analytes": [{
        "name": str, "unit": str, "synonyms": [str], "default_unit?": str, "members?": [str],
        "molar_mass?": float, "plausible?": (float, float)}]},
    "anchors": {"anchors": [{"name": str, "phrases": [str]}]},
    "comparators": {
        "before": Map([str], keys=_OPERATORS), "after": Map([str], keys=_OPERATORS),
        "age_cues": {"before": [str], "after": [str], "intrinsic": [str], "population": [str],
                     "population_links": [str], "approximators": [str], "units?": [str], "not_age?": [str],
                     "other_person?": [str], "definition?": [str]}},
    "concept_parents": {"parents": Map([str])},
    "concepts": {"variants?": Map(str), "concepts": [{"name": str, "type": str, "synonyms": [str],
                                                      "case_sensitive?": [str]}]},
    "context": {"negation_pre": [str], "negation_post": [str], "hedge_pre": [str], "exception": [str],
                "terminators": [str], "negation_prefix?": [str], "pseudo_negation?": [str],
                "negative_result_nouns?": [str]},
    "dose": {"routes": Map([str]), "frequencies": Map([str])},
    "eligibility_headers": {"headers": [{"pattern": str, "section": str}]},
    "numbers": {"words": Map(float), "not_thresholds?": {"before": [str], "after": [str]}, "scale_words?": [str]},
    "qualifiers": {"pairs": [{"criterion": [str], "contradicted_by": [str]}]},
    "stopwords": {"function_words": [str], "domain": Map([str], keys=("retrieval", "trial_names", "passages", "asking"))},
    # Pattern names are checked against answering.vocabulary.PATTERNS, which reads them.
    "questions": {"population": [str], "framing_words": [str], "patterns": Map(str),
                  "fields": [{"name": str, "pattern": str, "strong": bool, "strong_form?": str}]},
    "requirements": {
        "applicability": Map([str], keys=("cohort", "childbearing_potential", "female", "male", "condition")),
        "qualifiers": Map([str], keys=("history", "active", "uncontrolled", "severe", "other", "outcome")),
        "atom_kinds": Map(str), "consent": [str], "connectives": {"or": [str], "and": [str]},
        "administrative": [str], "anchor_lead": [str], "outcome_after": [str], "event_lead": [str], "cessation": [str],
        "not_kinds": [str]},
    "scores": {"scales": [{"name": str, "names": [str], "analytes": [str], "range": (float, float),
                           "classes?": Map((float, float))}],
               "equivalent": Map([(float, float, float)])},
    "registry_captions": {
        "captions": [{"caption": str, "field": str | None, "kind": str, "overflow?": str}],
        "boilerplate": {"description?": str, "imperatives": [str]}, "attribute_prefixes": [str]},
    "patient_note": {
        "age_patterns": [str], "sex_words": Map([str], keys=("female", "male")), "history_cues": [str],
        "family_cues": [str], "negation_cues": [str], "procedure_cues": [str], "diagnosis_cues": [str], "phrase_stops": [str], "ongoing_cues": [str],
        "ago_pattern": str, "blood_pressure": [str], "vital_patterns": Map(str), "height_pattern": str,
        "measurement_analytes": [str],
        "score_analytes": Map(str),
        "affirming_cues": [str], "list_negation_cues": [str]},
    "units": {
        "units": [{"canonical": str, "kind": str, "spellings": [str], "pint?": str | None, "scale?": float}],
        "time": Map([str], keys=_TIME_UNITS), "reference_limits?": Map([str])},
}


@lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """Load and validate ``trialqa/data/<name>.json``; a missing, malformed or off-schema file is a ``ConfigError``."""
    where = f"data/{name}.json"
    try:
        raw = (DATA_DIR / f"{name}.json").read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"package data file {where} is missing (reinstall trialqa)") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"package data file {where} is not valid JSON: {exc}") from None
    return validate(name, data)


def validate(name: str, data: Any) -> Any:
    """``data`` itself when it matches the schema of ``data/<name>.json``, else a ``ConfigError``."""
    where = f"data/{name}.json"
    if name not in SCHEMAS:
        raise ConfigError(f"{where} has no schema: declare one in trialqa.lexicons.SCHEMAS")
    _check({"description?": str, **SCHEMAS[name]}, data, where, "")
    return data


def _check(spec: Any, value: Any, where: str, path: str) -> None:
    if isinstance(spec, dict):
        _need(dict, value, where, path)
        allowed = {k.rstrip("?"): k.endswith("?") for k in spec}
        for key in value:
            if key not in allowed:
                raise ConfigError(f"{where}: unknown key {_join(path, key)!r} (allowed: {', '.join(sorted(allowed))})")
        for key, optional in allowed.items():
            if key in value:
                _check(spec[key + "?" if optional else key], value[key], where, _join(path, key))
            elif not optional:
                raise ConfigError(f"{where}: missing key {_join(path, key)!r}")
    elif isinstance(spec, Map):
        _need(dict, value, where, path)
        for key, item in value.items():
            if spec.keys is not None and key not in spec.keys:
                raise ConfigError(f"{where}: unknown key {_join(path, key)!r} (allowed: {', '.join(spec.keys)})")
            _check(spec.value, item, where, _join(path, key))
    elif isinstance(spec, list):
        _need(list, value, where, path)
        for i, item in enumerate(value):
            _check(spec[0], item, where, f"{path}[{i}]")
    elif isinstance(spec, tuple):
        _need(list, value, where, path)
        if len(value) != len(spec):
            raise ConfigError(f"{where}: {path!r} needs {len(spec)} items, has {len(value)}")
        for i, (item_spec, item) in enumerate(zip(spec, value)):
            _check(item_spec, item, where, f"{path}[{i}]")
    else:
        _need(spec, value, where, path)


def _need(kind: Any, value: Any, where: str, path: str) -> None:
    """``value`` is of ``kind``, a type or a union of types (a float may be written as an integer;
    JSON's true/false is never a number)."""
    declared = kind.__args__ if isinstance(kind, types.UnionType) else (kind,)
    if type(value) not in {*declared, *((int,) if float in declared else ())}:
        want = " or ".join(_JSON_NAMES[t] for t in declared)
        got = _JSON_NAMES.get(type(value), type(value).__name__)
        raise ConfigError(f"{where}: {repr(path) if path else 'the top level'} should be {want}, not {got}")


_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
               bool: "true/false", type(None): "null"}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def require(entry: dict, keys: tuple[str, ...], where: str) -> None:
    """Raise a ``ConfigError`` unless ``entry`` has all ``keys`` (schemas check this on load already)."""
    missing = [k for k in keys if k not in entry]
    if missing:
        raise ConfigError(f"{where}: entry {entry!r} lacks {', '.join(missing)}")


def compile_pattern(pattern: str, where: str, flags: int = re.I) -> re.Pattern:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigError(f"{where}: bad regex {pattern!r}: {exc}") from None


@lru_cache(maxsize=None)
def stop_words(use: str) -> frozenset[str]:
    """The one stop-word list (``stopwords.json``): its function words plus the domain words of
    ``use`` (retrieval, trial_names, passages or asking)."""
    data = load("stopwords")
    if use not in data["domain"]:
        raise ConfigError(f"data/stopwords.json: no domain words for {use!r}")
    return frozenset(data["function_words"]) | frozenset(data["domain"][use])

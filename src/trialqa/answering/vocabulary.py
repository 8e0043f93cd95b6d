"""The question vocabulary (``data/questions.json``): the patterns that read what a question asks.

The file holds ``population`` (words that name who a trial is for, not a condition asked about),
``patterns`` (named regular expressions, all matched case-insensitively) and ``fields`` (in
order: the record field a question asks about, its cue pattern, whether the cue wins over criteria
targets, and an optional ``strong_form`` that makes it win only when asked that explicitly).
Loading checks every key: an unknown, missing or mistyped key, or a pattern that does not
compile, is a ``ConfigError`` naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import lexicons
from ..errors import ConfigError

FILE = "questions.json"
PATTERNS = ("yes_no", "asks_excl", "asks_allow", "allowance", "asks_incl", "patient", "ago", "have", "onset_verb",
            "trial_for", "trial_ref", "test_noun", "listing", "descriptive", "exception_clause", "exclusion_statement",
            "eligibility_words", "causal", "sponsored_by", "percent_question", "time_question", "wh_question",
            "anchor_lead", "patient_age", "admitted_after", "aspect", "cross_trial")
FIELD_KEYS = {"name": str, "pattern": str, "strong": bool, "strong_form": str}


@dataclass(frozen=True)
class FieldCue:
    """A record field and the words that ask for it."""

    name: str
    pattern: re.Pattern
    strong: bool
    strong_form: re.Pattern | None


def _compile(pattern: object, where: str) -> re.Pattern:
    if not isinstance(pattern, str):
        raise ConfigError(f"{FILE}: {where} must be a string")
    try:
        return re.compile(pattern, re.I)
    except re.error as exc:
        raise ConfigError(f"{FILE}: {where} is not a valid pattern ({exc})") from None


class Vocabulary:
    """The validated question vocabulary; patterns are attributes (``vocab.yes_no``)."""

    def __init__(self, data: dict) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{FILE}: expected an object")
        unknown = set(data) - {"description", "population", "patterns", "fields"}
        if unknown:
            raise ConfigError(f"{FILE}: unknown key {sorted(unknown)[0]!r}")
        for key, kind in (("population", list), ("patterns", dict), ("fields", list)):
            if not isinstance(data.get(key), kind):
                raise ConfigError(f"{FILE}: {key!r} is missing or not a {kind.__name__}")
        if not all(isinstance(w, str) for w in data["population"]):
            raise ConfigError(f"{FILE}: 'population' must list strings")
        self.population = frozenset(data["population"])
        pats = data["patterns"]
        for name in pats:
            if name not in PATTERNS:
                raise ConfigError(f"{FILE}: unknown key 'patterns.{name}'")
        for name in PATTERNS:
            if name not in pats:
                raise ConfigError(f"{FILE}: missing key 'patterns.{name}'")
            setattr(self, name, _compile(pats[name], f"patterns.{name}"))
        self.fields: list[FieldCue] = []
        for i, f in enumerate(data["fields"]):
            where = f"fields[{i}]"
            if not isinstance(f, dict):
                raise ConfigError(f"{FILE}: {where} must be an object")
            for key in f:
                if key not in FIELD_KEYS:
                    raise ConfigError(f"{FILE}: unknown key '{where}.{key}'")
            for key in ("name", "pattern", "strong"):
                if not isinstance(f.get(key), FIELD_KEYS[key]):
                    raise ConfigError(f"{FILE}: '{where}.{key}' is missing or not a {FIELD_KEYS[key].__name__}")
            form = f.get("strong_form")
            self.fields.append(FieldCue(f["name"], _compile(f["pattern"], f"{where}.pattern"), f["strong"],
                                        _compile(form, f"{where}.strong_form") if form is not None else None))
        self.field = {f.name: f for f in self.fields}


def load() -> Vocabulary:
    return Vocabulary(lexicons.load(FILE.removesuffix(".json")))


V = load()

"""The question vocabulary (``data/questions.json``): the patterns that read what a question asks.

The file holds ``population`` (words that name who a trial is for, not a condition asked about), ``framing_words``
(words that frame an eligibility question, "can someone previously treated join", and say nothing
about which criterion answers it),
``patterns`` (named regular expressions, all matched case-insensitively) and ``fields`` (in
order: the record field a question asks about, its cue pattern, whether the cue wins over criteria
targets, and an optional ``strong_form`` that makes it win only when asked that explicitly).
Loading checks every key (the file's schema is in ``lexicons.SCHEMAS``; pattern names against
``PATTERNS``): an unknown, missing or mistyped key, or a pattern that does not compile, is a
``ConfigError`` naming the file and the key.
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
            "anchor_lead", "patient_age", "admitted_after", "aspect", "cross_trial", "off_topic",
            "value_question", "filter_lead_sponsor", "filter_one_sex", "filter_age_over", "filter_age_under", "filter_year",
            "filter_enrollment", "filter_intervention_kind", "cross_about", "cross_requires", "planned", "accrual", "accrual_weak",
            "conversion", "any_of_group", "phase_asked", "count_question", "negation_lead")


@dataclass(frozen=True)
class FieldCue:
    """A record field and the words that ask for it."""

    name: str
    pattern: re.Pattern
    strong: bool
    strong_form: re.Pattern | None


def _compile(pattern: str, where: str) -> re.Pattern:
    try:
        return re.compile(pattern, re.I)
    except re.error as exc:
        raise ConfigError(f"{FILE}: {where} is not a valid pattern ({exc})") from None


class Vocabulary:
    """The validated question vocabulary; patterns are attributes (``vocab.yes_no``)."""

    def __init__(self, data: dict) -> None:
        # lexicons.load checked the file's structure; the names and the patterns are checked here.
        self.population = frozenset(data["population"])
        self.framing_words = frozenset(data["framing_words"])
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
            form = f.get("strong_form")
            self.fields.append(FieldCue(f["name"], _compile(f["pattern"], f"fields[{i}].pattern"), f["strong"],
                                        _compile(form, f"fields[{i}].strong_form") if form is not None else None))
        self.field = {f.name: f for f in self.fields}


def load() -> Vocabulary:
    return Vocabulary(lexicons.load(FILE.removesuffix(".json")))


V = load()

"""The extraction vocabulary, built from the package data files (one loader per file).

``Lexicon`` holds lookup tables, gazetteers and the few patterns that come straight from the
data; the readers (``quantities``, ``context``, ``rules``) hold the logic. The files are
validated by ``trialqa.lexicons`` on load; the checks here relate entries to each other.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from .. import lexicons
from ..errors import ConfigError
from ..units import LabUnits
from .gazetteer import Gazetteer, alternation, token_key

# Spellings that mean another unit in another case: "G/L" (giga per litre) is not "g/L" (grams).
# A capital D after a number is dioptres ("≤ 0.75D"), never days.
CASE_SENSITIVE_UNITS = frozenset({"G/L", "Giga/L", "G/l", "d", "D"})
_MULT = ("x", "×", "*", "X", "´")  # "´": a multiplication sign mis-encoded in some API v2 records


def unit_key(s: str) -> str:
    """Lookup key of a unit spelling: spaces and hyphens dropped, lower case unless case matters."""
    k = re.sub(r"[\s\-‐]+", "", s)
    return k if k in CASE_SENSITIVE_UNITS else k.lower()


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


def _reference_limit_patterns(before: dict[str, list[str]], refs: dict[str, list[str]]) -> list[tuple[str, re.Pattern]]:
    """A comparator right before a reference phrase ("<= ULN"), one pattern per canonical unit."""
    ops = []
    for phrases in before.values():
        for ph in phrases:
            if re.search(r"\b(?:age|aged|older|younger|from|until|min|minimum)\b", ph, re.I):
                continue  # comparators of ages and periods, or too loose to stand before a limit
            rx = r"\s*".join(re.escape(w) for w in ph.split())
            ops.append(rf"\b{rx}" if ph[0].isalnum() else rx)
    op_alt = "|".join(sorted(set(ops), key=lambda p: (-len(p), p)))
    out = []
    for unit, patterns in refs.items():
        ref = "|".join(f"(?:{lexicons.compile_pattern(x, 'units.json reference_limits').pattern})" for x in patterns)
        out.append((unit, re.compile(rf"(?P<op>{op_alt})\s*(?P<ref>{ref})", re.I)))
    return out


def _keys(phrases: Iterable[str]) -> dict[str, bool]:
    return {token_key(p): True for p in phrases}


class Lexicon:
    """Everything the extractor reads from ``trialqa/data``, loaded through ``lexicons.load``."""

    def __init__(self) -> None:
        comparators = lexicons.load("comparators")
        self._comparators(comparators)
        self._numbers(lexicons.load("numbers"))
        self._units(lexicons.load("units"), comparators["age_cues"])
        self._analytes(lexicons.load("analytes"))
        self._concepts(lexicons.load("concepts"))
        self._anchors(lexicons.load("anchors"))
        self._context(lexicons.load("context"))
        self._dose(lexicons.load("dose"))
        self.lab_units = LabUnits(self.units, self.analytes)

    def _comparators(self, data: dict[str, Any]) -> None:
        self.before_phrases: dict[str, list[str]] = data["before"]
        self.before_ops = {token_key(p): op for op, phrases in data["before"].items() for p in phrases}
        self.before_len = max(len(k.split()) for k in self.before_ops)
        self.after_phrases = [p for phrases in data["after"].values() for p in phrases]
        self.after_ops = {token_key(p): op for op, phrases in data["after"].items() for p in phrases}
        cues = data["age_cues"]
        self.age_before = _keys(cues["before"])
        self.age_intrinsic = {w.lower() for w in cues["intrinsic"]}
        self.population = _keys(cues["population"])
        self.population_links = _keys(cues["population_links"])
        self.approximators = _keys(cues["approximators"])
        self.cue_len = max(len(k.split()) for table in (self.age_before, self.population, self.population_links)
                           for k in table)
        self.age_after = re.compile(r"[\s\-‐,]*(?:" + alternation(cues["after"]) + ")", re.I)
        self.not_age = {token_key(w) for w in cues.get("not_age", [])}
        # Ages that are not the participant's enrollment age: someone else's, or inside a definition.
        self.other_person = re.compile(alternation(cues["other_person"]), re.I) if cues.get("other_person") else None
        self.age_definition = re.compile(alternation(cues["definition"]), re.I) if cues.get("definition") else None

    def _numbers(self, data: dict[str, Any]) -> None:
        # Articles count things ("a history of") but never stand for a threshold value.
        self.word_numbers = {k.lower(): float(v) for k, v in data["words"].items()
                             if k not in ("a", "an", "single", "a single")}
        self.scale_words = {w.lower() for w in data.get("scale_words", [])}
        nt = data.get("not_thresholds", {"before": [], "after": []})
        self.not_before = _keys(nt["before"])
        self.not_after = re.compile(r"[\s\-‐]*(?:" + (alternation(nt["after"]) or "(?!)") + ")", re.I)

    def _units(self, data: dict[str, Any], age_cues: dict[str, Any]) -> None:
        """Lab units by spelling; time units by spelling, age words ("years old") counted as years."""
        self.units: list[dict[str, Any]] = data["units"]
        self.unit_canon: dict[str, dict] = {}
        for u in self.units:
            for s in _unit_spellings(u["spellings"]):
                self.unit_canon.setdefault(unit_key(s), u)
        self.unit_spellings = [s for u in self.units for s in _unit_spellings(u["spellings"])]
        self.reference_limits = _reference_limit_patterns(self.before_phrases, data.get("reference_limits", {}))
        self.time_canon = {s.lower(): canon for canon, spellings in data["time"].items() for s in spellings}
        age_words = {s.lower() for s in age_cues.get("units", [])}
        self.time_canon.update({s: "years" for s in age_words})
        self.age_units = {unit_key(s) for s in age_words}
        self.time_key = {unit_key(s): canon for s, canon in self.time_canon.items()}

    def _analytes(self, data: dict[str, Any]) -> None:
        self.analytes: dict[str, dict] = {}
        self.analyte_gaz = Gazetteer()
        for a in data["analytes"]:
            self.analytes[a["name"]] = a
            for syn in a["synonyms"]:
                # Short all-capital abbreviations (PT, AP, EF) match only in capitals.
                self.analyte_gaz.add(syn, a["name"], case_sensitive=len(syn) <= 4 and not syn.islower())
        for a in data["analytes"]:
            lo_hi = a.get("plausible")
            if lo_hi is not None and not lo_hi[0] < lo_hi[1]:
                raise ConfigError(f"analytes.json: {a['name']!r} plausible must be [low, high], got {lo_hi!r}")
        self.analyte_groups: dict[str, set[str]] = {}  # analyte -> itself, its members and its groups
        for a in data["analytes"]:
            for m in a.get("members", []):
                if m not in self.analytes:
                    raise ConfigError(f"analytes.json: {a['name']!r} has an unknown member {m!r}")
                self.analyte_groups.setdefault(a["name"], {a["name"]}).add(m)
                self.analyte_groups.setdefault(m, {m}).add(a["name"])

    def _concepts(self, data: dict[str, Any]) -> None:
        """Concepts by synonym, with regular plurals and spelling variants ("oedema" for "edema")."""
        self.variants = {k.lower(): v.lower() for k, v in data.get("variants", {}).items()}
        self.concepts: dict[str, dict] = {}
        self.concept_gaz = Gazetteer()
        for c in data["concepts"]:
            self.concepts[c["name"]] = c
            case_sensitive = set(c.get("case_sensitive", []))
            for syn in c["synonyms"]:
                forms = {syn}
                if syn not in case_sensitive:
                    forms.add(_plural(syn))
                for a, b in self.variants.items():
                    for f in list(forms):
                        if b in f.lower():
                            forms.add(re.sub(re.escape(b), a, f, flags=re.I))
                for f in forms:
                    self.concept_gaz.add(f, c["name"], case_sensitive=syn in case_sensitive)

    def _anchors(self, data: dict[str, Any]) -> None:
        self.anchor_list = [(a["name"], re.compile(alternation(a["phrases"]), re.I)) for a in data["anchors"]]

    def _context(self, data: dict[str, Any]) -> None:
        # ConText triggers, found once per text by token lookup (a regex alternation per mention
        # was the extractor's main cost).
        self.triggers = Gazetteer()
        self.negation_prefix = {w.lower() for w in data.get("negation_prefix", [])}
        self.result_nouns = [w.lower() for w in data.get("negative_result_nouns", [])]
        for kind in ("negation_pre", "negation_post", "hedge_pre", "exception", "pseudo_negation"):
            for phrase in data.get(kind, []):
                self.triggers.add(phrase, kind)
        self.terminators = [t.lower() for t in data["terminators"]]

    def _dose(self, data: dict[str, Any]) -> None:
        self.routes = [(name, re.compile(alternation(ph), re.I if name else 0)) for name, ph in data["routes"].items()]
        self.freqs = [(name, re.compile(alternation(ph), re.I)) for name, ph in data["frequencies"].items()]

"""Data-file schemas: every package data file is checked on load, and a misspelt, missing or
mistyped key is an error that names the file and the key path."""

from __future__ import annotations

import json
import re

import pytest

from trialqa import ConfigError, lexicons
from trialqa.answering import vocabulary
from trialqa.extraction import Rules


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A copy of the package data files, read by ``lexicons.load`` instead (its cache emptied around the test)."""
    for f in lexicons.DATA_DIR.iterdir():
        if f.name.endswith(".json"):
            (tmp_path / f.name).write_text(f.read_text("utf-8"), "utf-8")
    monkeypatch.setattr(lexicons, "DATA_DIR", tmp_path)
    lexicons.load.cache_clear()
    yield tmp_path
    lexicons.load.cache_clear()


def rewrite(data_dir, name: str, change) -> None:
    path = data_dir / f"{name}.json"
    data = json.loads(path.read_text("utf-8"))
    change(data)
    path.write_text(json.dumps(data), "utf-8")


def rename(where: list, old: str, new: str):
    """A change that renames key ``old`` of the object at path ``where`` (keys and list indexes)."""
    def change(data):
        obj = data
        for step in where:
            obj = obj[step]
        obj[new] = obj.pop(old)
    return change


def test_every_data_file_has_a_schema_and_matches_it():
    files = {f.name[:-5] for f in lexicons.DATA_DIR.iterdir() if f.name.endswith(".json")}
    assert files == set(lexicons.SCHEMAS)
    for name in sorted(files):
        lexicons.load(name)


def key_path(where: list, key: str) -> str:
    """The path ``lexicons`` names a key by: ``analytes[0].unit``."""
    out = ""
    for step in [*where, key]:
        out += f"[{step}]" if isinstance(step, int) else f".{step}" if out else step
    return out


# One misspelling per data file, optional keys included (those were silently ignored before).
MISSPELT = [
    ("analytes", ["analytes", 0], "default_unit", "default_units"),
    ("anchors", ["anchors", 0], "phrases", "phrase"),
    ("comparators", ["age_cues"], "not_age", "not_ages"),
    ("concept_parents", [], "parents", "parent"),
    ("concepts", [], "variants", "variant"),
    ("context", [], "pseudo_negation", "pseudo_negations"),
    ("dose", [], "frequencies", "frequency"),
    ("eligibility_headers", ["headers", 0], "section", "sections"),
    ("numbers", ["not_thresholds"], "after", "afer"),
    ("patient_note", [], "family_cues", "family_cue"),
    ("qualifiers", ["pairs", 0], "contradicted_by", "contradicted"),
    ("questions", ["fields", 9], "strong_form", "strong_from"),
    ("stopwords", [], "function_words", "function_word"),
    ("registry_captions", ["boilerplate"], "imperatives", "imperative"),
    ("units", ["units", 0], "pint", "pints"),
    ("requirements", ["connectives"], "or", "ors"),
    ("scores", ["scales", 5], "classes", "class"),
]


def test_the_misspellings_cover_every_data_file():
    assert {name for name, *_ in MISSPELT} == set(lexicons.SCHEMAS)


@pytest.mark.parametrize("name, where, key, misspelt", MISSPELT)
def test_a_misspelt_key_names_file_and_key(data_dir, name, where, key, misspelt):
    rewrite(data_dir, name, rename(where, key, misspelt))
    with pytest.raises(ConfigError, match=re.escape(f"data/{name}.json: unknown key '{key_path(where, misspelt)}'")):
        lexicons.load(name)


def test_a_missing_key_names_file_and_key(data_dir):
    rewrite(data_dir, "anchors", lambda data: data["anchors"][2].pop("name"))
    with pytest.raises(ConfigError, match=re.escape("data/anchors.json: missing key 'anchors[2].name'")):
        lexicons.load("anchors")


@pytest.mark.parametrize("name, change, message", [
    ("analytes", lambda d: d["analytes"][1].update(plausible=["5", 2000]), "'analytes[1].plausible[0]' should be a number, not a string"),
    ("analytes", lambda d: d["analytes"][1].update(plausible=[5]), "'analytes[1].plausible' needs 2 items, has 1"),
    ("numbers", lambda d: d["words"].update(dozen=True), "'words.dozen' should be a number, not true/false"),
    ("concepts", lambda d: d["concepts"][0].update(synonyms="melanoma"), "'concepts[0].synonyms' should be a list, not a string"),
    ("registry_captions", lambda d: d["captions"][0].update(field=3), "'captions[0].field' should be a string or null, not an integer"),
])
def test_a_wrong_type_names_file_and_key(data_dir, name, change, message):
    rewrite(data_dir, name, change)
    with pytest.raises(ConfigError, match=re.escape(f"data/{name}.json: {message}")):
        lexicons.load(name)


def test_keys_limited_to_a_set(data_dir):
    rewrite(data_dir, "units", lambda d: d["time"].update(fortnights=["fortnight"]))
    with pytest.raises(ConfigError, match=re.escape("data/units.json: unknown key 'time.fortnights'")):
        lexicons.load("units")
    rewrite(data_dir, "units", lambda d: d["time"].pop("fortnights"))
    rewrite(data_dir, "comparators", lambda d: d["after"].update({"≈": ["or so"]}))
    with pytest.raises(ConfigError, match=re.escape("data/comparators.json: unknown key 'after.≈'")):
        Rules()


def test_a_new_file_needs_one_schema_entry(data_dir, monkeypatch):
    (data_dir / "tiers.json").write_text(json.dumps({"tiers": {"gold": [1, 2]}}), "utf-8")
    with pytest.raises(ConfigError, match=re.escape("data/tiers.json has no schema")):
        lexicons.load("tiers")
    monkeypatch.setitem(lexicons.SCHEMAS, "tiers", {"tiers": lexicons.Map([int])})
    assert lexicons.load("tiers") == {"tiers": {"gold": [1, 2]}}


def test_the_extractor_reads_validated_files(data_dir):
    rewrite(data_dir, "context", rename([], "terminators", "terminator"))
    with pytest.raises(ConfigError, match=re.escape("data/context.json: unknown key 'terminator'")):
        Rules()


@pytest.mark.parametrize("change, message", [
    (lambda d: d["patterns"].update(yes_noo="x"), "unknown key 'patterns.yes_noo'"),
    (lambda d: d["patterns"].pop("listing"), "missing key 'patterns.listing'"),
    (lambda d: d["patterns"].update(listing="(unclosed"), "patterns.listing is not a valid pattern"),
])
def test_the_question_vocabulary_checks_pattern_names_and_patterns(data_dir, change, message):
    rewrite(data_dir, "questions", change)
    with pytest.raises(ConfigError, match=re.escape(f"questions.json: {message}")):
        vocabulary.load()


def test_one_stop_word_list_serves_every_use():
    uses = ("retrieval", "trial_names", "passages")
    function_words = frozenset(lexicons.load("stopwords")["function_words"])
    for use in uses:
        assert function_words <= lexicons.stop_words(use)
    assert {"patients", "criteria"} <= lexicons.stop_words("retrieval")
    with pytest.raises(ConfigError, match="no domain words for 'ranking'"):
        lexicons.stop_words("ranking")

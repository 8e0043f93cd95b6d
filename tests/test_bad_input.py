"""Bad input from a demanding user: record fields of the wrong type, text that is not valid Unicode,
impossible patient facts, lab values in scientific notation (damaged indexes and builds killed
midway: test_index.py; the command line: test_cli.py)."""

from __future__ import annotations

import copy
import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialqa import CorpusError, QueryError, load_corpus
from trialqa.chunking import chunk_corpus
from trialqa.corpus import read_records
from trialqa.qa import TrialQA

from .conftest import DARA_SEED, DATA, FIXTURES, MSC_SEED, need
from .fakes import HashingEncoder

API_V2 = DATA / "ctgov" / "api_v2_nsclc_100.json"


def _studies() -> list[dict]:
    return json.loads(need(API_V2).read_text(encoding="utf-8"))


def _set(obj, path: list, value) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def _dotted(path: list) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


# --- record fields of the wrong type --------------------------------------------------------------

API_V2_FIELDS = [
    ["identificationModule", "nctId"], ["identificationModule", "briefTitle"], ["identificationModule", "officialTitle"],
    ["identificationModule", "acronym"], ["identificationModule", "orgStudyIdInfo", "id"],
    ["identificationModule", "secondaryIdInfos", 0, "id"], ["statusModule", "overallStatus"], ["statusModule", "whyStopped"],
    ["statusModule", "startDateStruct", "date"], ["statusModule", "completionDateStruct"],
    ["statusModule", "lastUpdateSubmitDate"], ["designModule", "studyType"], ["designModule", "phases"],
    ["designModule", "phases", 0], ["designModule", "enrollmentInfo", "count"], ["designModule", "enrollmentInfo", "type"],
    ["designModule", "designInfo", "allocation"], ["designModule", "designInfo", "maskingInfo", "masking"],
    ["conditionsModule", "conditions"], ["conditionsModule", "conditions", 0], ["conditionsModule", "keywords", 0],
    ["armsInterventionsModule", "interventions", 0], ["armsInterventionsModule", "interventions", 0, "name"],
    ["armsInterventionsModule", "interventions", 0, "description"], ["armsInterventionsModule", "interventions", 0, "otherNames"],
    ["armsInterventionsModule", "armGroups", 0, "label"], ["armsInterventionsModule", "armGroups", 0, "interventionNames", 0],
    ["outcomesModule", "primaryOutcomes", 0, "measure"], ["outcomesModule", "primaryOutcomes", 0, "timeFrame"],
    ["outcomesModule", "secondaryOutcomes"], ["sponsorCollaboratorsModule", "leadSponsor", "name"],
    ["sponsorCollaboratorsModule", "leadSponsor", "class"], ["sponsorCollaboratorsModule", "collaborators", 0, "name"],
    ["sponsorCollaboratorsModule", "responsibleParty", "type"], ["contactsLocationsModule", "locations", 0, "city"],
    ["contactsLocationsModule", "locations", 0, "facility"], ["contactsLocationsModule", "centralContacts", 0, "name"],
    ["contactsLocationsModule", "centralContacts", 0, "email"], ["contactsLocationsModule", "overallOfficials", 0, "affiliation"],
    ["eligibilityModule", "eligibilityCriteria"], ["eligibilityModule", "minimumAge"], ["eligibilityModule", "sex"],
    ["eligibilityModule", "healthyVolunteers"], ["eligibilityModule"], ["descriptionModule", "briefSummary"],
]


LEAVES = {"count": 120, "healthyVolunteers": False, "phases": ["PHASE2"], "conditions": ["Lung Cancer"],
          "otherNames": ["other"], "completionDateStruct": {"date": "2026-01"},
          "secondaryOutcomes": [{"measure": "Survival"}], "eligibilityModule": {}}


def _rich_study() -> dict:
    """A real API v2 study with every field of ``API_V2_FIELDS`` present (missing ones filled in)."""
    study = copy.deepcopy(_studies()[0])
    for path in API_V2_FIELDS:
        node = study["protocolSection"]
        for key, nxt in zip(path, path[1:]):
            empty = [] if isinstance(nxt, int) else {}
            if isinstance(key, int):
                while len(node) <= key:
                    node.append(empty)
            node = node.setdefault(key, empty) if isinstance(node, dict) else node[key]
        last = path[-1]
        if isinstance(last, int):
            while len(node) <= last:
                node.append("text")
        else:
            node.setdefault(last, LEAVES.get(last, "text"))
    return study


def _has(obj, path) -> bool:
    for key in path:
        try:
            obj = obj[key]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def _same_type(a, b) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and (isinstance(a, type(b)) or isinstance(b, type(a)))


@pytest.mark.parametrize("path", API_V2_FIELDS, ids=_dotted)
def test_api_v2_field_of_wrong_type_names_the_file_and_field(tmp_path, path):
    original = _rich_study()["protocolSection"]
    for key in path:
        original = original[key]
    for wrong in (12345678, ["a", "list"], {"an": "object"}, True):
        if _same_type(wrong, original) or (path[-1] == "healthyVolunteers" and wrong is True):
            continue
        study = _rich_study()
        _set(study["protocolSection"], path, wrong)
        f = tmp_path / "bad.json"
        f.write_text(json.dumps(study), encoding="utf-8")
        with pytest.raises(CorpusError) as info:
            read_records(f)
        assert info.value.path == str(f)
        assert f'"protocolSection.{_dotted(path)}' in info.value.reason and "should be" in info.value.reason, wrong


def test_wrong_type_in_a_list_of_studies_names_the_study(tmp_path):
    studies = _studies()[:3]
    studies[1]["protocolSection"]["identificationModule"]["nctId"] = 4
    f = tmp_path / "many.json"
    f.write_text(json.dumps({"studies": studies}), encoding="utf-8")
    with pytest.raises(CorpusError, match=r'"studies\[1\]\.protocolSection\.identificationModule\.nctId" should be '
                                          r"a string, not a number \(4\)"):
        read_records(f)


def test_a_bad_field_fails_its_file_and_the_rest_of_the_corpus_loads(tmp_path):
    for f in (FIXTURES / "trials").iterdir():
        shutil.copy(f, tmp_path / f.name)
    study = _studies()[0]
    study["protocolSection"]["identificationModule"]["briefTitle"] = ["not", "text"]
    (tmp_path / "listy.json").write_text(json.dumps(study), encoding="utf-8")
    corpus = load_corpus(tmp_path, extract=False)
    assert len(corpus) == len(list((FIXTURES / "trials").iterdir()))
    [err] = corpus.errors
    assert err.path == str(tmp_path / "listy.json") and "briefTitle" in err.reason and "unexpected" not in err.reason


@pytest.mark.parametrize("report, field", [
    ({"Clinical Trial ID": 12345678, "Eligibility": ["Age > 18"]}, '"Clinical Trial ID"'),
    ({"Clinical Trial ID": "NCT00000001", "Eligibility": "Age > 18"}, '"Eligibility"'),
    ({"Clinical Trial ID": "NCT00000001", "Eligibility": ["Age > 18", 7]}, '"Eligibility[1]"'),
    ({"Clinical Trial ID": "NCT00000001", "Eligibility": [], "Results": "x"}, '"Results"'),
    ({"Clinical Trial ID": "NCT00000001", "Eligibility": [], "Adverse Events": [["nested"]]}, '"Adverse Events[0]"'),
    ({"Clinical Trial ID": "NCT00000001", "Eligibility": [], "Intervention": {"a": 1}}, '"Intervention"'),
])
def test_nli4ct_field_of_wrong_type_names_the_field(tmp_path, report, field):
    f = tmp_path / "report.json"
    f.write_text(json.dumps(report), encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        read_records(f)
    assert info.value.path == str(f) and field in info.value.reason


def test_xml_element_holding_elements_where_text_belongs(tmp_path):
    src = sorted((FIXTURES / "trials").glob("*.xml"))[0].read_text(encoding="utf-8")
    start = src.index("<brief_title>") + len("<brief_title>")
    f = tmp_path / "nested.xml"
    f.write_text(src[:start] + "<b>bold</b>" + src[start:], encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        read_records(f)
    assert info.value.path == str(f) and "<brief_title>" in info.value.reason and info.value.line
    assert src[:start].count("\n") + 1 == info.value.line


def test_validate_reports_a_wrong_type_as_a_problem(tmp_path, capsys):
    from trialqa.cli import main

    study = _studies()[0]
    study["protocolSection"]["identificationModule"]["nctId"] = 12345678
    (tmp_path / "int_id.json").write_text(json.dumps(study), encoding="utf-8")
    shutil.copy(MSC_SEED, tmp_path)
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert 'int_id.json: field "protocolSection.identificationModule.nctId" should be a string' in out


def test_json_lone_surrogate_is_malformed_not_a_crash(tmp_path):
    """"\\ud800" alone decodes to a code point no encoder (spaCy, hashing, the tokenizer) accepts."""
    study = _studies()[0]
    study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] += "\n- Age \ud800 over 18"
    f = tmp_path / "surrogate.json"
    f.write_text(json.dumps(study), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"\\ud800 is a lone surrogate, not valid Unicode") as info:
        load_corpus(f)
    assert info.value.path == str(f) and info.value.line == 1
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(f, good)
    shutil.copy(MSC_SEED, good)
    corpus = load_corpus(good)
    assert len(corpus) == 1 and len(corpus.errors) == 1


def _paths(node, prefix: list) -> list[list]:
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.append(prefix + [key])
        out.extend(_paths(value, prefix + [key]))
    return out


_STUDIES: list[dict] = []

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
              st.text(st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff"])), max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


@st.composite
def mutated_studies(draw):
    if not _STUDIES:
        _STUDIES.extend(_studies())
    study = copy.deepcopy(draw(st.sampled_from(_STUDIES)))
    paths = _paths(study["protocolSection"], [])
    changed = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        if not _has(study["protocolSection"], path):
            continue  # under a field already replaced
        _set(study["protocolSection"], path, draw(json_values))
        changed.append("protocolSection." + _dotted(path))
    return study, changed


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(mutated_studies())
def test_mutated_api_v2_record_loads_or_names_the_file(tmp_path_factory, mutated):
    """Random fields of a real record get values of random types: loading succeeds (and the trial
    chunks and serializes) or raises ``CorpusError`` naming the file and a changed field."""
    study, changed = mutated
    f = tmp_path_factory.mktemp("mut") / "record.json"
    f.write_text(json.dumps(study), encoding="utf-8")
    try:
        trials = load_corpus(f)
    except CorpusError as exc:
        assert exc.path == str(f)
        assert any(f'"{c}' in exc.reason for c in changed) or "lone surrogate" in exc.reason, (exc.reason, changed)
        return
    json.dumps([t.to_dict() for t in trials])
    chunk_corpus(trials)


# --- questions that are not valid Unicode, impossible patient facts -------------------------------

@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    shutil.copy(MSC_SEED, d)
    shutil.copy(DARA_SEED, d)
    return TrialQA.load(d, tmp_path_factory.mktemp("idx"), encoder=HashingEncoder())


@pytest.mark.parametrize("text", ["\ud800", "What is the minimum age \udc00?", "ANC \udfff\ud800 1500"])
def test_lone_surrogate_is_refused_by_ask_and_search(qa, text):
    for call, what in ((qa.ask, "question"), (qa.search, "query")):
        with pytest.raises(QueryError, match=f"the {what} is not valid Unicode: a lone surrogate"):
            call(text)
    assert qa.ask("What is the minimum age? \U0001F642").text  # a real astral character is fine


def test_ask_about_an_unknown_trial_is_an_error(qa):
    with pytest.raises(QueryError, match="unknown trial 'NCT99999999'"):
        qa.ask("What is the minimum age?", trial="NCT99999999")
    assert "is not in these trial records" in qa.ask("What is the minimum age in NCT99999999?").text


@pytest.mark.parametrize("facts, message", [
    ({"age": float("inf")}, "age must be a number from 0 to 130 years, got inf"),
    ({"age": float("nan")}, "age must be a number from 0 to 130 years, got nan"),
    ({"age": "-inf"}, "got '-inf'"),
    ({"age": -1}, "age must be a number from 0 to 130 years, got -1"),
    ({"age": 130.5}, "got 130.5"),
    ({"age": True}, "got True"),
    ({"days_since_onset": float("nan")}, "days_since_onset must be a number of days, 0 or more, got nan"),
    ({"days_since_onset": float("inf")}, "days_since_onset must be"),
    ({"days_since_onset": -3}, "days_since_onset must be"),
    ({"bsa_percent": float("inf")}, "bsa_percent must be a number from 0 to 100 percent, got inf"),
    ({"bsa_percent": -0.5}, "bsa_percent must be"),
    ({"bsa_percent": 100.1}, "bsa_percent must be"),
    ({"conditions": "pregnancy"}, "conditions must be a list of strings"),
    ({"conditions": ["\ud800"]}, "the condition is not valid Unicode"),
    ({"labs": ["PMN=\udc00"]}, "the lab value is not valid Unicode"),
])
def test_impossible_patient_facts_are_refused(qa, facts, message):
    with pytest.raises(QueryError) as info:
        qa.check(facts, "NCT07110662")
    assert message in str(info.value)


def test_possible_extremes_are_checked(qa):
    for facts in ({"age": 0}, {"age": 130}, {"days_since_onset": 0}, {"bsa_percent": 0}, {"bsa_percent": 100},
                  {"age": "76"}):
        assert qa.check(facts, "NCT07110662").verdict in ("eligible", "not eligible", "undetermined")


# --- scientific notation in lab values ------------------------------------------------------------

@pytest.mark.parametrize("text, value, unit", [
    ("PMN=2e3/mm3", 2000, "/mm3"),
    ("PMN 2E3/mm3", 2000, "/mm3"),
    ("PMN >= 1.5e+3 /mm3", 1500, "/mm3"),
    ("PMN = 2×10³/mm3", 2000, "/mm3"),
    ("PMN = 2 x 10^3 /mm3", 2, "10^3/µL"),  # the power of ten is part of the unit: the same count
    ("platelets > 1.5x10^5/mm3", 150000, "/mm3"),
    ("PMN 2 * 10**3/mm3", 2000, "/mm3"),
    ("ANC > 1.5 x 10^9/L", 1.5, "10^9/L"),
    ("ANC 1.5 × 10⁹/L", 1.5, "10^9/L"),
])
def test_scientific_notation_in_lab_values(text, value, unit):
    from trialqa.extraction import extract_criteria

    [lab] = [e for e in extract_criteria(text) if e.label == "LAB"]
    assert (lab.value, lab.unit) == (value, unit)
    assert lab.norm_unit == "10^9/L" and lab.norm_value == pytest.approx(value * {"/mm3": 1e-3}.get(unit, 1))
    assert text.endswith(lab.text.split("=")[-1].strip())


def test_numbers_in_scientific_notation():
    from trialqa.extraction import rules

    number = rules().quantities.number
    assert [number(t) for t in ("2e3", "2E3", "2 x 10^3", "2×10³", "2 x 10^-3", "1,500", "twice")] == \
           [2000, 2000, 2000, 2000, 0.002, 1500, 2]
    assert number("1e999") is None  # not finite


def test_patient_lab_in_scientific_notation_is_compared_as_its_value(qa):
    def pmn_status(lab):
        report = qa.check({"labs": [lab]}, "NCT07110662")
        return next(c.status for c in report.criteria if c.criterion.startswith("PMNs < 1,500"))

    assert pmn_status("PMN=2e3/mm3") == pmn_status("PMN=2×10³/mm3") == pmn_status("PMN=2000/mm3") == "met"
    assert pmn_status("PMN=1.2E3/mm3") == pmn_status("PMN=1200/mm3") == "not_met"


def test_upload_with_a_wrong_type_is_refused_and_changes_nothing(qa, tmp_path):
    study = _studies()[0]
    study["protocolSection"]["conditionsModule"]["conditions"] = [["nested"]]
    f = tmp_path / "upload.json"
    f.write_text(json.dumps(study), encoding="utf-8")
    before = sorted(p.name for p in qa.corpus_dir.iterdir())
    with pytest.raises(CorpusError) as info:
        qa.add_trial(f)
    # The error names the file as the user named it, never where the server keeps it.
    assert info.value.path == f.name and '"protocolSection.conditionsModule.conditions[0]"' in info.value.reason
    assert sorted(p.name for p in qa.corpus_dir.iterdir()) == before and len(qa.trials) == 2
    assert not qa.uploads_dir.exists() or not any(qa.uploads_dir.iterdir())

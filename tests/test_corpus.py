"""Corpus ingestion: the three readers, spans, ids, and bad input."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from trialqa import CorpusError, load_corpus
from trialqa.corpus import detect_format, read_records, span_text
from trialqa.sections import match_header

from .conftest import DARA_SEED, DATA, FIXTURES, MSC_SEED, need


def test_msc_seed_fields(seed_trials):
    t = seed_trials["msc"]
    assert t.nct_id is None and not t.has_nct_id
    assert t.id.startswith("TQ-") and any("no NCT number" in w for w in t.warnings)
    assert t.title == "LYell SYndrome MEsenchymal Stromal Cells Treatment"
    assert (len(t.inclusion), len(t.exclusion)) == (6, 12)
    assert (t.min_age.years, t.max_age.years) == (18, 75)
    assert t.min_age.source == "criteria" and t.min_age.inclusive and t.max_age.inclusive
    assert t.status == "NOT_YET_RECRUITING"
    assert t.phases == ["PHASE1", "PHASE2"]
    assert t.enrollment == 0
    assert t.completion_date == "2025-01-01"
    assert t.sex == "ALL" and t.healthy_volunteers is False
    assert t.sponsor == "Assistance Publique - Hôpitaux de Paris"
    # Doubled value lines are folded and the glued caption "...mortality.Phase:" is split off.
    assert t.summary.endswith("morbi-mortality.")
    assert "Patient with confirmed SJS-TEN diagnosis hospitalized in the department of Dermatology or intensive care medicine" in [c.text for c in t.inclusion]


def test_daratumumab_seed_fields(seed_trials):
    t = seed_trials["NCT07110662"]
    assert t.id == "NCT07110662"
    assert (len(t.inclusion), len(t.exclusion)) == (6, 8)
    assert t.min_age.years == 18 and t.min_age.source == "structured" and t.max_age is None
    assert t.enrollment == 9
    assert t.start_date == "2025-10-29" and t.completion_date == "2029-04-29"
    assert t.last_update == "2025-08-07"
    assert t.study_type == "INTERVENTIONAL"
    assert t.sponsor == "Hospices Civils de Lyon"
    assert t.collaborators == ["Janssen-Cilag Ltd.", "INSERM U1111"]
    assert {(i.id, i.type) for i in t.identifiers} >= {("2024-512164-63-00", "CTIS"), ("69HCL23_1000", None)}
    assert t.design["intervention_model"] == "SINGLE_GROUP" and t.design["masking"] == "NONE"
    assert t.interventions[0].type == "DRUG" and "16 mg/kg" in t.interventions[0].description
    assert (t.interventions[0].dose, t.interventions[0].route) == ("16 mg/kg", "intravenous")
    assert t.locations[0].city == "Lyon" and t.locations[0].country == "France"
    assert "PMNs < 1,500 /mm3 on CBC at inclusion visit." in [c.text for c in t.exclusion]
    # Page captions addressed to the reader are not content.
    assert not t.summary.startswith("Review the sponsor")


def test_related_trials_footer_is_not_attributed(seed_trials):
    dumped = json.dumps(seed_trials["NCT07110662"].to_dict())
    assert "NCT05361109" not in dumped and "Baricitinib" not in dumped


def test_to_dict_public_keys(seed_trials):
    d = seed_trials["NCT07110662"].to_dict()
    for key in ("id", "nct_id", "title", "status", "phases", "enrollment", "min_age", "max_age", "sex",
                "inclusion", "exclusion", "sponsor", "collaborators"):
        assert key in d
    assert d["min_age"] == 18 and d["max_age"] is None
    assert all(isinstance(c, str) for c in d["inclusion"] + d["exclusion"])
    json.dumps(d)


@pytest.mark.parametrize("path", [MSC_SEED, DARA_SEED, FIXTURES / "trials"])
def test_every_criterion_span_points_at_its_text(path):
    for t in load_corpus(path, extract=False):
        src = t.source_text()
        for c in t.criteria:
            assert span_text(src, t.format, c.start, c.end) == c.text
        for name, (a, b) in t.spans.items():
            assert 0 <= a < b <= len(src), name


def test_field_spans_cover_the_stated_value(seed_trials):
    t = seed_trials["NCT07110662"]
    src = t.source_text()
    a, b = t.spans["sponsor"]
    assert src[a:b] == "Hospices Civils de Lyon"
    a, b = t.spans["enrollment"]
    assert "9" in src[a:b]


def test_content_id_is_stable_and_never_borrowed(tmp_path):
    one = read_records(MSC_SEED)[0]
    shutil.copy(MSC_SEED, tmp_path / "copy.txt")
    again = read_records(tmp_path / "copy.txt")[0]
    assert one.id == again.id
    changed = MSC_SEED.read_text(encoding="utf-8").replace("Uncontrolled epilepsia", "Uncontrolled asthma")
    (tmp_path / "changed.txt").write_text(changed, encoding="utf-8")
    assert read_records(tmp_path / "changed.txt")[0].id != one.id


def test_format_detected_from_content_not_extension(tmp_path):
    xml = sorted((FIXTURES / "trials").glob("*.xml"))[0]
    js = sorted((FIXTURES / "trials").glob("*.json"))[0]
    shutil.copy(xml, tmp_path / "record.txt")
    shutil.copy(js, tmp_path / "record.dat")
    assert read_records(tmp_path / "record.txt")[0].format == "ctgov_xml"
    assert read_records(tmp_path / "record.dat")[0].format == "ctgov_json"
    assert detect_format("Overview\nTitle\nStatus:\nRecruiting") == "registry_text"


def test_api_v2_wrappers(tmp_path):
    study = json.loads(sorted((FIXTURES / "trials").glob("*.json"))[0].read_text(encoding="utf-8"))
    (tmp_path / "wrapped.json").write_text(json.dumps({"studies": [study]}), encoding="utf-8")
    (tmp_path / "listed.json").write_text(json.dumps([study]), encoding="utf-8")
    ids = {read_records(tmp_path / f)[0].id for f in ("wrapped.json", "listed.json")}
    assert ids == {study["protocolSection"]["identificationModule"]["nctId"]}


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"\x00\x01\x02binary\x00" * 100, "binary"),
    (b'{"protocolSection": {"identificationModule": {"nctId": "NCT01234567"', "truncated"),
    (b"<clinical_study><id_info><nct_id>NCT0", "malformed XML"),
    (b"<html><body>not a trial</body></html>", "expected <clinical_study>"),
    (b'{"foo": 1}', "protocolSection"),
    (b"Just some notes about a meeting.\nNothing here.\n", "not a recognizable trial record"),
])
def test_bad_files_raise_clear_errors(tmp_path, content, reason):
    f = tmp_path / "bad.json"
    f.write_bytes(content)
    with pytest.raises(CorpusError) as info:
        read_records(f)
    assert info.value.path == str(f)
    assert reason.lower() in str(info.value).lower()


def test_truncated_json_names_the_line(tmp_path):
    good = (FIXTURES / "trials").glob("*.json").__next__().read_text(encoding="utf-8")
    f = tmp_path / "cut.json"
    f.write_text(good[: len(good) // 2], encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        read_records(f)
    assert info.value.line is not None and "line" in str(info.value)


def test_huge_file_is_refused_without_reading_it(tmp_path):
    f = tmp_path / "huge.json"
    with open(f, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(CorpusError, match="50.0 MB"):
        read_records(f)


def test_xml_without_criteria_loads_with_a_warning(tmp_path):
    src = sorted((FIXTURES / "trials").glob("*.xml"))[0].read_text(encoding="utf-8")
    start, end = src.index("<criteria>"), src.index("</criteria>") + len("</criteria>")
    f = tmp_path / "nocrit.xml"
    f.write_text(src[:start] + src[end:], encoding="utf-8")
    t = read_records(f)[0]
    assert t.criteria == [] and any("no <eligibility><criteria>" in w for w in t.warnings)


def test_directory_reports_bad_files_and_keeps_good_ones(tmp_path):
    for f in (FIXTURES / "trials").iterdir():
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(MSC_SEED, tmp_path / "msc.txt")
    (tmp_path / "empty.xml").write_bytes(b"")
    (tmp_path / "broken.json").write_text('{"studies": [', encoding="utf-8")
    (tmp_path / "dup.txt").write_bytes(MSC_SEED.read_bytes())
    corpus = load_corpus(tmp_path, extract=False)
    assert len(corpus) == len(list((FIXTURES / "trials").iterdir())) + 1
    bad = sorted(e.path.rsplit("/", 1)[-1] for e in corpus.errors)
    # The two copies of the MSC record: whichever is read second is reported as the duplicate.
    assert bad in (["broken.json", "dup.txt", "empty.xml"], ["broken.json", "empty.xml", "msc.txt"])
    assert any("duplicate trial id" in e.reason for e in corpus.errors)


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        load_corpus(tmp_path / "nope")


def test_intervention_doses_on_real_records():
    path = need(DATA / "ctgov" / "api_v2_nsclc_100.json")
    trials = load_corpus(path, extract=False)
    with_dose = [iv for t in trials for iv in t.interventions if iv.dose]
    assert len(with_dose) >= 20
    for iv in with_dose:
        assert iv.dose in f"{iv.name}. {iv.description or ''}"


def test_api_v2_100_records_match_the_source():
    path = need(DATA / "ctgov" / "api_v2_nsclc_100.json")
    trials = load_corpus(path, extract=False)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert len(trials) == len(raw) == 100 and not trials.errors
    for t, s in zip(trials, raw):
        ps = s["protocolSection"]
        assert t.nct_id == ps["identificationModule"]["nctId"]
        elig = ps.get("eligibilityModule", {})
        if "minimumAge" in elig:
            assert t.min_age.text == elig["minimumAge"]
        assert t.enrollment == ps.get("designModule", {}).get("enrollmentInfo", {}).get("count")
        _nothing_lost(t, elig.get("eligibilityCriteria", ""))


def _squash(s: str) -> str:
    return re.sub(r"[\s\\]+", "", s)


def _nothing_lost(t, crit_text: str) -> None:
    """Every bulleted line of the source criteria opens some criterion (or lead-in) of the trial,
    and every criterion's text comes from the source."""
    whole = _squash(crit_text)
    pieces = [_squash(c.text) for c in t.criteria] + [_squash(c.group or "") for c in t.criteria]
    for c in t.criteria:
        assert _squash(c.text) in whole
    for line in crit_text.splitlines():
        m = re.match(r"\s*(?:[-*\u2022]|\d{1,2}[.)])\s+(\S.{0,40})", line)
        if m and not match_header(line):
            head = _squash(m.group(1))[:25].rstrip(":")
            assert any(head in p for p in pieces), (t.id, line)


def test_nli4ct_reports_load_with_line_criteria():
    ct = need(DATA / "nli4ct" / "CT_json")
    files = sorted(ct.glob("*.json"))[:40]
    for f in files:
        t = read_records(f)[0]
        raw = json.loads(f.read_text(encoding="utf-8"))
        content = [ln for ln in raw["Eligibility"] if ln.strip() and not match_header(ln)]
        assert len(t.criteria) <= len(content)
        assert t.nct_id == raw["Clinical Trial ID"]
        src = t.source_text()
        for c in t.criteria:
            assert span_text(src, t.format, c.start, c.end) == c.text
        if any(match_header(ln) and match_header(ln)[0] == "exclusion" for ln in raw["Eligibility"]):
            assert t.exclusion


def _fold(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def test_outcomes_of_api_v2_records_match_the_source():
    path = need(DATA / "ctgov" / "api_v2_nsclc_100.json")
    trials = load_corpus(path, extract=False)
    source = path.read_text(encoding="utf-8")
    n = 0
    for t, s in zip(trials, json.loads(source)):
        om = s["protocolSection"].get("outcomesModule", {})
        want = [(k, o["measure"]) for k in ("primary", "secondary", "other") for o in om.get(f"{k}Outcomes", [])]
        assert [(o.kind, o.measure) for o in t.outcomes] == [(k, _fold(m)) for k, m in want]
        for o in t.outcomes:
            assert _fold(span_text(source, t.format, o.start, o.end)) == o.measure
            if o.description_span:
                assert _fold(span_text(source, t.format, *o.description_span)) == o.description
        n += len(t.outcomes)
    assert n > 100


@pytest.mark.slow
def test_outcomes_of_xml_records_match_the_source(xml_6786_dir):
    import xml.etree.ElementTree as ET

    files = sorted(xml_6786_dir.rglob("*.xml"))[:300]
    seen = 0
    for f in files:
        (t,) = read_records(f)
        root = ET.parse(f).getroot()
        want = [(k, _fold(n.findtext("measure") or "")) for k in ("primary", "secondary", "other")
                for n in root.findall(f"{k}_outcome") if (n.findtext("measure") or "").strip()]
        assert [(o.kind, o.measure) for o in t.outcomes] == want, f
        source = f.read_text(encoding="utf-8")
        for o in t.outcomes:
            assert _fold(span_text(source, t.format, o.start, o.end)) == o.measure
            assert o.time_frame is None or o.time_frame
        seen += len(t.outcomes)
    assert seen > 50


def test_to_dict_of_every_api_v2_record_is_plain_json():
    # Locations and contacts hold strings that remember their source offsets; to_dict copies them.
    import json

    from trialqa.corpus import read_records

    trials = read_records(need(DATA / "ctgov" / "api_v2_nsclc_100.json"))
    dumped = [json.loads(json.dumps(t.to_dict())) for t in trials]
    assert len(dumped) == 100
    located = [d for d in dumped if d["locations"]]
    assert located and all(isinstance(d["locations"][0]["city"], (str, type(None))) for d in located)

"""The FHIR R4 reader: a bundle's Patient, Condition, Observation, MedicationStatement and
Procedure resources become the same facts a note gives."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.conftest import FIXTURES
from trialqa import QueryError
from trialqa.patients import read_fhir

BUNDLE = FIXTURES / "patients" / "bundle_breast_cancer.json"
TODAY = date(2026, 3, 1)


def test_the_bundle_facts():
    f = read_fhir(BUNDLE.read_text("utf-8"), today=TODAY)
    assert f.age == 57 and f.sex == "female"
    assert f.conditions[:2] == ["breast cancer", "hepatitis B"]
    assert f.history == ["hepatitis B"]  # clinicalStatus resolved
    assert f.absent == ["HIV infection"]  # verificationStatus refuted
    assert "neutrophils 1800 /mm3" in f.labs and "creatinine 1.1 mg/dL" in f.labs
    assert f.blood_pressure == "142/88"
    assert f.measurements == ["body mass index 31 kg/m2"]
    assert f.scores == {"ECOG": 1}
    meds = {t["name"]: t for t in f.treatments}
    assert meds["doxorubicin"]["days_ago"] == 45 and not meds["doxorubicin"].get("ongoing")
    assert meds["tamoxifen"]["ongoing"] is True
    assert f.procedures == [{"name": "mastectomy", "days_ago": 30.0}]


def test_a_dict_reads_like_the_text():
    data = json.loads(BUNDLE.read_text("utf-8"))
    assert read_fhir(data, today=TODAY).to_dict() == read_fhir(BUNDLE.read_bytes(), today=TODAY).to_dict()


def test_the_facts_go_to_check(tmp_path):
    from tests.fakes import HashingEncoder
    from trialqa import TrialQA

    qa = TrialQA.load(FIXTURES / "trials", tmp_path / "idx", encoder=HashingEncoder())
    report = qa.check(read_fhir(BUNDLE.read_text("utf-8"), today=TODAY).to_dict(), trial=qa.trials[0].id)
    assert report.verdict in ("eligible", "not eligible", "undetermined")


@pytest.mark.parametrize("bad, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"resourceType": "Patient"}', "resourceType 'Bundle'"),
    ('{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "birthDate": "soon"}}]}',
     "entry"),
])
def test_a_bad_bundle_is_a_clear_error(bad, message):
    with pytest.raises(QueryError, match=message):
        read_fhir(bad)

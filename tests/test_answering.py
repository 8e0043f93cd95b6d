"""Answering: values, verdicts, abstention, citations and the eligibility check (fake encoder)."""

from __future__ import annotations

import shutil

import pytest

from trialqa.qa import TrialQA

from .conftest import DARA_SEED, FIXTURES, MSC_SEED
from .fakes import HashingEncoder


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    for f in (MSC_SEED, DARA_SEED, *sorted((FIXTURES / "trials").iterdir())):
        shutil.copy(f, d)
    return TrialQA.load(d, tmp_path_factory.mktemp("idx"), encoder=HashingEncoder())


def msc(qa):
    return next(t.id for t in qa.trials if t.nct_id is None)


def cited_in_source(qa, ans):
    from trialqa.corpus import span_text

    for c in ans.citations:
        t = qa.trial(c.trial_id)
        assert span_text(t.source_text(), t.format, c.start, c.end) == c.text
        assert c.trial_id in ans.trials


def test_minimum_age_value_with_citation(qa):
    a = qa.ask("What is the minimum age for NCT07110662?")
    assert a.found and "18" in a.text and a.trials == ["NCT07110662"]
    assert a.citations
    cited_in_source(qa, a)


def test_not_stated_maximum_age(qa):
    a = qa.ask("What is the maximum age?", trial="NCT07110662")
    assert not a.found and "no maximum age" in a.text


def test_patient_age_verdict_respects_inclusive_bounds(qa):
    assert qa.ask("Can a 76-year-old enter this trial?", trial=msc(qa)).verdict == "no"
    assert qa.ask("Can a 75-year-old enter this trial?", trial=msc(qa)).verdict == "yes"
    assert qa.ask("Can a 17-year-old enter this trial?", trial=msc(qa)).verdict == "no"


def test_lab_threshold_synonym_and_conversion(qa):
    a = qa.ask("What absolute neutrophil count excludes a patient?", trial="NCT07110662")
    assert a.found and "1.5" in a.text and "1500" in a.text.replace(",", "")
    assert any("PMNs" in c.text for c in a.citations)
    cited_in_source(qa, a)
    p = qa.ask("A patient with ANC of 1,200/mm3: is he excluded?", trial="NCT07110662")
    assert p.verdict == "yes"
    p = qa.ask("A patient with ANC of 1.8 x 10^9/L: is he excluded?", trial="NCT07110662")
    assert p.verdict == "no"


def test_condition_polarity_with_synonym(qa):
    a = qa.ask("Is heart failure an exclusion criterion?", trial=msc(qa))
    assert a.verdict == "yes" and a.citations[0].text == "Decompensated cardiac failure"
    a = qa.ask("Is asthma an exclusion criterion?", trial=msc(qa))
    assert not a.found and a.verdict == "unknown"


def test_never_borrows_another_trials_criterion(qa):
    a = qa.ask("What creatinine level is required?", trial="NCT07110662")
    assert not a.found and a.citations == []


def test_cross_trial_lists_every_trial_with_the_criterion(qa):
    a = qa.ask("Which trials exclude pregnant women?")
    assert {msc(qa), "NCT07110662"} <= set(a.trials)
    for c in a.citations:
        assert "pregnan" in c.text.lower() or "nursing" in c.text.lower()
    cited_in_source(qa, a)


def test_unknown_trial_is_out_of_scope(qa):
    a = qa.ask("What is the minimum age in NCT00000001?")
    assert not a.found and "not in these trial records" in a.text


def test_structured_fields(qa):
    assert "Hospices Civils de Lyon" in qa.ask("Who sponsors NCT07110662?").text
    assert "9" in qa.ask("How many participants will NCT07110662 enroll?").text
    assert "2025-10-29" in qa.ask("When does NCT07110662 start?").text


def test_eligibility_check_report(qa):
    r = qa.check({"age": 76, "labs": ["PMN=1200/mm3"]}, msc(qa))
    assert r.verdict == "not eligible"
    age_rows = [c for c in r.criteria if "age" in c.reason and c.status == "not_met"]
    assert age_rows and age_rows[0].citation.text == "Patients aged from 18 to 75 years-old"
    r = qa.check({"age": 40, "labs": ["ANC=1200/mm3"]}, "NCT07110662")
    assert r.verdict == "not eligible"
    assert any(c.status == "not_met" and "PMNs" in c.criterion for c in r.criteria)
    r = qa.check({"age": 40, "conditions": ["pregnancy"]}, "NCT07110662")
    assert any(c.status == "not_met" and "Pregnant" in c.criterion for c in r.criteria)
    r = qa.check({"age": 40}, "NCT07110662")
    assert r.verdict == "undetermined"


# --- rules checked on real records the gold set does not use (../shared/data xml_derm_subset) -------

DERM = ["NCT00001371.xml", "NCT00002786.xml", "NCT00002973.xml", "NCT00005097.xml"]


@pytest.fixture(scope="module")
def derm(tmp_path_factory):
    from .conftest import DATA, need

    d = tmp_path_factory.mktemp("derm")
    for name in DERM:
        shutil.copy(need(DATA / "ctgov" / "xml_derm_subset" / name), d)
    return TrialQA.load(d, tmp_path_factory.mktemp("derm-idx"), encoder=HashingEncoder())


def test_lost_superscript_counts_compare_with_patient_values(derm):
    # "granulocytes greater than 1500/mm(3)": granulocytes are neutrophils, /mm(3) is /mm3
    a = derm.ask("The patient's ANC is 1.2 x 10^9/L. Does he meet the neutrophil criterion?", trial="NCT00001371")
    assert a.verdict == "no" and any("1500/mm(3)" in c.text for c in a.citations)
    a = derm.ask("What granulocyte count is required, in cells/uL?", trial="NCT00001371")
    assert a.found and "1500" in a.text


def test_washout_of_a_drug_class_uses_the_drugs_own_window(derm):
    # "At least 8 weeks since nitrosoureas (e.g., lomustine, carmustine ...)" vs "4 weeks since any other chemotherapy"
    late = derm.ask("The patient's last carmustine dose was 6 weeks ago. Can he enroll?", trial="NCT00002973")
    assert late.verdict == "no" and "8 weeks" in late.text
    ok = derm.ask("The patient's last carmustine dose was 10 weeks ago. Can he enroll?", trial="NCT00002973")
    assert ok.verdict == "yes"


def test_heading_windows_govern_the_items_after_their_colon(derm):
    # "Within 2 weeks: topical ... corticosteroids ... Within 4 weeks: systemic steroid therapy."
    a = derm.ask("He took oral prednisone until 3 weeks ago. Is he excluded?", trial="NCT00005097")
    assert a.verdict == "yes" and "Within 4 weeks" in a.text
    a = derm.ask("He took oral prednisone until 5 weeks ago. Is he excluded?", trial="NCT00005097")
    assert a.verdict == "no"


def test_which_trials_are_sponsored_by(derm):
    a = derm.ask("Which trials are sponsored by the National Cancer Institute?")
    expected = {t.id for t in derm.trials if "National Cancer Institute" in (t.sponsor or "")}
    assert expected and set(a.trials) == expected
    assert "NCT00002786" not in a.trials  # Fred Hutchinson
    assert not derm.ask("Which trials are sponsored by Pfizer?").found


def test_a_required_kind_of_condition_is_not_met_by_a_sibling(derm):
    # NCT00002786: "Histopathologically proven metastatic melanoma"; lung cancer is another malignancy
    a = derm.ask("A patient has non-small cell lung cancer. Is he eligible?", trial="NCT00002786")
    assert a.verdict == "no" and "melanoma" in a.text
    # ... while metastatic melanoma meets it, and "No CNS metastases" does not exclude it
    a = derm.ask("A patient has metastatic melanoma. Is he eligible?", trial="NCT00002786")
    assert a.verdict == "yes" and "requires" not in a.text


# --- labs stated against a reference or without a number (real API v2 records, not in the gold set) ---

@pytest.fixture(scope="module")
def nsclc_qa(tmp_path_factory):
    """Five NSCLC records from ../shared: ULN-relative limits, a limit over 'AST/ALT', a bilirubin
    requirement with no number ("within normal institutional limits"), a numeric one, none, and an
    official title with "lung ... disease" in it."""
    import json

    from .conftest import DATA, need

    wanted = {"NCT05773092", "NCT02778893", "NCT04646330", "NCT06644495", "NCT05286957"}
    d = tmp_path_factory.mktemp("nsclc")
    for s in json.loads(need(DATA / "ctgov" / "api_v2_nsclc_100.json").read_text("utf-8")):
        nct = s["protocolSection"]["identificationModule"]["nctId"]
        if nct in wanted:
            (d / f"{nct}.json").write_text(json.dumps(s), "utf-8")
    assert len(list(d.iterdir())) == len(wanted)
    return TrialQA.load(d, tmp_path_factory.mktemp("idx"), encoder=HashingEncoder())


def test_a_limit_at_the_reference_is_a_value_not_a_verdict(nsclc_qa):
    a = nsclc_qa.ask("What is the maximum total bilirubin allowed?", trial="NCT05773092")
    assert a.found and a.verdict is None and "1 x ULN" in a.text
    assert any("upper limit of normal" in c.text for c in a.citations)
    cited_in_source(nsclc_qa, a)
    assert nsclc_qa.ask("Is a bilirubin above the upper limit of normal allowed?", trial="NCT05773092").verdict is not None


def test_a_question_about_one_analyte_reads_a_limit_on_coordinated_ones(nsclc_qa):
    for q, name in [("What AST level excludes a patient?", "AST"), ("What is the maximum ALT?", "ALT")]:
        a = nsclc_qa.ask(q, trial="NCT05773092")
        assert a.found and f"{name} <= 3 x ULN" in a.text, a.text
    p = nsclc_qa.ask("Can a patient with AST of 3 times ULN enter?", trial="NCT02778893")
    assert p.verdict == "no" and "2.5 times" in p.text


def test_a_requirement_without_a_number_is_quoted_not_denied(nsclc_qa):
    a = nsclc_qa.ask("What bilirubin level is required?", trial="NCT02778893")
    assert a.found and "no numeric limit" in a.text
    assert any("within normal institutional limits" in c.text for c in a.citations)
    cited_in_source(nsclc_qa, a)
    p = nsclc_qa.ask("Can a patient with ALT 2 x ULN and bilirubin 1.0 mg/dL enter?", trial="NCT02778893")
    assert p.verdict == "unknown" and "met: ALT 2 x ULN" in p.text and "no numeric limit" in p.text
    numeric = nsclc_qa.ask("What bilirubin level is required?", trial="NCT04646330")
    assert "bilirubin <= 1.5 x ULN" in numeric.text and "no numeric limit" not in numeric.text
    none = nsclc_qa.ask("What bilirubin level is required?", trial="NCT06644495")  # names no bilirubin at all
    assert not none.found and "does not state" in none.text and not none.citations


def test_an_implausible_limit_is_never_compared(nsclc_qa):
    # NCT02778893: "absolute neutrophil count>1,500/mL" (a unit typo for /uL)
    a = nsclc_qa.ask("What is the minimum neutrophil count?", trial="NCT02778893")
    assert a.found and "unit error" in a.text and "0.0015" not in a.text
    p = nsclc_qa.ask("Can a patient with an ANC of 1.2 x 10^9/L enter?", trial="NCT02778893")
    assert p.verdict == "unknown" and "not a plausible neutrophils limit" in p.text


def test_outcome_measures_by_kind_with_citations(qa):
    from trialqa.corpus import load_corpus

    t = next(iter(load_corpus(FIXTURES / "trials" / "NCT05693090.json")))
    primary = [o.measure for o in t.outcomes if o.kind == "primary"]
    a = qa.ask("What is the primary outcome?", trial="NCT05693090")
    assert a.found and a.intent == "outcome" and len(a.citations) == len(primary) > 0
    assert all(m in a.text for m in primary)
    cited_in_source(qa, a)
    s = qa.ask("What are the secondary endpoints of NCT05693090?")
    assert s.found and "secondary" in s.text and not any(m in s.text for m in primary)
    none = qa.ask("What is the primary outcome measure?", trial=msc(qa))  # the registry page states none
    assert not none.found and "does not state" in none.text


def test_a_condition_asked_about_is_not_a_trial_name(nsclc_qa):
    from trialqa.answering import analyse, resolve_trials

    # Every NSCLC title says "lung": the condition asked about must not pick trials by title.
    trials, named = resolve_trials(nsclc_qa, "Which trials exclude patients with interstitial lung disease?", None)
    assert not named and len(trials) == len(nsclc_qa.trials)
    assert analyse("Are patients with brain metastases excluded?").concepts == {"brain metastases"}
    a = nsclc_qa.ask("What ECOG performance status is required?", trial="NCT04646330")
    assert a.intent != "status" and "recruit" not in a.text.lower()


def test_which_trials_allow_reads_exceptions_not_plain_exclusions(nsclc_qa):
    # NCT05773092: "Patients with treated brain metastases are eligible if ..." (inclusion);
    # NCT04646330: "Has known active central nervous system (CNS) metastases" (a plain exclusion).
    allow = nsclc_qa.ask("Which trials allow brain metastases?")
    assert "NCT05773092" in allow.trials and "NCT04646330" not in allow.trials
    assert all(c.trial_id in allow.trials for c in allow.citations)
    excl = nsclc_qa.ask("Which trials exclude patients with brain metastases?")
    assert "NCT04646330" in excl.trials


def test_a_window_after_an_event_needs_a_passage_about_that_event(nsclc_qa):
    # NCT05286957 requires "complete resection" but states no time from surgery to treatment.
    a = nsclc_qa.ask("How long after surgery must patients start treatment?", trial="NCT05286957")
    assert not a.found and not a.citations and "does not state" in a.text


def test_how_many_weeks_is_a_time_question_not_enrollment():
    from trialqa.answering import analyse, detect_field

    assert detect_field(analyse("How many patients will be enrolled?")) == "enrollment"
    q = analyse("How many weeks after surgery must patients be enrolled?")
    assert detect_field(q) != "enrollment" and q.kind == "TIME_WINDOW"


def test_do_not_allow_asks_for_exclusions(nsclc_qa):
    from trialqa.answering.vocabulary import V

    ALLOWANCE = V.allowance

    a = nsclc_qa.ask("Which trials do not allow brain metastases?")
    assert "NCT04646330" in a.trials  # "Has known active central nervous system (CNS) metastases"
    # An exclusion that says "not allowed" makes no exception.
    assert ALLOWANCE.search("Brain metastases are allowed if stable") and ALLOWANCE.search("excluded unless treated")
    assert not ALLOWANCE.search("Prior chemotherapy is not allowed") and not ALLOWANCE.search("patients are not eligible")


def test_a_requirement_without_a_number_gives_no_verdict(nsclc_qa):
    # NCT02778893: "total bilirubin: within normal institutional limits"
    for q in ("Is a bilirubin above the upper limit of normal allowed?", "Is a bilirubin above the upper limit of normal excluded?"):
        a = nsclc_qa.ask(q, trial="NCT02778893")
        assert a.verdict == "unknown" and "no numeric limit" in a.text, q


def test_outcome_words_in_eligibility_questions_are_not_outcome_measures(nsclc_qa):
    from trialqa.answering import analyse, detect_field

    assert detect_field(analyse("Are patients with a poor outcome after prior surgery excluded?")) != "outcome"
    for q in ("What is the primary outcome?", "What are the secondary endpoints?", "Which outcomes are measured?"):
        assert detect_field(analyse(q)) == "outcome", q


def test_a_window_after_an_event_is_found_in_a_passage_about_it(tmp_path):
    """The positive side of the anchored-passage rule, on a minimal API v2 record whose only
    statement of the window is in its description."""
    import json

    study = {"protocolSection": {
        "identificationModule": {"nctId": "NCT09999991", "briefTitle": "Adjuvant therapy after resection"},
        "descriptionModule": {"briefSummary": "An adjuvant study.",
                              "detailedDescription": "Patients start adjuvant treatment 4 to 8 weeks after surgery. "
                                                     "Follow-up visits are every 3 months."},
        "eligibilityModule": {"eligibilityCriteria": "Inclusion Criteria:\n* Completely resected tumour\n\nExclusion Criteria:\n* Pregnancy"}}}
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "NCT09999991.json").write_text(json.dumps(study), "utf-8")
    qa = TrialQA.load(d, tmp_path / "idx", encoder=HashingEncoder())
    a = qa.ask("How long after surgery do patients start treatment?", trial="NCT09999991")
    assert a.found and "4 to 8 weeks after surgery" in a.text
    assert all("surgery" in c.text for c in a.citations)
    cited_in_source(qa, a)

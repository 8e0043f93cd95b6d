"""A patient against a trial's criteria: groups of alternatives."""

from __future__ import annotations

from trialqa.answering.patient import any_of_groups
from trialqa.answering.results import Citation, CriterionResult
from trialqa.records import Criterion, Trial

GROUP = "At least one of the following risk factors"


def trial() -> Trial:
    t = Trial(id="T1", source="t.txt", format="registry_text")
    texts = [("Age of 50 years or older", None), ("Prior stroke", GROUP), ("Age of 75 years or older", GROUP),
             ("Diabetes mellitus", GROUP)]
    pos = 0
    for text, group in texts:
        t.criteria.append(Criterion(text, "inclusion", pos, pos + len(text), group=group))
        pos += len(text) + 1
    return t


def result(t: Trial, i: int, status: str) -> CriterionResult:
    c = t.criteria[i]
    return CriterionResult(c.text, c.section, status, "reason", Citation(t.id, c.section, c.text, c.start, c.end))


def test_one_met_alternative_satisfies_the_group():
    t = trial()
    out = any_of_groups(t, [result(t, 0, "met"), result(t, 2, "not_met"), result(t, 3, "met"), result(t, 1, "unknown")])
    assert [r.status for r in out] == ["met", "met", "met", "met"]
    assert "not needed" in out[1].reason


def test_no_met_alternative_leaves_the_group_open_or_failed():
    t = trial()
    assert [r.status for r in any_of_groups(t, [result(t, 2, "not_met"), result(t, 1, "unknown")])] == ["unknown", "unknown"]
    assert [r.status for r in any_of_groups(t, [result(t, 2, "not_met"), result(t, 3, "not_met")])] == ["not_met", "not_met"]
    # A criterion outside any group is never relaxed.
    assert any_of_groups(t, [result(t, 0, "not_met"), result(t, 3, "met")])[0].status == "not_met"


def test_a_dose_is_compared_only_with_limits_on_the_same_drug():
    from trialqa.answering import analyse
    from trialqa.answering.patient import evaluate
    from trialqa.extraction import attach_entities

    t = Trial(id="T2", source="t.txt", format="registry_text")
    for i, text in enumerate(["Aspirin > 325 mg/day", "Methotrexate > 25 mg per week"]):
        t.criteria.append(Criterion(text, "exclusion", i * 40, i * 40 + len(text)))
    attach_entities([t])
    q = analyse("My patient takes aspirin 100 mg daily. Can he join?")
    assert [d.concept for d in q.patient.get("doses", [])] == ["aspirin"]
    results = evaluate(t, q.patient)
    assert [r.criterion for r in results if "100 mg" in r.reason] == ["Aspirin > 325 mg/day"]


def test_the_asking_sentence_decides_what_is_asked():
    from trialqa.answering.question import analyse, split_description

    q = "A 45-year-old man, not eligible for any other ipilimumab study, ECOG 1. Eligible for the expanded access protocol?"
    assert split_description(q) == ("A 45-year-old man, not eligible for any other ipilimumab study, ECOG 1.",
                                    "Eligible for the expanded access protocol?")
    assert not analyse(q).asks_excl  # "not eligible" describes the patient; the question asks for eligibility
    assert analyse("Would a 45-year-old man with ECOG 1 be excluded?").asks_excl
    one = "Can a 76-year-old enter the daratumumab trial?"
    assert split_description(one) == (one, one)


def test_another_product_of_the_trial_drugs_class_is_the_patients_own():
    from trialqa.answering.patient import _without_trial_drugs, facts_from_question
    from trialqa.answering.question import analyse
    from trialqa.records import Intervention

    t = Trial(id="T2", source="t.xml", format="ctgov_xml")
    t.interventions = [Intervention(type="Biological", name="HEPLISAV", other_names=["1018 ISS-HBsAg"])]
    for text, kept in (("Someone had a single dose of Engerix-B years ago. Can they enroll in the HEPLISAV trial?", True),
                       ("Someone had HEPLISAV. Can they enroll in the HEPLISAV trial?", False)):
        q = analyse(text)
        f = _without_trial_drugs(facts_from_question(q.patient, text), t)
        assert ("hepatitis B vaccine" in f.has) == kept, text


def test_criteria_joined_by_a_trailing_or_are_alternatives():
    # "Creatinine no greater than 1.5 mg/dL OR" / "Creatinine clearance at least 60 mL/min" (NCT00002697;
    # 22 of 400 sampled XML records join inclusions so)
    t = Trial(id="T2", source="t.xml", format="ctgov_xml")
    pos = 0
    for text in ("Creatinine no greater than 1.5 mg/dL OR", "Creatinine clearance at least 60 mL/min", "ECOG 0-1"):
        t.criteria.append(Criterion(text, "inclusion", pos, pos + len(text)))
        pos += len(text) + 1
    out = any_of_groups(t, [result(t, 0, "not_met"), result(t, 1, "met"), result(t, 2, "not_met")])
    assert [r.status for r in out] == ["met", "met", "not_met"]  # the third is no alternative
    assert [r.status for r in any_of_groups(t, [result(t, 0, "not_met"), result(t, 1, "not_met")])] == ["not_met", "not_met"]

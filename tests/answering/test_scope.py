"""Which trials a question is about, from its words alone, on real records the rules were not written on."""

from __future__ import annotations

import os
import re
import tarfile

import pytest

from tests.conftest import DATA, need
from trialqa.answering import analyse, resolve_trials
from trialqa.answering.scope import initialisms, off_topic, unknown_reference


class Store:
    """The part of TrialQA that scope resolution reads."""

    def __init__(self, trials):
        self.trials = list(trials)

    def trial(self, ref):
        return next(t for t in self.trials if ref in (t.id, t.nct_id))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from trialqa import load_corpus

    out = tmp_path_factory.mktemp("xml_sample")
    with tarfile.open(need(DATA / "ctgov" / "ctgov_legacy_xml_6786.tgz")) as tf:
        members = [m for m in tf.getmembers() if m.isfile() and m.name.endswith(".xml")][::60][:110]
        for m in members:
            m.name = os.path.basename(m.name)
        tf.extractall(out, members=members, filter="data")
    return Store(load_corpus(out))


def ask_scope(store, question):
    q = analyse(question)
    trials, named = resolve_trials(store, question, None, q)
    return [t.nct_id for t in trials] if named else None


def test_initialisms_of_organisations():
    assert "niams" in initialisms("National Institute of Arthritis and Musculoskeletal and Skin Diseases")
    assert "niaid" in initialisms("National Institute of Allergy and Infectious Diseases")
    assert initialisms("Assistance Publique - Hôpitaux de Paris") == {"aphp"}
    assert initialisms("Bristol-Myers Squibb") == {"bms"}
    assert initialisms("GlaxoSmithKline") == {"gsk"}
    assert initialisms("Novartis") == set()


def test_an_acronym_names_its_trial(store):
    with_acronym = [t for t in store.trials if t.acronym and t.acronym.isalpha() and t.acronym.isupper() and len(t.acronym) >= 4]
    assert len(with_acronym) >= 3
    for t in with_acronym:
        assert ask_scope(store, f"What is the minimum age for {t.acronym}?") == [t.nct_id], t.acronym


def test_a_distinctive_title_word_names_its_trial(store):
    from trialqa.answering.scope import name_index

    index = name_index(store)
    checked = 0
    for t in store.trials:
        decisive = sorted(w for w in index.names[t.id] if index.decisive(w) and w.isalpha() and len(w) > 6)
        if not decisive:
            continue
        checked += 1
        assert ask_scope(store, f"Who sponsors the {decisive[0]} study?") == [t.nct_id], decisive[0]
    assert checked >= 30


def test_common_words_name_no_trial(store):
    for question in ("What is the minimum age?", "Which trials exclude pregnant women?", "How many patients were enrolled?",
                     "Is prior chemotherapy allowed in the cancer study?"):
        assert ask_scope(store, question) is None, question


def test_a_reference_that_matches_nothing_and_off_topic_questions(store):
    assert unknown_reference(store, "What PD-L1 level does the KEYNOTE-189 trial require?") == "KEYNOTE-189"
    assert unknown_reference(store, "What is the minimum age?") is None
    for question in ("What's the weather in Paris tomorrow?", "hello", "???", "banana spaceship purple?",
                     "Write me a poem about statins."):
        assert off_topic(store, analyse(question), None), question
    assert not off_topic(store, analyse("Which trials exclude pregnant women?"), None)


def test_words_that_only_look_like_names_are_no_unknown_reference(store):
    for question in ("Can a 45-year-old woman with diabetes join?", "Is a 3rd line of therapy allowed?",
                     "What HbA1c is required?", "What ECOG performance status is required?"):
        assert unknown_reference(store, question) is None, question
    assert unknown_reference(store, "What PD-L1 level does KEYNOTE-189 require?") == "KEYNOTE-189"


def test_organisation_initialisms_keep_their_words():
    assert "cog" in initialisms("Children's Oncology Group")
    assert "rtog" in initialisms("Radiation Therapy Oncology Group")


def test_one_trial_is_always_in_scope(store):
    one = Store(store.trials[:1])
    assert resolve_trials(one, "Who is the principal investigator?", None, analyse("Who is the principal investigator?")) \
        == ([one.trials[0]], True)


def test_a_question_about_trials_in_general_is_not_narrowed(store):
    from trialqa.answering import answer_question

    a = answer_question(store, "Which of these trials are phase 2?")
    assert a.intent == "cross_trial"
    assert set(a.trials) == {t.id for t in store.trials if "PHASE2" in t.phases}


def test_a_code_only_one_record_uses_names_it(store):
    """A drug code or abbreviation as a record writes it ("AZT", "rhIL-10"), used by no other record,
    names that record even when its titles do not hold it; asked about elsewhere, it stays asked."""
    from trialqa.answering.scope import name_index

    index = name_index(store)
    checked = 0
    for t in store.trials:
        codes = sorted(w for w in index.codes.get(t.id, ()) if w.isalnum() and not w.isdigit() and len(w) >= 4)
        if not codes:
            continue
        body = " ".join([t.summary or "", t.description or "", *(c.text for c in t.criteria),
                         *(iv.description or "" for iv in t.interventions), *(o.measure for o in t.outcomes)])
        written = next(m.group(0) for m in re.finditer(r"[\w'-]+", body) if m.group(0).lower() == codes[0])
        assert codes[0] not in index.names[t.id]
        assert ask_scope(store, f"What is the minimum age in the {written} study?") == [t.nct_id], written
        q = analyse(f"Which {written} values does the study require?")
        resolve_trials(store, q.text, None, q)
        assert codes[0] not in q.naming, written  # asked about, not a name
        checked += 1
    assert checked >= 10

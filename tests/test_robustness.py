"""Robustness: random, empty, huge, binary, non-English, HTML and control-character inputs never
cause an unhandled exception or a hang; concurrent askers get the same answers as one."""

from __future__ import annotations

import concurrent.futures as cf
import shutil
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialqa import CorpusError, QueryError, extract_criteria
from trialqa.corpus import read_records
from trialqa.qa import TrialQA

from .conftest import DARA_SEED, FIXTURES, MSC_SEED
from .fakes import HashingEncoder

HANG_SECONDS = 30  # a hang detector, not a speed target (speed lives in benchmarks/)

NASTY = [
    "", " ", "\x00\x01\x02", "<script>alert('x')</script>", "<b>bold</b> & <i>it</i>",
    "患者年龄18至75岁", "Пациенты старше 18 лет", "patients âgés de 18 à 75 ans", "🙂" * 50,
    "\u202e\u200b\ufeff", "1" * 5000, "(" * 3000, "≥" * 2000, "- " * 4000,
    "Age " + "18 to " * 2000, "a" * 100_000, "ANC < 1,500/mm3 " * 3000,
]

text_inputs = st.one_of(st.sampled_from(NASTY), st.text(max_size=400),
                        st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFF), max_size=300))


def bounded(fn, *args):
    """Run ``fn`` in a worker thread and fail if it does not return in HANG_SECONDS."""
    with cf.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(fn, *args)
        return fut.result(timeout=HANG_SECONDS)


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    for f in (MSC_SEED, DARA_SEED, *sorted((FIXTURES / "trials").iterdir())[:4]):
        shutil.copy(f, d)
    return TrialQA.load(d, tmp_path_factory.mktemp("idx"), encoder=HashingEncoder())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_inputs)
def test_extract_never_crashes(text):
    try:
        ents = bounded(extract_criteria, text)
    except QueryError:
        return
    for e in ents:
        assert 0 <= e.start <= e.end <= len(text)
        assert text[e.start:e.end] == e.text


def test_extract_refuses_over_a_megabyte_and_takes_one():
    with pytest.raises(QueryError, match="limit"):
        extract_criteria("x" * 1_000_001)
    ents = bounded(extract_criteria, ("Platelets > 100,000/mm3. " * 40_000)[:1_000_000])
    assert ents and all(e.analyte == "platelets" for e in ents if e.label == "LAB")
    with pytest.raises(QueryError):
        extract_criteria(None)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text_inputs)
def test_ask_and_search_never_crash(qa, text):
    for call in (lambda: qa.ask(text), lambda: qa.search(text, k=3)):
        try:
            result = bounded(call)
        except QueryError:
            continue
        if hasattr(result, "citations"):
            assert isinstance(result.text, str) and result.text
            assert all(c.trial_id in result.trials for c in result.citations)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=2000), st.sampled_from([s.encode("utf-8") for s in NASTY]),
                 st.text(max_size=2000).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_readers_never_crash(tmp_path_factory, data):
    f = tmp_path_factory.mktemp("rec") / "record.dat"
    f.write_bytes(data)
    try:
        trials = bounded(read_records, f)
    except CorpusError as exc:
        assert exc.path == str(f) and exc.reason
        return
    assert trials and all(t.id for t in trials)


@pytest.mark.parametrize("content", [
    "<clinical_study><brief_title>" + "x" * 1_000_000 + "</brief_title></clinical_study>",
    '{"protocolSection": {"identificationModule": {"briefTitle": "' + "y" * 1_000_000 + '"}}}',
    "[" * 100_000,
    "Status:\nRecruiting\nCriteria\n" + "- criterion line\n" * 60_000,
])
def test_huge_records_are_read_or_refused_in_bounded_time(tmp_path, content):
    f = tmp_path / "big"
    f.write_text(content, encoding="utf-8")
    try:
        trials = bounded(read_records, f)
        assert trials
    except CorpusError as exc:
        assert exc.reason


def test_concurrent_askers_get_the_same_answers(qa):
    questions = [
        "What is the minimum age?", "Which trials exclude pregnant women?", "Who sponsors NCT07110662?",
        "What neutrophil count excludes a patient in NCT07110662?", "Can a 76-year-old enter NCT07110662?",
        "Is heart failure an exclusion criterion?", "What is the enrollment of NCT07110662?",
        "How many days after onset may we include?",
    ]
    single = [qa.ask(q).to_dict() for q in questions]
    barrier = threading.Barrier(8)

    def worker(i):
        barrier.wait()
        return [qa.ask(q).to_dict() for q in questions[i:] + questions[:i]]

    with cf.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(worker, range(8)))
    for i, res in enumerate(results):
        assert res == single[i:] + single[:i]



class _SlowEncoder(HashingEncoder):
    """Embeds slowly, so that loads started together overlap while the index is built."""

    def encode(self, texts, progress=None):
        import time

        time.sleep(0.5)
        return super().encode(texts, progress)


def test_loads_starting_together_build_the_index_once(tmp_path):
    # Without the build lock each found no index and built one, and a later builder pruned the
    # version another was reading ("chunks.jsonl is missing; rebuilding"); without the store lock a
    # later writer replaced the rows an earlier load's trials read their bodies from ("the trial
    # store changed after ... was loaded"). The locks are file locks, so processes wait as threads do.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(MSC_SEED, corpus)
    shutil.copy(DARA_SEED, corpus)
    with cf.ThreadPoolExecutor(3) as pool:
        loads = list(pool.map(lambda _: TrialQA.load(corpus, tmp_path / "idx", encoder=_SlowEncoder()), range(3)))
    assert all(len(qa.trials) == 2 for qa in loads)
    assert sum(qa.index_status.startswith("built") for qa in loads) == 1, [qa.index_status for qa in loads]

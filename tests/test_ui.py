"""The web app's HTML, without a browser: highlighting, badges, citations with their context,
the eligibility table and the paged trial browser. Everything from a record is escaped."""

from __future__ import annotations

import re

import pytest

from trialqa.answering.results import Answer, Citation, CriterionResult, EligibilityReport
from trialqa.records import Criterion, Trial
from trialqa.ui import (CONTEXT_CHARS, CRITERIA_PAGE, TRIALS_PAGE, badges, content_terms, context_html, highlight,
                        render_answer, render_criteria, render_report, render_trials, word_forms)


def marked(html_: str) -> list[str]:
    return re.findall(r"<mark[^>]*>(.*?)</mark>", html_)


def make_trial(tmp_path, n_inclusion: int = 3, n_exclusion: int = 1, tid: str = "NCT00000001") -> Trial:
    lines = [f"- Inclusion item {i} with hemoglobin >= 9 g/dL" for i in range(n_inclusion)]
    ex = [f"- Exclusion item {i}: pregnant <b>women</b>" for i in range(n_exclusion)]
    text = "Criteria\nInclusion Criteria:\n" + "\n".join(lines) + "\nExclusion Criteria:\n" + "\n".join(ex) + "\n"
    path = tmp_path / f"{tid}.txt"
    path.write_text(text, encoding="utf-8")
    crits, pos = [], 0
    for i, line in enumerate(lines + ex):
        start = text.index(line, pos) + 2
        pos = start + len(line) - 2
        crits.append(Criterion(line[2:], "inclusion" if i < len(lines) else "exclusion", start, pos, i))
    return Trial(id=tid, source=str(path), format="registry_text", nct_id=tid, title="A <i>test</i> trial",
                 criteria=crits, status="RECRUITING", sponsor="ACME")


def test_question_words_match_their_plural_and_singular_forms():
    terms = content_terms("Which trials exclude pregnant women?")
    assert marked(highlight("Pregnant or breastfeeding women", terms)) == ["Pregnant", "women"]
    assert marked(highlight("Woman who is pregnant", terms)) == ["Woman", "pregnant"]
    assert marked(highlight("History of pregnancies", content_terms("Is a past pregnancy excluding?"))) == ["pregnancies"]
    assert marked(highlight("Active liver disease", content_terms("Which liver diseases?"))) == ["liver", "disease"]
    assert marked(highlight("viruses", content_terms("virus"))) == ["viruses"]
    assert "pregnancy" in word_forms("pregnancies") and "woman" in word_forms("women")


def test_function_words_and_asking_words_are_not_highlighted():
    terms = content_terms("What is the minimum age of the patients in this trial?")
    assert marked(highlight("The minimum age is 18 for patients in the trial", terms)) == ["minimum", "age"]
    assert content_terms("What is it?") == set()


def test_entity_spans_of_the_answer_are_highlighted_and_everything_is_escaped():
    out = highlight("PMNs < 1,500 /mm3 <script>x</script>", content_terms("neutrophil count"), ["< 1,500 /mm3"])
    assert '<mark class="tq-hl-ent">&lt; 1,500 /mm3</mark>' in out
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_context_is_escaped_bounded_and_marks_the_span():
    source = "x" * 1000 + " <script>alert(1)</script> the cited span here " + "y " * 1000
    start = source.index("the cited span")
    end = start + len("the cited span")
    out = context_html(source, start, end)
    assert '<mark class="tq-span">the cited span</mark>' in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert len(re.sub(r"<[^>]+>|&\w+;", "", out)) <= 2 * CONTEXT_CHARS + (end - start) + 4
    assert out.startswith("…") and out.endswith("…")
    assert context_html("short text", 0, 5) == '<mark class="tq-span">short</mark> text'


@pytest.mark.parametrize("answer, badge", [
    (Answer("x", True, "yes"), "YES"), (Answer("x", True, "no"), "NO"), (Answer("x", True, "unknown"), "UNKNOWN"),
    (Answer("not stated", False, "unknown"), "NOT STATED"), (Answer("not stated", False), "NOT STATED"),
    (Answer("not about trials", False, intent="out_of_scope"), "OUT OF SCOPE"), (Answer("18 years", True), None)])
def test_badges(answer, badge):
    found = re.findall(r'class="tq-badge[^"]*">([^<]+)<', badges(answer))
    assert found == ([badge] if badge else [])


def test_an_answer_puts_the_badge_and_text_first_then_the_cited_passages_with_context(tmp_path):
    t = make_trial(tmp_path)
    ex = t.exclusion[0]
    ans = Answer("1 trial(s):\n- NCT00000001: “Exclusion item 0”", True, "yes", [t.id],
                 [Citation(t.id, "exclusion", ex.text, ex.start, ex.end)])
    out = render_answer("Does it exclude pregnant women?", ans, {t.id: t}.get, note="About NCT00000001")
    assert out.index("YES") < out.index("1 trial(s)") < out.index("Cited passages (1)") < out.index('class="tq-cite"')
    assert "<li>NCT00000001: “Exclusion item 0”</li>" in out
    assert "chars %d–%d" % (ex.start, ex.end) in out and "exclusion" in out
    assert marked(out.split('class="tq-quote"')[1].split("</div>")[0]) == ["pregnant", "women"]
    ctx = out.split('class="tq-ctx-text">')[1]
    assert "<details" in out and "Show in the record" in out
    assert '<mark class="tq-span">Exclusion item 0: pregnant &lt;b&gt;women&lt;/b&gt;</mark>' in ctx
    assert "<b>women" not in out and "About NCT00000001" in out


def test_many_citations_fold_after_the_first_few(tmp_path):
    t = make_trial(tmp_path, n_inclusion=9)
    cites = [Citation(t.id, c.section, c.text, c.start, c.end) for c in t.criteria]
    out = render_answer("hemoglobin", Answer("x", True, citations=cites), {t.id: t}.get)
    assert "5 more passages" in out and out.count('class="tq-cite"') == len(cites)


def test_a_citation_whose_record_is_gone_still_shows_its_text():
    ans = Answer("x", True, citations=[Citation("NCT9", "inclusion", "Adults <18", 0, 10)])
    out = render_answer("adults", ans)
    assert "&lt;18" in out and "cannot be read" in out


def test_eligibility_rows_carry_labels_for_narrow_screens_and_are_escaped():
    c = Citation("NCT1", "inclusion", "Age <b>18</b>", 5, 20)
    rep = EligibilityReport("NCT1", "not eligible", [CriterionResult("Age <b>18</b>", "inclusion", "not_met", "too old", c)])
    out = render_report(rep)
    for label in ("status", "section", "criterion", "reason", "citation"):
        assert f"data-label='{label}'" in out
    assert "<b>18" not in out and "Age &lt;b&gt;18&lt;/b&gt;" in out and "chars 5–20" in out
    assert "Overall: not eligible" in out and "not met" in out


def test_criteria_come_a_page_at_a_time(tmp_path):
    t = make_trial(tmp_path, n_inclusion=120)
    first = render_criteria(t, "inclusion")
    assert first.count("<li value=") == CRITERIA_PAGE and "data-offset='50'" in first and "Show all 70 left" in first
    last = render_criteria(t, "inclusion", 100)
    assert last.count("<li value=") == 20 and "tq-more" not in last and "<li value='101'>" in last
    assert render_criteria(t, "inclusion", 50, None).count("<li value=") == 70
    assert "pregnant &lt;b&gt;women&lt;/b&gt;" in render_criteria(t, "exclusion")


def test_the_trial_list_stays_small_for_a_record_with_thousands_of_criteria(tmp_path):
    t = make_trial(tmp_path, n_inclusion=5000)
    out = render_trials([t])
    assert len(out.encode()) < 5_000  # the criteria load when their list is opened
    assert "Inclusion (5000)" in out and "Inclusion item 10" not in out
    assert "A &lt;i&gt;test&lt;/i&gt; trial" in out


def test_trial_cards_are_paged_and_a_filter_shows_the_matching_criteria(tmp_path):
    trials = [make_trial(tmp_path, tid=f"NCT{i:08d}") for i in range(TRIALS_PAGE + 5)]
    first = render_trials(trials)
    assert first.count("class='tq-card'") == TRIALS_PAGE and "Show 5 more trials (5 left)" in first
    assert render_trials(trials, offset=TRIALS_PAGE).count("class='tq-card'") == 5
    hit = render_trials(trials[:1], "pregnant")
    assert "Matching criteria (1)" in hit and "pregnant</mark>" in hit
    assert render_trials(trials, "no such words") == "<i>No trial matches.</i>"


def test_each_criterion_shows_its_compiled_requirement(tmp_path):
    from trialqa.corpus import load_corpus

    from .conftest import ROOT

    t = next(x for x in load_corpus(ROOT / "corpus") if x.has_nct_id)
    out = render_criteria(t, "exclusion")
    assert out.count("class='tq-req'") == len(t.exclusion)
    assert "EXCLUDE IF measurement:neutrophils &lt; 1500 /mm3" in out  # "PMNs < 1,500 /mm3", escaped


def test_the_record_text_of_an_archive_member_is_read_from_its_archive(tmp_path):
    import tarfile

    from tests.conftest import FIXTURES
    from trialqa import load_corpus
    from trialqa.ui import record_text

    src = FIXTURES / "trials" / "NCT00001683.xml"
    arc = tmp_path / "records.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        tf.add(src, arcname="xml/NCT00001683.xml")
    t = load_corpus(arc, extract=False)[0]
    assert "::" in t.source and record_text(t) == src.read_text("utf-8")

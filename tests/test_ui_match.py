"""The Find-trials tab and the eligibility tab's note input in the real app (headless Chromium),
on a desktop and a 390 px phone screen: ranked trial cards with verdict badges, the facts read from
the note marked in it, and no sideways scrolling."""

from __future__ import annotations

import pytest

from .test_browser import DESKTOP, PHONE, _open, app, browser, choose, no_horizontal_overflow, shot, tab  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.model]
NOTE = ("A 45-year-old woman admitted with toxic epidermal necrolysis after starting allopurinol 10 days ago; "
        "25% of body surface area detached. No history of HIV.")


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def page(browser, app, request):  # noqa: F811
    pg = _open(browser, app, request.param)
    yield pg
    pg.close()


def test_find_trials_for_a_note(page):
    tab(page, "Match")
    page.fill("#tq-m-note textarea", NOTE)
    page.click("#tq-m-go")
    results = page.locator("#tq-m-results")
    results.locator(".tq-match").first.wait_for(timeout=120_000)
    cards = results.locator(".tq-match")
    assert cards.count() >= 2
    first = cards.first
    assert first.get_attribute("data-verdict") != "not relevant"
    assert first.get_attribute("data-trial") in ("NCT07110662", ) or "Lyell" in first.inner_text() or "LYell" in first.inner_text()
    assert first.locator(".tq-badge").first.inner_text() in ("ELIGIBLE", "UNDETERMINED", "NOT ELIGIBLE")
    facts = results.locator(".tq-facts")
    assert "age: 45" in facts.inner_text() and "sex: female" in facts.inner_text()
    marked = [m.inner_text() for m in facts.locator(".tq-note mark").all()]
    assert "45" in marked and "toxic epidermal necrolysis" in marked
    assert no_horizontal_overflow(page)
    shot(page, "find_trials")


def test_eligibility_from_a_note(page):
    tab(page, "Check")
    choose(page, "#tq-e-trial", "LYell")
    page.get_by_text("…or from a patient note").click()
    page.fill("#tq-e-note textarea", "A 76-year-old man with toxic epidermal necrolysis.")
    page.click("#tq-check")
    report = page.locator("#tq-report")
    report.get_by_text("not eligible").first.wait_for(timeout=60_000)
    assert "age: 76" in report.locator(".tq-facts").inner_text()
    assert "Overall: not eligible" in report.inner_text()
    assert no_horizontal_overflow(page)

"""The real app in headless Chromium, on a desktop (1280x800) and a phone (390x844) screen: what a
person sees after asking, checking, browsing and uploading.

``TRIALQA_SCREENSHOT_DIR=docs/screenshots`` saves the screenshots the README shows.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import DARA_SEED, FIXTURES, MSC_SEED, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.model]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DESKTOP, PHONE = (1280, 800), (390, 844)
SCRIPT_RECORD = """Overview
Script Escaping Test Trial
Status:
Recruiting
Criteria
Inclusion Criteria:
- Adults <script>window.__pwned = 1</script> aged 18 years or older
Exclusion Criteria:
- Pregnant women
"""
MANY = 5000  # criteria in one record: the Trials tab must not send them all at once
MANY_RECORD = "Overview\nMany Criteria Test Trial\nStatus:\nRecruiting\nCriteria\nInclusion Criteria:\n" + "".join(
    "- Hemoglobin at least 9 g/dL at screening\n" for _ in range(MANY)) + "Exclusion Criteria:\n- Pregnant women\n"
UPLOAD_RECORD = FIXTURES / "trials" / "NCT02179567.json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)")
    root = tmp_path_factory.mktemp("app")
    corpus, uploads = root / "corpus", root / "my-uploads"
    corpus.mkdir()
    shutil.copy(MSC_SEED, corpus)
    shutil.copy(DARA_SEED, corpus)
    (corpus / "script_trial.txt").write_text(SCRIPT_RECORD, encoding="utf-8")
    (corpus / "many_criteria.txt").write_text(MANY_RECORD, encoding="utf-8")
    port = _free_port()
    log = open(root / "app.log", "w")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TRIALQA_UPLOADS": str(uploads)}
    proc = subprocess.Popen([sys.executable, "-m", "trialqa", "serve", "--corpus", str(corpus), "--index",
                             str(root / "idx"), "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(1)
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early: see {log.name}")
    else:
        proc.kill()
        raise RuntimeError("app did not start in 300 s")
    yield {"url": url, "corpus": corpus, "uploads": uploads}
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(app):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _open(browser, app, size):
    pg = browser.new_page(viewport={"width": size[0], "height": size[1]})
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(app["url"])
    pg.wait_for_selector("#tq-question textarea", timeout=60_000)
    return pg


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def page(browser, app, request):
    pg = _open(browser, app, request.param)
    yield pg
    pg.close()


@pytest.fixture
def desktop(browser, app):
    pg = _open(browser, app, DESKTOP)
    yield pg
    pg.close()


def shot(page, name: str) -> None:
    """A screenshot of what is on screen, ``name.png`` on a desktop and ``name-390.png`` on a phone."""
    out = os.environ.get("TRIALQA_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        suffix = "" if page.viewport_size["width"] >= 1000 else f"-{page.viewport_size['width']}"
        page.wait_for_timeout(300)
        page.screenshot(path=str(Path(out) / f"{name}{suffix}.png"))


def tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def ask(page, question: str):
    """Type a question, press Enter, and return the newest reply once it is there."""
    n = page.locator("#tq-chat .tq-reply").count()
    page.fill("#tq-question textarea", question)
    page.press("#tq-question textarea", "Enter")
    page.wait_for_function(f"document.querySelectorAll('#tq-chat .tq-reply').length > {n}", timeout=60_000)
    page.wait_for_timeout(400)  # the conversation scrolls to the new exchange
    return page.locator("#tq-chat .tq-reply").last


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def choose(page, dropdown: str, text: str) -> None:
    dd = page.locator(f"{dropdown} input")
    dd.click()
    dd.fill(text)
    page.get_by_role("option", name=text, exact=False).first.click()


def test_the_question_box_stays_at_hand_with_the_newest_answer_next_to_it(page):
    replies = [ask(page, q) for q in ("What is the minimum age for NCT07110662?",
                                      "Which trials exclude pregnant women?",
                                      "Does the daratumumab trial allow pacemakers?",
                                      "Can a 76-year-old enter the daratumumab trial?")]
    assert "18" in replies[0].locator(".tq-answer-text").inner_text()
    page.evaluate("window.scrollTo(0, 0)")  # what the page shows without the user scrolling it
    geo = page.evaluate("""() => {
        const r = (e) => e.getBoundingClientRect();
        const box = r(document.querySelector('#tq-question textarea'));
        const replies = document.querySelectorAll('#tq-chat .tq-reply');
        const users = document.querySelectorAll('#tq-chat .message-row.user-row');
        return {box: [box.top, box.bottom], reply: [r(replies[replies.length - 1]).top, r(replies[replies.length - 1]).bottom],
                question: r(users[users.length - 1]).top, chat: [r(document.querySelector('#tq-chat')).top,
                r(document.querySelector('#tq-chat')).bottom], height: innerHeight};
    }""")
    assert 0 <= geo["box"][0] and geo["box"][1] <= geo["height"], geo  # the box is on screen
    assert geo["chat"][0] <= geo["question"] < geo["reply"][0] < geo["chat"][1] < geo["box"][0], geo
    assert geo["box"][0] - geo["chat"][1] < 60, geo  # the conversation ends right above the box
    newest = page.locator("#tq-chat .tq-reply").last
    assert "YES" in newest.locator(".tq-badge").first.inner_text()
    assert no_horizontal_overflow(page)
    shot(page, "chat")


def test_badges_say_yes_not_stated_and_out_of_scope(desktop):
    assert ask(desktop, "Can a 76-year-old enter the daratumumab trial?").locator(".tq-badge").inner_text() == "YES"
    assert ask(desktop, "Does the daratumumab trial allow pacemakers?").locator(".tq-badge").inner_text() == "NOT STATED"
    oos = ask(desktop, "What is the weather today?")
    assert oos.locator(".tq-badge").inner_text() == "OUT OF SCOPE" and oos.locator(".tq-cite").count() == 0


def test_a_cited_passage_is_highlighted_and_expands_to_its_context(page):
    reply = ask(page, "Which trials exclude pregnant women?")
    cite = reply.locator(".tq-cite").filter(has_text="NCT07110662").first
    assert "exclusion" in cite.inner_text() and "chars" in cite.inner_text()
    assert [m.inner_text() for m in cite.locator(".tq-quote mark").all()] == ["Pregnant", "women"]
    context = cite.locator(".tq-ctx-text")
    assert not context.is_visible()
    cite.get_by_text("Show in the record").click()
    context.wait_for(state="visible")
    assert context.locator("mark.tq-span").inner_text() == "Pregnant or breast-feeding women."
    assert "PMNs" in context.inner_text()  # the record text around the span
    assert no_horizontal_overflow(page)
    shot(page, "chat-context")


def test_this_trial_follows_the_conversation_and_the_selector_scopes_it(desktop):
    ask(desktop, "What is the minimum age for NCT07110662?")
    follow = ask(desktop, "Can a 76-year-old enter this trial?")
    assert "About NCT07110662" in follow.inner_text() and follow.locator(".tq-badge").inner_text() == "YES"
    choose(desktop, "#tq-trial", "LYell")
    scoped = ask(desktop, "What is the maximum age?")
    assert "75" in scoped.locator(".tq-answer-text").inner_text()
    assert all("TQ-347c68e68d41" in c.inner_text() for c in scoped.locator(".tq-cite-meta").all())


def test_the_trial_dropdown_text_stays_clear_of_its_arrow(page):
    choose(page, "#tq-trial", "NCT07110662")
    fit = page.evaluate("""() => {
        const input = document.querySelector('#tq-trial input');
        const arrow = document.querySelector('#tq-trial .icon-wrap').getBoundingClientRect();
        const text = input.getBoundingClientRect().right - parseFloat(getComputedStyle(input).paddingRight);
        return [text, arrow.left, input.value.length];
    }""")
    assert fit[0] <= fit[1] + 1 and fit[2] > 40, fit
    assert no_horizontal_overflow(page)


def test_eligibility_form_for_a_76_year_old(page):
    tab(page, "Check")
    choose(page, "#tq-e-trial", "LYell")
    page.locator("#tq-age").locator("textarea, input").first.fill("76")
    page.click("#tq-check")
    report = page.locator("#tq-report")
    report.get_by_text("not eligible").first.wait_for(timeout=60_000)
    assert "Overall: not eligible" in report.inner_text()
    rows = report.locator("tbody tr")
    decided = [r.inner_text() for r in rows.all() if r.locator(".tq-badge").inner_text() in ("met", "not met")]
    assert len(decided) == 1 and "Patients aged from 18 to 75 years-old" in decided[0] and "not met" in decided[0]
    # Fields left empty are not facts: no BSA or onset row may be decided.
    right = page.evaluate("Math.max(...[...document.querySelectorAll('#tq-report td')].map(e => e.getBoundingClientRect().right))")
    assert right <= page.viewport_size["width"]  # the citation column is on screen
    assert no_horizontal_overflow(page)
    report.locator("h3").evaluate("e => e.scrollIntoView({block: 'start'})")
    shot(page, "eligibility")


def test_record_text_with_script_renders_as_text(desktop):
    tab(desktop, "Trials")
    cards = desktop.locator("#tq-cards")
    card = cards.locator(".tq-card").filter(has_text="Script Escaping Test Trial")
    card.locator("summary").first.click()
    card.get_by_text("window.__pwned").wait_for(timeout=30_000)
    assert "Adults <script>window.__pwned = 1</script> aged 18 years or older" in card.inner_text()
    assert desktop.evaluate("window.__pwned") is None
    assert cards.locator("script").count() == 0


def test_the_trials_tab_sends_a_long_criteria_list_a_page_at_a_time(page):
    tab(page, "Trials")
    cards = page.locator("#tq-cards")
    short = cards.locator(".tq-card").filter(has_text="LYell")
    short.locator("summary").first.click()
    short.locator("ol li[value]").first.wait_for(timeout=30_000)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "trials")
    card = cards.locator(".tq-card").filter(has_text="Many Criteria Test Trial")
    size = lambda: page.evaluate("new Blob([document.querySelector('#tq-cards').innerHTML]).size")  # noqa: E731
    assert size() < 100_000 and f"Inclusion ({MANY})" in card.inner_text()
    card.locator("summary").first.click()
    items = card.locator("ol li[value]")
    card.get_by_role("button", name="Show 50 more").wait_for(timeout=30_000)
    assert items.count() == 50 and size() < 100_000
    card.get_by_role("button", name="Show 50 more").click()
    page.wait_for_function("document.querySelectorAll('#tq-cards ol li[value]').length >= 100", timeout=30_000)
    assert items.count() == 100
    assert no_horizontal_overflow(page)
    card.get_by_role("button", name=f"Show all {MANY - 100:,} left").click()
    page.wait_for_function(f"document.querySelectorAll('#tq-cards ol li[value]').length >= {MANY}", timeout=60_000)


def test_uploads_a_loader_would_skip_or_cannot_read_are_refused_with_the_reason(page, tmp_path, app):
    tab(page, "Add")
    msg = page.locator("#tq-add-msg")
    upload = page.locator("#tq-upload input[type=file]")
    readme = tmp_path / "README.json"
    shutil.copy(UPLOAD_RECORD, readme)
    upload.set_input_files(str(readme))
    msg.get_by_text("REFUSED").wait_for(timeout=60_000)
    assert "README.json" in msg.inner_text() and "never loaded" in msg.inner_text()
    pdf = tmp_path / "protocol.pdf"
    pdf.write_bytes(b"%PDF-1.4 not a record")
    upload.set_input_files(str(pdf))
    msg.get_by_text("protocol.pdf").wait_for(timeout=60_000)
    assert "README" not in msg.inner_text()  # a new upload clears the previous message
    assert ".pdf files are not loaded" in msg.inner_text()
    bad = tmp_path / "broken.json"
    bad.write_text('{"protocolSection": {"identificationModule": ', encoding="utf-8")
    upload.set_input_files(str(bad))
    msg.get_by_text("broken.json").wait_for(timeout=60_000)
    text = msg.inner_text()
    assert "truncated" in text and "/tmp" not in text and "gradio" not in text.lower()
    assert not page.dialogs
    assert no_horizontal_overflow(page)
    assert not app["uploads"].exists() or not any(app["uploads"].iterdir())
    shot(page, "add_trial")


def test_an_upload_goes_to_the_uploads_directory_not_the_corpus(desktop, app):
    before = sorted((p.name, p.stat().st_mtime_ns) for p in app["corpus"].iterdir())
    tab(desktop, "Add")
    desktop.locator("#tq-upload input[type=file]").set_input_files(str(UPLOAD_RECORD))
    msg = desktop.locator("#tq-add-msg")
    msg.get_by_text("ADDED").wait_for(timeout=120_000)
    assert "NCT02179567" in msg.inner_text() and UPLOAD_RECORD.name in msg.inner_text()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in app["corpus"].iterdir()) == before
    assert (app["uploads"] / UPLOAD_RECORD.name).read_bytes() == UPLOAD_RECORD.read_bytes()
    tab(desktop, "Chat")
    reply = ask(desktop, "What is the minimum age for NCT02179567?")
    assert "NCT02179567" in reply.inner_text()

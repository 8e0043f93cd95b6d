"""The real app in headless Chromium: what a person sees after asking, checking, uploading."""

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

from .conftest import DARA_SEED, MSC_SEED, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.model]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)")
    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copy(MSC_SEED, corpus)
    shutil.copy(DARA_SEED, corpus)
    (corpus / "script_trial.txt").write_text(SCRIPT_RECORD, encoding="utf-8")
    port = _free_port()
    log = open(tmp_path_factory.mktemp("log") / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "trialqa", "serve", "--corpus", str(corpus), "--index",
                             str(tmp_path_factory.mktemp("idx")), "--port", str(port)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
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
        raise RuntimeError("app did not start in 240 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.goto(app_url)
        pg.wait_for_selector("#tq-question textarea", timeout=60_000)
        pg.dialogs = dialogs
        yield pg
        browser.close()


def shot(page, name: str) -> None:
    out = os.environ.get("TRIALQA_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(out) / f"{name}.png"), full_page=True)


def tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_chat_shows_value_and_citation(page):
    tab(page, "Chat")
    page.fill("#tq-question textarea", "What is the minimum age for NCT07110662?")
    page.click("#tq-ask")
    answer = page.locator("#tq-conversation .tq-answer").first
    answer.wait_for(timeout=60_000)
    assert "18" in answer.locator(".tq-text").inner_text()
    cite = answer.locator(".tq-cite").first
    assert "NCT07110662" in cite.inner_text()
    page.fill("#tq-question textarea", "Which trials exclude pregnant women?")
    page.click("#tq-ask")
    page.wait_for_function("document.querySelectorAll('#tq-conversation .tq-answer').length >= 2", timeout=60_000)
    shot(page, "chat")


def test_eligibility_form_for_a_76_year_old(page):
    tab(page, "Eligibility")
    dd = page.locator("#tq-e-trial input")
    dd.click()
    dd.fill("LYell")
    page.get_by_role("option", name="LYell", exact=False).first.click()
    page.locator("#tq-age").locator("textarea, input").first.fill("76")
    page.click("#tq-check")
    report = page.locator("#tq-report")
    report.get_by_text("not eligible").wait_for(timeout=60_000)
    text = report.inner_text()
    assert "Overall: not eligible" in text
    assert "Patients aged from 18 to 75 years-old" in text and "not met" in text
    # Fields left empty are not facts: no BSA or onset row may be decided.
    decided = [ln for ln in text.splitlines() if ln.startswith(("met", "not met"))]
    assert all("age" in ln for ln in decided), decided
    shot(page, "eligibility")


def test_record_text_with_script_renders_as_text(page):
    tab(page, "Trials")
    cards = page.locator("#tq-cards")
    cards.get_by_text("Script Escaping Test Trial").wait_for(timeout=30_000)
    card = cards.locator(".tq-card").filter(has_text="Script Escaping Test Trial")
    card.locator("summary").first.click()
    assert "Adults <script>window.__pwned = 1</script> aged 18 years or older" in card.inner_text()
    assert page.evaluate("window.__pwned") is None
    assert cards.locator("script").count() == 0
    shot(page, "trials")


def test_uploading_a_malformed_file_shows_an_error(page, tmp_path):
    tab(page, "Add a trial")
    bad = tmp_path / "broken.json"
    bad.write_text('{"protocolSection": {"identificationModule": ', encoding="utf-8")
    page.locator("#tq-upload input[type=file]").set_input_files(str(bad))
    msg = page.locator("#tq-add-msg")
    msg.get_by_text("Error").wait_for(timeout=60_000)
    assert "broken.json" in msg.inner_text() and "truncated" in msg.inner_text()
    shot(page, "add_trial")
    assert not page.dialogs

"""The Gradio web app: chat, eligibility check, finding trials for a patient (``ui_match``), trial
browser and upload over one shared ``TrialQA``.

All record text is HTML-escaped before display. Sessions share the ``TrialQA`` (read-only except
``add_trial``, which swaps its state atomically); per-session state (the conversation, the last
trial discussed) lives in ``gr.State``. The ``render_*`` and ``highlight`` functions are pure
(strings in, HTML out) and tested without a browser.
"""

from __future__ import annotations

import html
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable

import gradio as gr

from .errors import TrialQAError
from .extraction.describe import describe
from .extraction.requirements import requirement_of
from .lexicons import stop_words
from .qa import TrialQA
from .records import Trial
from .ui_match import CSS as MATCH_CSS, find_trials_tab, merge_form, read_inputs, render_facts

ALL = "All trials"
EXAMPLES = [
    "What is the minimum age for NCT07110662?",
    "Which trials exclude pregnant women?",
    "What neutrophil count excludes a patient?",
    "Can a 76-year-old enter this trial?",
    "How many days after onset may we include?",
    "Who is the sponsor?",
]
CONTEXT_CHARS = 300  # record text shown on each side of a cited span
CITES_SHOWN = 5  # passages shown before "n more passages"
CRITERIA_PAGE = 50  # criteria loaded per "show more" in the Trials tab
TRIALS_PAGE = 20  # trial cards per page in the Trials tab
THIS_TRIAL = re.compile(r"\b(this|that|the same|the selected)\s+(trial|study)\b", re.I)

CSS = """
.tq-title h2 {margin:0 0 2px 0;font-size:1.25em} .tq-title small {font-weight:400;font-size:0.7em;color:#666;margin-left:4px}
.tq-badge {display:inline-block;padding:1px 9px;border-radius:10px;font-weight:700;font-size:0.8em;
  letter-spacing:.03em;margin-right:6px;vertical-align:1px;white-space:nowrap}
.tq-yes, .tq-met {background:#d7f5dd;color:#135c22} .tq-no, .tq-not_met {background:#fadbd8;color:#7b1d14}
.tq-unknown {background:#e8e8e8;color:#333} .tq-notstated {background:#fdf0c4;color:#6b4e00}
.tq-oos {background:#e4e0f7;color:#3b2a7a} .tq-error {background:#fadbd8;color:#7b1d14}
.tq-reply {line-height:1.45;min-width:0;overflow-wrap:anywhere}
.tq-meta {font-size:0.8em;color:#666;margin-bottom:2px}
.tq-answer-text {margin:2px 0 4px 0} .tq-answer-text ul {margin:2px 0 2px 1.2em;padding:0}
.tq-cites-h {font-size:0.8em;font-weight:600;color:#555;margin-top:8px;text-transform:uppercase;letter-spacing:.04em}
.tq-cite {border-left:3px solid #7aa7d9;padding:2px 0 2px 8px;margin:6px 0;font-size:0.92em}
.tq-cite-meta {font-size:0.85em;color:#555} .tq-cite-meta b {color:#222}
.tq-quote {margin:2px 0}
.tq-reply mark, .tq-card mark {background:#fff2a8;color:inherit;padding:0 1px;border-radius:2px}
.tq-reply mark.tq-hl-ent {background:#cfe3ff}
.tq-ctx summary, .tq-more-cites > summary {cursor:pointer;font-size:0.85em;color:#2a5ea8}
.tq-ctx-text {white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:0.82em;background:#f6f7f9;
  border-radius:6px;padding:6px 8px;margin-top:4px;max-height:16em;overflow:auto;overflow-wrap:anywhere}
.tq-ctx-text mark.tq-span {background:#fff2a8;outline:1px solid #e0c64a}
.tq-ent {display:inline-block;background:#eef3fb;border-radius:6px;padding:0 5px;margin:1px;font-size:0.8em}
.tq-verdict-not {color:#7b1d14} .tq-verdict-eligible {color:#135c22}
table.tq-table {border-collapse:collapse;width:100%;table-layout:auto;border:none !important}
table.tq-table td, table.tq-table th {padding:4px 6px;border:none;border-bottom:1px solid #e5e5e5;vertical-align:top;
  text-align:left;overflow-wrap:break-word}
table.tq-table td[data-label=status], table.tq-table td[data-label=section] {white-space:nowrap}
table.tq-table td[data-label=citation] {font-size:0.85em;color:#555}
.tq-card {border:1px solid #ddd;border-radius:8px;padding:10px;margin:8px 0;overflow-wrap:anywhere}
.tq-card-fields {font-size:0.9em;color:#444;margin:2px 0 4px 0}
.tq-req {font-family:ui-monospace,monospace;font-size:0.8em;color:#335;margin:2px 0 6px 0;overflow-wrap:anywhere}
.tq-card ol {margin:4px 0 4px 1.4em;padding:0} .tq-card li {margin:3px 0}
.tq-card summary {cursor:pointer}
button.tq-more {border:1px solid #bbb;border-radius:6px;padding:2px 10px;margin:4px 6px 4px 0;background:#f6f7f9;cursor:pointer}
.tq-msg {border:1px solid #ddd;border-radius:8px;padding:10px;margin:8px 0;overflow-wrap:anywhere}
#tq-trial input, #tq-e-trial input {text-overflow:ellipsis;padding-right:34px !important;box-sizing:border-box;min-width:0}
#tq-chat .message-row.bot-row {max-width:calc(100% - 16px)}
@media (max-width: 640px) {
  #tq-chat {height:calc(100dvh - 320px) !important}
  .tq-title h2 {font-size:1.05em}
  #tq-chat .message-row {margin-left:2px !important;margin-right:2px !important;max-width:calc(100% - 4px) !important}
  #tq-chat .message.bot {padding:6px 8px}
  #tq-chat .message-row.user-row {margin-right:30px !important;max-width:calc(100% - 32px) !important}
  table.tq-table {border:none}
  table.tq-table thead {display:none}
  table.tq-table, table.tq-table tbody, table.tq-table tr, table.tq-table td {display:block;width:auto}
  table.tq-table tr {border:1px solid #ddd;border-radius:8px;margin:6px 0;padding:6px 8px}
  table.tq-table td {border:none;padding:1px 0;font-size:0.92em;overflow-wrap:anywhere}
  table.tq-table td[data-label=status], table.tq-table td[data-label=section] {display:inline-block;margin-right:6px}
  table.tq-table td[data-label=section], table.tq-table td[data-label=citation] {color:#666;font-size:0.82em}
  table.tq-table td[data-label=reason]::before {content:"reason: ";font-weight:600;color:#555;font-size:0.9em}
}
"""

# Page-level rules: Gradio scopes ``css`` to the app's contents, so the page padding goes in <head>.
HEAD = "<style>@media (max-width: 640px) {.gradio-container .main.app {padding-left:6px !important;padding-right:6px !important}}</style>"

# Words a passage need not contain: never highlighted.
_NOT_CONTENT = {"has", "have", "had", "not", "no", "yes", "get", "got", "need", "needs", "does", "did", "anyone",
                "someone", "one", "she", "her", "him", "his", "our", "out", "can", "may", "trials", "studies"}
_IRREGULAR = {"women": "woman", "men": "man", "children": "child", "criteria": "criterion", "analyses": "analysis",
              "people": "person", "feet": "foot", "teeth": "tooth", "indices": "index"}
_TOKEN = re.compile(r"[^\W_]+")


def _esc(s) -> str:
    return html.escape("" if s is None else str(s))


def word_forms(word: str) -> set[str]:
    """A word with its likely singular forms ("pregnancies" -> pregnancy, "women" -> woman)."""
    w = word.lower()
    forms = {w}
    if w in _IRREGULAR:
        forms.add(_IRREGULAR[w])
    if len(w) > 4 and w.endswith("ies"):
        forms.add(w[:-3] + "y")
    elif len(w) > 4 and w.endswith("es"):
        forms |= {w[:-2], w[:-1]}
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        forms.add(w[:-1])
    return forms


def content_terms(question: str) -> set[str]:
    """The question's content words, each with its singular forms; a passage word matches one of
    them when the two share a form (so "women" matches "woman", "pregnancy" matches "pregnancies")."""
    stop = stop_words("passages") | stop_words("asking") | _NOT_CONTENT
    terms: set[str] = set()
    for m in _TOKEN.finditer(question or ""):
        w = m.group().lower()
        if len(w) >= 3 and w not in stop and any(ch.isalpha() for ch in w):
            terms |= word_forms(w)
    return terms


def highlight(text: str, terms: set[str], phrases=()) -> str:
    """``text`` escaped, its words sharing a form with ``terms`` in <mark>, and every occurrence of
    ``phrases`` (the answer's entity texts) in <mark class="tq-hl-ent">."""
    text = text or ""
    marks = [""] * len(text)
    for m in _TOKEN.finditer(text):
        if word_forms(m.group()) & terms:
            marks[m.start():m.end()] = ["w"] * (m.end() - m.start())
    low = text.lower()
    for p in {p.strip().lower() for p in phrases if p and len(p.strip()) >= 2}:
        i = low.find(p)
        while i >= 0:
            marks[i:i + len(p)] = ["e"] * len(p)
            i = low.find(p, i + len(p))
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and marks[j] == marks[i]:
            j += 1
        piece = _esc(text[i:j])
        out.append({"w": f"<mark>{piece}</mark>", "e": f'<mark class="tq-hl-ent">{piece}</mark>'}.get(marks[i], piece))
        i = j
    return "".join(out)


def context_html(source: str, start: int, end: int, width: int = CONTEXT_CHARS) -> str:
    """The record text around a span, escaped, the span itself marked; cut at spaces where possible."""
    start, end = max(0, min(start, len(source))), max(0, min(end, len(source)))
    a, b = max(0, start - width), min(len(source), end + width)
    if a > 0:
        space = source.find(" ", a, start)
        a = space + 1 if 0 <= space < a + 40 else a
    if b < len(source):
        space = source.rfind(" ", end, b)
        b = space if space > b - 40 else b
    return ("…" if a > 0 else "") + _esc(source[a:start]) + f'<mark class="tq-span">{_esc(source[start:end])}</mark>' \
        + _esc(source[end:b]) + ("…" if b < len(source) else "")


@lru_cache(maxsize=8)
def _read_source(path: str, stamp: tuple[int, int]) -> str:
    from .sources import read_text

    return read_text(path)


def record_text(trial: Trial) -> str | None:
    """``trial.source_text()``, cached while the file (or the archive it is a member of) is unchanged;
    None when it cannot be read."""
    from .archives import split_member

    try:
        st = os.stat((split_member(trial.source) or (trial.source,))[0])
        return _read_source(trial.source, (st.st_mtime_ns, st.st_size))
    except (OSError, TrialQAError):
        return None


def badges(ans) -> str:
    """OUT OF SCOPE, NOT STATED, or the verdict (YES / NO / UNKNOWN) of a yes/no question."""
    if ans.intent == "out_of_scope":
        return '<span class="tq-badge tq-oos">OUT OF SCOPE</span>'
    if not ans.found:
        return '<span class="tq-badge tq-notstated">NOT STATED</span>'
    if ans.verdict:
        v = ans.verdict.lower()
        cls = v if v in ("yes", "no") else "unknown"
        return f'<span class="tq-badge tq-{cls}">{_esc(v.upper())}</span>'
    return ""


def _answer_text(text: str) -> str:
    """Escaped answer text; lines starting with "- " become a list."""
    out, items = [], []
    for line in (text or "").splitlines():
        if line.startswith("- "):
            items.append(f"<li>{_esc(line[2:])}</li>")
            continue
        if items:
            out.append(f"<ul>{''.join(items)}</ul>")
            items = []
        out.append(_esc(line) + "<br>")
    if items:
        out.append(f"<ul>{''.join(items)}</ul>")
    return "".join(out).removesuffix("<br>")


def render_citation(c, terms: set[str], phrases, lookup: Callable[[str], Trial | None]) -> str:
    trial = lookup(c.trial_id)
    source = record_text(trial) if trial is not None else None
    if source is not None:
        ctx = (f'<details class="tq-ctx"><summary>Show in the record</summary>'
               f'<div class="tq-ctx-text">{context_html(source, c.start, c.end)}</div></details>')
    else:
        ctx = '<div class="tq-meta">(the record file cannot be read)</div>'
    return (f'<div class="tq-cite"><div class="tq-cite-meta"><b>{_esc(c.trial_id)}</b> · {_esc(c.section)} · '
            f'chars {c.start}–{c.end}</div><div class="tq-quote">{highlight(c.text, terms, phrases)}</div>{ctx}</div>')


def render_answer(question: str, ans, lookup: Callable[[str], Trial | None] = lambda _id: None, note: str = "") -> str:
    """One reply: badge and answer first, then the cited passages (highlighted, each expandable to
    its context in the record)."""
    terms = content_terms(question)
    phrases = [e.text for e in getattr(ans, "entities", []) or []]
    cites = [render_citation(c, terms, phrases, lookup) for c in ans.citations]
    shown, rest = cites[:CITES_SHOWN], cites[CITES_SHOWN:]
    more = (f'<details class="tq-more-cites"><summary>{len(rest)} more passage{"s" if len(rest) > 1 else ""}</summary>'
            f'{"".join(rest)}</details>') if rest else ""
    head = f'<div class="tq-cites-h">Cited passages ({len(cites)})</div>' if cites else ""
    meta = f'<div class="tq-meta">{_esc(note)}</div>' if note else ""
    return (f'<div class="tq-reply">{meta}<div class="tq-answer-text">{badges(ans)}{_answer_text(ans.text)}</div>'
            f'{head}{"".join(shown)}{more}</div>')


def render_error(exc: Exception) -> str:
    return f'<div class="tq-reply"><span class="tq-badge tq-error">ERROR</span>{_esc(exc)}</div>'


def _number(value, name: str) -> float | None:
    text = str(value or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def render_report(report) -> str:
    """The eligibility table; on narrow screens each row stacks into a labelled card (CSS)."""
    rows = "".join(
        f"<tr><td data-label='status'><span class='tq-badge tq-{_esc(c.status)}'>{_esc(c.status.replace('_', ' '))}"
        f"</span></td><td data-label='section'>{_esc(c.section)}</td><td data-label='criterion'>{_esc(c.criterion)}</td>"
        f"<td data-label='reason'>{_esc(c.reason)}</td><td data-label='citation'>{_esc(c.citation.trial_id)} · chars "
        f"{c.citation.start}–{c.citation.end}</td></tr>" for c in report.criteria)
    cls = "tq-verdict-not" if report.verdict == "not eligible" else "tq-verdict-eligible" if report.verdict == "eligible" else ""
    return (f"<h3 class='{cls}'>Overall: {_esc(report.verdict)}</h3><table class='tq-table'><thead><tr><th>status</th>"
            f"<th>section</th><th>criterion</th><th>reason</th><th>citation</th></tr></thead><tbody>{rows}</tbody></table>")


def _entity_tag(e) -> str:
    if e.label == "CONDITION":
        detail = e.concept
    else:
        val = f"{e.value:g}" if e.value is not None else ""
        if e.value2 is not None:
            val += f"–{e.value2:g}"
        detail = f"{e.analyte or e.anchor or ''} {e.op or ''} {val} {e.unit or ''}".strip()
    flag = " (neg)" if e.negated else ""
    return f'<span class="tq-ent">{_esc(e.label)}: {_esc(detail)}{flag}</span>'


def render_criteria(trial: Trial, section: str, offset: int = 0, count: int | None = CRITERIA_PAGE) -> str:
    """``<li>`` items for criteria ``offset`` … ``offset+count`` of one section, then buttons that
    load the next page or all the rest (the Trials tab fetches these when a list is opened)."""
    crits = trial.inclusion if section == "inclusion" else trial.exclusion
    stop = len(crits) if count is None else min(len(crits), offset + count)
    items = "".join(f"<li value='{i + 1}'>{_esc(c.text)}<br>{''.join(_entity_tag(e) for e in c.entities)}"
                    f"<div class='tq-req'>{_esc(describe(requirement_of(c, trial).to_dict()))}</div></li>"
                    for i, c in enumerate(crits[offset:stop], offset))
    left = len(crits) - stop
    if left > 0:
        data = f"data-trial='{_esc(trial.id)}' data-section='{_esc(section)}' data-offset='{stop}'"
        items += (f"<li class='tq-more-row' style='list-style:none'><button class='tq-more' {data} data-count='{CRITERIA_PAGE}'>"
                  f"Show {min(CRITERIA_PAGE, left)} more</button><button class='tq-more' {data} data-count='all'>"
                  f"Show all {left:,} left</button></li>")
    return items or "<li style='list-style:none'><i>none stated</i></li>"


def _trial_text(t: Trial) -> str:
    return " ".join([t.id, t.title or "", t.sponsor or "", " ".join(t.conditions)] + [c.text for c in t.criteria]).lower()


def render_card(t: Trial, query: str = "") -> str:
    """A trial's key fields and its criteria lists, collapsed and empty until opened (then loaded a
    page at a time); with a filter, the criteria that match it are shown."""
    ages = f"{t.min_age.label() if t.min_age else 'no minimum'} to {t.max_age.label() if t.max_age else 'no maximum'}"
    q = query.strip().lower()
    hits = ""
    if q:
        found = [c for c in t.criteria if q in c.text.lower()]
        if found:
            terms = content_terms(q) or word_forms(q)
            hits = "".join(f"<li>{_esc(c.section)}: {highlight(c.text, terms, [q])}</li>" for c in found[:3])
            hits = f"<div class='tq-card-fields'>Matching criteria ({len(found)}):<ul>{hits}</ul></div>"
    lists = "".join(
        f"<details data-trial='{_esc(t.id)}' data-section='{sec}'><summary>{sec.capitalize()} ({len(cs)})</summary>"
        f"<ol class='tq-crit-list'><li style='list-style:none'><i>loading…</i></li></ol></details>"
        for sec, cs in (("inclusion", t.inclusion), ("exclusion", t.exclusion)))
    fields = [("status", t.status), ("phase", "/".join(t.phases)), ("enrollment", t.enrollment), ("ages", ages),
              ("sex", t.sex), ("sponsor", t.sponsor)]
    shown = " · ".join(f"{k} {_esc(v)}" for k, v in fields if v not in (None, ""))
    return (f"<div class='tq-card'><b>{_esc(t.id)}</b> — {_esc(t.title)}<div class='tq-card-fields'>{shown}</div>"
            f"{hits}{lists}</div>")


def render_trials(trials: list[Trial], query: str = "", offset: int = 0, count: int = TRIALS_PAGE) -> str:
    """A page of trial cards matching ``query`` and a button for the next page."""
    q = (query or "").strip().lower()
    match = [t for t in trials if not q or q in _trial_text(t)]
    if not match:
        return "<i>No trial matches.</i>"
    page = match[offset:offset + count]
    html_ = "".join(render_card(t, q) for t in page)
    if offset == 0:
        html_ = f"<div class='tq-meta'>{len(match)} of {len(trials)} trial(s)</div>" + html_
    left = len(match) - offset - len(page)
    if left > 0:
        html_ += (f"<button class='tq-more' data-kind='trials' data-query='{_esc(query or '')}' "
                  f"data-offset='{offset + len(page)}'>Show {min(count, left)} more trials ({left} left)</button>")
    return html_


# Loads criteria lists when a <details> is opened, and the next page when a "show more" button is
# pressed, through the server functions of the Trials HTML component (returned HTML is escaped).
TRIALS_JS = """
const fill = async (details) => {
  const list = details.querySelector('.tq-crit-list');
  list.innerHTML = await server.criteria_page([details.dataset.trial, details.dataset.section, 0, 'page']);
};
element.addEventListener('toggle', (ev) => {
  const d = ev.target;
  if (d.tagName === 'DETAILS' && d.open && d.dataset.trial && !d.dataset.loaded) {
    d.dataset.loaded = '1';
    fill(d);
  }
}, true);
element.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button.tq-more');
  if (!b) return;
  b.disabled = true;
  b.textContent = 'Loading…';
  if (b.dataset.kind === 'trials') {
    const h = await server.trials_page([b.dataset.query, Number(b.dataset.offset)]);
    b.insertAdjacentHTML('beforebegin', h);
    b.remove();
  } else {
    const row = b.closest('li');
    const h = await server.criteria_page([b.dataset.trial, b.dataset.section, Number(b.dataset.offset), b.dataset.count]);
    row.insertAdjacentHTML('beforebegin', h);
    row.remove();
  }
});
"""


# After a question and after its answer: scroll the conversation so the newest question is at its
# top (the answer then reads from its start), or to the bottom when the newest exchange fits.
SCROLL_JS = """
() => {
  const go = () => {
    const wrap = document.querySelector('#tq-chat .bubble-wrap');
    const users = wrap ? wrap.querySelectorAll('.message-row.user-row') : [];
    const last = users[users.length - 1];
    if (last) wrap.scrollTop += last.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 6;
  };
  requestAnimationFrame(go);
  setTimeout(go, 200);
}
"""


def trial_choices(qa: TrialQA, with_all: bool = True) -> list[tuple[str, str]]:
    def label(t: Trial) -> str:
        title = t.title or ""
        return f"{t.id} · {title[:60]}{'…' if len(title) > 60 else ''}"

    rows = [(label(t), t.id) for t in qa.trials]
    return [(ALL, ALL)] + rows if with_all else rows


def _upload_name(file) -> tuple[str, str]:
    """(server path, the name the user gave): Gradio keeps the original name as the file name."""
    path = file if isinstance(file, str) else getattr(file, "name", str(file))
    return path, Path(getattr(file, "orig_name", None) or path).name


def _shown_dir(path: Path) -> str:
    """A server directory as users may see it: relative to the working directory, else its name."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve())) + "/"
    except ValueError:
        return Path(path).name + "/"


def _chat_tab(qa: TrialQA):
    trial_dd = gr.Dropdown(choices=trial_choices(qa), value=ALL, label="Ask about", elem_id="tq-trial")
    chatbot = gr.Chatbot(elem_id="tq-chat", show_label=False, height="calc(100dvh - 290px)", min_height=260,
                         render_markdown=False, latex_delimiters=[], feedback_options=None, buttons=[], autoscroll=False,
                         examples=[{"text": e} for e in EXAMPLES], group_consecutive_messages=False,
                         placeholder="Ask about eligibility, ages, labs, outcomes, sponsors... "
                                     "Every answer quotes the record it comes from.")
    with gr.Row(equal_height=True, elem_id="tq-ask-row"):
        question = gr.Textbox(show_label=False, placeholder="Ask a question…",
                              elem_id="tq-question", scale=6, min_width=150, lines=1, max_lines=4, autofocus=True,
                              container=False)
        ask_btn = gr.Button("Ask", variant="primary", elem_id="tq-ask", scale=1, min_width=64)
    history = gr.State([])
    last_trial = gr.State(None)
    pending = gr.State("")

    def post(q: str, hist: list):
        """Show the question at once and clear the box; the answer follows."""
        if not q or not q.strip():
            return gr.update(), hist, hist, ""
        hist = hist + [{"role": "user", "content": _esc(q.strip())}]
        return "", hist, hist, q.strip()

    def answer(q: str, trial: str, hist: list, last: str | None):
        if not q:
            return hist, hist, last
        scope, note = (None if trial in (None, ALL) else trial), ""
        if scope is None and last and THIS_TRIAL.search(q):
            scope, note = last, f"About {last}, the trial discussed above"
        try:
            ans = qa.ask(q, scope)
            if len(ans.trials) == 1:
                last = ans.trials[0]

            def lookup(tid):
                try:
                    return qa.trial(tid)
                except TrialQAError:
                    return None

            reply = render_answer(q, ans, lookup, note)
        except TrialQAError as exc:
            reply = render_error(exc)
        hist = hist + [{"role": "assistant", "content": reply}]
        return hist, hist, last

    def example(evt: gr.SelectData, hist: list):
        text = evt.value["text"] if isinstance(evt.value, dict) else str(evt.value)
        return post(text, hist)

    def reset():
        return [], [], None, ""

    outs = [question, chatbot, history, pending]
    for ev in (question.submit(post, [question, history], outs, queue=False),
               ask_btn.click(post, [question, history], outs, queue=False),
               chatbot.example_select(example, [history], outs, queue=False)):
        ev.then(None, js=SCROLL_JS)
        ev.then(answer, [pending, trial_dd, history, last_trial], [chatbot, history, last_trial]).then(None, js=SCROLL_JS)
    chatbot.clear(reset, None, [chatbot, history, last_trial, pending], queue=False)
    return trial_dd


def _eligibility_tab(qa: TrialQA):
    e_trial = gr.Dropdown(choices=trial_choices(qa, False), value=qa.trials[0].id if qa.trials else None,
                          label="Trial", elem_id="tq-e-trial")
    with gr.Row():
        # Text, not gr.Number: an empty field must mean "not given", never 0.
        age = gr.Textbox(label="Age (years)", elem_id="tq-age", min_width=120)
        sex = gr.Dropdown(["", "female", "male"], value="", label="Sex", min_width=120)
        days = gr.Textbox(label="Days since onset", elem_id="tq-days", min_width=120)
        bsa = gr.Textbox(label="Detached BSA %", elem_id="tq-bsa", min_width=120)
    labs = gr.Textbox(label="Lab values (one per line, e.g. PMN=1200/mm3)", lines=2)
    conds = gr.Textbox(label="Conditions present (comma-separated)")
    absent = gr.Textbox(label="Conditions absent (comma-separated)")
    with gr.Accordion("…or from a patient note or a FHIR bundle (the fields above take precedence)", open=False):
        note = gr.Textbox(label="Patient note", lines=3, elem_id="tq-e-note")
        bundle = gr.File(label="FHIR R4 bundle (.json)", file_types=[".json"], elem_id="tq-e-fhir")
    check_btn = gr.Button("Check eligibility", variant="primary", elem_id="tq-check")
    report = gr.HTML(elem_id="tq-report", js_on_load=None)

    def check(trial, age, sex, days, bsa, labs, conds, absent, note, bundle):
        try:
            age, days, bsa = (_number(v, name) for v, name in ((age, "age"), (days, "days since onset"), (bsa, "BSA %")))
            read = read_inputs(note, bundle)
        except (ValueError, TrialQAError) as exc:
            return f"<b>Error:</b> {_esc(exc)}"
        patient = {
            "age": age, "sex": sex or None, "days_since_onset": days, "bsa_percent": bsa,
            "labs": [x.strip() for x in (labs or "").splitlines() if x.strip()],
            "conditions": [x.strip() for x in (conds or "").split(",") if x.strip()],
            "absent": [x.strip() for x in (absent or "").split(",") if x.strip()],
        }
        try:
            shown = render_facts(read, _esc) if read is not None else ""
            return shown + render_report(qa.check(merge_form(read, patient), trial))
        except TrialQAError as exc:
            return f"<b>Error:</b> {_esc(exc)}"

    check_btn.click(check, [e_trial, age, sex, days, bsa, labs, conds, absent, note, bundle], report)
    return e_trial


def _trials_tab(qa: TrialQA):
    def criteria_page(args):
        """[trial id, section, offset, 'page' | 'all']: the next criteria of a list, as <li> items."""
        try:
            tid, section, offset, count = args
            trial = qa.trial(str(tid))
            if section not in ("inclusion", "exclusion"):
                raise ValueError(section)
            return render_criteria(trial, section, max(0, int(offset)), None if count == "all" else CRITERIA_PAGE)
        except (TrialQAError, ValueError, TypeError) as exc:
            return f"<li style='list-style:none'><b>Error:</b> {_esc(exc)}</li>"

    def trials_page(args):
        """[filter, offset]: the next page of trial cards."""
        try:
            query, offset = args
            return render_trials(qa.trials, str(query or ""), max(0, int(offset)))
        except (ValueError, TypeError) as exc:
            return f"<b>Error:</b> {_esc(exc)}"

    flt = gr.Textbox(label="Filter trials (id, title, sponsor, condition or criterion words)", elem_id="tq-filter")
    cards = gr.HTML(render_trials(qa.trials), elem_id="tq-cards", js_on_load=TRIALS_JS,
                    server_functions=[criteria_page, trials_page])
    flt.change(lambda q: render_trials(qa.trials, q), flt, cards, show_progress="hidden")
    return cards


def _upload_tab(qa: TrialQA, trial_dd, e_trial, cards):
    gr.Markdown("Upload a record: ClinicalTrials.gov API v2 JSON, legacy XML, or a registry page saved as text. "
                "It is validated first; a bad file changes nothing. Added records are kept apart from the "
                f"shipped corpus, in the server's `{_esc(_shown_dir(qa.uploads_dir))}` directory "
                "(`TRIALQA_UPLOADS`), and loaded with it.")
    upload = gr.File(label="Record file", file_count="single", elem_id="tq-upload")
    add_msg = gr.HTML(elem_id="tq-add-msg", js_on_load=None)

    def add(file, progress=gr.Progress()):
        """Read and index one upload; the file box is emptied after, ready for the next one."""
        if file is None:
            return "", gr.update(), gr.update(), gr.update(), gr.update()
        path, name = _upload_name(file)
        progress(0, desc=f"Reading {name}")

        def embedding(done: int, total: int) -> None:
            progress((done, total), desc="Embedding new passages", unit="passages")

        try:
            added = qa.add_trial(path, name=name, progress=embedding)
        except TrialQAError as exc:
            return (f"<div class='tq-msg'><span class='tq-badge tq-error'>REFUSED</span>{_esc(exc)}</div>",
                    None, gr.update(), gr.update(), gr.update())
        msg = "".join(f"<div class='tq-msg'><span class='tq-badge tq-yes'>ADDED</span><b>{_esc(t.id)}</b> — "
                      f"{_esc(t.title)} ({len(t.inclusion)} inclusion, {len(t.exclusion)} exclusion criteria), "
                      f"from {_esc(name)}</div>" for t in added)
        return (msg, None, gr.update(choices=trial_choices(qa)), gr.update(choices=trial_choices(qa, False)),
                render_trials(qa.trials))

    # A new upload first clears the previous message, then reads and indexes the file with progress.
    upload.upload(lambda: "", None, add_msg, queue=False).then(add, upload, [add_msg, upload, trial_dd, e_trial, cards])
    upload.clear(lambda: "", None, add_msg, queue=False)


def build(qa: TrialQA) -> gr.Blocks:
    with gr.Blocks(title="TrialQA") as demo:
        gr.Markdown("## TrialQA <small>exact, cited answers about clinical-trial records</small>", elem_classes="tq-title")
        with gr.Tab("Chat"):
            trial_dd = _chat_tab(qa)
        with gr.Tab("Check"):
            e_trial = _eligibility_tab(qa)
        with gr.Tab("Match"):
            find_trials_tab(qa, _esc, highlight)
        with gr.Tab("Trials"):
            cards = _trials_tab(qa)
        with gr.Tab("Add"):
            _upload_tab(qa, trial_dd, e_trial, cards)
    demo.queue(default_concurrency_limit=8)
    return demo


def serve(qa: TrialQA, host: str = "127.0.0.1", port: int = 7860, **launch) -> None:
    build(qa).launch(server_name=host, server_port=port, css=CSS + MATCH_CSS, head=HEAD, show_error=True, **launch)

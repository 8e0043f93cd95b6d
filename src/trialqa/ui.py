"""The Gradio web app: chat, eligibility check, trial browser and upload over one shared ``TrialQA``.

All record text is HTML-escaped before display. Sessions share the ``TrialQA`` (read-only except
``add_trial``, which swaps its state atomically); per-session state (the conversation, the last
trial discussed) lives in ``gr.State``.
"""

from __future__ import annotations

import html
import re

import gradio as gr

from .errors import TrialQAError
from .qa import TrialQA

ALL = "All trials"
EXAMPLES = [
    "What is the minimum age for NCT07110662?",
    "Which trials exclude pregnant women?",
    "What neutrophil count excludes a patient?",
    "Can a 76-year-old enter this trial?",
    "How many days after onset may we include?",
    "Who is the sponsor?",
]
CSS = """
.tq-answer {border:1px solid #ddd;border-radius:8px;padding:10px;margin:8px 0}
.tq-q {font-weight:600;margin-bottom:4px}
.tq-badge {display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;margin-right:6px;font-size:0.85em}
.tq-yes {background:#d7f5dd;color:#135c22} .tq-no {background:#fadbd8;color:#7b1d14}
.tq-unknown, .tq-notstated {background:#eee;color:#444}
.tq-cite {font-size:0.9em;border-left:3px solid #7aa7d9;padding-left:8px;margin:4px 0}
.tq-cite mark {background:#fff2a8}
.tq-ent {display:inline-block;background:#eef3fb;border-radius:6px;padding:0 5px;margin:1px;font-size:0.8em}
.tq-verdict-not {color:#7b1d14} .tq-verdict-eligible {color:#135c22}
table.tq-table td, table.tq-table th {padding:3px 6px;border-bottom:1px solid #eee;vertical-align:top}
"""
THIS_TRIAL = re.compile(r"\b(this|that|the same|the selected)\s+(trial|study)\b", re.I)


def _esc(s) -> str:
    return html.escape("" if s is None else str(s))


def _highlight(text: str, question: str) -> str:
    """Escaped text with the question's content words marked."""
    words = {w.lower().strip(".,;:?!()") for w in question.split() if len(w) > 3}
    out = []
    for token in text.split(" "):
        core = token.strip(".,;:()[]").lower()
        out.append(f"<mark>{_esc(token)}</mark>" if core and core in words else _esc(token))
    return " ".join(out)


def _number(value, name: str) -> float | None:
    text = str(value or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def render_answer(question: str, ans) -> str:
    badge = f'<span class="tq-badge tq-{_esc(ans.verdict)}">{_esc(ans.verdict.upper())}</span>' if ans.verdict else ""
    if not ans.found:
        badge += '<span class="tq-badge tq-notstated">NOT STATED</span>'
    cites = "".join(
        f'<div class="tq-cite"><b>{_esc(c.trial_id)}</b> · {_esc(c.section)} · chars {c.start}-{c.end}<br>'
        f"{_highlight(c.text, question)}</div>" for c in ans.citations)
    body = _esc(ans.text).replace("\n", "<br>")
    return (f'<div class="tq-answer"><div class="tq-q">Q: {_esc(question)}</div>{badge}'
            f'<div class="tq-text">{body}</div>{cites}</div>')


def render_report(report) -> str:
    rows = "".join(
        f"<tr><td>{_esc(c.status.replace('_', ' '))}</td><td>{_esc(c.section)}</td><td>{_esc(c.criterion)}</td>"
        f"<td>{_esc(c.reason)}</td><td>{_esc(c.citation.trial_id)} {c.citation.start}-{c.citation.end}</td></tr>"
        for c in report.criteria)
    cls = "tq-verdict-not" if report.verdict == "not eligible" else "tq-verdict-eligible" if report.verdict == "eligible" else ""
    return (f"<h3 class='{cls}'>Overall: {_esc(report.verdict)}</h3><table class='tq-table'><tr><th>status</th>"
            f"<th>section</th><th>criterion</th><th>reason</th><th>citation</th></tr>{rows}</table>")


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


def render_trials(qa: TrialQA, query: str = "") -> str:
    q = (query or "").strip().lower()
    cards = []
    for t in qa.trials:
        hay = " ".join([t.id, t.title or "", t.sponsor or "", " ".join(t.conditions)] + [c.text for c in t.criteria]).lower()
        if q and q not in hay:
            continue

        def items(crits):
            return "".join(f"<li>{_esc(c.text)}<br>{''.join(_entity_tag(e) for e in c.entities)}</li>" for c in crits)

        ages = f"{t.min_age.label() if t.min_age else 'no minimum'} to {t.max_age.label() if t.max_age else 'no maximum'}"
        cards.append(
            f"<div class='tq-answer tq-card'><b>{_esc(t.id)}</b> — {_esc(t.title)}<br>"
            f"status {_esc(t.status)} · phase {_esc('/'.join(t.phases) or 'n/a')} · enrollment {_esc(t.enrollment)} · "
            f"ages {_esc(ages)} · sex {_esc(t.sex)} · sponsor {_esc(t.sponsor)}"
            f"<details><summary>Inclusion ({len(t.inclusion)})</summary><ul>{items(t.inclusion)}</ul></details>"
            f"<details><summary>Exclusion ({len(t.exclusion)})</summary><ul>{items(t.exclusion)}</ul></details></div>")
    return "".join(cards) or "<i>No trial matches.</i>"


def trial_choices(qa: TrialQA, with_all: bool = True) -> list[tuple[str, str]]:
    rows = [(f"{t.id} · {(t.title or '')[:70]}", t.id) for t in qa.trials]
    return [(ALL, ALL)] + rows if with_all else rows


def build(qa: TrialQA) -> gr.Blocks:
    with gr.Blocks(title="TrialQA") as demo:
        gr.Markdown("## TrialQA — exact, cited answers about clinical-trial records")
        with gr.Tab("Chat"):
            trial_dd = gr.Dropdown(choices=trial_choices(qa), value=ALL, label="Trial", elem_id="tq-trial")
            conversation = gr.HTML(elem_id="tq-conversation")
            history = gr.State([])
            last_trial = gr.State(None)
            question = gr.Textbox(label="Question", placeholder="e.g. What is the minimum age?", elem_id="tq-question")
            ask_btn = gr.Button("Ask", variant="primary", elem_id="tq-ask")
            gr.Examples(EXAMPLES, inputs=question)

            def ask(q: str, trial: str, hist: list[str], last: str | None):
                if not q or not q.strip():
                    return gr.update(), hist, "", last
                scope = None if trial == ALL else trial
                if scope is None and last and THIS_TRIAL.search(q):
                    scope = last  # "this trial" follows the conversation
                try:
                    ans = qa.ask(q, scope)
                    block = render_answer(q, ans)
                    if len(ans.trials) == 1:
                        last = ans.trials[0]
                except TrialQAError as exc:
                    block = f'<div class="tq-answer"><b>Error:</b> {_esc(exc)}</div>'
                hist = [block] + hist
                return "".join(hist), hist, "", last

            ask_btn.click(ask, [question, trial_dd, history, last_trial], [conversation, history, question, last_trial])
            question.submit(ask, [question, trial_dd, history, last_trial], [conversation, history, question, last_trial])

        with gr.Tab("Eligibility"):
            e_trial = gr.Dropdown(choices=trial_choices(qa, False), value=qa.trials[0].id if qa.trials else None,
                                  label="Trial", elem_id="tq-e-trial")
            with gr.Row():
                # Text, not gr.Number: an empty field must mean "not given", never 0.
                age = gr.Textbox(label="Age (years)", elem_id="tq-age")
                sex = gr.Dropdown(["", "female", "male"], value="", label="Sex")
                days = gr.Textbox(label="Days since onset", elem_id="tq-days")
                bsa = gr.Textbox(label="Detached BSA %", elem_id="tq-bsa")
            labs = gr.Textbox(label="Lab values (one per line, e.g. PMN=1200/mm3)", lines=2)
            conds = gr.Textbox(label="Conditions present (comma-separated)")
            absent = gr.Textbox(label="Conditions absent (comma-separated)")
            check_btn = gr.Button("Check eligibility", variant="primary", elem_id="tq-check")
            report = gr.HTML(elem_id="tq-report")

            def check(trial, age, sex, days, bsa, labs, conds, absent):
                try:
                    age, days, bsa = (_number(v, name) for v, name in ((age, "age"), (days, "days since onset"), (bsa, "BSA %")))
                except ValueError as exc:
                    return f"<b>Error:</b> {_esc(exc)}"
                patient = {
                    "age": age, "sex": sex or None, "days_since_onset": days, "bsa_percent": bsa,
                    "labs": [x.strip() for x in (labs or "").splitlines() if x.strip()],
                    "conditions": [x.strip() for x in (conds or "").split(",") if x.strip()],
                    "absent": [x.strip() for x in (absent or "").split(",") if x.strip()],
                }
                try:
                    return render_report(qa.check(patient, trial))
                except TrialQAError as exc:
                    return f"<b>Error:</b> {_esc(exc)}"

            check_btn.click(check, [e_trial, age, sex, days, bsa, labs, conds, absent], report)

        with gr.Tab("Trials"):
            flt = gr.Textbox(label="Filter trials (id, title, sponsor, condition or criterion words)", elem_id="tq-filter")
            cards = gr.HTML(render_trials(qa), elem_id="tq-cards")
            flt.change(lambda q: render_trials(qa, q), flt, cards)

        with gr.Tab("Add a trial"):
            gr.Markdown("Upload a record: ClinicalTrials.gov API v2 JSON, legacy XML, or a registry page saved as text. "
                        "It is validated first; a bad file changes nothing.")
            upload = gr.File(label="Record file", file_count="single", elem_id="tq-upload")
            add_msg = gr.HTML(elem_id="tq-add-msg")

            def add(file):
                if file is None:
                    return "", gr.update(), gr.update(), gr.update()
                path = file if isinstance(file, str) else getattr(file, "name", str(file))
                try:
                    added = qa.add_trial(path)
                except TrialQAError as exc:
                    return (f"<div class='tq-answer'><b>Error:</b> {_esc(exc)}</div>", gr.update(), gr.update(), gr.update())
                msg = "".join(f"<div class='tq-answer'>Added <b>{_esc(t.id)}</b> — {_esc(t.title)} "
                              f"({len(t.inclusion)} inclusion, {len(t.exclusion)} exclusion criteria)</div>" for t in added)
                return (msg, gr.update(choices=trial_choices(qa)), gr.update(choices=trial_choices(qa, False)),
                        render_trials(qa))

            upload.upload(add, upload, [add_msg, trial_dd, e_trial, cards])
    demo.queue(default_concurrency_limit=8)
    return demo


def serve(qa: TrialQA, host: str = "127.0.0.1", port: int = 7860, **launch) -> None:
    build(qa).launch(server_name=host, server_port=port, css=CSS, show_error=True, **launch)

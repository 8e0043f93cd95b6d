"""The Gradio web app: chat, eligibility check and trial browser over one shared ``TrialQA``.

All record text is HTML-escaped before display. The ``TrialQA`` object is read-only after load, so
sessions share it; per-session state (the conversation, the selected trial) lives in ``gr.State``.
"""

from __future__ import annotations

import html

import gradio as gr

from .qa import TrialQA

ALL = "All trials"
EXAMPLES = [
    "What is the minimum age?",
    "Which trials exclude pregnant women?",
    "What neutrophil count excludes a patient?",
    "Can a 76-year-old enter this trial?",
    "How many days after onset may we include?",
    "Who is the sponsor?",
]
CSS = """
.tq-answer {border:1px solid #ddd;border-radius:8px;padding:10px;margin:8px 0}
.tq-q {font-weight:600;margin-bottom:4px}
.tq-badge {display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;margin-right:6px}
.tq-yes {background:#d7f5dd;color:#135c22} .tq-no {background:#fadbd8;color:#7b1d14}
.tq-unknown, .tq-notstated {background:#eee;color:#444}
.tq-cite {font-size:0.9em;color:#333;border-left:3px solid #7aa7d9;padding-left:8px;margin:4px 0}
.tq-cite mark {background:#fff2a8}
"""


def _esc(s: str | None) -> str:
    return html.escape(s or "")


def _highlight(text: str, question: str) -> str:
    """Escaped text with the question's content words marked."""
    words = {w.lower() for w in question.replace("?", " ").split() if len(w) > 3}
    out = []
    for token in text.split(" "):
        core = token.strip(".,;:()[]").lower()
        out.append(f"<mark>{_esc(token)}</mark>" if core in words else _esc(token))
    return " ".join(out)


def render_answer(question: str, ans) -> str:
    badge = ""
    if ans.verdict:
        badge = f'<span class="tq-badge tq-{ans.verdict}">{ans.verdict.upper()}</span>'
    if not ans.found:
        badge += '<span class="tq-badge tq-notstated">NOT STATED</span>'
    cites = "".join(
        f'<div class="tq-cite"><b>{_esc(c.trial_id)}</b> · {_esc(c.section)} · chars {c.start}-{c.end}<br>'
        f"{_highlight(c.text, question)}</div>" for c in ans.citations)
    body = _esc(ans.text).replace("\n", "<br>")
    return (f'<div class="tq-answer"><div class="tq-q">Q: {_esc(question)}</div>{badge}'
            f'<div class="tq-text">{body}</div>{cites}</div>')


def trial_choices(qa: TrialQA) -> list[tuple[str, str]]:
    return [(ALL, ALL)] + [(f"{t.id} · {(t.title or '')[:70]}", t.id) for t in qa.trials]


def build(qa: TrialQA) -> gr.Blocks:
    with gr.Blocks(title="TrialQA") as demo:
        gr.Markdown("## TrialQA — exact, cited answers about clinical-trial records")
        with gr.Tab("Chat"):
            trial_dd = gr.Dropdown(choices=trial_choices(qa), value=ALL, label="Trial")
            conversation = gr.HTML(elem_id="tq-conversation")
            history = gr.State([])
            question = gr.Textbox(label="Question", placeholder="e.g. What is the minimum age?", elem_id="tq-question")
            ask_btn = gr.Button("Ask", variant="primary", elem_id="tq-ask")
            gr.Examples(EXAMPLES, inputs=question)

            def ask(q: str, trial: str, hist: list[str]):
                if not q or not q.strip():
                    return gr.update(), hist, ""
                try:
                    ans = qa.ask(q, None if trial == ALL else trial)
                    block = render_answer(q, ans)
                except Exception as exc:  # shown to the user, not raised into the server log only
                    block = f'<div class="tq-answer"><b>Error:</b> {_esc(str(exc))}</div>'
                hist = [block] + hist
                return "".join(hist), hist, ""

            ask_btn.click(ask, [question, trial_dd, history], [conversation, history, question])
            question.submit(ask, [question, trial_dd, history], [conversation, history, question])

        with gr.Tab("Eligibility"):
            e_trial = gr.Dropdown(choices=trial_choices(qa)[1:], value=qa.trials[0].id if qa.trials else None, label="Trial")
            with gr.Row():
                age = gr.Number(label="Age (years)", value=None, elem_id="tq-age")
                sex = gr.Dropdown(["", "female", "male"], value="", label="Sex")
                days = gr.Number(label="Days since onset", value=None)
                bsa = gr.Number(label="Detached BSA %", value=None)
            labs = gr.Textbox(label="Lab values (one per line, e.g. PMN=1200/mm3)")
            conds = gr.Textbox(label="Conditions present (comma-separated)")
            absent = gr.Textbox(label="Conditions absent (comma-separated)")
            check_btn = gr.Button("Check eligibility", variant="primary", elem_id="tq-check")
            report = gr.HTML(elem_id="tq-report")

            def check(trial, age, sex, days, bsa, labs, conds, absent):
                patient = {
                    "age": age, "sex": sex or None, "days_since_onset": days, "bsa_percent": bsa,
                    "labs": [x.strip() for x in (labs or "").splitlines() if x.strip()],
                    "conditions": [x.strip() for x in (conds or "").split(",") if x.strip()],
                    "absent": [x.strip() for x in (absent or "").split(",") if x.strip()],
                }
                try:
                    r = qa.check(patient, trial)
                except Exception as exc:
                    return f"<b>Error:</b> {_esc(str(exc))}"
                rows = "".join(
                    f"<tr><td>{_esc(c.status.replace('_', ' '))}</td><td>{_esc(c.section)}</td><td>{_esc(c.criterion)}</td>"
                    f"<td>{_esc(c.reason)}</td><td>{c.citation.start}-{c.citation.end}</td></tr>" for c in r.criteria)
                return (f"<h3>Overall: {_esc(r.verdict)}</h3><table><tr><th>status</th><th>section</th><th>criterion</th>"
                        f"<th>reason</th><th>citation</th></tr>{rows}</table>")

            check_btn.click(check, [e_trial, age, sex, days, bsa, labs, conds, absent], report)

        with gr.Tab("Trials"):
            cards = []
            for t in qa.trials:
                inc = "".join(f"<li>{_esc(c.text)}</li>" for c in t.inclusion)
                exc = "".join(f"<li>{_esc(c.text)}</li>" for c in t.exclusion)
                cards.append(
                    f"<div class='tq-answer'><b>{_esc(t.id)}</b> — {_esc(t.title)}<br>status {_esc(t.status)} · "
                    f"phase {_esc('/'.join(t.phases))} · enrollment {_esc(str(t.enrollment))} · sponsor {_esc(t.sponsor)}"
                    f"<details><summary>Inclusion ({len(t.inclusion)})</summary><ul>{inc}</ul></details>"
                    f"<details><summary>Exclusion ({len(t.exclusion)})</summary><ul>{exc}</ul></details></div>")
            gr.HTML("".join(cards))
    demo.queue(default_concurrency_limit=8)
    return demo


def serve(qa: TrialQA, host: str = "127.0.0.1", port: int = 7860) -> None:
    build(qa).launch(server_name=host, server_port=port, css=CSS, show_error=True)

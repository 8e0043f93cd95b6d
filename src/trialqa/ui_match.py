"""The web app's "Match" tab (find trials): a patient note (or a FHIR bundle) in, ranked trial cards out,
each with its verdict badge, the criteria that decided it and the passages that made it relevant;
above them, the facts read from the note, marked in the note itself so a wrong reading shows.

``ui`` builds the tab and passes its escaping and highlighting helpers in (this module never
imports ``ui``, which imports it). The ``render_*`` functions are pure: strings in, HTML out."""

from __future__ import annotations

import re
from typing import Callable

import gradio as gr

from .errors import TrialQAError

CSS = """
.tq-match {border:1px solid #ddd;border-radius:8px;padding:10px;margin:8px 0;overflow-wrap:anywhere}
.tq-match h4 {margin:0 0 4px 0;font-size:1em}
.tq-m-eligible {background:#d7f5dd;color:#135c22} .tq-m-not-eligible {background:#fadbd8;color:#7b1d14}
.tq-m-undetermined {background:#e8e8e8;color:#333} .tq-m-not-relevant {background:#eceaf4;color:#555}
.tq-facts {border:1px solid #cfe3ff;background:#f5f9ff;border-radius:8px;padding:8px 10px;margin:6px 0;overflow-wrap:anywhere}
.tq-facts ul {margin:2px 0 2px 1.2em;padding:0}
.tq-note {white-space:pre-wrap;font-size:0.9em;margin-top:6px}
.tq-note mark {background:#cfe3ff;color:inherit;border-radius:2px;padding:0 1px}
.tq-match ul {margin:4px 0 4px 1.1em;padding:0} .tq-match li {margin:3px 0}
.tq-match .tq-why {font-size:0.85em;color:#555}
@media (max-width: 640px) {
  .tq-match {padding:8px 6px} .tq-match h4 {font-size:0.95em}
  .tq-match ul {margin-left:0.9em}
}
"""

STATUS_BADGE = {"met": "met", "not_met": "not met", "unknown": "unknown"}


def render_facts(facts, esc: Callable[[object], str]) -> str:
    """The facts read, as a list, and the note with each fact's source span marked."""
    lines = facts.lines()
    items = "".join(f"<li>{esc(x)}</li>" for x in lines) or "<li><i>nothing read: write age, sex, conditions, labs ...</i></li>"
    note = ""
    if facts.text:
        spans = sorted({(a, b) for v in facts.sources.values() for a, b in v})
        out, pos = [], 0
        for a, b in spans:
            if a < pos:
                continue  # overlapping spans: the first one is marked
            out.append(esc(facts.text[pos:a]) + f"<mark>{esc(facts.text[a:b])}</mark>")
            pos = b
        out.append(esc(facts.text[pos:]))
        note = f"<div class='tq-note'>{''.join(out)}</div>"
    return f"<div class='tq-facts'><b>Read from the patient</b><ul>{items}</ul>{note}</div>"


def _terms(facts) -> list[str]:
    """The phrases to mark in citations: what the patient has, had or lacks, and the words of the note read as facts."""
    words = list(facts.conditions) + list(facts.history) + list(facts.absent)
    words += [facts.text[a:b] for v in facts.sources.values() for a, b in v] if facts.text else []
    return [w for w in dict.fromkeys(words) if len(w) >= 3]


def render_match(m, rank: int, facts, esc: Callable[[object], str], highlight: Callable[..., str]) -> str:
    """One trial card: verdict badge, title, why, the deciding criteria and the relevant passages."""
    phrases = _terms(facts)
    words = {w.lower() for p in phrases for w in re.findall(r"[^\W_]+", p) if len(w) > 3}
    cls = "tq-m-" + m.verdict.replace(" ", "-")
    crit = "".join(
        f"<li><span class='tq-badge tq-{esc(c.status)}'>{esc(STATUS_BADGE.get(c.status, c.status))}</span>"
        f"{highlight(c.criterion, words, phrases)}<div class='tq-why'>{esc(c.reason)} · {esc(c.citation.section)}, "
        f"chars {c.citation.start}–{c.citation.end}</div></li>" for c in m.criteria)
    ev = "".join(f"<li>{highlight(c.text, words, phrases)}<div class='tq-why'>{esc(c.section)}, chars "
                 f"{c.start}–{c.end}</div></li>" for c in m.evidence)
    parts = [f"<div class='tq-match' data-trial='{esc(m.trial_id)}' data-verdict='{esc(m.verdict)}'>",
             f"<h4>{rank}. <span class='tq-badge {cls}'>{esc(m.verdict.upper())}</span>{esc(m.title or m.trial_id)}</h4>",
             f"<div class='tq-why'>{esc(m.trial_id)} · score {m.score:.3f} · {esc(m.reason)}</div>"]
    if crit:
        parts.append(f"<details open><summary>Criteria that decided it ({len(m.criteria)})</summary><ul>{crit}</ul></details>")
    if ev:
        parts.append(f"<details><summary>Why it is about this patient ({len(m.evidence)} passages)</summary><ul>{ev}</ul></details>")
    parts.append("</div>")
    return "".join(parts)


def render_matches(matches, esc: Callable[[object], str], highlight: Callable[..., str]) -> str:
    cards = "".join(render_match(m, i, matches.facts, esc, highlight) for i, m in enumerate(matches, 1))
    return render_facts(matches.facts, esc) + (cards or "<p><i>no trial matches this patient</i></p>")


def read_upload(file) -> dict:
    """An uploaded FHIR bundle (a path from gr.File) as a dict; ``QueryError`` names the file."""
    from pathlib import Path

    from .errors import QueryError
    from .patients.fhir import as_bundle_dict

    path = Path(getattr(file, "name", file))
    shown = getattr(file, "orig_name", None) or path.name
    try:
        return as_bundle_dict(path.read_bytes())
    except QueryError as exc:
        raise QueryError(f"{shown}: {exc}") from None
    except UnicodeDecodeError:
        raise QueryError(f"{shown}: not UTF-8 JSON") from None


def read_inputs(note: str | None, file):
    """The ``PatientFacts`` of an uploaded bundle, else of a note; ``None`` when neither is given."""
    from .patients import read_fhir, read_note

    if file is not None:
        return read_fhir(read_upload(file))
    if note and note.strip():
        return read_note(note)
    return None


def merge_form(facts, form: dict) -> dict:
    """The facts dict of a note or bundle with the form's filled-in fields over it (a field left
    empty keeps what was read; lists add up)."""
    out = facts.to_dict() if facts is not None else {}
    for key, value in form.items():
        if value in (None, "", []):
            continue
        out[key] = list(dict.fromkeys(out.get(key, []) + value)) if isinstance(value, list) else value
    return out


def find_trials_tab(qa, esc: Callable[[object], str], highlight: Callable[..., str]) -> None:
    """The tab's widgets and handler (inside a ``gr.Tab``)."""
    note = gr.Textbox(label="Patient note", lines=5, elem_id="tq-m-note",
                      placeholder="e.g. A 58-year-old woman with type 2 diabetes, h/o breast cancer s/p mastectomy, "
                                  "no history of HIV. HbA1c 8.1 %.")
    with gr.Row():
        bundle = gr.File(label="…or a FHIR R4 bundle (.json)", file_types=[".json"], elem_id="tq-m-fhir", min_width=160)
        k = gr.Slider(1, 50, value=10, step=1, label="Trials shown", min_width=160)
    go = gr.Button("Find trials", variant="primary", elem_id="tq-m-go")
    out = gr.HTML(elem_id="tq-m-results")

    def run(text, file, k):
        try:
            patient = read_upload(file) if file is not None else (text or "")
            return render_matches(qa.match(patient, k=int(k)), esc, highlight)
        except TrialQAError as exc:
            return f"<div class='tq-reply'><span class='tq-badge tq-error'>ERROR</span>{esc(exc)}</div>"

    go.click(run, [note, bundle, k], out)
    note.submit(run, [note, bundle, k], out)

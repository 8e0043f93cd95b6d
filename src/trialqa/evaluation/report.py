"""Write a gold-set ``EvalReport`` to a directory: ``report.json``, ``summary.md`` and
``accuracy_by_category.png`` (drawn with Pillow; matplotlib is not a dependency)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .qa import EvalReport

MAX_TEXT = 300  # answer text shown per failure in summary.md; report.json keeps it whole


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _sec(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{1000 * x:.1f} ms" if x < 1 else f"{x:.2f} s"


def headline_rows(r: EvalReport) -> list[tuple[str, str, str]]:
    """(metric, value, basis) rows shared by summary.md and the command line."""
    return [
        ("answer accuracy", _pct(r.accuracy), f"{r.correct}/{r.n} questions"),
        ("verdict accuracy", _pct(r.verdict_accuracy), f"{r.verdict_correct}/{r.verdict_n} with an expected verdict"),
        ("abstention precision", _pct(r.abstention_precision), f"{r.abstention_true}/{r.abstention_predicted} answers with found=False"),
        ("abstention recall", _pct(r.abstention_recall), f"{r.abstention_true}/{r.abstention_expected} gold found=False"),
        ("citation precision", _pct(r.citation_precision), f"{r.citation_n} questions with evidence"),
        ("citation recall", _pct(r.citation_recall), f"{r.citation_n} questions with evidence"),
        ("cross-trial precision", _pct(r.cross_trial_precision), f"{r.cross_trial_n} questions with a trial list"),
        (f"retrieval recall@{r.k}", _pct(r.retrieval_recall_at_k), f"{r.retrieval_n} questions with evidence"),
        (f"retrieval MRR@{r.k}", "n/a" if r.retrieval_mrr is None else f"{r.retrieval_mrr:.3f}", f"{r.retrieval_n} questions with evidence"),
        ("latency p50", _sec(r.latency_p50), "per ask()"),
        ("latency p95", _sec(r.latency_p95), f"max {_sec(r.latency_max)}"),
        ("errors", str(r.errors), "exceptions raised by ask()"),
    ]


def _cell(x: Any) -> str:
    """Markdown table cell: one line, pipes escaped."""
    return str(x).replace("|", "\\|").replace("\n", " / ")


def render_summary(r: EvalReport) -> str:
    """The markdown summary: headline metrics, per-category accuracy, extras, warnings, failures."""
    out = [f"# Gold evaluation: {r.gold or 'gold set'}", "", "| metric | value | basis |", "| --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in headline_rows(r)]
    out += ["", "## Accuracy by category", "", "| category | n | correct | accuracy |", "| --- | ---: | ---: | ---: |"]
    out += [f"| {c} | {v['n']} | {v['correct']} | {_pct(v['accuracy'])} |" for c, v in r.by_category.items()]
    extras = [i for i in r.items if i.extra_trials]
    if extras:
        out += ["", "## Extra trials in cross-trial answers (not in the gold list)", ""]
        out += [f"- `{i.id}`: {', '.join(i.extra_trials)}" for i in extras]
    if r.gold_warnings:
        out += ["", "## Gold warnings", ""] + [f"- {_cell(w)}" for w in r.gold_warnings]
    out += ["", f"## Failures ({len(r.failures)})", ""]
    if r.failures:
        out += ["| id | category | question | expected | got | why |", "| --- | --- | --- | --- | --- | --- |"]
        for f in r.failures:
            e, g = f["expected"], f["got"]
            exp = f"found={e['found']} verdict={e['verdict']}" + (f" contains={e['answer_contains']}" if e["answer_contains"] else "") \
                + (f" numbers={e['numbers']}" if e["numbers"] else "") + (f" trials={e['trials']}" if e["trials"] else "")
            text = g["text"] or ""
            text = text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
            got = f"found={g['found']} verdict={g['verdict']} intent={g['intent']} trials={g['trials']}: {text}"
            out.append("| " + " | ".join(_cell(x) for x in (f["id"], f["category"], f["question"], exp, got, "; ".join(f["reasons"]))) + " |")
    return "\n".join(out) + "\n"


# --- bar chart -----------------------------------------------------------------------------------

def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # scalable when Pillow has FreeType
    except TypeError:  # very old Pillow: fixed bitmap font
        return ImageFont.load_default()


def bar_chart(rows: list[tuple[str, float, str]], path: str | Path, title: str,
              reference: float | None = None) -> Path:
    """Horizontal bar chart of fractions (0..1): one labelled bar per row with its annotation at
    the end, a 0-100 % axis with grid lines, and an optional dashed reference line (e.g. overall)."""
    from PIL import Image, ImageDraw

    font, small, bold = _font(15), _font(13), _font(18)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max([probe.textlength(lbl, font=font) for lbl, _, _ in rows] + [60])
    note_w = max([probe.textlength(n, font=small) for _, _, n in rows] + [40])
    left, bar_w, row_h, top = int(label_w) + 24, 480, 28, 64
    width = left + bar_w + int(note_w) + 30
    height = top + row_h * len(rows) + 48
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    d.text((16, 16), title, fill="black", font=bold)
    axis_y = top + row_h * len(rows) + 4
    for tick in range(0, 101, 25):
        x = left + bar_w * tick / 100
        d.line([(x, top - 6), (x, axis_y)], fill="#dddddd")
        d.text((x, axis_y + 6), f"{tick}%", fill="#555555", font=small, anchor="mt")
    if reference is not None:  # drawn before the bars so the labels stay on top of it
        x = left + bar_w * min(max(reference, 0.0), 1.0)
        for y0 in range(top - 6, axis_y, 8):
            d.line([(x, y0), (x, min(y0 + 4, axis_y))], fill="#1565c0", width=2)
        d.text((x, top - 10), f"overall {100 * reference:.0f}%", fill="#1565c0", font=small, anchor="mb")
    for i, (label, value, note) in enumerate(rows):
        y = top + i * row_h
        v = min(max(value, 0.0), 1.0)
        # Colour by band so weak categories stand out without reading every number.
        colour = "#2e7d32" if v >= 0.8 else "#f9a825" if v >= 0.5 else "#c62828"
        d.text((left - 10, y + row_h / 2), label, fill="black", font=font, anchor="rm")
        if v > 0:
            d.rectangle([left, y + 5, left + bar_w * v, y + row_h - 5], fill=colour)
        at = (left + bar_w * v + 6, y + row_h / 2)
        box = d.textbbox(at, note, font=small, anchor="lm")
        d.rectangle([box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2], fill="white")
        d.text(at, note, fill="black", font=small, anchor="lm")
    d.line([(left, top - 6), (left, axis_y)], fill="black")
    path = Path(path)
    img.save(path)
    return path


def write_report(report: EvalReport, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, summary.md and accuracy_by_category.png into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "summary": out / "summary.md", "chart": out / "accuracy_by_category.png"}
    paths["json"].write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    paths["summary"].write_text(render_summary(report), encoding="utf-8")
    rows = [(cat, v["accuracy"], f"{100 * v['accuracy']:.0f}% ({v['correct']}/{v['n']})")
            for cat, v in sorted(report.by_category.items(), key=lambda kv: (-kv[1]["accuracy"], kv[0]))]
    bar_chart(rows, paths["chart"], f"Answer accuracy by category ({report.correct}/{report.n} correct)",
              reference=report.accuracy)
    return paths

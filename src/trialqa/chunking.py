"""Chunks: one per criterion, sentence-sized pieces of prose, and short field chunks.

Every chunk keeps the trial id, its section, its text and its character span in the record's
source file. Chunk ids are content hashes, so an unchanged chunk keeps its id across builds.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

from .records import Trial
from .sections import fold

CHUNKING_VERSION = 5  # raise when chunk_trial makes other chunks from the same record (2: outcomes, 3: by sentence, 4: intervention and arm descriptions, 5: no label-only passages)
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9(\"'])")
MAX_CHUNK_CHARS = 600  # longer prose sentences are cut at clause boundaries
PROSE_SECTIONS = ("summary", "description", "design", "intervention", "results", "adverse_events")
PARAGRAPH = re.compile(r"\n[ \t\r]*\n")


@dataclass(frozen=True)
class Chunk:
    id: str
    trial_id: str
    section: str  # inclusion, exclusion, summary, description, design, title, conditions, intervention, outcome
    text: str
    start: int
    end: int
    group: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def embed_text(self) -> str:
        """What the encoder sees: the criterion with its lead-in, so "ANC >= 1,500" under
        "Adequate bone marrow function:" keeps that context."""
        return f"{self.group}: {self.text}" if self.group else self.text


def chunk_id(trial_id: str, section: str, text: str, start: int) -> str:
    return hashlib.sha1(f"{trial_id}\x1f{section}\x1f{start}\x1f{text}".encode("utf-8")).hexdigest()[:16]


def text_key(text: str) -> str:
    """Key of a text for the embedding cache: identical texts are embedded once."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans; paragraphs (blank-line separated) never share a sentence."""
    spans = []
    para_start = 0
    bounds = [(m.start(), m.end()) for m in PARAGRAPH.finditer(text)] + [(len(text), len(text))]
    for p_end, next_start in bounds:
        last = para_start
        for m in SENTENCE_END.finditer(text, para_start, p_end):
            spans.append((last, m.start()))
            last = m.end()
        spans.append((last, p_end))
        para_start = next_start
    out = []
    for a, b in spans:
        while b - a > MAX_CHUNK_CHARS:
            cut = max(text.rfind(sep, a, a + MAX_CHUNK_CHARS) for sep in ("; ", ", ", " "))
            cut = cut if cut > a else a + MAX_CHUNK_CHARS
            out.append((a, cut))
            a = cut + 1
        out.append((a, b))
    return [(a, b) for a, b in out if text[a:b].strip()]


_ROMAN = re.compile(r"\b[IVXLivxl]+\b")


def has_content(text: str) -> bool:
    """Whether a passage has a word in it: "II.", "3." or "D." alone are list labels, not evidence."""
    return bool(re.search(r"[^\W\d_]{2,}", _ROMAN.sub("", text)))


def chunk_trial(trial: Trial) -> list[Chunk]:
    chunks: list[Chunk] = []

    def add(section: str, text: str, start: int, end: int, group: str | None = None) -> None:
        text = fold(text)
        if text:
            chunks.append(Chunk(chunk_id(trial.id, section, text, start), trial.id, section, text, start, end, group))

    if trial.title and "title" in trial.spans:
        add("title", trial.title, *trial.spans["title"])
    for c in trial.criteria:
        add(c.section, c.text, c.start, c.end, c.group)
    from .sources import unescape_markdown

    clean = unescape_markdown if trial.format == "registry_text" else (lambda x: x)
    def add_prose(section: str, mt, group: str | None = None) -> None:
        for a, b in _sentences(mt.text):
            if not has_content(mt.text[a:b]):
                continue  # outline numbering ("II.", "3.") cut off by the sentence splitter
            lead = len(mt.text[a:b]) - len(mt.text[a:b].lstrip())
            s, e = mt.raw_span(a + lead, b)
            add(section, clean(mt.text[a:b]), s, e, group)

    for key in PROSE_SECTIONS:
        if trial.texts.get(key) is not None:
            add_prose(key, trial.texts[key])
    # Intervention and arm descriptions state doses and schedules ("90 mg brigatinib once daily").
    for i, iv in enumerate(trial.interventions):
        if trial.texts.get(f"intervention[{i}]") is not None:
            add_prose("intervention", trial.texts[f"intervention[{i}]"], iv.name)
    for i, arm in enumerate(trial.arms):
        if trial.texts.get(f"arm[{i}]") is not None:
            add_prose("intervention", trial.texts[f"arm[{i}]"], arm.label)
    for i, o in enumerate(trial.outcomes):
        # The kind goes into what the encoder sees: "primary outcome: Objective Response Rate".
        add("outcome", o.measure, o.start, o.end, f"{o.kind} outcome")
        if trial.texts.get(f"outcome_description[{i}]") is not None:
            add_prose("outcome", trial.texts[f"outcome_description[{i}]"], f"{o.kind} outcome {o.measure}")
    for i, cond in enumerate(trial.conditions):
        span = trial.spans.get(f"conditions[{i}]")
        if span:
            add("conditions", cond, *span)
    return chunks


def chunk_corpus(trials: list[Trial]) -> list[Chunk]:
    return [c for t in trials for c in chunk_trial(t)]

"""Loading a corpus: walking a directory, reading each file with the reader for its format,
dropping duplicate trials and collecting the errors of bad files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

from ..errors import CorpusError, CorpusErrors
from ..records import Trial
from ..sources import detect_format, read_text
from .ctgov_json import read_json
from .ctgov_xml import read_xml
from .registry_page import read_registry_text

SKIP_SUFFIXES = {".md", ".rst", ".pdf", ".png", ".jpg", ".gz", ".tgz", ".zip", ".ann", ".py"}
READERS: dict[str, Callable[[str, str], list[Trial]]] = {
    "ctgov_json": read_json, "ctgov_xml": read_xml, "registry_text": read_registry_text}


class Corpus(list):
    """A list of ``Trial`` plus ``errors``: the ``CorpusError`` of every file that failed."""

    def __init__(self, trials: Iterable[Trial] = (), errors: list[CorpusError] | None = None):
        super().__init__(trials)
        self.errors: list[CorpusError] = errors or []


def read_records(path: str | os.PathLike) -> list[Trial]:
    """Read one file into its trials (a JSON file may hold many)."""
    name = str(path)
    text = read_text(path)
    trials = READERS[detect_format(text)](text, name)
    if not trials:
        raise CorpusError(name, "no trial record found in file")
    return trials


def iter_record_files(root: Path) -> list[Path]:
    """The record files under ``root`` in sorted walk order; hidden files, READMEs and documents are left out."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if fn.startswith(".") or fn.upper().startswith("README") or p.suffix.lower() in SKIP_SUFFIXES:
                continue
            files.append(p)
    return files


def load_corpus(path: str | os.PathLike, *, strict: bool = False, extract: bool = True,
                progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Load trials from a record file or a directory (recursive).

    A single bad file raises ``CorpusError``. For a directory, bad files are reported in the
    returned ``Corpus.errors`` (or raised together as ``CorpusErrors`` when ``strict``) and every
    good file still loads. Duplicate trial ids keep the first record and report the others.
    ``extract`` attaches extracted entities to each criterion.
    """
    root = Path(path)
    if not root.exists():
        raise CorpusError(str(root), "no such file or directory")
    if root.is_file():
        corpus = Corpus(read_records(root))
    else:
        files = iter_record_files(root)
        corpus = Corpus()
        seen: dict[str, str] = {}
        for i, f in enumerate(files):
            try:
                trials = read_records(f)
            except CorpusError as exc:
                corpus.errors.append(exc)
                continue
            except Exception as exc:  # a reader bug must not lose the rest of the corpus
                corpus.errors.append(CorpusError(str(f), f"unexpected error while reading: {exc!r}"))
                continue
            for t in trials:
                if t.id in seen:
                    corpus.errors.append(CorpusError(str(f), f"duplicate trial id {t.id} (already read from {seen[t.id]}); skipped"))
                    continue
                seen[t.id] = str(f)
                corpus.append(t)
            if progress:
                progress(i + 1, len(files))
        if strict and corpus.errors:
            raise CorpusErrors(corpus.errors, list(corpus))
    # Imported late: importing the corpus (a one-shot CLI call) must not load the extraction machinery.
    from ..extraction import ages_from_criteria, attach_entities

    if extract:
        attach_entities(corpus)
    _intervention_doses(corpus)
    for t in corpus:
        # Records that state ages only in their criteria ("aged from 18 to 75") get them from there.
        if t.min_age is None or t.max_age is None:
            lo, hi = ages_from_criteria(t)
            t.min_age = t.min_age or lo
            t.max_age = t.max_age or hi
    return corpus


def _intervention_doses(trials: Iterable[Trial]) -> None:
    """Dose and route of each intervention, where its name or description states them."""
    from ..extraction import rules

    r = rules()
    for t in trials:
        for iv in t.interventions:
            doses = [e for e in r.extract(f"{iv.name}. {iv.description or ''}") if e.label == "DOSE"]
            if doses:
                iv.dose = doses[0].text.strip()
                iv.route = doses[0].route

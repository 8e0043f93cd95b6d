"""What answering needs from the orchestrator: the trials, one trial by reference, and passage search.

``qa.TrialQA`` satisfies it; answering never imports ``qa``, so the orchestrator sits above it."""

from __future__ import annotations

from typing import Protocol, Sequence

from ..records import Trial


class Retriever(Protocol):
    def search(self, query: str, k: int = 5, trial: str | None = None, sections=None) -> list: ...


class TrialStore(Protocol):
    """The trials a question may be about, and search over their passages."""

    trials: Sequence[Trial]
    retriever: Retriever

    def trial(self, ref: str) -> Trial: ...

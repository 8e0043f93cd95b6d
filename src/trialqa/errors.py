"""Exception hierarchy: every user-facing failure is a ``TrialQAError`` with an actionable message."""

from __future__ import annotations


class TrialQAError(Exception):
    """Base class for errors TrialQA reports to users (the CLI prints them without a traceback)."""


class ConfigError(TrialQAError):
    """A setting, environment variable or data file is invalid."""


class CorpusError(TrialQAError):
    """A trial record cannot be read.

    ``path`` names the file, ``reason`` says what is wrong and ``line`` points at it where it applies.
    """

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


class CorpusErrors(TrialQAError):
    """Several records failed; ``errors`` lists each ``CorpusError``, ``trials`` what still loaded."""

    def __init__(self, errors: list[CorpusError], trials: list | None = None):
        self.errors = errors
        self.trials = trials or []
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"{len(errors)} record file(s) could not be read:\n{lines}")


class IndexError_(TrialQAError):
    """An index on disk is missing, stale, corrupt or was built with another model."""


class ModelError(TrialQAError):
    """An embedding or spaCy model cannot be loaded."""


class QueryError(TrialQAError):
    """A question, search or patient description is unusable (empty, wrong type, unknown trial)."""


__all__ = [
    "TrialQAError",
    "ConfigError",
    "CorpusError",
    "CorpusErrors",
    "IndexError_",
    "ModelError",
    "QueryError",
]

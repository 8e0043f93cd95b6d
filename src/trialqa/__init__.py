"""TrialQA: exact, cited answers about clinical-trial records.

Public API::

    from trialqa import load_corpus, extract_criteria
    trials = load_corpus("corpus")
    entities = extract_criteria("PMNs < 1,500 /mm3 on CBC at inclusion visit.")
"""

from __future__ import annotations

from .errors import ConfigError, CorpusError, CorpusErrors, IndexError_, ModelError, QueryError, TrialQAError

__version__ = "0.1.0"


def load_corpus(path, **kwargs):
    """Load trials from a record file or directory; see ``trialqa.corpus.load_corpus``."""
    from .corpus import load_corpus as _load

    return _load(path, **kwargs)


def extract_criteria(text, polarity=None):
    """Extract criteria entities from text; see ``trialqa.extraction.extract_criteria``."""
    from .extraction import extract_criteria as _extract

    return _extract(text, polarity)


def __getattr__(name):
    # Heavy classes load on first use so `import trialqa` stays fast.
    if name in ("Trial", "Criterion", "Age"):
        from . import records

        return getattr(records, name)
    if name == "CriterionEntity":
        from .extraction import CriterionEntity

        return CriterionEntity
    if name == "TrialQA":
        from .qa import TrialQA

        return TrialQA
    raise AttributeError(f"module 'trialqa' has no attribute {name!r}")


__all__ = [
    "load_corpus", "extract_criteria", "TrialQA", "Trial", "Criterion", "CriterionEntity",
    "TrialQAError", "ConfigError", "CorpusError", "CorpusErrors", "IndexError_", "ModelError", "QueryError",
]

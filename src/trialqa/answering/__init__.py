"""Answer composition: from a question to a cited answer, and the eligibility check of a patient.

``router`` holds the way a question travels (its docstring is the route table); ``question``
reads the question, ``scope`` picks the trials, and ``fields``, ``criteria``, ``passages``,
``patient`` and ``cross_trial`` compose the answers that ``results`` defines.
"""

from .concepts import ancestors
from .patient import check_eligibility
from .question import Question, analyse
from .results import Answer, Citation, CriterionResult, EligibilityReport
from .router import ROUTES, answer_question
from .fields import detect_field
from .scope import resolve_trials

__all__ = ["ROUTES", "Answer", "Citation", "CriterionResult", "EligibilityReport", "Question", "analyse", "ancestors",
           "answer_question", "check_eligibility", "detect_field", "resolve_trials"]

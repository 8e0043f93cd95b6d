"""Rule-based extraction of criteria entities: ages, time windows, percentages, lab thresholds,
doses and named concepts, with negation/hedging and inclusion/exclusion polarity.

The rules live in ``trialqa/data/*.json`` (``lexicon``). ``Rules.extract`` works on plain text and
returns ``CriterionEntity`` objects with offsets; the spaCy component in ``pipeline`` wraps it and
puts the entities in ``doc.spans["criteria"]``. ``extract_criteria(text)`` is the public entry
point; spaCy is imported only when it first runs.

Layers, each importing only those before it: ``entity``, ``gazetteer``, ``lexicon``, ``context``
and ``quantities``, ``rules``, ``pipeline``, ``annotate``.
"""

from ..units import convert, unit_factor
from .annotate import ages_from_criteria, attach_entities, enrollment_age, extract_criteria
from .entity import CriterionEntity
from .gazetteer import Gazetteer
from .requirements import Atom, Requirement, compile_criterion, compile_trial, requirement_of
from .rules import Rules, rules

__all__ = ["Atom", "CriterionEntity", "Requirement", "compile_criterion", "compile_trial", "requirement_of", "Gazetteer", "Rules", "ages_from_criteria", "attach_entities", "convert", "enrollment_age",
           "extract_criteria", "rules", "unit_factor"]

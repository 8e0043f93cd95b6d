"""Patient readers: a free-text note or a FHIR R4 bundle becomes ``PatientFacts``, whose ``to_dict()``
is the facts dict ``TrialQA.check`` and ``TrialQA.match`` read (docs/patient_facts.md)."""

from .facts import FACT_KEYS, PatientFacts
from .fhir import read_fhir
from .note import own_text, read_age_and_sex, read_note

__all__ = ["FACT_KEYS", "PatientFacts", "own_text", "read_age_and_sex", "read_fhir", "read_note"]

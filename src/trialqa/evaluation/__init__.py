"""Evaluation of TrialQA components against annotated corpora (brat standoff)."""

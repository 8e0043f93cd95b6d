"""The spaCy pipeline: scispaCy's tokenizer and abbreviation detector on a blank English pipeline
(or an installed trained pipeline named by ``TRIALQA_SPACY_MODEL``), plus TrialQA's criteria
component. Entities land in ``doc.spans["criteria"]`` (they may overlap); each span carries its
``CriterionEntity`` as ``span._.entity``.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from .. import config
from ..errors import ModelError
from .entity import CriterionEntity
from .rules import rules

_USER_KEY = "trialqa_entities"


def _span_entity(span: Span) -> CriterionEntity | None:
    # Entities are kept per span_id: spaCy keys extension values by token boundaries and label,
    # which two entities over the same tokens ("SJS/NET": SJS and TEN) would share.
    return span.doc.user_data.get(_USER_KEY, {}).get(span.id)


# scispaCy's abbreviation detector warns on every doc that its global matcher has no patterns.
warnings.filterwarnings("ignore", message=r".*\[W036\].*")

if not Span.has_extension("entity"):
    Span.set_extension("entity", getter=_span_entity)


class CriteriaComponent:
    """Runs the rule set over the doc text and adds the entities as spans."""

    def __init__(self, nlp: Language, name: str, span_key: str, use_abbreviations: bool):
        self.span_key = span_key
        self.use_abbreviations = use_abbreviations
        self.rules = rules()

    def __call__(self, doc: Doc) -> Doc:
        ents = self.rules.extract(doc.text)
        if self.use_abbreviations and Doc.has_extension("abbreviations"):
            ents.extend(self._abbreviation_mentions(doc, ents))
        spans, store = [], {}
        for i, e in enumerate(ents, start=1):
            span = doc.char_span(e.start, e.end, label=e.label, alignment_mode="expand", span_id=i)
            if span is None:
                continue
            store[span.id] = e
            spans.append(span)
        doc.user_data[_USER_KEY] = store
        doc.spans[self.span_key] = spans
        return doc

    def _abbreviation_mentions(self, doc: Doc, ents: list[CriterionEntity]) -> list[CriterionEntity]:
        """Short forms defined in the text ("hereditary fructose intolerance (HFI)") inherit the concept of
        their long form, so later mentions of the short form are found even when no lexicon lists it."""
        covered = {(e.start, e.end) for e in ents}
        extra = []
        # scispaCy keeps the abbreviations in a set: in text order, every run finds them alike.
        for short in sorted(doc._.abbreviations, key=lambda sp: (sp.start_char, sp.end_char)):
            long_text = short._.long_form.text
            concept = self.rules.concept_lookup(long_text)
            if not concept:
                continue
            s, e = short.start_char, short.end_char
            if any(a <= s and e <= b for a, b in covered):
                continue
            ent = CriterionEntity("CONDITION", short.text, s, e, concept=concept,
                                  concept_type=self.rules.concepts[concept]["type"])
            ent.negated, ent.hedged = self.rules.context_flags(doc.text, s, e)
            extra.append(ent)
            covered.add((s, e))
        return extra


@Language.factory("trialqa_criteria", default_config={"span_key": "criteria", "use_abbreviations": True})
def make_criteria_component(nlp: Language, name: str, span_key: str, use_abbreviations: bool) -> CriteriaComponent:
    return CriteriaComponent(nlp, name, span_key, use_abbreviations)


@lru_cache(maxsize=1)
def nlp() -> Language:
    """The pipeline, built once per process."""
    name = config.spacy_model()
    with warnings.catch_warnings():
        # scispaCy's tokenizer regexes trigger a harmless FutureWarning on recent Pythons.
        warnings.simplefilter("ignore", FutureWarning)
        if name:
            try:
                pipe = spacy.load(name, exclude=["ner"])
            except OSError:
                raise ModelError(f"TRIALQA_SPACY_MODEL={name!r} is not an installed spaCy pipeline; "
                                 "install it or unset the variable to use the blank pipeline") from None
        else:
            pipe = spacy.blank("en")
        try:
            from scispacy.custom_tokenizer import combined_rule_tokenizer

            pipe.tokenizer = combined_rule_tokenizer(pipe)
            import scispacy.abbreviation  # noqa: F401  (registers the factory)

            pipe.add_pipe("abbreviation_detector")
        except ImportError:
            pass  # plain spaCy tokenizer; abbreviations then come from the lexicons only
        pipe.add_pipe("trialqa_criteria")
    return pipe

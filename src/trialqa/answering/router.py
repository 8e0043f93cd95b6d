"""How a question travels.

``answer_question`` analyses the question once (``question.analyse``) and resolves its scope
(``scope.resolve_trials``). Out of scope, with ``found=False``: an NCT id that is not in the
records, a reference to a trial no record matches ("the KEYNOTE-189 trial"), and a question about
something else than trial records (``scope.off_topic``). A question about trials in general
("Which trials ...?") or about several trials it did not name goes to ``cross_trial``. Otherwise each trial in scope is answered by the first route of
``ROUTES`` that applies and gives an answer, in this order:

1. ``patient``: the question describes a patient (age, values, times, conditions): each fact
   against the trial's criteria.
2. ``descriptive``: it asks for a summary, rationale, definition ("describe", "according to"):
   prose passages that cover its words.
3. ``field``: it asks for a record field with a strong cue (phase, sponsor, enrollment, ...), or
   names no criteria target: the field's value, cited.
4. ``time passages``: a time question with no target or anchor ("How long is follow-up?").
5. ``listing``: "List the inclusion criteria".
   ``time in prose``: "how long ...?" about a concept no criterion gives a time for: the prose
   passages that state it ("rheumatoid arthritis for less than 2 years" in a summary).
6. ``criteria``: it names concepts, analytes or a kind of threshold: the criteria that state them.
7. ``field (weak)``: a field cue left over once criteria gave nothing.
8. ``passages``: the passages that cover its content words, else "not stated".

Nothing is borrowed across trials: every route reads only the trial it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..errors import QueryError
from ..records import Trial
from .criteria import criteria_answer, list_criteria
from .cross_trial import cross_trial_answer
from .fields import FIELD_HANDLERS, detect_field, is_strong
from .passages import passages_answer, timed_prose
from .patient import patient_answer
from .question import NCT, Question, analyse
from .results import Answer, not_stated
from .scope import off_topic, resolve_trials, unknown_reference
from .store import TrialStore
from .vocabulary import V

MAX_QUESTION_CHARS = 2000


@dataclass
class Context:
    """One question about one trial, with the field cue read once."""

    qa: TrialStore
    q: Question
    t: Trial
    field: str | None

    @property
    def targets(self) -> bool:
        return bool(self.q.concepts or self.q.analytes or self.q.kind)


@dataclass(frozen=True)
class Route:
    name: str
    applies: Callable[[Context], bool]
    answer: Callable[[Context], Answer | None]


def _field_answer(c: Context) -> Answer | None:
    ans = FIELD_HANDLERS[c.field](c.t, c.q)
    if ans is not None:
        ans.intent = c.field
    return ans


_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|hundred)\b", re.I)


def _criteria(c: Context) -> Answer | None:
    ans = criteria_answer(c.qa, c.q, c.t)
    if ans is not None and ans.found and not c.q.yes_no and V.count_question.search(c.q.text) \
            and not any(_counts(x.text, c.t, c.q) for x in ans.citations):
        # "How many cigarettes a day must they smoke?" is not answered by criteria that give no number.
        return not_stated(c.t, "a number for this", "criteria", c.q)
    return ans


def _counts(text: str, t: Trial, q: Question) -> bool:
    """Whether a cited criterion states a number other than a time window (unless time is asked)."""
    crit = next((x for x in t.criteria if x.text == text), None)
    if crit is not None and q.kind != "TIME_WINDOW":
        for e in sorted((e for e in crit.entities if e.label == "TIME_WINDOW"), key=lambda e: -e.start):
            text = text[:e.start] + " " * (e.end - e.start) + text[e.end:]
    return bool(_NUMBER.search(text))


def _timed_criterion(c: Context) -> bool:
    """Whether a criterion states a time window about a concept the question names; when none does,
    "How long can someone have had rheumatoid arthritis?" is answered from the summary."""
    return any(any(e.label == "TIME_WINDOW" for e in x.entities) and any(e.label == "CONDITION" and e.concept in c.q.concepts
                                                                         for e in x.entities) for x in c.t.criteria)


def _listing(c: Context) -> Answer:
    return list_criteria(c.t, V.listing.search(c.q.text).group(2).lower())


ROUTES: tuple[Route, ...] = (
    Route("patient", lambda c: bool(c.q.patient) and bool(set(c.q.patient) - {"lacks"}),
          lambda c: patient_answer(c.q, c.t)),
    Route("descriptive", lambda c: bool(V.descriptive.search(c.q.text)),
          lambda c: passages_answer(c.qa, c.q, c.t, quiet=True, prose_first=True)),
    Route("field", lambda c: bool(c.field) and (is_strong(c.field, c.q) or not c.targets), _field_answer),
    Route("time passages", lambda c: c.q.kind == "TIME_WINDOW" and not (c.q.concepts or c.q.analytes or c.q.anchor),
          lambda c: passages_answer(c.qa, c.q, c.t, quiet=True)),
    Route("listing", lambda c: bool(V.listing.search(c.q.text)), _listing),
    Route("time in prose", lambda c: c.q.kind == "TIME_WINDOW" and bool(c.q.concepts) and not c.q.yes_no
          and bool(V.time_question.search(c.q.text)) and not _timed_criterion(c),
          lambda c: timed_prose(c.q, c.t)),
    Route("criteria", lambda c: c.targets, _criteria),
    Route("field (weak)", lambda c: bool(c.field), _field_answer),
    Route("passages", lambda c: True, lambda c: passages_answer(c.qa, c.q, c.t)),
)


def answer_question(qa: TrialStore, question: str, trial: str | None = None) -> Answer:
    """Answer ``question`` (optionally about one ``trial``) from the records of ``qa``."""
    if not isinstance(question, str) or not question.strip():
        raise QueryError("the question is empty")
    question = question.strip()[:MAX_QUESTION_CHARS]
    q = analyse(question)
    try:
        trials, named = resolve_trials(qa, question, trial, q)
    except QueryError as exc:
        return _out_of_scope(f"{exc}.")
    if not trials:
        return Answer("There are no trial records to answer from.", False, None, [], [], [], "out_of_scope")
    if V.off_topic.search(question):
        # A price, the weather, a poem: no trial record holds it, whichever trial the question names.
        return _out_of_scope("This question is not about what the trial records state, so TrialQA cannot answer it.")
    if V.cross_trial.search(question) and trial is None and not NCT.search(question):
        # "Which studies test a vaccine?" is about all the trials, whatever its words name.
        trials, named = list(qa.trials), False
    if not named or len(qa.trials) == 1:
        ref = unknown_reference(qa, question)
        if ref:
            return _out_of_scope(f"No trial in these records matches \u201c{ref}\u201d.")
        # With one trial, word counts say nothing about topics (off-topic requests are answered above).
        if not named and off_topic(qa, q, detect_field(q)):
            return _out_of_scope("This question is not about the trial records, so TrialQA cannot answer it.")
    if V.cross_trial.search(question) or (len(trials) > 1 and not named):
        return cross_trial_answer(qa, q, trials)
    parts = [answer_one(qa, q, t) for t in trials]
    if len(parts) == 1:
        return parts[0]
    merged = _merge(parts)
    merged.text = f"{len(parts)} trials match this question; each is answered on its own:\n" + merged.text
    return merged


def _out_of_scope(text: str) -> Answer:
    return Answer(text, False, None, [], [], [], "out_of_scope")


def answer_one(qa: TrialStore, q: Question, t: Trial) -> Answer:
    """The answer of the first route in ``ROUTES`` that applies to this trial and gives one."""
    ctx = Context(qa, q, t, detect_field(q))
    for route in ROUTES:
        if route.applies(ctx):
            ans = route.answer(ctx)
            if ans is not None:
                return ans
    raise AssertionError("the last route always answers")


def _merge(parts: list[Answer]) -> Answer:
    verdicts = {p.verdict for p in parts if p.verdict}
    return Answer("\n".join(p.text for p in parts), any(p.found for p in parts),
                  verdicts.pop() if len(verdicts) == 1 else (None if not verdicts else "unknown"),
                  [t for p in parts for t in p.trials], [c for p in parts for c in p.citations],
                  [e for p in parts for e in p.entities], parts[0].intent)

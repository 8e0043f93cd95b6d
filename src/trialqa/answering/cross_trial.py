"""Cross-trial answers: which trials of the corpus have a criterion, a field value or a patient's fit."""

from __future__ import annotations

from ..extraction import rules
from ..records import Criterion, Trial
from .concepts import ancestors
from .patient import evaluate
from .polarity import criterion_role, polarity, stated_negatively
from .question import Question
from .results import Answer, Citation, cite, cite_field, dedupe, trial_label, unique_citations
from .filters import field_filter
from .store import TrialStore
from .vocabulary import V


def cross_trial_answer(qa: TrialStore, q: Question, trials: list[Trial]) -> Answer:
    if q.patient and (set(q.patient) - {"has", "lacks"}):
        return _cross_patient(q, trials)
    filt = field_filter(q.text, strong_only=bool(q.concepts or q.analytes), excluding=q.asks_excl)
    if filt is not None:
        chosen = [t for t in trials if filt.keep(t)]
        if not chosen:
            return Answer(f"No trial in these records {filt.what}.", False, None, [], [], [], "cross_trial")
        return Answer(f"{len(chosen)} trial(s) {filt.what}:\n" + "\n".join(f"- {_name(t)}: {filt.show(t)}" for t in chosen),
                      True, None, [t.id for t in chosen], [], [], "cross_trial")
    if q.concepts and V.cross_about.search(q.text) and not q.asks_excl:
        about = _about(q, trials)
        if about:
            return about
    matched = _criteria_matches(q, q.concepts, trials)
    if not matched and len(q.concepts) > 1:
        background = _background(q.concepts, trials)
        if background and background != q.concepts:
            matched = _criteria_matches(q, q.concepts - background, trials)
    if not q.concepts and not q.analytes:
        # The same sentence in two sections (summary and description) is one passage.
        hits = dedupe(qa.retriever.search(q.text, k=8), lambda h: (h.trial_id, h.text))[:5]
        return Answer("Closest passages:\n" + "\n".join(f"- {h.trial_id}: {h.text}" for h in hits), bool(hits), None,
                      sorted({h.trial_id for h in hits}), [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in hits],
                      [], "cross_trial")
    if not matched:
        return Answer(f"No trial in these records has such a criterion ({', '.join(sorted(q.concepts | q.analytes))}).", False, None,
                      [], [], [], "cross_trial")
    lines = [f"- {_name(t)}: \u201c{c.text}\u201d" for t, c in matched]
    return Answer(f"{len(matched)} trial(s):\n" + "\n".join(lines), True, None, [t.id for t, _ in matched],
                  [cite(t, c) for t, c in matched], [], "cross_trial")


def _criteria_matches(q: Question, concepts: set[str], trials: list[Trial]) -> list[tuple[Trial, Criterion]]:
    """For each trial, its first criterion that names what is asked in the asked role."""
    matched: list[tuple[Trial, Criterion]] = []
    allow = bool(V.asks_allow.search(q.text)) and not q.asks_excl
    requires = bool(V.cross_requires.search(q.text)) and not q.asks_excl
    # "Which trials require the tumour to carry an EGFR mutation?": a criterion naming every concept
    # asked about, when any trial has one.
    every = len(concepts) > 1 and any(concepts <= _named(c) for t in trials for c in t.criteria)
    for t in trials:
        # Criteria that state the asked polarity first: "Pregnant women" states an exclusion more
        # plainly than an inclusion requiring a negative pregnancy test.
        ordered = sorted(t.criteria, key=lambda c: 0 if (polarity(c) == "exclusion") == q.asks_excl else 1)
        for c in ordered:
            names = _named(c)
            labs = {e.analyte for e in c.entities if e.analyte}
            if every and not concepts <= names:
                continue
            if not ((concepts and names & concepts) or (q.analytes and labs & q.analytes)):
                continue
            neg = any(e.negated or stated_negatively(c, e.start) for e in c.entities if e.label == "CONDITION" and e.concept in concepts)
            role = criterion_role(c, neg)
            if q.asks_excl and role != "Exclusion":
                continue
            if allow and role == "Exclusion" and not V.allowance.search(c.text):
                continue  # "Which trials allow brain metastases?": a plain exclusion does not
            if (requires or (q.asks_incl and not q.asks_excl)) and role != "Inclusion":
                continue
            matched.append((t, c))
            break
    return matched


def _cross_patient(q: Question, trials: list[Trial]) -> Answer:
    ok, excluded, unknown = [], [], []
    cites: dict[str, list[Citation]] = {}
    for t in trials:
        results = evaluate(t, q.patient)
        if not results:
            unknown.append(t)
            continue
        if any(r.status == "not_met" for r in results):
            excluded.append(t)
            cites[t.id] = [r.citation for r in results if r.status == "not_met"][:1]
        else:
            ok.append(t)
            cites[t.id] = [r.citation for r in results][:1]
    wants_excluded = q.asks_excl
    chosen = excluded if wants_excluded else ok
    cites = [c for t in chosen for c in cites[t.id]]  # only the trials the answer names
    lines = [f"- {_name(t)}" for t in chosen]
    text = (f"{len(chosen)} trial(s) would {'exclude' if wants_excluded else 'accept'} this patient on the stated facts:\n"
            + "\n".join(lines) + (f"\n({len(unknown)} trial(s) state no criterion on these facts.)" if unknown else ""))
    return Answer(text, bool(chosen), None, [t.id for t in chosen], unique_citations(cites), [], "cross_trial")


def most_specific(concepts: set[str]) -> set[str]:
    """The concepts that are no ancestor of another one of them."""
    implied = {a for c in concepts for a in ancestors(c)}
    return (concepts - implied) or concepts


def _background(concepts: set[str], trials: list[Trial]) -> set[str]:
    """Of several concepts, those the criteria of many more trials name than the rarest one: in
    "require the tumour to carry an EGFR mutation", malignancy is the background, not the asked."""
    counts = {k: sum(1 for t in trials if any(k in _named(c) for c in t.criteria)) for k in concepts}
    rarest = min(counts.values())
    return {k for k, n in counts.items() if n > max(2 * rarest, rarest + 2)}


def _name(t: Trial) -> str:
    label = trial_label(t)
    return label if label == t.id else f"{label} ({t.id})"


def _named(c: Criterion) -> set[str]:
    return {e.concept for e in c.entities if e.label == "CONDITION" and not e.hedged}


def _about(q: Question, trials: list[Trial]) -> Answer | None:
    """"Which trials treat people with chronic hepatitis C / enroll kidney transplant recipients?":
    the trials whose conditions or titles name the concept (with its children), cited."""
    r = rules()
    chosen = []
    # "kidney transplant recipients" asks about kidney transplantation; the organ transplantation it
    # also names is implied (an islet transplant trial is not about it).
    wanted = most_specific(q.concepts)
    for t in trials:
        for key, text in (("conditions", "; ".join(t.conditions)), ("title", t.title or ""), ("official_title", t.official_title or "")):
            named = {e.concept for e in r.extract(text) if e.label == "CONDITION" and not e.negated}
            named |= {a for c in named for a in ancestors(c)}
            if named & wanted:
                chosen.append((t, key, text))
                break
    if not chosen:
        return None
    cites = [c for t, key, text in chosen for c in cite_field(t, "conditions[0]" if key == "conditions" else key,
                                                               t.conditions[0] if key == "conditions" else text)]
    lines = [f"- {_name(t)}: {key.replace('_', ' ')}: {text}" for t, key, text in chosen]
    return Answer(f"{len(chosen)} trial(s) are about {', '.join(sorted(wanted))}:\n" + "\n".join(lines), True, None,
                  [t.id for t, _, _ in chosen], cites, [], "cross_trial")

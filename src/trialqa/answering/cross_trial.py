"""Cross-trial answers: which trials of the corpus have a criterion, a field value or a patient's fit."""

from __future__ import annotations

import re

from ..records import Criterion, Trial, phase_number
from .patient import evaluate
from .polarity import criterion_role, polarity
from .question import Question
from .results import Answer, Citation, cite, dedupe, trial_label, unique_citations
from .scope import TITLE_STOP
from .store import TrialStore
from .vocabulary import V


def cross_trial_answer(qa: TrialStore, q: Question, trials: list[Trial]) -> Answer:
    if q.patient and (set(q.patient) - {"has", "lacks"}):
        return _cross_patient(q, trials)
    if V.sponsored_by.search(q.text) or not (q.concepts or q.analytes):
        filt = _field_filter(q.text)
        if filt is not None:
            what, pred, show = filt
            chosen = [t for t in trials if pred(t)]
            if not chosen:
                return Answer(f"No trial in these records {what}.", False, None, [], [], [], "cross_trial")
            return Answer(f"{len(chosen)} trial(s) {what}:\n" + "\n".join(f"- {trial_label(t)}{'' if trial_label(t) == t.id else f' ({t.id})'}: {show(t)}"
                                                                        for t in chosen),
                          True, None, [t.id for t in chosen], [], [], "cross_trial")
    matched: list[tuple[Trial, Criterion]] = []
    allow = bool(V.asks_allow.search(q.text)) and not q.asks_excl
    for t in trials:
        # Criteria that state the asked polarity first: "Pregnant women" states an exclusion more
        # plainly than an inclusion requiring a negative pregnancy test.
        ordered = sorted(t.criteria, key=lambda c: 0 if (polarity(c) == "exclusion") == q.asks_excl else 1)
        for c in ordered:
            names = {e.concept for e in c.entities if e.label == "CONDITION" and not e.hedged}
            labs = {e.analyte for e in c.entities if e.analyte}
            if not ((q.concepts and names & q.concepts) or (q.analytes and labs & q.analytes)):
                continue
            neg = any(e.negated for e in c.entities if e.label == "CONDITION" and e.concept in q.concepts)
            role = criterion_role(c, neg)
            if q.asks_excl and role != "Exclusion":
                continue
            if allow and role == "Exclusion" and not V.allowance.search(c.text):
                continue  # "Which trials allow brain metastases?": a plain exclusion does not
            if q.asks_incl and not q.asks_excl and role != "Inclusion":
                continue
            matched.append((t, c))
            break
    if not q.concepts and not q.analytes:
        # The same sentence in two sections (summary and description) is one passage.
        hits = dedupe(qa.retriever.search(q.text, k=8), lambda h: (h.trial_id, h.text))[:5]
        return Answer("Closest passages:\n" + "\n".join(f"- {h.trial_id}: {h.text}" for h in hits), bool(hits), None,
                      sorted({h.trial_id for h in hits}), [Citation(h.trial_id, h.section, h.text, h.start, h.end) for h in hits],
                      [], "cross_trial")
    if not matched:
        return Answer(f"No trial in these records has such a criterion ({', '.join(sorted(q.concepts | q.analytes))}).", False, None,
                      [], [], [], "cross_trial")
    lines = [f"- {trial_label(t)}{'' if trial_label(t) == t.id else f' ({t.id})'}: \u201c{c.text}\u201d" for t, c in matched]
    return Answer(f"{len(matched)} trial(s):\n" + "\n".join(lines), True, None, [t.id for t, _ in matched],
                  [cite(t, c) for t, c in matched], [], "cross_trial")


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
    lines = [f"- {trial_label(t)}{'' if trial_label(t) == t.id else f' ({t.id})'}" for t in chosen]
    text = (f"{len(chosen)} trial(s) would {'exclude' if wants_excluded else 'accept'} this patient on the stated facts:\n"
            + "\n".join(lines) + (f"\n({len(unknown)} trial(s) state no criterion on these facts.)" if unknown else ""))
    return Answer(text, bool(chosen), None, [t.id for t in chosen], unique_citations(cites), [], "cross_trial")


def _name_words(name: str) -> set[str]:
    """The significant words of an organisation's name, lower case ("the Children's Oncology Group")."""
    return {w for w in re.findall(r"[a-z0-9][a-z0-9'&.-]*", name.lower()) if w not in TITLE_STOP and len(w) > 1}


def _field_filter(question: str):
    """A structured-field question across trials: (what, predicate, shown value) or None."""
    ql = question.lower()
    by = V.sponsored_by.search(question)
    if by:
        want = _name_words(by.group(2))
        funded = by.group(1).lower() in ("funded", "supported", "financed")

        def orgs(t: Trial) -> list[str]:
            return [t.sponsor or ""] + (list(t.collaborators) if funded else [])
        return (f"are {by.group(1)} by {by.group(2)}", lambda t: any(want and want <= _name_words(o) for o in orgs(t)),
                lambda t: "; ".join(o for o in orgs(t) if o))
    phase = re.search(r"\bphase\s*(i{1,3}|iv|\d)\b", ql)
    if phase:
        n = phase_number(phase.group(1))
        return f"are phase {n}", lambda t: f"PHASE{n}" in t.phases, lambda t: "/".join(t.phases)
    if re.search(r"\b(upper|maximum|max)\s+age\b|\bage limit\b|\bolder than\b", ql):
        return "state a maximum age", lambda t: t.max_age is not None, lambda t: f"maximum age {t.max_age.text if t.max_age and t.max_age.source == 'structured' else t.max_age.label()}"
    if re.search(r"\b(children|minors|under 18|younger than 18|pediatric|paediatric|adolescents)\b", ql):
        return "accept patients under 18", lambda t: t.min_age is None or t.min_age.years < 18, \
            lambda t: f"minimum age {t.min_age.text if t.min_age and t.min_age.source == 'structured' else t.min_age.label() if t.min_age else 'none stated'}"
    if re.search(r"\b(stopped|ended|closed) early\b|\bstopped\b|\bhalted\b", ql):
        return "were stopped early", lambda t: t.status in ("TERMINATED", "WITHDRAWN", "SUSPENDED"), \
            lambda t: f"{t.status}" + (f" ({t.why_stopped})" if t.why_stopped else "")
    for word, status in (("not yet recruiting", "NOT_YET_RECRUITING"), ("recruiting", "RECRUITING"), ("completed", "COMPLETED"),
                         ("terminated", "TERMINATED"), ("withdrawn", "WITHDRAWN"), ("suspended", "SUSPENDED")):
        if re.search(rf"\b{word}\b", ql):
            return f"are {word}", lambda t, s=status: t.status == s, lambda t: str(t.status)
    country = re.search(r"\b(?:in|from)\s+((?:the\s+)?[a-z]+(?:\s(?:states|kingdom|korea|zealand|africa|arabia))?)\s*\??$", ql)
    if re.search(r"\b(sites?|located|countr\w*|run in|held in|conducted in|take place in)\b", ql) and country:
        name = re.sub(r"^the\s+", "", country.group(1).lower())
        return (f"have sites in {name.title()}",
                lambda t: any(name in (loc.country or "").lower() or name in (loc.city or "").lower() for loc in t.locations)
                or name in t.design.get("countries", "").lower(),
                lambda t: "; ".join(loc.label() for loc in t.locations[:3]))
    if re.search(r"\bhealthy volunteers?\b", ql):
        return "accept healthy volunteers", lambda t: t.healthy_volunteers is True, lambda t: "yes"
    return None

"""Criteria answers: the criteria that state what a question names (concepts, analytes, a kind of
threshold), with their values, role (inclusion or exclusion) and a verdict for yes/no questions."""

from __future__ import annotations

import re

from ..extraction import CriterionEntity, rules
from ..extraction.lexicon import unit_key
from ..units import DAYS_PER, convert_value, time_unit, to_days
from ..records import Criterion, Trial
from .passages import passages_answer
from .polarity import allows, criterion_role
from .polarity import verdict as decide
from .question import Question
from .results import Answer, cite, fmt, trial_label, not_stated
from .store import TrialStore
from .vocabulary import V


def _matching_criteria(q: Question, t: Trial) -> list[tuple[Criterion, list[CriterionEntity]]]:
    matches = []
    analytes = rules().related_analytes(q.analytes)  # a question about AST reads "transaminases <= 3 x ULN"
    for c in t.criteria:
        hit = [e for e in c.entities
               if (e.label == "CONDITION" and e.concept in q.concepts)
               or (e.analyte and e.analyte in analytes)
               or (q.kind and e.label == q.kind and not q.analytes and e.label != "CONDITION"
                   and (q.anchor is None or e.anchor == q.anchor))]
        if hit:
            matches.append((c, hit))
    if q.kind == "TIME_WINDOW":
        timed = [(c, h) for c, h in matches if any(e.label == "TIME_WINDOW" for e in c.entities)]
        if q.concepts:
            both = [(c, h) for c, h in timed if any(e.label == "CONDITION" and e.concept in q.concepts for e in c.entities)]
            timed = both or timed
        matches = timed or matches
    # Criteria that name more of the question's targets first.
    matches.sort(key=lambda m: -len({e.concept or e.analyte for e in m[1]}))
    return matches



def criteria_answer(qa: TrialStore, q: Question, t: Trial) -> Answer | None:
    if not (q.yes_no or q.kind or V.eligibility_words.search(q.text)):
        return passages_answer(qa, q, t)  # "what response rate was observed?" is not an eligibility question
    matches = _matching_criteria(q, t)
    if matches and not q.yes_no and q.kind in ("PERCENT", "LAB"):
        # A percentage may come as a LAB in percent (ejection fraction, HbA1c).
        valued = [(c, h) for c, h in matches
                  if any(e.label == q.kind or (q.kind == "PERCENT" and e.unit == "%") for e in c.entities)]
        if not valued:
            what = " / ".join(sorted(q.concepts | q.analytes)) or q.kind.lower()
            return Answer(f"{trial_label(t)}: the record states no {'percentage' if q.kind == 'PERCENT' else 'value'} threshold for {what}.",
                          False, None, [t.id], [], [], "criteria")
        matches = valued
    unvalued = False
    if not matches and q.analytes:
        # "Total bilirubin: within normal institutional limits" states a requirement with no number.
        matches = [(c, []) for c in analyte_mentions(q.analytes, t)]
        unvalued = bool(matches)
    if not matches:
        passages = passages_answer(qa, q, t, quiet=True)
        if passages is not None:
            return passages
        what = " / ".join(sorted(q.concepts | q.analytes)) or "this"
        return Answer(f"{trial_label(t)}: the record does not state a criterion about {what}.", False,
                      "unknown" if q.yes_no else None, [t.id], [], [], "criteria")
    lines, cites, ents = [], [], []
    roles = []
    asked_unit = _asked_unit(q.text)
    # "Is a pregnancy test required?" asks about the test, which a criterion requiring a negative
    # result requires all the same: the negation of the condition does not turn it into an exclusion.
    asks_test = any(e.label == "CONDITION" and (V.test_noun.search(e.text) or V.test_noun.match(q.text, e.end))
                    for e in q.entities)
    for c, hit in matches[:4]:
        cites.append(cite(t, c))
        ents.extend(hit)
        neg = any(e.label == "CONDITION" for e in hit) and all(e.negated for e in hit if e.label == "CONDITION")
        role = criterion_role(c, neg and not asks_test)
        named = {e.text.lower() for e in hit if e.label == "CONDITION"}
        if role == "Exclusion" and named and allows(c, named):
            role = "Allowed"  # the exclusion admits it by exception
        elif role == "Inclusion" and any(e.label == "CONDITION" and V.allowance.search(c.text[e.end:e.end + 40].split(".")[0])
                                         for e in hit):
            role = "Allowed"  # "Patients with brain metastases are allowed provided they are stable"
        needs = required_concepts(c) - q.concepts
        if needs:
            role = f"{role} only with {', '.join(sorted(needs))}"
        roles.append(role)
        values = [_describe(e, asked_unit) for e in hit if e.label != "CONDITION"]
        lines.append(f"{_shown(role, c)}: \u201c{c.text}\u201d" + (f" \u2192 {'; '.join(values)}" if values else ""))
    verdict = None
    if q.yes_no:
        # The criterion that best states the asked thing, when it allows it, answers "Is it allowed /
        # can they join?" whatever other criteria exclude in other forms ("symptomatic brain metastases").
        allowed = roles[0] == "Allowed" and not q.asks_excl
        verdict = "yes" if allowed else decide(q, "Exclusion" in roles, "Inclusion" in roles or "Allowed" in roles)
    if unvalued and verdict:
        verdict = "unknown"  # "within normal limits" neither allows nor excludes "above the ULN" in so many words
    prefix = {"yes": "Yes. ", "no": "No. "}.get(verdict or "", "")
    note = f" no numeric limit for {' / '.join(sorted(q.analytes))} is stated; the criteria that name it" if unvalued else ""
    # "within normal institutional limits" is a requirement; "documented HbA1c" names the analyte
    # and states no limit at all.
    found = not unvalued or any(_NORMAL_RANGE.search(c.text) for c, _ in matches[:4])
    return Answer(f"{prefix}{trial_label(t)}:{note}\n" + "\n".join(f"- {line}" for line in lines), found, verdict, [t.id], cites, ents,
                  "criteria")


_NORMAL_RANGE = re.compile(r"\b(?:normal|ULN|LLN|limits?|range|adequate|acceptable|within)\b", re.I)


def _shown(role: str, c: Criterion) -> str:
    """The label of a cited criterion: its own section, and what it does when that differs (an
    inclusion criterion requiring a negative pregnancy test excludes pregnancy)."""
    if role == "Allowed" or role.lower().startswith(c.section):
        return role
    does = "excludes it" if role.startswith("Exclusion") else "requires it"
    return f"{c.section.title()} criterion that {does}{role[len(role.split()[0]):]}"


def analyte_mentions(analytes: set[str], t: Trial) -> list[Criterion]:
    """Criteria that name one of the analytes (or a group or member of one), with or without a value."""
    r = rules()
    analytes = r.related_analytes(analytes)
    return [c for c in t.criteria if any(name in analytes for _, _, name in r.analyte_gaz.find(c.text))]


def _asked_unit(question: str) -> str | None:
    """The unit a question asks the answer in ("What is the neutrophil threshold in cells/mm3?",
    "What is that per mm3?", "Roughly how many months is that?"): a lab unit's canonical form or a
    time unit (``units.DAYS_PER``); the last one the question names."""
    r = rules()
    found = None
    for m in re.finditer(r"\b(?:in|as|into|per)\s+([^\s?,.;]{1,20}(?:\s[^\s?,.;]{1,8})?)", question, re.I):
        for cand in (m.group(1), m.group(1).split()[0]):
            for form in (cand, "/" + cand) if m.group(0).lower().startswith("per") else (cand,):
                info = r.unit_canon.get(unit_key(form))
                if info:
                    found = info["canonical"]
                    break
            else:
                continue
            break
    times = list(re.finditer(r"\bhow many\s+(minutes|hours|days|weeks|months|years)\b|\bin\s+(minutes|hours|days|weeks|months|years)\b",
                             question, re.I))
    if times:
        time = times[-1]  # "... gives its window in weeks. How many months is that?"
        found = time_unit(time.group(1) or time.group(2))
    return found


def _describe(e: CriterionEntity, asked_unit: str | None = None) -> str:
    val = fmt(e.value) + (f"\u2013{fmt(e.value2)}" if e.value2 is not None else "")
    if e.label == "TIME_WINDOW":
        out = f"{e.op} {val} {e.unit} {e.direction or ''} {e.anchor_text or e.anchor or ''}".replace("  ", " ").strip()
        if asked_unit in DAYS_PER and e.unit and time_unit(e.unit) and time_unit(e.unit) != asked_unit and e.value is not None:
            # "40 weeks" asked in months: about 9.2 months (a month is 30.4375 days).
            conv = [round(to_days(v, e.unit) / DAYS_PER[asked_unit], 1) for v in (e.value, e.value2) if v is not None]
            out += " (= about " + "\u2013".join(fmt(v) for v in conv) + f" {asked_unit}s)"
        return out
    what = e.analyte or e.label.lower()
    s = f"{what} {e.op} {val} {e.unit or ''}".strip()
    if rules().implausible(e):
        return s + f" (not a plausible {what} limit in {e.unit}: probably a unit error in the record, not converted)"
    if e.label == "LAB" and e.norm_unit and e.norm_unit != e.unit and e.norm_value is not None:
        nv = fmt(e.norm_value) + (f"\u2013{fmt(e.norm_value2)}" if e.norm_value2 is not None else "")
        s += f" (= {nv} {'x ' if e.norm_unit.startswith('10^') else ''}{e.norm_unit})"
    if e.label == "LAB" and asked_unit and e.unit and e.analyte and asked_unit not in (e.unit, e.norm_unit) \
            and e.value is not None:
        # Value by value, so units with an offset convert too (38 °C is 100.4 °F).
        conv = [convert_value(e.analyte, v, e.unit, asked_unit) for v in (e.value, e.value2) if v is not None]
        if conv and None not in conv:
            s += " (= " + "\u2013".join(fmt(round(v, 6)) for v in conv) + f" {asked_unit})"
    return s


def list_criteria(t: Trial, which: str) -> Answer:
    crits = t.exclusion if which == "exclusion" else t.inclusion if which == "inclusion" else t.criteria
    if not crits:
        return not_stated(t, f"{which} criteria", "criteria")
    return Answer(f"{trial_label(t)}: {len(crits)} {which} criteria:\n" + "\n".join(f"- {c.text}" for c in crits), True, None,
                  [t.id], [cite(t, c) for c in crits], [], "criteria")



def required_concepts(c: Criterion) -> set[str]:
    """Concepts a criterion requires together: those after a causal link ("induced by X")."""
    m = V.causal.search(c.text)
    if not m:
        return set()
    return {e.concept for e in c.entities if e.label == "CONDITION" and e.start >= m.end() and e.concept not in V.population}


"""Record-field answers: status, phase, sponsor, dates, design, enrollment, ages, doses and the
other structured fields, each cited with the span of the field's own text."""

from __future__ import annotations

import calendar
import re

from ..chunking import SENTENCE_END
from ..sources import span_text
from ..extraction import enrollment_age, rules
from ..records import Trial, phase_number
from .polarity import polarity
from .question import Question, mask_trial_refs
from .results import Answer, Citation, cite, cite_field, fmt, trial_label, not_stated, unique_citations
from .vocabulary import V


def is_strong(fieldname: str | None, q: Question) -> bool:
    """Whether the field cue wins over criteria targets the question also names."""
    cue = V.field.get(fieldname) if fieldname else None
    return bool(cue and (cue.strong or (cue.strong_form is not None and cue.strong_form.search(q.text))))


def detect_field(q: Question) -> str | None:
    # "the oral COL-3 phase I trial" names the trial; it does not ask for its phase.
    text = mask_trial_refs(q)
    for cue in V.fields:
        name = cue.name
        if cue.pattern.search(text):
            if name == "dose" and (q.kind == "TIME_WINDOW" or (q.analytes and not _DOSE_WORD.search(text))):
                continue  # "how long after the last dose ...?", "how much weight loss ...?"
            if name == "conditions" and q.yes_no and (q.concepts or q.analytes):
                continue  # "... with metastatic disease are not eligible for X?" asks for a verdict
            if name == "sex" and ((q.concepts - {"women", "men"}) or q.analytes):
                continue  # "What estradiol level qualifies women?" asks for the estradiol limit
            if name == "age" and q.kind and q.kind != "TIME_WINDOW":
                continue
            return name
    return None


_DOSE_WORD = re.compile(r"\b(?:doses?|dosages?|dosing|mg/kg|administered|infused|injected|given)\b", re.I)


def _yn(q: Question, value: bool) -> str | None:
    return ("yes" if value else "no") if q.yes_no else None


def _age(t: Trial, q: Question) -> Answer | None:
    other = rules().lex.other_person
    asked = other.search(q.text) if other is not None else None
    if asked:
        # "What's the maximum donor age?" asks about someone else's age, stated only in the criteria.
        who = asked.group(0).lower()
        crits = [c for c in t.criteria if who.rstrip("s") in c.text.lower()
                 and any(e.label == "AGE" and not enrollment_age(c.text, e) for e in c.entities)]
        if not crits:
            return not_stated(t, f"an age limit for the {who}", "age", q)
        return Answer(f"{trial_label(t)}: " + "; ".join(f"\u201c{c.text}\u201d ({polarity(c)})" for c in crits), True, None,
                      [t.id], [cite(t, c) for c in crits], [e for c in crits for e in c.entities if e.label == "AGE"], "age")
    cites: list[Citation] = []
    for key, a in (("min_age", t.min_age), ("max_age", t.max_age)):
        if a is None:
            continue
        if a.source == "structured":
            cites += cite_field(t, key, a.text)
        else:
            c = next((c for c in t.inclusion if c.text == a.text), None)
            if c:
                cites.append(cite(t, c))
    for c in t.criteria:
        if any(e.label == "AGE" for e in c.entities) and all(x.text != c.text for x in cites):
            cites.append(cite(t, c))
    cites = unique_citations(cites + _prose_age(t))
    want_max = bool(re.search(r"\b(max\w*|upper|oldest|older than|limit)\b", q.text, re.I))
    want_min = bool(re.search(r"\b(min\w*|lower|youngest|young)\b", q.text, re.I))
    lo = f"{t.min_age.label()}{'' if t.min_age.inclusive else ' (exclusive)'}" if t.min_age else None
    hi = f"{t.max_age.label()}{'' if t.max_age.inclusive else ' (exclusive)'}" if t.max_age else None
    if want_max and not want_min:
        if not hi:
            return Answer(f"{trial_label(t)}: no maximum age is stated" + (f" (minimum age {lo})." if lo else "."), False,
                          "no" if q.yes_no else None, [t.id], cites, [], "age")
        return Answer(f"{trial_label(t)}: maximum age {hi}" + (f" (minimum {lo})." if lo else "."), True, _yn(q, True), [t.id], cites)
    if want_min and not want_max:
        if not lo:
            return not_stated(t, "a minimum age", "age", q)
        return Answer(f"{trial_label(t)}: minimum age {lo}" + (f"; maximum {hi}." if hi else "; no maximum age stated."), True,
                      _yn(q, True), [t.id], cites)
    if not lo and not hi:
        return not_stated(t, "an age limit", "age", q)
    return Answer(f"{trial_label(t)}: ages {lo or 'no minimum'} to {hi or 'no maximum stated'}.", True, None, [t.id], cites)


def _prose_age(t: Trial) -> list[Citation]:
    """The summary or description sentence that states the age range the structured fields give
    ("children between 3 months and 12 years of age"), cited: the reader sees it in words."""
    if t.min_age is None and t.max_age is None:
        return []
    bounds = {fmt(a.value) for a in (t.min_age, t.max_age) if a is not None}
    for key in ("summary", "description"):
        mt = t.texts.get(key)
        if mt is None:
            continue
        for e in rules().extract(mt.text):
            if e.label == "AGE" and bounds <= {fmt(v) for v in (e.value, e.value2) if v is not None}:
                a, b = mt.raw_span(*sentence_around(mt.text, e.start, e.end))
                return [Citation(t.id, key, span_text(t.source_text(), t.format, a, b), a, b)]
    return []


def _enrollment(t: Trial, q: Question) -> Answer:
    planned = bool(V.planned.search(q.text)) and t.enrollment_type != "ESTIMATED"
    stated = _planned_size(t) if planned or t.enrollment is None else None
    if stated is not None:
        n, key, sentence, a, b = stated
        actual = f" Actual enrollment: {t.enrollment} participants." if t.enrollment is not None else ""
        return Answer(f"{trial_label(t)}: planned enrollment {fmt(n)} participants ({key}: \u201c{sentence}\u201d).{actual}", True,
                      None, [t.id], [Citation(t.id, key, sentence, a, b)] + cite_field(t, "enrollment", str(t.enrollment)),
                      [], "enrollment")
    if t.enrollment is None:
        return not_stated(t, "the enrollment", "enrollment", q)
    kind = {"ESTIMATED": " (anticipated)", "ACTUAL": " (actual)"}.get(t.enrollment_type or "", "")
    return Answer(f"{trial_label(t)}: enrollment {t.enrollment} participants{kind}.", True, None, [t.id],
                  cite_field(t, "enrollment", str(t.enrollment)))


_PEOPLE = re.compile(r"(?:patients|participants|subjects|children|women|men|volunteers|individuals|people|persons|adults|infants)\b",
                     re.I)
# Words that may stand between a count and whom it counts ("336 eligible patients"), never a unit or a
# preposition ("12 more months for patients").
_FILLER = re.compile(r"(?!(?:for|of|with|in|on|per|at|to|and|or|more|months?|weeks?|days?|years?|hours?|mg)\b)[A-Za-z-]+\s+", re.I)


def _count(r, phrase: str) -> float | None:
    """"336", "1,500", "Fifty", "Four hundred", "one hundred eighty" -> the number."""
    if phrase[0].isdigit():
        return r.number(phrase.replace(",", ""))
    total, current = 0.0, None
    for w in re.split(r"[\s-]+", phrase.lower()):
        if w == "and":
            continue
        if w in ("hundred", "thousand"):
            current = (current or 1.0) * (100 if w == "hundred" else 1000)
            if w == "thousand":
                total, current = total + current, None
            continue
        v = r.number(w)
        if v is None:
            return None
        current = (current or 0.0) + v
    return total + (current or 0.0) if (total or current) else None


def _headcounts(text: str):
    """(number, start, end) of each "N [adjectives] patients" in ``text``."""
    r = rules()
    for m in re.finditer(r"\b(\d[\d,]*|[A-Za-z]+(?:[\s-]+(?:hundred|thousand|and|[a-z]+ty|[a-z]+teen|one|two|three|four|five|six|seven|eight|nine))*)\s+", text):
        n = _count(r, m.group(1))
        if n is None or re.search(r"\b(?:(?:groups?|cohorts?) of|of up to|\d+ of)\s+[\d-]*$", text[:m.start()], re.I):
            continue  # "groups of 3-6 patients", "2 of up to 6 patients": not how many take part
        pos = m.end()
        for _ in range(3):
            people = _PEOPLE.match(text, pos)
            if people:
                yield n, m.start(), people.end()
                break
            filler = _FILLER.match(text, pos)
            if not filler:
                break
            pos = filler.end()


def _planned_size(t: Trial) -> tuple[float, str, str, int, int] | None:
    """A sample size the summary or description states ("336 eligible patients will be randomly
    assigned", "Fifty patients will have to be enrolled"): (number, field, sentence, start, end)."""
    # Sentences that say "will be enrolled / a total of" first, then those that merely name the study.
    for cue in (V.accrual, V.accrual_weak):
        found = _sentence_count(t, cue)
        if found:
            return found
    return None


def _sentence_count(t: Trial, cue: re.Pattern) -> tuple[float, str, str, int, int] | None:
    for key in ("summary", "description"):
        mt = t.texts.get(key)
        if mt is None:
            continue
        for sent in re.finditer(r"[^.;]+[.;]?", mt.text):
            if not cue.search(sent.group(0)) or re.match(r"\s*if\b", sent.group(0), re.I):
                continue  # "If six patients in either group ..." is a rule, not the sample size
            for n, start, end in _headcounts(sent.group(0)):
                year = 1900 <= n <= 2100 and re.search(r"\b(?:in|since|during|from|by|until|of)\s+$", sent.group(0)[:start], re.I)
                if n < 2 or year or re.search(r"\b(?:first|last|initial|next|remaining)\s+$", sent.group(0)[:start], re.I):
                    continue
                if re.match(r"\s*(?:per|in each|each|in every)\b", sent.group(0)[end:]):
                    continue  # "240 subjects per treatment group" is not the sample size
                a, b = mt.raw_span(sent.start() + len(sent.group(0)) - len(sent.group(0).lstrip()), sent.end())
                return n, key, span_text(t.source_text(), t.format, a, b), a, b
    return None


def _status(t: Trial, q: Question) -> Answer:
    if not t.status:
        return not_stated(t, "the recruitment status", "status", q)
    nice = t.status.replace("_", " ").lower()
    verdict = None
    if q.yes_no:
        asked = next((w for w in ("not yet recruiting", "recruiting", "completed", "terminated", "withdrawn", "suspended", "active")
                      if re.search(rf"\b{w}\b", q.text, re.I)), None)
        if asked == "recruiting" and re.search(r"\b(still|already|currently|now)\b", q.text, re.I):
            verdict = "yes" if t.status in ("RECRUITING", "ENROLLING_BY_INVITATION") else "no"
        elif asked == "active":
            verdict = "yes" if t.status.startswith(("ACTIVE", "RECRUITING", "ENROLLING")) else "no"
        elif asked:
            verdict = "yes" if t.status == asked.upper().replace(" ", "_") else "no"
    extra = f" Reason given: {t.why_stopped}" if t.why_stopped else ""
    return Answer(f"{trial_label(t)}: status {nice} ({t.status}).{extra}", True, verdict, [t.id], cite_field(t, "status", t.status))


def _why_stopped(t: Trial, q: Question) -> Answer:
    if t.why_stopped:
        return Answer(f"{trial_label(t)}: {t.status.replace('_', ' ').lower() if t.status else 'stopped'} \u2014 {t.why_stopped}",
                      True, None, [t.id], cite_field(t, "why_stopped", t.why_stopped))
    if t.status in ("TERMINATED", "WITHDRAWN", "SUSPENDED"):
        return not_stated(t, f"why it was {t.status.lower()}", "why_stopped", q)
    return Answer(f"{trial_label(t)}: the record does not say the trial was stopped (status {str(t.status).replace('_', ' ').lower()}).",
                  False, None, [t.id], cite_field(t, "status", t.status or ""), [], "why_stopped")


def _outcomes(t: Trial, q: Question) -> Answer | None:
    if not t.outcomes:
        return None  # registry pages and reports give outcomes as prose: the passages may state them
    m = re.search(r"\b(primary|main|secondary|other)\s+(?:outcome|end ?point)", q.text, re.I)
    kind = {"main": "primary"}.get(m.group(1).lower(), m.group(1).lower()) if m else None
    outs = [o for o in t.outcomes if kind is None or o.kind == kind]
    if not outs:
        return not_stated(t, f"{kind} outcome measures", "outcome", q)
    lines = [f"- {o.kind}: {o.measure}" + (f" (time frame: {o.time_frame})" if o.time_frame else "") for o in outs[:12]]
    more = f"\n({len(outs) - 12} more)" if len(outs) > 12 else ""
    return Answer(f"{trial_label(t)}: {len(outs)} {kind + ' ' if kind else ''}outcome measure(s):\n" + "\n".join(lines) + more,
                  True, None, [t.id], [Citation(t.id, "outcome", o.measure, o.start, o.end) for o in outs[:12]], [], "outcome")


def _phase(t: Trial, q: Question) -> Answer:
    if not t.phases:
        return not_stated(t, "a phase", "phase", q)
    nice = "/".join(p.replace("EARLY_PHASE", "early phase ").replace("PHASE", "phase ") for p in t.phases)
    verdict = None
    if q.yes_no:
        nums = {phase_number(a) for a in V.phase_asked.findall(q.text)}
        verdict = "yes" if nums and all(f"PHASE{n}" in t.phases for n in nums) else "no" if nums else None
    return Answer(f"{trial_label(t)}: {nice}.", True, verdict, [t.id], cite_field(t, "phases", nice))


def _sponsor(t: Trial, q: Question) -> Answer:
    industry = [n for n, c in t.sponsor_classes.items() if c == "INDUSTRY"]
    roles = {n: ("lead sponsor" if n == t.sponsor else "collaborator") for n in t.sponsor_classes}
    if re.search(r"\b(pharmaceutical|drug company|industry|company)\b", q.text, re.I):
        if not t.sponsor_classes:
            return not_stated(t, "the kind of organizations involved", "sponsor", q)
        if not industry:
            return Answer(f"{trial_label(t)}: no industry sponsor or collaborator is listed (lead sponsor {t.sponsor}).", True,
                          _yn(q, False), [t.id], cite_field(t, "sponsor", t.sponsor or ""))
        return Answer(f"{trial_label(t)}: " + "; ".join(f"{n} ({roles.get(n, 'collaborator')}, industry)" for n in industry) + ".",
                      True, _yn(q, True), [t.id], cite_field(t, "sponsor", t.sponsor or ""))
    if re.search(r"collaborat", q.text, re.I):
        if not t.collaborators:
            return Answer(f"{trial_label(t)}: no collaborator is listed (lead sponsor: {t.sponsor or 'not stated'}).", False,
                          _yn(q, False), [t.id], [], [], "sponsor")
        return Answer(f"{trial_label(t)}: collaborators {', '.join(t.collaborators)} (lead sponsor: {t.sponsor or 'not stated'}).",
                      True, _yn(q, True), [t.id], cite_field(t, "sponsor", t.sponsor or ""))
    if not t.sponsor:
        return not_stated(t, "the sponsor", "sponsor", q)
    extra = f"; collaborators: {', '.join(t.collaborators)}" if t.collaborators else ""
    return Answer(f"{trial_label(t)}: lead sponsor {t.sponsor}{extra}.", True, None, [t.id], cite_field(t, "sponsor", t.sponsor))


def _responsible(t: Trial, q: Question) -> Answer:
    if not t.responsible_party:
        return not_stated(t, "the responsible party", "responsible_party", q)
    who = t.sponsor if t.responsible_party == "SPONSOR" else None
    return Answer(f"{trial_label(t)}: responsible party: {t.responsible_party.replace('_', ' ').lower()}" + (f" ({who})." if who else "."),
                  True, None, [t.id], cite_field(t, "responsible_party", t.responsible_party))


def _location(t: Trial, q: Question) -> Answer | None:
    if not t.locations:
        countries = t.design.get("countries")
        if countries:
            return Answer(f"{trial_label(t)}: countries {countries}.", True, None, [t.id], [])
        if q.concepts and not V.field["location"].strong_form.search(q.text):
            return None  # "in which departments ..." is a criteria question
        return not_stated(t, "any location", "location", q)
    locs = "; ".join(loc.label() for loc in t.locations[:10])
    more = f" (and {len(t.locations) - 10} more)" if len(t.locations) > 10 else ""
    return Answer(f"{trial_label(t)}: {locs}{more}.", True, None, [t.id], [])


def _contact(t: Trial, q: Question) -> Answer:
    if not t.contacts:
        return not_stated(t, "a contact", "contact", q)
    seen, parts = set(), []
    for c in t.contacts:
        key = (c.name, c.phone, c.email)
        if key in seen:
            continue
        seen.add(key)
        parts.append(", ".join(x for x in (c.name, c.role and c.role.lower(), c.phone, c.email, c.affiliation) if x))
    return Answer(f"{trial_label(t)}: " + "; ".join(parts) + ".", True, None, [t.id], [])


def _nct(t: Trial, q: Question) -> Answer:
    if not t.nct_id:
        return Answer(f"{trial_label(t)}: the record states no NCT number (TrialQA id {t.id}).", False,
                      "no" if q.yes_no else None, [t.id], [], [], "nct_id")
    return Answer(f"{trial_label(t)}: {t.nct_id}.", True, _yn(q, True), [t.id], cite_field(t, "nct_id", t.nct_id))


def _identifier(t: Trial, q: Question) -> Answer:
    ids = [f"{i.id} ({(i.type or i.source or '').replace('_', ' ')})" for i in t.identifiers]
    if t.nct_id:
        ids.insert(0, f"{t.nct_id} (NCT number)")
    if not ids:
        return not_stated(t, "any identifier", "identifier", q)
    return Answer(f"{trial_label(t)}: identifiers {', '.join(ids)}.", True, None, [t.id], [])


def _date(t: Trial, q: Question) -> Answer | None:
    ql = q.text.lower()
    options = [("start", "start_date", t.start_date), ("primary completion", "primary_completion_date", t.primary_completion_date),
               ("completion", "completion_date", t.completion_date), ("last update", "last_update", t.last_update)]
    if re.search(r"\b(start\w*|begin|began)\b", ql):
        wanted = options[:1]
    elif re.search(r"\bprimary completion\b", ql):
        wanted = options[1:2]
    elif re.search(r"\b(end|ends|finish\w*|complet\w*)\b", ql):
        wanted = [options[2], options[1]]
    elif re.search(r"\bupdat", ql):
        wanted = options[3:]
    elif q.concepts or q.analytes:
        return None
    else:
        wanted = options
    stated = [(label, key, v) for label, key, v in wanted if v]
    if not stated:
        return not_stated(t, f"a {wanted[0][0]} date", "date", q)
    text = "; ".join(f"{label} date {_spoken_date(v)}" for label, _, v in stated[:2])
    cites = [c for label, key, v in stated[:2] for c in cite_field(t, key, v)]
    return Answer(f"{trial_label(t)}: {text}.", True, None, [t.id], cites)


def _spoken_date(iso: str) -> str:
    """"2000-09" -> "September 2000 (2000-09)": the month as people name it, the record's form kept."""
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", iso or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        return iso
    month = calendar.month_name[int(m.group(2))]
    day = f"{int(m.group(3))} " if m.group(3) else ""
    return f"{day}{month} {m.group(1)} ({iso})"


def _design(t: Trial, q: Question) -> Answer:
    d = t.design
    ql = q.text.lower()
    if q.yes_no:
        if re.search(r"randomi[sz]", ql):
            alloc = d.get("allocation")
            if not alloc:
                return not_stated(t, "whether it is randomized", "design", q)
            rnd = alloc.upper().startswith("RANDOMIZED")
            return Answer(f"{trial_label(t)}: allocation {alloc}" + ("" if rnd else " (not randomized)") + ".", True,
                          "yes" if rnd else "no", [t.id], [])
        if re.search(r"blind|mask", ql):
            mask = d.get("masking")
            if not mask:
                return not_stated(t, "the masking", "design", q)
            blinded = not mask.upper().startswith(("NONE", "OPEN"))
            return Answer(f"{trial_label(t)}: masking {mask}" + (" (open label)." if not blinded else "."), True,
                          "yes" if blinded else "no", [t.id], [])
        if re.search(r"placebo|comparator|control arm|control group", ql):
            model = d.get("intervention_model", "")
            arms = d.get("arms", "") + " ".join(f"{a.label} {a.type or ''} {a.description or ''}" for a in t.arms)
            has = bool(re.search(r"placebo|comparator|control", arms + " " + d.get("description", ""), re.I)) and "SINGLE" not in model.upper()
            if not model and not arms:
                return not_stated(t, "the arms", "design", q)
            return Answer(f"{trial_label(t)}: intervention model {model or 'not stated'}" + ("; a comparator arm is described." if has else
                          "; no placebo or comparator arm (single group)." if "SINGLE" in model.upper() else "."),
                          True, "yes" if has else "no", [t.id], [])
    if not q.yes_no and re.search(r"comparator|control (arm|group)|placebo", ql) and t.interventions:
        return _interventions(t, q)
    if not d and not t.study_type:
        return not_stated(t, "the design", "design", q)
    parts = [f"{k.replace('_', ' ')}: {v}" for k, v in d.items() if k not in ("description", "arms", "countries")]
    if t.study_type:
        parts.insert(0, f"study type: {t.study_type}")
    desc = d.get("description")
    return Answer(f"{trial_label(t)}: " + "; ".join(parts) + (f". {desc[:400]}" if desc else ""), True, None, [t.id], [])


def _study_type(t: Trial, q: Question) -> Answer:
    if not t.study_type:
        return not_stated(t, "the study type", "study_type", q)
    return Answer(f"{trial_label(t)}: {t.study_type.lower()} study.", True, None, [t.id], cite_field(t, "study_type", t.study_type))


def _conditions(t: Trial, q: Question) -> Answer:
    if not t.conditions:
        found = sorted({e.concept for c in t.inclusion for e in c.entities
                        if e.label == "CONDITION" and e.concept_type == "condition" and not e.negated})
        if not found:
            return not_stated(t, "the conditions studied", "conditions", q)
        return Answer(f"{trial_label(t)}: no condition list is given; the inclusion criteria name {', '.join(found)}.", True, None,
                      [t.id], [cite(t, c) for c in t.inclusion if any(e.concept in found for e in c.entities)][:3])
    # The official title says what the condition list leaves out ("... Harbouring HER2 Exon 20 Mutations").
    title = f" Official title: {t.official_title}." if t.official_title else ""
    return Answer(f"{trial_label(t)}: conditions: {'; '.join(t.conditions)}.{title}", True, None, [t.id],
                  cite_field(t, "conditions[0]", t.conditions[0]) + (cite_field(t, "official_title", t.official_title) if title else []))


def _interventions(t: Trial, q: Question) -> Answer:
    if not t.interventions:
        # No intervention list: the title may still name what is tested.
        drugs = [e for e in rules().extract(t.title or "") if e.label == "CONDITION" and e.concept_type == "drug"]
        if drugs:
            return Answer(f"{trial_label(t)}: no intervention list is given; the title names {drugs[0].concept} ({t.title}).", True,
                          None, [t.id], cite_field(t, "title", t.title or ""))
        return not_stated(t, "the interventions", "interventions", q)
    parts = [f"{iv.name} ({(iv.type or '').lower() or 'type not stated'}{', ' + iv.dose if iv.dose else ''})" for iv in t.interventions]
    return Answer(f"{trial_label(t)}: interventions: {'; '.join(parts)}.", True, None, [t.id], [])


_MASS = re.compile(r"\b(?:micrograms?|mcg|\u00b5g|ug|milligrams?|mg|grams?|nanograms?)\b", re.I)


def _dose_texts(t: Trial) -> list[tuple[str, str, str, object]]:
    """(what, text read for doses, description, mapped source text or None) for each intervention
    and each arm with a description."""
    out = []
    for i, iv in enumerate(t.interventions):
        out.append((iv.name, f"{iv.name}. {iv.description or ''}", iv.description or "", t.texts.get(f"intervention[{i}]")))
    for i, arm in enumerate(t.arms):
        if arm.description:
            out.append((arm.label, arm.description, arm.description, t.texts.get(f"arm[{i}]")))
    return out


# A blank line or a new list item ends a sentence; a single line break in XML prose is a wrap.
_BREAK = re.compile(r"\n[ \t\r]*(?:\n|(?=[-*\u2022]\s|\d{1,2}[.)]\s))")


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the sentence (or line) of ``text`` that holds ``start``-``end``; a dot inside a
    word ("h5G1.1-mAb", "0.5 mL") ends no sentence."""
    a = max([m.end() for m in SENTENCE_END.finditer(text, 0, start)] + [m.end() for m in _BREAK.finditer(text, 0, start)] + [0])
    nxt, brk = SENTENCE_END.search(text, end), _BREAK.search(text, end)
    b = min(nxt.start() if nxt else len(text), brk.start() if brk else len(text))
    while a < b and text[a].isspace():
        a += 1
    return a, b


def _dose_sentence(t: Trial, mt, text: str, e) -> Citation | None:
    """The sentence of ``mt`` that states the dose ``e`` (found in ``text``), cited."""
    if mt is None:
        return None
    at = mt.text.find(e.text.strip())
    if at < 0:
        return None
    a, b = mt.raw_span(*sentence_around(mt.text, at, at + len(e.text.strip())))
    return Citation(t.id, "intervention", span_text(t.source_text(), t.format, a, b), a, b)


def _dose(t: Trial, q: Question) -> Answer | None:
    r = rules()
    rows = []
    for name, text, desc, mt in _dose_texts(t):
        doses = [e for e in r.extract(text) if e.label == "DOSE"]
        if doses:
            e = doses[0]
            extra = ", ".join(x for x in (e.route, e.frequency) if x)
            rows.append((name, text, f"{name}: {e.text.strip()}" + (f" ({extra})" if extra else ""), doses,
                         _dose_sentence(t, mt, text, e), desc))
    if q.concepts:
        named = [row for row in rows if {c.concept for c in r.extract(row[1]) if c.label == "CONDITION"} & q.concepts
                 or re.search(rf"(?<!\w){re.escape(row[0].split(' (')[0].lower())}(?!\w)", q.text.lower())]
        rows = named or rows
    if rows and _MASS.search(q.text) and not any(_MASS.search(d.unit or "") for row in rows for d in row[3]):
        # "How many micrograms ... in each dose?" is not answered by "0.5 mL".
        return not_stated(t, f"a dose in {_MASS.search(q.text).group(0)}", "dose", q)
    if not rows and q.concepts:
        for c in t.criteria:
            doses = [e for e in c.entities if e.label == "DOSE"]
            if doses and any(e.label == "CONDITION" and e.concept in q.concepts for e in c.entities):
                return Answer(f"{trial_label(t)}: {'; '.join(e.text.strip() for e in doses)} (\u201c{c.text}\u201d, {polarity(c)}).", True, None,
                              [t.id], [cite(t, c)], doses, "dose")
    if not rows:
        prose = []
        for key in ("description", "summary", "design"):
            mt = t.texts.get(key)
            if mt is None:
                continue
            for e in r.extract(mt.text):
                if e.label == "DOSE" and e.unit not in ("mL",):
                    a, b = mt.raw_span(*sentence_around(mt.text, e.start, e.end))
                    prose.append((e, key, a, b))
        if not prose:
            return not_stated(t, "a dose", "dose", q)
        e, key, a, b = prose[0]
        src = t.source_text()
        sentence = span_text(src, t.format, a, b)
        return Answer(f"{trial_label(t)}: {e.text.strip()} ({key}: \u201c{sentence}\u201d)", True, None, [t.id],
                      [Citation(t.id, key, sentence, a, b)], [x[0] for x in prose])
    text = "; ".join(row[2] for row in rows)
    desc = " ".join(dict.fromkeys(row[5] for row in rows[:3] if row[5]))  # an arm may give the schedule its drug does not
    cites = unique_citations([row[4] for row in rows if row[4] is not None])
    return Answer(f"{trial_label(t)}: {text}." + (f" {desc}" if desc else ""), True, None, [t.id], cites,
                  [d for row in rows for d in row[3]])


def _sex(t: Trial, q: Question) -> Answer | None:
    if not t.sex:
        return not_stated(t, "which sexes are eligible", "sex", q)
    nice = {"ALL": "all sexes are eligible", "FEMALE": "female participants only", "MALE": "male participants only"}.get(t.sex, t.sex)
    verdict = None
    if q.yes_no:
        asks_f = bool(re.search(r"\b(women|females?|girls?)\b", q.text, re.I))
        asks_m = bool(re.search(r"\b(men|males?|boys?)\b", q.text, re.I))
        ok = (t.sex == "ALL") or (asks_f and not asks_m and t.sex == "FEMALE") or (asks_m and not asks_f and t.sex == "MALE")
        verdict = "yes" if ok else "no"
    # The criteria that restrict the sex say it in the record's words ("Women with baseline estradiol ...").
    said = _SEX_WORDS.get(t.sex)
    stating = [cite(t, c) for c in t.inclusion if said is not None and said.search(c.text)][:2]
    return Answer(f"{trial_label(t)}: {nice}.", True, verdict, [t.id], cite_field(t, "sex", t.sex) + stating)


_SEX_WORDS = {"FEMALE": re.compile(r"\b(?:women|woman|females?|girls?|(?:post|pre)-?menopausal)\b", re.I),
              "MALE": re.compile(r"\b(?:men|man|males?|boys?)\b", re.I)}


def _healthy(t: Trial, q: Question) -> Answer:
    if t.healthy_volunteers is None:
        return not_stated(t, "whether healthy volunteers are accepted", "healthy_volunteers", q)
    return Answer(f"{trial_label(t)}: healthy volunteers {'are' if t.healthy_volunteers else 'are not'} accepted.", True,
                  "yes" if t.healthy_volunteers else "no", [t.id], cite_field(t, "healthy_volunteers", "yes" if t.healthy_volunteers else "no"))


FIELD_HANDLERS = {
    "outcome": _outcomes, "age": _age, "enrollment": _enrollment, "status": _status, "why_stopped": _why_stopped, "phase": _phase,
    "sponsor": _sponsor, "responsible_party": _responsible, "location": _location, "contact": _contact, "nct_id": _nct,
    "identifier": _identifier, "date": _date, "design": _design, "study_type": _study_type, "conditions": _conditions,
    "interventions": _interventions, "dose": _dose, "design_model": lambda t, q: _design(t, q), "sex": _sex, "healthy_volunteers": _healthy,
}



"""Record-field filters across trials: "Which trials are phase 3 / started in 2007 / enrolled more than
2,000 / enroll only women / accept patients over 80 / were terminated or withdrawn / test a vaccine /
are sponsored by X?". Each filter reads its cue from the question vocabulary (``filter_*``
patterns) and decides from structured fields only; ``FILTERS`` is tried in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..records import Age, Trial, phase_number
from .results import fmt
from .scope import TITLE_STOP, words
from .vocabulary import V

STATUSES = (("not yet recruiting", "NOT_YET_RECRUITING"), ("recruiting", "RECRUITING"), ("completed", "COMPLETED"),
            ("terminated", "TERMINATED"), ("withdrawn", "WITHDRAWN"), ("suspended", "SUSPENDED"),
            ("active, not recruiting", "ACTIVE_NOT_RECRUITING"), ("enrolling by invitation", "ENROLLING_BY_INVITATION"))


@dataclass(frozen=True)
class Filter:
    """What the chosen trials have in common, the test, and the value shown for each."""

    what: str
    keep: Callable[[Trial], bool]
    show: Callable[[Trial], str]


def _age_text(a: Age | None) -> str:
    if a is None:
        return "none stated"
    return a.text if a.source == "structured" else a.label()


def _org_words(name: str) -> set[str]:
    """The significant words of an organisation's name, lower case ("the Children's Oncology Group")."""
    return {w for w in re.findall(r"[a-z0-9][a-z0-9'&.-]*", name.lower()) if w not in TITLE_STOP and len(w) > 1}


def _sponsor(question: str) -> Filter | None:
    by = V.sponsored_by.search(question)
    if by:
        verb, org = by.group(1).lower(), by.group(2)
    else:
        lead = V.filter_lead_sponsor.search(question)
        if not lead:
            return None
        verb, org = "led", lead.group(1)
    want = _org_words(org)
    funded = verb in ("funded", "supported", "financed")

    def orgs(t: Trial) -> list[str]:
        return [t.sponsor or ""] + (list(t.collaborators) if funded else [])
    return Filter(f"are {verb} by {org}", lambda t: any(want and want <= _org_words(o) for o in orgs(t)),
                  lambda t: "; ".join(o for o in orgs(t) if o))


def _phase(question: str) -> Filter | None:
    m = V.phase_asked.search(question)
    if not m:
        return None
    n = phase_number(m.group(1))
    return Filter(f"are phase {n}", lambda t: f"PHASE{n}" in t.phases, lambda t: "/".join(t.phases))


def _sex(question: str) -> Filter | None:
    m = V.filter_one_sex.search(question)
    if not m:
        return None
    sex = "FEMALE" if re.match(r"wom|fem|girl", next(g for g in m.groups() if g), re.I) else "MALE"
    return Filter(f"enroll {sex.lower()} participants only", lambda t: t.sex == sex, lambda t: str(t.sex))


def _older(question: str) -> Filter | None:
    m = V.filter_age_over.search(question)
    if not m:
        return None
    n = float(m.group(1))
    # Someone older than n is accepted when no maximum age stops at n or below.
    return Filter(f"accept patients over {fmt(n)}", lambda t: t.max_age is None or t.max_age.years > n,
                  lambda t: f"maximum age {_age_text(t.max_age)}")


def _younger(question: str) -> Filter | None:
    m = V.filter_age_under.search(question)
    if not m:
        return None
    n = float(m.group(1) or 18)
    return Filter(f"accept patients under {fmt(n)}", lambda t: t.min_age is None or t.min_age.years < n,
                  lambda t: f"minimum age {_age_text(t.min_age)}")


def _max_age(question: str) -> Filter | None:
    if not re.search(r"\b(upper|maximum|max)\s+age\b|\bage limit\b|\bolder than\b", question, re.I):
        return None
    return Filter("state a maximum age", lambda t: t.max_age is not None, lambda t: f"maximum age {_age_text(t.max_age)}")


def _started(question: str) -> Filter | None:
    m = V.filter_year.search(question)
    if not m:
        return None
    which, year = m.group(1).lower(), m.group(2)
    key = "completion_date" if which.startswith(("complet", "end", "finish")) else "start_date"
    return Filter(f"{'completed' if key == 'completion_date' else 'started'} in {year}",
                  lambda t: (getattr(t, key) or "").startswith(year), lambda t: str(getattr(t, key)))


def _enrolled(question: str) -> Filter | None:
    m = V.filter_enrollment.search(question)
    if not m:
        return None
    how, n = m.group(1).lower(), float(m.group(2).replace(",", ""))
    more = how in ("more", "over", "above", "at least", "greater")
    inclusive = how == "at least" or how == "at most"
    return Filter(f"enrolled {how} {'than ' if how in ('more', 'fewer', 'less', 'greater') else ''}{fmt(n)} participants",
                  lambda t: t.enrollment is not None and ((t.enrollment > n or (inclusive and t.enrollment == n)) if more
                                                          else (t.enrollment < n or (inclusive and t.enrollment == n))),
                  lambda t: f"enrollment {t.enrollment}")


def _stopped(question: str) -> Filter | None:
    named = [(w, s) for w, s in STATUSES if re.search(rf"\b{w}\b", question, re.I)]
    if named:
        wanted = {s for _, s in named}
        if wanted & {"NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING"}:
            wanted.discard("RECRUITING")  # "recruiting" inside "not yet recruiting"
        return Filter(f"are {' or '.join(w for w, s in named if s in wanted)}", lambda t: t.status in wanted, lambda t: str(t.status))
    if re.search(r"\b(stopped|ended|closed) early\b|\bstopped\b|\bhalted\b", question, re.I):
        return Filter("were stopped early", lambda t: t.status in ("TERMINATED", "WITHDRAWN", "SUSPENDED"),
                      lambda t: f"{t.status}" + (f" ({t.why_stopped})" if t.why_stopped else ""))
    return None


def _intervention_kind(question: str) -> Filter | None:
    m = V.filter_intervention_kind.search(question)
    if not m:
        return None
    kind = m.group(1).lower().rstrip("s")
    stems = {kind, kind + "s", kind + "es"}

    def keep(t: Trial) -> bool:
        # The intervention's type ("BIOLOGICAL", "DIETARY_SUPPLEMENT") or a word of its names and titles.
        if any((iv.type or "").lower().replace("_", " ").startswith(kind[:6]) for iv in t.interventions):
            return True
        text = " ".join([t.title or "", t.official_title or "", *(iv.name for iv in t.interventions),
                         *(n for iv in t.interventions for n in iv.other_names)])
        return bool(stems & words(text))
    return Filter(f"test a {kind}", keep, lambda t: "; ".join(iv.name for iv in t.interventions[:3]) or (t.title or ""))


def _country(question: str) -> Filter | None:
    ql = question.lower()
    country = re.search(r"\b(?:in|from)\s+((?:the\s+)?[a-z]+(?:\s(?:states|kingdom|korea|zealand|africa|arabia))?)\s*\??$", ql)
    if not (re.search(r"\b(sites?|located|countr\w*|run in|held in|conducted in|take place in)\b", ql) and country):
        return None
    name = re.sub(r"^the\s+", "", country.group(1).lower())
    name = {"us": "united states", "usa": "united states", "america": "united states", "uk": "united kingdom",
            "britain": "united kingdom"}.get(name, name)
    rx = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.I)  # "India" is not "Indiana"
    return Filter(f"have sites in {name.title()}",
                  lambda t: any(rx.search(loc.country or "") or rx.search(loc.city or "") for loc in t.locations)
                  or bool(rx.search(t.design.get("countries", ""))),
                  lambda t: "; ".join(loc.label() for loc in t.locations[:3]))


def _healthy(question: str) -> Filter | None:
    if not re.search(r"\bhealthy volunteers?\b", question, re.I):
        return None
    return Filter("accept healthy volunteers", lambda t: t.healthy_volunteers is True, lambda t: "yes")


# Sponsor first: an organisation's name may hold any other cue ("... Cancer Institute").
FILTERS: tuple[Callable[[str], Filter | None], ...] = (
    _sponsor, _phase, _sex, _enrolled, _older, _younger, _max_age, _started, _stopped, _intervention_kind, _country, _healthy)
STRONG = (_sponsor, _sex, _started, _enrolled, _intervention_kind)  # win over condition words in the question


NEGATABLE = (_older, _younger, _sex, _healthy)  # "accept X" filters a question may ask the other way round


def field_filter(question: str, strong_only: bool = False, excluding: bool = False) -> Filter | None:
    """The first filter whose cue the question holds (only the strong ones when ``strong_only``);
    ``excluding`` ("Which trials exclude children / do not accept patients over 65?") keeps the
    trials an acceptance filter leaves out."""
    for make in (STRONG if strong_only else FILTERS):
        f = make(question)
        if f is None:
            continue
        if excluding:
            if make not in NEGATABLE:
                return None  # "Which trials exclude ... started in 2007" is no field question
            return Filter(f"do not {f.what}" if f.what.startswith("accept") else f"are not among those that {f.what}",
                          lambda t, keep=f.keep: not keep(t), f.show)
        return f
    return None

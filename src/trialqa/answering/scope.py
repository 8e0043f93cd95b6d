"""Scope: which trials a question is about.

In order: a trial passed in; NCT ids in the question (an id not in the records is out of scope);
then the words of the question that name trials. Each trial's names are its acronym, titles,
interventions and their other names, conditions, sponsor and collaborators (with the initialisms
people use: "NIAMS", "AP-HP", "BMS") and organisation and secondary ids. A word counts by how
rare it is in the records (``log(N / trials whose text uses it)``): a word that only one record
uses is decisive, "cancer" in an oncology corpus is not. A trial is named when its words add up
to at least ``0.5 log N`` (as rare as a word in at most sqrt(N) records) and it scores within
``CLOSE`` of the best; an acronym or id written as the record writes it counts ``log N`` more.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from ..errors import QueryError
from ..extraction import rules
from ..records import Trial
from .question import NCT, Question, trial_ref_spans
from .store import TrialStore
from .vocabulary import V

TITLE_STOP = frozenset("""the a an of for in on with and or to trial study studies treatment patients patient
using new therapeutic target clinical phase versus vs by at from""".split())
# Words that ask rather than name: never evidence of a topic.
STOP_WORDS = TITLE_STOP | frozenset("""what which who whom whose when where why how does did can could may might must should
would will shall is are was were be been this that these those there their they them it its as into than then any all
some give list tell me please about per you your yours hello thanks thank today tomorrow""".split())
CLOSE = 0.75  # a trial scoring at least this share of the best is named too
_WORD = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:['\u2019-][A-Za-z0-9\u00C0-\u024F]+)*")
_INITIALISM_SKIP = frozenset("of and for the on in de du des la le et für und der di del da y a an to at with".split())


def words(text: str) -> set[str]:
    """Lower-case words of ``text``; a hyphenated word also counts joined and by its parts
    ("HPS2-THRIVE": hps2-thrive, hps2thrive, hps2, thrive)."""
    out = set()
    for m in _WORD.finditer(text or ""):
        w = m.group(0).lower().replace("\u2019", "'")
        if w.endswith("'s"):
            w = w[:-2]
        out.add(w)
        if "-" in w:
            out.add(w.replace("-", ""))
            out.update(p for p in w.split("-") if p)
    return out


def initialisms(name: str) -> set[str]:
    """The initialisms an organisation goes by: "National Institute of Arthritis and Musculoskeletal
    and Skin Diseases" -> niams, "Assistance Publique - Hôpitaux de Paris" -> aphp, "Bristol-Myers
    Squibb" -> bms, "GlaxoSmithKline" -> gsk. Only names of three words or more make one."""
    parts = []
    for token in re.findall(r"[A-Za-z\u00C0-\u024F]+", name or ""):
        if token.lower() in _INITIALISM_SKIP:
            continue
        # CamelCase names are several words ("GlaxoSmithKline").
        parts.extend(re.findall(r"[A-Z\u00C0-\u00DE][a-z\u00DF-\u00FF]+|[A-Z]+(?![a-z])|[a-z]+", token))
    if len(parts) < 3:
        return set()
    return {"".join(p[0] for p in parts).lower()}


@dataclass
class NameIndex:
    """Which words name which trials, and how many trials' records use each word."""

    trials: list[Trial]
    names: dict[str, set[str]] = field(default_factory=dict)  # trial id -> its name words
    strong: dict[str, set[str]] = field(default_factory=dict)  # trial id -> acronyms, initialisms, ids as written
    df: Counter = field(default_factory=Counter)

    @classmethod
    def build(cls, trials: list[Trial]) -> "NameIndex":
        index = cls(trials)
        for t in trials:
            ivs = [n for iv in t.interventions for n in (iv.name, *iv.other_names)]
            orgs = [t.sponsor or "", *t.collaborators]
            ids = [i.id for i in t.identifiers]
            name_text = [t.title or "", t.official_title or "", t.acronym or "", *ivs, *t.conditions, *orgs, *ids]
            names = set().union(*(words(x) for x in name_text)) - TITLE_STOP
            inits = set().union(*(initialisms(o) for o in orgs)) if orgs else set()
            index.names[t.id] = names | inits
            index.strong[t.id] = {s for s in [t.acronym or "", *ids] if s} | inits
            body = [t.summary or "", t.description or "", *(c.text for c in t.criteria),
                    *(iv.description or "" for iv in t.interventions), *(o.measure for o in t.outcomes)]
            index.df.update(index.names[t.id] | set().union(*(words(x) for x in body)))
        return index

    def idf(self, word: str) -> float:
        return math.log(len(self.trials) / max(1, self.df[word]))

    def score(self, t: Trial, q_words: set[str], question: str) -> float:
        total = sum(self.idf(w) for w in q_words & self.names[t.id])
        plain = question.replace("-", "").replace(".", "")
        for s in self.strong[t.id]:
            # An acronym or id as the record writes it ("AVERROES", "A5071", "NIAMS", "AP-HP"); a
            # word-like acronym only in capitals ("ELDER" is a trial, "an elder patient" is not).
            if s.isalpha():
                form = s.upper() if s.islower() else s
                hit = re.search(rf"(?<!\w){re.escape(form)}(?!\w)", question) or re.search(rf"(?<!\w){re.escape(form)}(?!\w)", plain)
            else:
                # "BARI2D" is also written "BARI 2D", "HPS2-THRIVE" "HPS2 THRIVE".
                flex = r"[\s-]?".join(re.escape(p) for p in re.findall(r"[A-Za-z]+|\d+", s))
                hit = flex and re.search(rf"(?<![\w-]){flex}(?![\w-])", question, re.I)
            if hit:
                total += math.log(max(len(self.trials), 2))
                break
        return total


def name_index(qa: TrialStore) -> NameIndex:
    """The store's name index, built once for its current trials."""
    index = getattr(qa, "_name_index", None)
    if index is None or index.trials is not qa.trials:
        index = NameIndex.build(qa.trials)
        try:
            qa._name_index = index
        except AttributeError:
            pass  # a store that takes no attributes builds it per question
    return index


def _question_words(question: str, q: Question | None) -> set[str]:
    """The question's words that may name a trial. A condition it asks about is not a trial's name
    ("Which trials exclude interstitial lung disease?" over lung-cancer trials), unless it is part
    of a reference to a trial ("the indomethacin melanoma trial", "the MSC trial for Lyell syndrome")."""
    refs = q.refs if q is not None else trial_ref_spans(question)
    named_text = question
    for e in (q.entities if q is not None else rules().extract(question)):
        if e.label == "CONDITION" and e.concept_type == "condition" and not any(a <= e.start < b for a, b in refs) \
                and not V.trial_for.search(question, 0, e.start):
            named_text = named_text[:e.start] + " " * (e.end - e.start) + named_text[e.end:]
    return {w for w in words(named_text) if len(w) > 1} - TITLE_STOP


def unknown_reference(qa: TrialStore, question: str) -> str | None:
    """A name-like word the question uses to refer to a trial ("the KEYNOTE-189 trial") that no record
    uses at all, or None."""
    index = name_index(qa)
    spans = [m.span() for m in V.trial_ref.finditer(question)]
    for m in _WORD.finditer(question):
        w = m.group(0)
        in_ref = any(a <= m.start() < b for a, b in spans)
        code = bool(re.search(r"\d", w) and re.search(r"[A-Za-z]{2}", w)) or (w.isupper() and len(w) >= 3)
        if (code or (in_ref and w[0].isupper() and m.start() > 0)) and not words(w) & set(index.df):
            return w
    return None


def resolve_trials(qa: TrialStore, question: str, trial: str | None, q: Question | None = None) -> tuple[list[Trial], bool]:
    """The trials a question is about, and whether the question named them (``q``: the question
    already analysed, to reuse its entities)."""
    if trial:
        return [qa.trial(trial)], True
    ids = {m.group(0).upper() for m in NCT.finditer(question)}
    named = [t for t in qa.trials if t.nct_id in ids or t.id.upper() in ids]
    if named:
        return named, True
    if ids:
        raise QueryError(f"{', '.join(sorted(ids))} is not in these trial records")
    trials = list(qa.trials)
    if not trials:
        return [], False
    index = name_index(qa)
    q_words = _question_words(question, q)
    scored = [(index.score(t, q_words, question), t) for t in trials]
    top = max(s for s, _ in scored)
    if top > 0 and top >= 0.5 * math.log(len(trials)):
        chosen = [t for s, t in scored if s >= CLOSE * top]
        if q is not None:
            # The words that named the trial say which trial, not what is asked about it.
            q.naming = q_words & set().union(*(index.names[t.id] for t in chosen))
        return chosen, True
    return trials, False


def off_topic(qa: TrialStore, q: Question, field: str | None) -> bool:
    """Whether a question that names no trial is about something else than trial records: chit-chat,
    weather, prices, gibberish. A question with anything to look up in a record (a condition, a
    lab, a threshold, a patient, a record field, an eligibility word) is on topic; otherwise it is
    off topic when it asks for something no record holds (``off_topic`` patterns) or when most
    of its words appear in no record."""
    if V.off_topic.search(q.text):
        return True
    if q.concepts or q.analytes or q.kind or q.patient or field or V.eligibility_words.search(q.text):
        return False
    index = name_index(qa)
    content = {w for w in words(q.text) if len(w) > 2 and not w.isdigit()} - STOP_WORDS
    return not content or sum(1 for w in content if index.df[w]) < 0.5 * len(content)

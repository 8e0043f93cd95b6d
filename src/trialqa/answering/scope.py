"""Scope: which trials a question is about.

In order: a trial passed in; NCT ids in the question (an id not in the records is out of scope);
then the words of the question that name trials. Each trial's names are its acronym, titles,
interventions and their other names, conditions, sponsor and collaborators (with the initialisms
people use: "NIAMS", "AP-HP", "BMS") and organisation and secondary ids. A word counts by how
rare it is (below): a word that names one trial and few records use is decisive, "cancer" in an
oncology corpus is not. A drug or condition named by a synonym ("AZT") names the trial that
calls it otherwise ("zidovudine"); a code only one record's text uses ("AZT", "rhIL-10") names
that record, and counts as a name only where it stands in a reference to a trial. A trial is named when its words add up
to at least ``0.7 log N`` (what one decisive word scores) and within ``CLOSE`` of the best; an
acronym or id written as the record writes it counts ``log N`` more. A word's weight is the
geometric mean of how rare it is among the trials' names and in the records' text, so a word
that names one trial but every record uses ("year") does not name it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import lexicons
from ..errors import QueryError
from ..extraction import rules
from ..records import Trial
from .question import NCT, Question, trial_ref_spans
from .store import TrialStore
from .vocabulary import V

TITLE_STOP = lexicons.stop_words("trial_names")
# Words that ask rather than name: never evidence of a topic.
STOP_WORDS = TITLE_STOP | lexicons.stop_words("asking")
CLOSE = 0.75  # a trial scoring at least this share of the best is named too
MAX_CANDIDATES = 4  # close candidates answered each; more and the question is not about one trial
MIN_SHARE = 0.7  # of log N: what a decisive word alone scores (sqrt(log N x 0.5 log N))
_WORD = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:['\u2019-][A-Za-z0-9\u00C0-\u024F]+)*")
# A drug code, an abbreviation or a gene name as a record writes it: capitals and digits ("AZT",
# "rhIL-10", "SGLT2", "h5G1.1"), not a capitalised word.
_CODE = re.compile(r"(?=[A-Za-z])(?=[^A-Z]*[A-Z])(?=.*\d|(?:[^A-Z]*[A-Z]){2})[\w'-]{3,}")
_GENERIC_TAIL = frozenset("diseases disease institute center centre foundation inc ltd".split())
_INITIALISM_SKIP = frozenset("of and for the on in de du des la le et für und der di del da y a an to at with".split())


def word_groups(text: str) -> list[set[str]]:
    """For each word of ``text``, its lower-case forms: a hyphenated word also joined and by its
    parts ("HPS2-THRIVE": hps2-thrive, hps2thrive, hps2, thrive)."""
    out = []
    for m in _WORD.finditer(text or ""):
        w = m.group(0).lower().replace("\u2019", "'")
        if w.endswith("'s"):
            w = w[:-2]
        forms = {w}
        if "-" in w:
            forms.add(w.replace("-", ""))
            forms.update(p for p in w.split("-") if p)
        out.append(forms)
    return out


def words(text: str) -> set[str]:
    """Every form of every word of ``text`` (see ``word_groups``)."""
    return set().union(*word_groups(text)) if text else set()


def initialisms(name: str) -> set[str]:
    """The initialisms an organisation goes by: "National Institute of Arthritis and Musculoskeletal
    and Skin Diseases" -> niams, "Assistance Publique - Hôpitaux de Paris" -> aphp, "Bristol-Myers
    Squibb" -> bms, "GlaxoSmithKline" -> gsk. Only names of three words or more make one."""
    parts = []
    for token in re.findall(r"[A-Za-z\u00C0-\u024F]+", re.sub(r"['\u2019]s\b", "", name or "")):
        if token.lower() in _INITIALISM_SKIP:
            continue
        # CamelCase names are several words ("GlaxoSmithKline").
        parts.extend(re.findall(r"[A-Z\u00C0-\u00DE][a-z\u00DF-\u00FF]+|[A-Z]+(?![a-z])|[a-z]+", token))
    if len(parts) < 3:
        return set()
    full = "".join(p[0] for p in parts).lower()
    # "... Musculoskeletal and Skin Diseases" goes by NIAMS, "... Allergy and Infectious Diseases" by NIAID.
    return {full, full[:-1]} if parts[-1].lower() in _GENERIC_TAIL and len(parts) > 3 else {full}


# The version of the name index a store keeps: a hash of this module, so a change to how names are
# read makes the stored one stale (the lexicons it reads are in the store's own derivation key).
VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
CONCEPT = "\u00a7"  # prefix of a concept among name words: "\u00a7zidovudine" is named by AZT, Retrovir, ...


@dataclass
class NameIndex:
    """Which words name which trials (``name_df``), and how many records use each word at all (``df``)."""

    trials: list[Trial]
    names: dict[str, set[str]] = field(default_factory=dict)  # trial id -> its name words and concepts
    strong: dict[str, set[str]] = field(default_factory=dict)  # trial id -> acronyms, initialisms, ids, capitalised names
    df: Counter = field(default_factory=Counter)
    name_df: Counter = field(default_factory=Counter)
    patterns: dict[str, tuple] = field(default_factory=dict)  # trial id -> (exact-case, loose) strong-name patterns
    codes: dict[str, set[str]] = field(default_factory=dict)  # trial id -> codes of its text no other record uses
    code_words: set[str] = field(default_factory=set)  # all of them

    @classmethod
    def build(cls, trials: list[Trial]) -> "NameIndex":
        index = cls(trials)
        r = rules()
        all_caps: dict[str, set[str]] = {}  # capitalised name words, kept below when few records use them
        all_inits: dict[str, set[str]] = {}  # organisations' initialisms, the same
        codes: dict[str, set[str]] = {}  # code-like words of the record's text ("AZT", "rhIL-10", "SGLT2")
        for t in trials:
            ivs = [n for iv in t.interventions for n in (iv.name, *iv.other_names)]
            orgs = [t.sponsor or "", *t.collaborators]
            ids = [i.id for i in t.identifiers]
            name_text = [t.title or "", t.official_title or "", t.acronym or "", *ivs, *t.conditions, *orgs, *ids]
            names = set().union(*(words(x) for x in name_text)) - TITLE_STOP
            inits = set().union(*(initialisms(o) for o in orgs)) if orgs else set()
            # The concept gazetteer alone: a full extraction of every title costs seconds on a registry.
            concepts = {CONCEPT + name for x in name_text if x for _, _, name in r.concept_gaz.find(x)
                        if r.concepts[name]["type"] in ("drug", "condition", "procedure")}
            index.names[t.id] = names | inits | concepts
            all_inits[t.id] = inits
            caps = {w for x in [t.title or "", t.official_title or "", *ivs, *orgs] for w in _WORD.findall(x)
                    if len(w) >= 3 and (w.isupper() or (any(c.isdigit() for c in w) and any(c.isupper() for c in w)))}
            index.strong[t.id] = {s for s in [t.acronym or "", *ids] if s} | inits
            all_caps[t.id] = caps
            body = [t.summary or "", t.description or "", *(c.text for c in t.criteria),
                    *(iv.description or "" for iv in t.interventions), *(o.measure for o in t.outcomes)]
            mentioned = {CONCEPT + e.concept for c in t.criteria for e in c.entities if e.label == "CONDITION"}
            body_words = set().union(*(words(x) for x in body))
            index.df.update(index.names[t.id] | body_words | mentioned)
            index.name_df.update(index.names[t.id])
            codes[t.id] = {w.lower() for x in body for w in _WORD.findall(x) if _CODE.fullmatch(w)} - index.names[t.id]
        # Capitalised words of titles and sponsors ("NCI", "FMP2.1") and organisations' initialisms are
        # names when few records use them; "HIV" or "NSCLC" name a disease, "ECOG" a scale.
        rare = math.sqrt(len(trials))
        for t in trials:
            common = {w for w in all_inits[t.id] if index.df[w] > rare + index.name_df[w]}
            index.names[t.id] -= common
            index.strong[t.id] -= common
            index.strong[t.id] |= {w for w in all_caps[t.id] if index.df[w.lower()] <= rare and not r.concept_lookup(w)}
            # A code no other record uses names its record, even outside its titles ("the pediatric AZT study").
            index.codes[t.id] = {w for w in codes[t.id] if index.df[w] == 1}
            index.code_words |= index.codes[t.id]
        index._compile()
        return index

    def _compile(self) -> None:
        """One pattern per trial for its strong names, built once (re's cache cannot hold a registry's)."""
        for tid, forms in self.strong.items():
            exact, loose = [], []
            for s in sorted(forms):
                if s.isalpha():
                    form = s.upper() if s.islower() else s
                    exact.append(re.escape(form))
                else:
                    # "BARI2D" is also written "BARI 2D", "HPS2-THRIVE" "HPS2 THRIVE".
                    flex = r"[\s-]?".join(re.escape(p) for p in re.findall(r"[A-Za-z]+|\d+", s))
                    if flex:
                        loose.append(flex)
            self.patterns[tid] = (re.compile(rf"(?<!\w)(?:{'|'.join(exact)})(?!\w)") if exact else None,
                                  re.compile(rf"(?<![\w-])(?:{'|'.join(loose)})(?![\w-])", re.I) if loose else None)

    def to_dict(self) -> dict:
        """The index without its trials and patterns, JSON-ready: what the store keeps (``from_dict``)."""
        sets = lambda d: {k: sorted(v) for k, v in d.items()}  # noqa: E731
        return {"version": VERSION, "names": sets(self.names), "strong": sets(self.strong), "df": dict(self.df),
                "name_df": dict(self.name_df), "codes": sets(self.codes), "code_words": sorted(self.code_words)}

    @classmethod
    def from_dict(cls, d: dict, trials: list[Trial]) -> "NameIndex | None":
        """The index ``to_dict`` wrote, for ``trials``; None when it was made by other code or for other trials."""
        if d.get("version") != VERSION or set(d.get("names", ())) != {t.id for t in trials}:
            return None
        index = cls(trials, {k: set(v) for k, v in d["names"].items()}, {k: set(v) for k, v in d["strong"].items()},
                    Counter(d["df"]), Counter(d["name_df"]), {}, {k: set(v) for k, v in d["codes"].items()},
                    set(d["code_words"]))
        index._compile()
        return index

    def weight(self, word: str) -> float:
        """How much a word names a trial: rare among names and rare in the records' text (the
        geometric mean of both inverse frequencies), so "zidovudine" beats "children"."""
        n = len(self.trials)
        return math.sqrt(math.log(n / max(1, self.name_df[word])) * math.log(n / max(1, self.df[word])))

    def decisive(self, word: str) -> bool:
        """A word that names one trial and few records use: it alone says which trial."""
        n = len(self.trials)
        if self.df[word] == 1 and self.name_df[word] == 0:
            return word in self.code_words
        return self.name_df[word] == 1 and not word.isdigit() and math.log(n / max(1, self.df[word])) >= 0.5 * math.log(n)

    def all_names(self, tid: str) -> set[str]:
        """A trial's name words and the codes only its record uses."""
        return self.names[tid] | self.codes.get(tid, set())

    def score(self, t: Trial, q_words: list[set[str]], text: str) -> float:
        """How much the question's words (and ``text``, the question with asked-about conditions
        blanked) name trial ``t``."""
        # A word counts once, by its best form that names the trial ("once-daily" is not four words).
        names = self.all_names(t.id)
        total = sum(max((self.weight(w) for w in forms & names), default=0.0) for forms in q_words)
        if self.strong_hit(t, text):
            total += math.log(max(len(self.trials), 2))
        return total

    def strong_hit(self, t: Trial, question: str) -> bool:
        """An acronym or id as the record writes it ("AVERROES", "A5071", "NIAMS", "AP-HP"); a
        word-like acronym only in capitals ("ELDER" is a trial, "an elder patient" is not)."""
        exact, loose = self.patterns.get(t.id, (None, None))
        plain = question.replace("-", "").replace(".", "")
        return bool((exact and (exact.search(question) or exact.search(plain))) or (loose and loose.search(question)))


def name_index(qa: TrialStore) -> NameIndex:
    """The store's name index, built once for its current trials (again when the list is replaced
    or changes length; a store that takes no attributes builds it for every question). A kept one
    (``qa._name_index_loader``, the trial store's) is read instead of building it."""
    index = getattr(qa, "_name_index", None)
    load = getattr(qa, "_name_index_loader", None)
    if index is None and load is not None:
        qa._name_index_loader = None  # one try: a stale or missing one is built below
        index = load()
    if index is None or index.trials is not qa.trials or len(index.trials) != len(qa.trials):
        index = NameIndex.build(qa.trials)
    try:
        qa._name_index = index
    except AttributeError:
        pass  # a store that takes no attributes builds it per question
    return index


def _question_words(question: str, q: Question | None, index: NameIndex) -> tuple[list[set[str]], str]:
    """The question's words that may name a trial. A condition it asks about is not a trial's name
    ("Which trials exclude interstitial lung disease?" over lung-cancer trials), unless it is part
    of a reference to a trial ("the indomethacin melanoma trial", "the MSC trial for Lyell syndrome")
    or, right before the trial noun, names one trial alone ("the retinopathy study")."""
    refs = q.refs if q is not None else trial_ref_spans(question)
    entities = q.entities if q is not None else rules().extract(question)
    named_text = question
    for e in entities:
        decisive_name = _TRIAL_NOUN.match(question[e.end:].lstrip()) and any(index.decisive(w) for w in words(e.text))
        if e.label == "CONDITION" and e.concept_type == "condition" and not any(a <= e.start < b for a, b in refs) \
                and not V.trial_for.search(question, 0, e.start) and not decisive_name:
            named_text = named_text[:e.start] + " " * (e.end - e.start) + named_text[e.end:]
    groups = [{w for w in forms if len(w) > 1 and not w.isdigit()} - STOP_WORDS for forms in word_groups(named_text)]
    # A drug or condition named by any synonym ("AZT" for zidovudine) names what the record calls it.
    kept = [e for e in entities
            if e.label == "CONDITION" and e.concept_type in ("drug", "condition", "procedure") and named_text[e.start:e.end].strip()]
    groups += [{CONCEPT + e.concept} for e in kept]
    return [g for g in groups if g], named_text


def unknown_reference(qa: TrialStore, question: str) -> str | None:
    """A name-like word the question uses to refer to a trial ("the KEYNOTE-189 trial") that no record
    uses at all, or None."""
    index = name_index(qa)
    spans = [m.span() for m in V.trial_ref.finditer(question)]
    inside, codes = [], []
    for m in _WORD.finditer(question):
        w = m.group(0)
        if re.search(r"\d", w) and re.search(r"(?i)\b\d+(?:\.\d+)?-?(?:years?|yrs?|months?|weeks?|days?)\b|\d(?:st|nd|rd|th)\b", w):
            continue  # "45-year-old", "3rd": not names
        whole = {w.lower(), w.lower().replace("-", "")}  # "KEYNOTE-189" is unknown even if "189" is not
        if any(index.df[x] for x in whole):
            continue
        if any(a <= m.start() < b for a, b in spans) and (w[0].isupper() or re.search(r"\d", w)) and m.start() > 0:
            inside.append(w)
        elif re.fullmatch(r"[A-Z]{2,}[A-Za-z]*-\d+[A-Za-z0-9-]*", w):
            codes.append(w)  # shaped like a trial code ("KEYNOTE-189", "CA184-042")
    # A word inside "the ... trial" first, then a code; in the order of the question.
    return (inside or codes or [None])[0]


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
    if len(trials) <= 1:
        return trials, bool(trials)  # one trial: "this trial" and every question mean it
    index = name_index(qa)
    q_words, named_text = _question_words(question, q, index)
    decisive = {w for forms in q_words for w in forms if index.decisive(w)}
    if decisive:
        # "the pediatric zidovudine trial": the word that names one trial decides among the others.
        trials = [t for t in trials if decisive & index.all_names(t.id)] or trials
    scored = [(index.score(t, q_words, named_text), t) for t in trials]
    top = max(s for s, _ in scored)
    if top > 0 and top >= MIN_SHARE * math.log(len(qa.trials)):
        chosen = [t for s, t in sorted(scored, key=lambda x: -x[0]) if s >= CLOSE * top][:MAX_CANDIDATES]
        if q is not None:
            # The words that named the trial say which trial, not what is asked about it.
            named_words = set().union(*(index.names[t.id] for t in chosen))
            q.naming = {w for w in set().union(*q_words) & named_words if not w.startswith(CONCEPT)}
            # A code names the trial only where it stands in a reference ("the pediatric AZT study");
            # elsewhere it is asked about ("Which KRAS mutation ...?").
            codes = set().union(*(index.codes.get(t.id, set()) for t in chosen))
            name_phrases(q, named_words | codes)
            q.naming |= {w for a, b in q.name_spans for w in words(q.text[a:b]) & codes}
        return chosen, True
    return list(qa.trials), False


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


_TRIAL_NOUN = re.compile(r"(?:trials?|stud(?:y|ies)|protocol|program(?:me)?)\b", re.I)
_LINK = frozenset("in for of on with the a an and or vs versus".split())


def name_phrases(q: Question, named_words: set[str]) -> None:
    """Mark the phrases of ``q`` that name a trial (``q.name_spans``) and drop the concepts mentioned
    only there: a run of name words is a name when it stands next to the trial noun ("the ETOP
    afatinib trial", "the study in type 1 diabetes") or inside a reference to a trial ("the
    'Solitary Islet Transplantation ...' study"); a name word elsewhere is asked about ("What dose of
    apixaban ...?", "... exclude patients with ocular hypertension")."""
    tokens = list(_WORD.finditer(q.text))
    is_name = [bool(f & named_words) for f in word_groups(q.text)]
    refs = [m.span() for m in V.trial_ref.finditer(q.text)]
    spans, i = [], 0
    while i < len(tokens):
        if not is_name[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and (is_name[j + 1] or (tokens[j + 1].group(0).lower() in _LINK and j + 2 < len(tokens) and is_name[j + 2])):
            j += 1
        start, end = tokens[i].start(), tokens[j].end()
        before = q.text[max(0, start - 30):start]
        after = q.text[end:end + 30]
        in_ref = any(a <= start and end <= b for a, b in refs)
        if in_ref or _TRIAL_NOUN.match(after.lstrip()) or re.search(
                r"(?:trials?|stud(?:y|ies)|protocol)\s+(?:(?:in|for|of|on|with)\s+)?(?:the\s+)?$", before, re.I):
            spans.append((start, end))
        i = j + 1
    q.name_spans = spans
    inside = lambda e: any(a <= e.start and e.end <= b for a, b in spans)
    mentions: dict[str, list[bool]] = {}
    for e in q.entities:
        if e.label == "CONDITION":
            mentions.setdefault(e.concept, []).append(inside(e))
    q.concepts = {c for c in q.concepts if not all(mentions.get(c, [False]))}
    times = [e for e in q.entities if e.label == "TIME_WINDOW"]
    if q.kind == "TIME_WINDOW" and times and all(inside(e) for e in times) and not V.time_question.search(q.text):
        q.kind, q.anchor = None, None  # "When did BARI 2D start?": "2D" is the trial's name, not two days

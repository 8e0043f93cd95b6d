"""What a criterion's wording says about its atoms, beyond the atoms themselves: whether it is an
exclusion or a requirement wherever it is listed (``criterion_polarity``), the heading that only names
its topic (``without_heading``), and what its negations reach (``read_negation``): a leading "No" or
"must not" negates a threshold on its subject and each named thing after it, and "X are excluded" is
a statement of exclusion, not the absence the same words are in a note.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from .. import lexicons
from ..records import Criterion

if TYPE_CHECKING:
    from .requirements import Atom

NAMED = ("condition", "treatment", "procedure", "pregnancy")  # atoms naming something the patient has or had

# Words that carry no requirement of their own: structure, hedges, the subject of the sentence.
FILLER = set("""patients patient subjects subject participants participant people persons women woman men man
children child adults adult those with without have having had has been being must should will would could
shall able known history evidence documented confirmed diagnosis diagnosed defined following include
including included exclude excluded excluding other than than more less least most within prior previous
current currently presence present any either from after before during since until upon into their there
these this that which who whom whose also only such well each both other clinical clinically significant
study trial protocol criteria criterion eligible eligibility enrollment entry inclusion exclusion randomization
randomisation screening baseline visit time period days weeks months years hours required requirement
investigator opinion judgment judgement considered per based according level levels value values count
normal limit limits upper lower range institutional ratio type stage grade class score status test result
results positive negative treatment therapy treated receiving received use used taking given dose doses
""".split())

# "toxicities from previous chemotherapy", "complications of Crohn's disease", "unable to tolerate aspirin":
# the mention after them is what caused the harm or what cannot be taken, not what the patient has or had
HARM_OF = re.compile(r"\b(?P<harm>toxicit(?:y|ies)|side[- ]effects?|sequelae|complications?)\s+(?:[\w-]+\s+){0,2}?"
                     r"(?:from|of|due\s+to|related\s+to|caused\s+by|after|following)\s+(?:the\s+|an?\s+|any\s+|their\s+|his\s+|her\s+)?"
                     r"(?:(?:prior|previous|earlier|recent)\s+)?(?:[\w-]+,?\s+(?:or|and|and/or)\s+){0,2}$", re.I)
CANNOT_TAKE = re.compile(r"\b(?:inability|unable|not\s+able|unwilling(?:ness)?|refus(?:al|es?|ing))\s+to\s+(?:take|receive|tolerate|swallow|"
                         r"undergo|use|comply\s+with|discontinue|stop|withdraw)\s+(?:the\s+|an?\s+|any\s+|oral\s+|their\s+)?"
                         r"(?:[\w-]+,?\s+(?:or\s+|and\s+|and/or\s+)?){0,4}$", re.I)

# "nitrosourea-containing", "platinum-based": a kind of a regimen, named by a drug that is a mention of its own
REGIMEN_KIND = re.compile(r"\w-(?:containing|based|including)$", re.I)
# A word right before a mention that names a kind of the concept ("renovascular hypertension",
# "abdominal surgery", "CNS metastases"): one word of letters, digits or hyphens, a space from the next.
_WORD_BEFORE = re.compile(r"(?<![\w'-])([A-Za-z][\w'-]*)\s+$")


def kind_words(text: str, start: int, taken: list[tuple[int, int]] = (), also: frozenset[str] = frozenset()) -> str | None:
    """The one or two words right before the mention at ``start`` that name a kind of what it names
    and no concept of the lexicon does ("renovascular" hypertension, "crystal-induced" arthritis): a
    patient with plain hypertension may not have that kind. Words of structure, time, certainty or
    severity (``not_kinds``; "known", "prior", "severe"), verb forms and words of other mentions
    (``taken``) name no kind, nor the words in ``also`` (a note's own cue words); None when there is none."""
    words: list[str] = []
    end = start
    while len(words) < 2:
        m = _WORD_BEFORE.search(text, max(0, end - 40), end)
        if not m:
            break
        w, at = m.group(1), m.start(1)
        low = w.lower()
        if (low in _not_kinds() or low.rstrip("s") in _not_kinds() or low in also or len(low) < 3
                or ("-" not in low and low.endswith(("ing", "ed", "'s", "ly")))  # verb forms, possessives, adverbs
                or (any(a < at + len(w) and at < b for a, b in taken) and not REGIMEN_KIND.search(w))
                or re.search(r"\bto\s+$", text[max(0, at - 4):at], re.I)):  # "to control hypertension": a verb
            break
        words.insert(0, w)
        end = at
    return " ".join(words) or None


@lru_cache(maxsize=1)
def _not_kinds() -> frozenset[str]:
    req = lexicons.load("requirements")
    qualifier_words = {w for words in req["qualifiers"].values() for phrase in words for w in phrase.lower().split()}
    return frozenset(FILLER | set(lexicons.load("stopwords")["function_words"]) | qualifier_words
                     | {w.lower() for w in req["not_kinds"]})

_NO_LEAD = re.compile(r"\s*(?:no|not|without|never|absence\s+of|free\s+of)\b(?!\s+(?:more|greater|fewer|less|longer|"
                      r"later|earlier|sooner)\b)", re.I)
_NEGATION_THEN = (r"\s*(?:[A-Za-z][\w/-]*\s+){0,5}?(?:(?:must|should|may|can|will|shall|do|does)\s+not|cannot|no|not|never|"
                  r"without|absence\s+of|free\s+of)(?:\s+(?!(?:no|not|or|and|if|than|more|less|greater|fewer|over|under|"
                  r"above|below|exceed\w*|be|been|is|are|was|were)\b)[A-Za-z][\w-]*)")
_THRESHOLD_NEGATION = re.compile(_NEGATION_THEN + r"{1,8}\s*", re.I)
_THRESHOLD_NEGATION_BARE = re.compile(_NEGATION_THEN + r"{0,8}\s*", re.I)
_COMPARATOR_FIRST = re.compile(r"\s*(?:[<>≤≥=]|less|more|greater|fewer|over|under|above|below|at|not|no|exceed\w*|up|"
                               r"between|within|from|higher|lower|older|younger|\d)", re.I)
_EXCLUSION_WORD = re.compile(r"\b(?:excluded|prohibited|ineligible|not\s+(?:be\s+)?(?:allowed|permitted|eligible))\b", re.I)
_MUST_NOT_LEAD = re.compile(r"\s*(?:(?!(?:or|and|if|who|that|which|while|when|unless|but)\b)[A-Za-z][\w/-]*\s+){0,6}?"
                            r"(?:(?:must|should|may|can|shall)\s+(?:not|never|have\s+no|be\s+free\s+of|"
                            r"be\s+negative\s+(?:for|by|on|in))|cannot)\b"
                            r"(?!(?:\s+[\w-]+){0,2}\s+(?:more|greater|fewer|less|longer|over|exceed\w*)\b)", re.I)
# What ends the reach of a leading negation: a sentence (not an abbreviation's dot), a requirement of its
# own ("..., and must be using"), an exception, a washout ("At least 4 weeks since"), a heading ("Endocrine therapy:")
_NEGATION_REACH_END = re.compile(
    r";|\.(?=\s|$)(?<!i\.e\.)(?<!e\.g\.)(?<!etc\.)(?<!\bvs\.)|(?:\b(?:and|but)|[,(])\s*(?:must|should|will|may)\b(?!\s+not\b)|"
    r"\b(?:except(?:ing)?|with\s+the\s+exception\s+of|other\s+than|unless|excluding)\b|"
    r"(?-i:\bAt\s+least\b)|(?<=\s)(?-i:[A-Z][a-z]+)(?:\s+[A-Za-z]+){0,2}\s*:", re.I)
_ITEM_BREAK = re.compile(r"\b([a-z0-9%]+[)\]]?)\s+(?=[A-Z][a-z]{2,}\s+[a-z(])")
_JOINING_WORDS = {"of", "or", "and", "nor", "with", "to", "for", "the", "a", "an", "in", "than", "by", "on", "from", "at",
                  "as", "including", "especially", "such", "like", "e.g", "i.e", "active", "known", "severe", "prior", "any"}
# A heading of a few words before a colon ("Chemotherapy:", "Cardiovascular:", "Other:")
_HEADING = re.compile(r"\s*(?!(?:no|not|without|never|any|all|patients?|subjects?)\b)[A-Za-z][A-Za-z/&-]*"
                      r"(?:\s+(?!(?:no|not|except|excluding|without|never|including|of|with|for|than|or|and)\b)[A-Za-z/&-]+){0,3}\s*:\s+", re.I)


@lru_cache(maxsize=1)
def _exclusion_statement() -> re.Pattern:
    """"... will be excluded", "not eligible": the question vocabulary's pattern, so both read criteria alike."""
    return lexicons.compile_pattern(lexicons.load("questions")["patterns"]["exclusion_statement"],
                                    "data/questions.json: patterns.exclusion_statement")


# Only who may enter: "X are acceptable" inside an exclusion states an exception to it (see _ALLOWED).
# Not "patients who are eligible for surgery" or "subjects who are included in another trial": a description.
_INCLUSION_STATEMENT = re.compile(r"(?<!\bwho )(?<!\bthat )(?<!\bwhich )\b(?:will be|are|is|may be|shall be)\s+"
                                  r"(?:eligible|included)\b(?!\s+(?:for|in|into|to|on)\b)", re.I)


# A criterion that opens with its subject and "must" states a requirement ("Fertile women must have a
# negative pregnancy test"), wherever it is listed; not "Pregnant or if capable ... must": a list before it.
_REQUIREMENT_LEAD = re.compile(r"\s*(?:(?!(?:or|and|if|who|whom|that|which|while|when|unless|but|because|since|with|on|"
                               r"receiving|taking)\b)[A-Za-z][\w/-]*\s+){0,6}?"
                               r"(?:must|need\s+to|(?:is|are|will\s+be)\s+required\s+to)\b", re.I)


def criterion_polarity(c: Criterion) -> str:
    """What a criterion is: an exclusion when in the exclusion section or when it says so itself
    ("... will be excluded" under an inclusion heading), an inclusion otherwise, and also for a
    statement of who may enter listed among the exclusions."""
    if c.section == "exclusion":
        # "Patients with ... will be eligible if ...", listed among the exclusions, states who may enter.
        # So does "Creatinine clearance must be greater than 50 cc/min." or "Informed consent must be obtained."
        # Not "must not ..." (an exclusion said twice over: read_negation undoes the double negative), nor an
        # item under "You will not be eligible if you:".
        states_entry = _INCLUSION_STATEMENT.search(c.text) or (
            _REQUIREMENT_LEAD.match(c.text) and not _MUST_NOT_LEAD.match(c.text)
            and not (c.group and _exclusion_statement().search(c.group)))
        return "inclusion" if states_entry and not _exclusion_statement().search(c.text) else "exclusion"
    return "exclusion" if _exclusion_statement().search(c.text) else "inclusion"


def without_heading(text: str, atoms: list[Atom], lead_end: int, polarity: str = "inclusion") -> tuple[list[Atom], int]:
    """The atoms without those of a topic heading ("Cardiovascular: No MI", "Chemotherapy: See ... No
    prior chemotherapy"), and where the criterion's body starts. A heading's atoms are dropped when what
    follows negates; over "At least 4 weeks since biologic therapy" the heading keeps the window's atom."""
    heading = _HEADING.match(text) if not lead_end else None
    if not heading:
        return atoms, 0
    body = heading.end()
    negating = negation_lead(text, body) is not None
    negated_names = {a.name for a in atoms if a.start >= body and a.negated}
    if not any(a.start >= body for a in atoms):
        # "Pregnant women: not eligible", "Chemotherapy: No prior therapy": the heading is the content,
        # negated by what follows ("Surgery: Not within the past 4 weeks"; "Not specified" is a permission)
        if negating and polarity == "inclusion":
            for a in atoms:
                if a.kind in NAMED and a.op is None:
                    a.negated = True
        return atoms, body
    return [a for a in atoms if a.start >= body or not (negating or a.name in negated_names)], body


def negation_lead(text: str, body: int = 0) -> re.Match | None:
    """A leading "No ..." or "... must not ..." of the criterion's body, if it has one."""
    return _NO_LEAD.match(text, body) or _MUST_NOT_LEAD.match(text, body)


def read_negation(text: str, atoms: list[Atom], polarity: str, body: int = 0) -> None:
    """Set each atom's ``negated`` from the criterion's wording (see the module doc); ``body`` is where
    the text after a heading starts."""
    if polarity == "exclusion" and any(a.negated for a in atoms):
        _without_exclusion_negation(text, atoms)
    must_not = _MUST_NOT_LEAD.match(text, body)
    head = _NO_LEAD.match(text, body) or must_not
    named = [(a.start, a.end) for a in atoms if a.kind in NAMED]
    for a in atoms:
        if a.op is not None and a.kind in ("measurement", "score", "age"):
            # A threshold states its own direction ("not less than" is read as ">="); only a leading "No"
            # or "must not" with nothing but its subject between negates it.
            a.negated = polarity == "inclusion" and _threshold_negated(text, body, a, named)
    if head and must_not and polarity == "exclusion":
        # "Patients must not have undergone splenectomy" listed among exclusions: excluded if they have
        _without_lead_negation(text, atoms, head)
        return
    if head and polarity == "inclusion":
        # "No other malignancy ...", "Patients must not have received ...": each named thing after the lead,
        # but not a washout ("At least 6 months since prior MI": how long ago, not whether)
        end = _negation_reach(text, head.end(), {a.start for a in atoms})
        for a in atoms:
            if a.kind in NAMED and a.op is None and head.end() <= a.start < end and not _washout(a):
                a.negated = True


def _washout(a: Atom) -> bool:
    return bool(a.window and a.window.get("op") in (">", ">="))


def _without_lead_negation(text: str, atoms: list[Atom], head: re.Match) -> None:
    """Undo the negation a "must not" lead put on what follows it (up to its reach); thresholds, which
    state their own direction, are left as read."""
    from .rules import rules  # the ConText triggers; spaCy is not needed

    pre = rules().context.find_triggers(text).get("negation_pre", [])
    end = _negation_reach(text, head.end(), {a.start for a in atoms})
    for a in atoms:
        if a.negated and a.kind in NAMED and a.op is None and head.end() <= a.start < end:
            nearest = max((x for x, y in pre if y <= a.start), default=-1)
            if nearest < head.end():  # no negation of its own after the lead
                a.negated = False


def _negation_reach(text: str, start: int, mention_starts: set[int]) -> int:
    """Where a leading negation stops: the end of its sentence, a requirement of its own ("..., and must
    be using"), or the next item of a run-on list whose line breaks were lost ("Not pregnant or nursing
    Effective contraception required"): a capitalised word after a content word, unless a mention starts
    there ("No severe Alzheimer disease")."""
    stop = _NEGATION_REACH_END.search(text, start)
    end = stop.start() if stop else len(text)
    for m in _ITEM_BREAK.finditer(text, start, end):
        word = re.match(r"[A-Za-z]+", text[m.end():]).group(0)
        if m.group(1).lower() not in _JOINING_WORDS and not (m.end() in mention_starts and word in _proper_words()):
            return m.end()
    return end


@lru_cache(maxsize=1)
def _proper_words() -> frozenset[str]:
    """Capitalised words of the concept lexicon's names ("Crohn", "Alzheimer"): a mention starting with
    one is not a new item of a run-on list ("No uncontrolled Graves disease")."""
    words = set()
    for c in lexicons.load("concepts")["concepts"]:
        for name in [c["name"], *c["synonyms"]]:
            words.update(w for w in re.findall(r"[A-Za-z]+", name) if w[0].isupper() and not w.isupper())
    return frozenset(words)


def _without_exclusion_negation(text: str, atoms: list[Atom]) -> None:
    """In an exclusion, "X are excluded" and "X is not allowed" state what excludes: the negation these
    words are in a note ("PE was excluded") is dropped, other negations kept ("patients unable to
    consent are excluded")."""
    from .rules import rules  # the ConText triggers; spaCy is not needed

    ctx = rules().context
    triggers = ctx.find_triggers(text)
    post = triggers.get("negation_post", [])
    kept = [(x, y) for x, y in post if not _EXCLUSION_WORD.search(text[x:y])]
    if len(kept) == len(post):
        return
    triggers = {**triggers, "negation_post": kept}
    for a in atoms:
        if a.negated and a.op is None:
            a.negated = ctx.flags(text, a.start, a.end, triggers)[0]


def _threshold_negated(text: str, body: int, a: Atom, named: list[tuple[int, int]]) -> bool:
    """Whether the clause before threshold ``a`` negates it: a negation with only the threshold's
    subject between ("No resting heart rate" + "less than 60 bpm"), no named thing ("No active heart
    disease LVEF at least 50%": the "No" is the disease's); a clause starts after [.;:,()] or at a
    capitalised "No"/"Not" of a run-on list ("... within 1 year No NYHA class II-IV")."""
    head = text[body:a.start]
    cut = 0
    for m in re.finditer(r"[.;:,()]|\b(?:No|Not)\b", head):
        cut = m.end() if m.group(0) in ".;:,()" else m.start()
    clause = head[cut:]
    if not clause.strip() or any(body + cut <= x and y <= a.start for x, y in named):
        return False
    # "Not less than 18": the comparator is the atom's own; a scale named in the atom needs no subject
    rx = _THRESHOLD_NEGATION if _COMPARATOR_FIRST.match(a.text) else _THRESHOLD_NEGATION_BARE
    return bool(rx.fullmatch(clause))

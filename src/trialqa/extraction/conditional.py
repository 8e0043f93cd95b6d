"""Limits that hold for some patients only.

"AST < 2.5 x ULN in the absence of liver metastases, or < 5 x ULN in the presence of liver
metastases", "bilirubin <= 1.5 x ULN (<= 3 x ULN for patients with Gilbert's syndrome)": the
condition named there is not something the criterion requires or excludes; it says which limit
applies. ``mark_given`` removes such a condition from the atoms and records it as ``given`` on the
limits it governs (``{"name", "present", "text"}``): a limit whose ``given`` does not match the
patient does not apply to them.
"""

from __future__ import annotations

import re
from typing import Any

_LIMITS = ("measurement", "score")
_NAMED = ("condition", "procedure")
_SUBJECTS = r"(?:patients|subjects|participants|those|people|individuals|cases)"
_ADJ = r"(?:(?:known|documented|demonstrable|demonstrated|confirmed|evident|proven|radiological|radiographic|" \
       r"clinical|extensive|diffuse|concomitant|underlying|suspected|presumed|any)\s+)*"
# The words just before the condition: which limits it governs, and whether they hold with it or without it.
_WITHOUT = re.compile(r"\b(?:in\s+the\s+absence\s+of|absent|(?:in|for)\s+" + _SUBJECTS + r"\s+without|without|"
                      r"if\s+(?:there\s+(?:is|are)\s+)?no|when\s+(?:there\s+(?:is|are)\s+)?no|"
                      r"in\s+(?:the\s+)?absence\s+of|not\s+due\s+to)\s+" + _ADJ + r"$", re.I)
_WITH = re.compile(r"\b(?:in\s+the\s+(?:presence|case|setting|event)\s+of|in\s+cases?\s+of|in\s+case\s+of|"
                   r"(?:in|for)\s+" + _SUBJECTS + r"\s+(?:with|who\s+have|having)|if(?:\s+there\s+(?:is|are))?|"
                   r"when(?:\s+there\s+(?:is|are))?|due\s+to|secondary\s+to|attributable\s+to|caused\s+by|"
                   r"for|with|in)\s+" + _ADJ + r"$", re.I)
_LEAD_IN = re.compile(r"\b(?:in\s+the\s+(?:presence|case|setting|event)\s+of|in\s+cases?\s+of|in\s+case\s+of|"
                      r"(?:in|for)\s+" + _SUBJECTS + r"\s+(?:with|who\s+have|having)|if)\s+" + _ADJ + r"$", re.I)
# Lead-ins that make a condition a selector by themselves; after a bare "with", "for", "in", "without"
# or "due to" it is one only when its limit has an alternative ("ALT < 2.5 x ULN, < 5 x ULN with liver
# metastases"): "HbA1c between 7% and 10% with type 2 diabetes" requires the diabetes.
_STRONG = re.compile(r"\b(?:in\s+the\s+(?:presence|absence|case|setting|event)\s+of|in\s+cases?\s+of|in\s+case\s+of|"
                     r"absent|(?:in|for)\s+" + _SUBJECTS + r"\s+(?:with|without|who\s+have|having)|if|when)\b", re.I)
_NEAR = re.compile(r"\(|,\s*or\b|\bor\b|,|:", re.I)  # ":": "ALT <= 2.5x ULN NOTE: <= 5x ULN ... if liver metastases"
# "5 times ULN", "3 x upper limit of normal" between a cut and the condition: a limit the extractor did
# not read (a bare number would not do: "no more than 2 prior regimens for metastatic disease").
_UNREAD_LIMIT = re.compile(r"\d+(?:\.\d+)?\s*(?:x|times)\s*(?:the\s+)?(?:ULN|UNL|upper|normal|institutional)", re.I)
UNREAD = object()  # stands for a limit in the text that no atom holds
_BOUNDARY = re.compile(r"[;]|\.\s|\n")


def mark_given(atoms: list, text: str, hedged: list = ()) -> list:
    """The atoms without the conditions that only select a limit; the limits they govern get ``given``.

    A condition counts when a limit precedes it in its clause ("ANC > 1,500 in patients with HIV" is
    about the count), or follows it after an explicit lead-in ("in patients with liver metastases,
    AST < 5 x ULN"); "patients with HIV and a CD4 count > 200" states a requirement of HIV. ``hedged``
    are the conditions the extractor read as hypothetical ("if liver metastases are present"): never
    requirements, they can still select a limit."""
    limits = [a for a in atoms if a.kind in _LIMITS and a.op is not None]
    if not limits:
        return atoms
    found: dict[str, str] = {}  # condition name -> its text
    named = [a for a in [*atoms, *hedged] if a.kind in _NAMED and a.op is None and a.name]
    named = sorted((a for a in named if not any(o is not a and o.start <= a.start and a.end <= o.end for o in named)),
                   key=lambda a: a.start)  # "liver metastases", not its "metastases"
    previous = None  # the last condition found, with whether it is present
    for a in named:
        before = text[max(0, a.start - 60):a.start]
        if previous and re.fullmatch(r"\s*(?:,|or|and|nor|and/or)\s*(?:,|or|and|nor)?\s*" + _ADJ, text[previous[0].end:a.start], re.I):
            present = previous[1]  # "in the absence of gastrointestinal bleeding or hemolytic anemia"
            ruled = []
        else:
            lead = _WITHOUT.search(before) or _WITH.search(before)
            if lead is None:
                continue
            present = not _WITHOUT.search(before)
            # "... times normal If hepatitis C antibody positive, then ...": a capitalized lead-in opens a new item
            prefix_only = lead.group(0)[:1].isupper()
            ruled = _governed(a, limits, atoms, text, strong=not present or bool(_LEAD_IN.search(before)),
                              prefix_only=prefix_only)
            weak = not _STRONG.search(lead.group(0))
            if weak and not (UNREAD in ruled or any(o.name == lim.name for lim in ruled if lim is not UNREAD
                                                     for o in limits if o not in ruled)):
                ruled = []  # no alternative limit: the condition is a requirement like any other
            if not ruled and a.name not in found:
                continue
        # an unread limit ("(no greater than 5 times ULN for liver metastases)") governs no atom, but the
        # condition still only selects a limit: the plain limits stay, for every patient (the stricter reading)
        for lim in (x for x in ruled if x is not UNREAD):
            if lim.given is None:
                lim.given = {"name": a.name, "present": present, "text": a.text}
        found.setdefault(a.name, a.text)
        a.kind = "given"
        previous = (a, present)
    if not found:
        return atoms
    for lim in limits:  # "SGOT or SGPT <= 2 x ULN (...)": the analytes read from one value share its condition
        twin = next((o for o in limits if o is not lim and o.given and o.start < lim.end and lim.start < o.end), None)
        if lim.given is None and twin:
            lim.given = dict(twin.given)
    # "ALT <= 2.5 x ULN (<= 5 x ULN for liver metastases)": the plain limit is the one without the condition.
    for name, said in found.items():
        ruled = {lim.name for lim in limits if lim.given and lim.given["name"] == name and lim.given["present"]}
        for lim in limits:
            if lim.given is None and lim.name in ruled:
                lim.given = {"name": name, "present": False, "text": said}
        for lim in limits:
            # "AST < 2.5 x ULN (5 x ULN if liver metastases present)": the second limit has the first one's comparator
            plain = next((o for o in limits if o.name == lim.name and o.given and not o.given["present"]
                          and o.op in ("<", "<=", ">", ">=")), None)
            if lim.op == "=" and lim.given and lim.given["name"] == name and lim.given["present"] and plain:
                lim.op = plain.op
    return [a for a in atoms if a.kind != "given"]


def _governed(g, limits: list, atoms: list, text: str, strong: bool = True, prefix_only: bool = False) -> list:
    """The limits a condition governs: those before it in its clause back to the previous such
    condition (postfix: "< 5 x ULN in the presence of liver metastases"), else those after it up to
    the next one (prefix: "in patients with liver metastases, AST < 5 x ULN")."""
    start = max((m.end() for m in _BOUNDARY.finditer(text, 0, g.start)), default=0)
    others = [a.end for a in atoms if a is not g and a.kind == "given" and a.end <= g.start]
    start = max([start, *others])
    # the nearest limits only: "bilirubin <= 1.5 x ULN (<= 3 x ULN for Gilbert's)" governs the 3
    cuts = [m for m in _NEAR.finditer(text, start, g.start)]
    # "hematocrit < 20% (in the absence of ...)": a boundary right before the lead-in is the lead-in's own
    while cuts and (not (lead := text[cuts[-1].end():g.start].lstrip()) or _WITHOUT.fullmatch(lead) or _WITH.fullmatch(lead)):
        cuts.pop()
    start = cuts[-1].end() if cuts else start
    before = [lim for lim in limits if start <= lim.start and lim.end <= g.start]
    if before and not prefix_only:
        return [lim for lim in before if not _separated(text[lim.end:g.start])]
    if not prefix_only and _UNREAD_LIMIT.search(text, start, g.start):
        return [UNREAD]  # "(no greater than 5 times ULN for liver metastases)": a limit the extractor did not read
    if not strong:
        return []
    nxt = _BOUNDARY.search(text, g.end)
    end = nxt.start() if nxt else len(text)
    return [lim for lim in limits if g.end <= lim.start and lim.end <= end]


def _separated(between: str) -> bool:
    """Another condition or clause between a limit and the condition: "ANC > 1,500, no HIV"."""
    return bool(re.search(r"\b(?:and\s+no|no|not)\b", between, re.I)) and "," in between


def given_applies(given: dict[str, Any] | None, status: dict[str, bool | None]) -> bool | None:
    """Whether a limit applies to the patient, from whether they have the condition it depends on."""
    if not given:
        return True
    has = status.get(given["name"])
    return None if has is None else has == given["present"]

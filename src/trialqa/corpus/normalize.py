"""Field values in one canonical form whatever the format wrote, and the steps every reader shares."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable

from ..errors import CorpusError
from ..records import Criterion, Outcome, Trial, phase_number
from ..sections import fold, split_eligibility
from ..spans import JStr, MappedText

NCT_RE = re.compile(r"\bNCT\d{8}\b")
OUTCOME_KINDS = ("primary", "secondary", "other")

_STATUS_WORDS = re.compile(r"[^A-Za-z]+")
_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], 1)}


def norm_status(value: str | None) -> str | None:
    """``Not yet recruiting`` -> ``NOT_YET_RECRUITING``; blank -> None."""
    if not value or not value.strip():
        return None
    return _STATUS_WORDS.sub("_", value.strip()).strip("_").upper()


def norm_phases(value: Any) -> list[str]:
    """``Phase 1/Phase 2``, ``PHASE1/PHASE2``, ``["PHASE1", "PHASE2"]``, ``Early Phase 1`` -> canonical list."""
    items = value if isinstance(value, list) else re.split(r"[/,;&]| and ", str(value or ""))
    out = []
    for item in items:
        s = str(item).strip().upper().replace(" ", "")
        m = re.fullmatch(r"(EARLY_?)?PHASE_?(\d|I{1,3}|IV)", s)
        if not m:
            continue
        num = phase_number(m.group(2))
        out.append(("EARLY_PHASE" if m.group(1) else "PHASE") + num)
    return out


def norm_date(value: str | None) -> str | None:
    """ISO form (``YYYY-MM-DD`` or ``YYYY-MM``) when recognizable, else the text as written."""
    if not value or not value.strip():
        return None
    s = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", s):
        return s
    m = re.fullmatch(r"([A-Za-z]+)\s+(?:(\d{1,2}),\s*)?(\d{4})", s)
    if m and m.group(1).lower() in _MONTHS:
        month = _MONTHS[m.group(1).lower()]
        return f"{m.group(3)}-{month:02d}" + (f"-{int(m.group(2)):02d}" if m.group(2) else "")
    return s


def norm_sex(value: str | None) -> str | None:
    """``ALL``, ``MALE`` or ``FEMALE`` (legacy ``Both`` is ``ALL``); blank -> None."""
    if not value or not value.strip():
        return None
    s = value.strip().upper()
    return {"BOTH": "ALL", "MALES": "MALE", "FEMALES": "FEMALE"}.get(s, s)


def norm_bool(value: Any) -> bool | None:
    """A yes/no field as ``bool``; None when absent or not recognizable."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    s = str(value).strip().lower()
    if s in ("yes", "true", "accepts healthy volunteers", "y"):
        return True
    if s in ("no", "false", "n"):
        return False
    return None


def norm_enrollment(value: Any) -> int | None:
    """A count as ``int``: the number itself, or the first number in the text (``1,200 participants`` -> 1200)."""
    if isinstance(value, (int, float)):
        return int(value)
    m = re.search(r"\d[\d,]*", str(value or ""))
    return int(m.group(0).replace(",", "")) if m else None


def describe(value: Any) -> str:
    """What a JSON value is, for an error message: ``a number (123)``, ``a list of 2 items``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value[:30]!r}{'...' if len(value) > 30 else ''})"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    return "an object"


class Node:
    """A JSON object of a record file with the path that leads to it in the file: typed access to
    its fields. An absent or null field is None (an empty list or object where one is expected); a
    field of another type raises ``CorpusError`` naming the file, the field's path and its type."""

    def __init__(self, data: dict, path: str, source: str):
        self.data, self.path, self.source = data, path, source

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def wrong(self, field: str, expected: str, value: Any) -> CorpusError:
        return CorpusError(self.source, f"field \"{field}\" should be {expected}, not {describe(value)}")

    def value(self, key: str, types: type | tuple[type, ...], expected: str) -> Any:
        """The field when it has one of ``types`` (a boolean is no number), None when absent or null."""
        v = self.data.get(key)
        if v is None:
            return None
        types = types if isinstance(types, tuple) else (types,)
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
            raise self.wrong(self._at(key), expected, v)
        return v

    def string(self, key: str) -> JStr | None:
        return self.value(key, str, "a string")

    def obj(self, path: str) -> "Node":
        """The object at a dotted ``path`` (an empty one when absent)."""
        node = self
        for key in path.split("."):
            node = Node(node.value(key, dict, "an object") or {}, node._at(key), self.source)
        return node

    def mapped(self, path: str) -> MappedText | None:
        """The source-mapped text of the string field at a dotted ``path``."""
        head, _, key = path.rpartition(".")
        s = (self.obj(head) if head else self).string(key)
        return s.mapped if s is not None else None

    def _items(self, key: str, kind: type, expected: str) -> list:
        items = self.value(key, list, f"a list of {expected}s") or []
        for i, x in enumerate(items):
            if not isinstance(x, kind):
                raise self.wrong(f"{self._at(key)}[{i}]", expected, x)
        return items

    def strings(self, key: str) -> list[JStr]:
        """A list of strings (null items are wrong too)."""
        return self._items(key, str, "a string")

    def objects(self, key: str) -> list["Node"]:
        return [Node(x, f"{self._at(key)}[{i}]", self.source) for i, x in enumerate(self._items(key, dict, "an object"))]


def content_id(*parts: str | None) -> str:
    """A stable id for a record without an NCT number, from its own content."""
    h = hashlib.sha1("\x1f".join(fold(p or "").lower() for p in parts).encode("utf-8")).hexdigest()
    return f"TQ-{h[:12]}"


def trimmed(mt: MappedText) -> tuple[str, tuple[int, int]] | None:
    """Whitespace-folded value of a mapped text and its raw span (leading/trailing space excluded)."""
    text = mt.text
    a = len(text) - len(text.lstrip())
    b = len(text.rstrip())
    if b <= a:
        return None
    return fold(text[a:b]), mt.raw_span(a, b)


def attach_criteria(trial: Trial, mt: MappedText, clean: Callable[[str], str] | None = None) -> None:
    """Split an eligibility text into the trial's criteria, each with its raw span."""
    trial.eligibility_text = clean(mt.text) if clean else mt.text
    counters = {"inclusion": 0, "exclusion": 0}
    for cs in split_eligibility(mt.text):
        start, end = mt.raw_span(cs.start, cs.end)
        text = clean(cs.text) if clean else cs.text
        trial.criteria.append(Criterion(text, cs.section, start, end, counters[cs.section], cs.group))
        counters[cs.section] += 1


def add_outcome(t: Trial, kind: str, measure: MappedText | None, time_frame: MappedText | None,
                description: MappedText | None) -> None:
    """An outcome measure with its spans; one without a measure is left out."""
    got = trimmed(measure) if measure is not None else None
    if not got:
        return
    tf = trimmed(time_frame) if time_frame is not None else None
    desc = trimmed(description) if description is not None else None
    if desc:
        t.texts[f"outcome_description[{len(t.outcomes)}]"] = description  # chunked by sentence like other prose
    t.outcomes.append(Outcome(kind, got[0], *got[1], tf[0] if tf else None, desc[0] if desc else None,
                              desc[1] if desc else None))


def finish_trial(trial: Trial) -> Trial:
    """Checks common to every format."""
    if not trial.nct_id:
        trial.warnings.append("no NCT number in record; id derived from its content")
    if not trial.criteria:
        trial.warnings.append("no eligibility criteria in record")
    return trial

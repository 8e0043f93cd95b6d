"""Character offsets back into the original record file.

Readers decode record text (XML entities, JSON escapes); citations must point into the file as it
is on disk. A ``MappedText`` is a decoded string with the anchors needed to map any decoded offset
back to the raw file offset. Invariant: for a decoded slice ``text[a:b]``, the raw slice
``source[raw(a):raw(b)]`` unescapes to the same characters.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field

_JSON_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])')


@dataclass
class MappedText:
    """A decoded string plus (decoded_pos, raw_pos) anchors; positions between anchors are 1:1."""

    text: str
    anchors: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def identity(cls, text: str, raw_start: int) -> "MappedText":
        return cls(text, [(0, raw_start)])

    def raw(self, pos: int) -> int:
        """Raw file offset of decoded offset ``pos`` (``pos`` may equal ``len(text)``)."""
        if not self.anchors:
            return pos
        keys = [a[0] for a in self.anchors]
        i = bisect.bisect_right(keys, pos) - 1
        if i < 0:
            i = 0
        dec, raw = self.anchors[i]
        return raw + (pos - dec)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw span of decoded ``[start, end)``; the end maps from the last character so escapes stay whole."""
        if end <= start:
            r = self.raw(start)
            return r, r
        return self.raw(start), self._raw_end(end)

    def _raw_end(self, end: int) -> int:
        # The raw end is just past the raw form of the last decoded character, which may be an escape.
        last = self.raw(end - 1)
        keys = [a[0] for a in self.anchors]
        i = bisect.bisect_right(keys, end - 1)
        if i < len(self.anchors):
            next_dec, next_raw = self.anchors[i]
            if next_dec == end:
                return next_raw
        return last + 1


# --- JSON with positions -------------------------------------------------------------------------

class JStr(str):
    """A JSON string value that remembers where it stands in the source text."""

    mapped: MappedText

    def __new__(cls, value: str, mapped: MappedText):
        obj = super().__new__(cls, value)
        obj.mapped = mapped
        return obj

    def __reduce__(self):
        # Copies (dataclasses.asdict, pickle) are plain strings: the offset map belongs to the parse.
        return (str, (str(self),))


class JSONPosError(ValueError):
    def __init__(self, msg: str, pos: int, text: str):
        if pos >= len(text.rstrip()):
            msg = "unexpected end of JSON (file truncated?)"
        self.pos = pos
        self.line = text.count("\n", 0, pos) + 1
        super().__init__(f"{msg} (line {self.line}, column {pos - text.rfind(chr(10), 0, pos)})")


_WS = re.compile(r"[ \t\n\r]*")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a surrogate left alone: a pair decodes to one character
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _string_anchors(raw_body: str, raw_start: int) -> list[tuple[int, int]]:
    anchors = [(0, raw_start)]
    dec = 0
    last = 0
    pending_high = False
    for m in _JSON_ESCAPE.finditer(raw_body):
        dec += m.start() - last
        last = m.end()
        esc = m.group(1)
        if esc[0] == "u":
            code = int(esc[1:], 16)
            if pending_high and 0xDC00 <= code <= 0xDFFF:
                # The low half of a surrogate pair adds no decoded character of its own.
                pending_high = False
                anchors.append((dec, raw_start + last))
                continue
            pending_high = 0xD800 <= code <= 0xDBFF
        else:
            pending_high = False
        anchors.append((dec, raw_start + m.start()))
        dec += 1
        anchors.append((dec, raw_start + m.end()))
    return anchors


def parse_json(text: str):
    """Parse JSON like ``json.loads`` but with string values as ``JStr`` carrying source offsets."""
    scan = json.decoder.scanstring
    n = len(text)

    def value(i: int):
        i = _WS.match(text, i).end()
        if i >= n:
            raise JSONPosError("unexpected end of JSON (file truncated?)", i, text)
        c = text[i]
        if c == '"':
            try:
                s, end = scan(text, i + 1, True)
            except json.JSONDecodeError as exc:
                raise JSONPosError(f"bad string: {exc.msg}", exc.pos, text) from None
            lone = LONE_SURROGATE.search(s)
            if lone:
                # "\ud800" alone decodes to no character: nothing downstream can encode it.
                raise JSONPosError(f"bad string: \\u{ord(lone.group(0)):04x} is a lone surrogate, not valid Unicode",
                                   i, text)
            body = text[i + 1:end - 1]
            anchors = _string_anchors(body, i + 1) if "\\" in body else [(0, i + 1)]
            return JStr(s, MappedText(s, anchors)), end
        if c == "{":
            obj = {}
            i = _WS.match(text, i + 1).end()
            if i < n and text[i] == "}":
                return obj, i + 1
            while True:
                i = _WS.match(text, i).end()
                if i >= n or text[i] != '"':
                    raise JSONPosError("expected a quoted property name", i, text)
                key, i = value(i)
                i = _WS.match(text, i).end()
                if i >= n or text[i] != ":":
                    raise JSONPosError("expected ':' after property name", i, text)
                obj[str(key)], i = value(i + 1)
                i = _WS.match(text, i).end()
                if i < n and text[i] == ",":
                    i += 1
                    continue
                if i < n and text[i] == "}":
                    return obj, i + 1
                raise JSONPosError("expected ',' or '}' in object", i, text)
        if c == "[":
            arr = []
            i = _WS.match(text, i + 1).end()
            if i < n and text[i] == "]":
                return arr, i + 1
            while True:
                item, i = value(i)
                arr.append(item)
                i = _WS.match(text, i).end()
                if i < n and text[i] == ",":
                    i += 1
                    continue
                if i < n and text[i] == "]":
                    return arr, i + 1
                raise JSONPosError("expected ',' or ']' in array", i, text)
        m = _NUMBER.match(text, i)
        if m:
            tok = m.group(0)
            return (float(tok) if any(ch in tok for ch in ".eE") else int(tok)), m.end()
        for lit, val in (("true", True), ("false", False), ("null", None)):
            if text.startswith(lit, i):
                return val, i + len(lit)
        raise JSONPosError(f"unexpected character {text[i]!r}", i, text)

    result, end = value(0)
    end = _WS.match(text, end).end()
    if end != n:
        raise JSONPosError("extra data after the JSON value", end, text)
    return result


# --- XML with positions --------------------------------------------------------------------------

@dataclass
class XNode:
    """A light XML element: tag, children, text (with raw offsets) and raw span of the element."""

    tag: str
    start: int
    end: int = 0
    children: list["XNode"] = field(default_factory=list)
    parts: list[tuple[str, int]] = field(default_factory=list)  # (decoded chunk, raw offset)
    attrs: dict[str, str] = field(default_factory=dict)

    def find(self, path: str) -> "XNode | None":
        node: XNode | None = self
        for tag in path.split("/"):
            if node is None:
                return None
            node = next((c for c in node.children if c.tag == tag), None)
        return node

    def findall(self, path: str) -> list["XNode"]:
        head, _, tag = path.rpartition("/")
        parent = self.find(head) if head else self
        return [c for c in parent.children if c.tag == tag] if parent else []

    def mapped(self) -> MappedText:
        """The element's own text, with anchors into the raw source; ``XMLShapeError`` when it holds elements."""
        self._check_leaf()
        text_parts, anchors, dec = [], [], 0
        for chunk, raw in self.parts:
            anchors.append((dec, raw))
            text_parts.append(chunk)
            dec += len(chunk)
        if not anchors:
            anchors = [(0, self.start)]
        return MappedText("".join(text_parts), anchors)

    def text(self, path: str | None = None) -> str | None:
        node = self.find(path) if path else self
        if node is None:
            return None
        node._check_leaf()
        return "".join(chunk for chunk, _ in node.parts)

    def _check_leaf(self) -> None:
        if self.children:
            raise XMLShapeError(self)


class XMLShapeError(ValueError):
    """An element read as text holds child elements (``<brief_title><b>...</b></brief_title>``)."""

    def __init__(self, node: XNode):
        self.tag, self.pos = node.tag, node.start
        super().__init__(f"element <{node.tag}> should hold text, not elements (<{node.children[0].tag}>)")


def parse_xml(text: str) -> XNode:
    """Parse XML text into ``XNode``s whose offsets are character offsets into ``text``."""
    import xml.parsers.expat as expat

    data = text.encode("utf-8")
    ascii_only = len(data) == len(text)
    if ascii_only:
        def char_pos(b: int) -> int:
            return b
    else:
        # Byte -> character offsets for UTF-8: continuation bytes (10xxxxxx) start no character.
        import itertools

        fixed = list(itertools.accumulate(((b & 0xC0) != 0x80 for b in data), initial=0))

        def char_pos(b: int) -> int:
            return fixed[b]

    parser = expat.ParserCreate()
    parser.buffer_text = False
    stack: list[XNode] = []
    root: list[XNode] = []

    def start(tag, attrs):
        node = XNode(tag, char_pos(parser.CurrentByteIndex), attrs=dict(attrs))
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(tag):
        node = stack.pop()
        node.end = char_pos(parser.CurrentByteIndex)

    def chars(data_):
        if stack:
            stack[-1].parts.append((data_, char_pos(parser.CurrentByteIndex)))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(data, True)
    if not root:
        raise ValueError("no root element")
    return root[0]

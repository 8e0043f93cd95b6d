"""Values and comparators read from gold annotation text (LCT and Chia spans), with a reader of
its own: deliberately not the extractor's lexicon, so the evaluation does not grade the extractor
with its own rules."""

from __future__ import annotations

import re

_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "twice": 2, "thrice": 3, "double": 2, "triple": 3, "half": 0.5, "birth": 0,
}
# Digits glued to letters, after "/" or "^" (mm3, /1.73 m2, 10^9) are part of a unit, not a value.
# A comma before one or two digits that end the figure is a decimal comma ("6,5 %"), unless a list goes on ("0,1 or 2").
_NUMBER = re.compile(r"(?<![\w/^.,])(?:\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+,\d{1,2}(?![\d,]|\s*(?:or|and|&)\s+\d)|\d+(?:\.\d+)?|\.\d+)"
                     r"|\b(?:%s)\b" % "|".join(_WORDS), re.I)
_EXPONENT = re.compile(r"[x×*]\s*10\s*(?:\^|e|E)?\s*\(?[0-9]{1,2}\)?(?=\s*(?:/|cells|per|\b))|10[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_W = "|".join(_WORDS)
# Comparators written before a value; inclusive forms are tried before the strict ones they contain.
_PRE_OPS: list[tuple[str, str]] = [
    (r"≥|>\s*/?\s*=|=\s*/?\s*>|\b(?:equal\s+(?:to\s+)?or\s+)?superior\s+or\s+equal\b|\bequal\s+(?:to\s+)?or\s+superior\b|>\s*or\s*=|⩾|≧|\bat\s+least\b|\bno\s+(?:less|fewer|lower)\s+than\b|\bnot\s+(?:less|fewer|lower)\s+than\b|"
     r"\b(?:greater|more|higher|older)\s+(?:than\s+)?or\s+equal\b|\bequal\s+(?:to\s+)?or\s+(?:greater|more|higher|better)\b|\bminimum\b", ">="),
    (r"≤|<\s*/?\s*=|=\s*/?\s*<|\binferior\s+or\s+equal\b|\bequal\s+(?:to\s+)?or\s+inferior\b|<\s*or\s*=|⩽|≦|\bat\s+most\b|\bno\s+(?:more|greater|higher|older)\s+than\b|"
     r"\bnot\s+(?:more|greater|higher|older)\s+than\b|\bnot\s+(?:to\s+)?exceed|"
     r"\b(?:less|lower|fewer)\s+(?:than\s+)?or\s+equal\b|\bequal\s+(?:to\s+)?or\s+(?:less|lower)\b|"
     r"\bup\s+to\b|\bmaximum\b|\bwithin\b|\buntil\b", "<="),
    (r">|\b(?:greater|more|higher|older|longer|bigger|larger)\s+than\b|\bover\b|\babove\b|\bexceed|\bbeyond\b|\bin\s+excess\s+of\b|\bafter\s+the\s+age\b|\bsuperior\s+to\b", ">"),
    (r"<|\b(?:less|fewer|lower|younger|shorter|smaller)\s+than\b|\bunder\b|\bbelow\b|\bbefore\s+the\s+age\b|\binferior\s+to\b", "<"),
    (r"=", "="),
]
# Comparators written after a value ("18 years or older").
_POST_OPS: list[tuple[str, str]] = [
    (r"^\s*\+|\bor\s+(?:more|greater|older|above|over|higher|longer|later)\b|\band\s+(?:older|above|over|up|more)\b", ">="),
    (r"\bor\s+(?:less|fewer|younger|below|under|lower|shorter|earlier)\b|\band\s+(?:younger|below|under|less)\b|\bago\s+or\s+less\b", "<="),
]
_PRE_RX = [(re.compile(p, re.I), op) for p, op in _PRE_OPS]
_POST_RX = [(re.compile(p, re.I), op) for p, op in _POST_OPS]
_RANGE_GAP = re.compile(r"\s*(?:[a-zµ%°][\w/µ%°²³]*\.?\s*)?(?:-|–|—|~|～|to|and|through|until)\s*", re.I)  # "47 mmol/mol - 110"


# A time unit counts only right after a number ("at least 18 at the day of screening" is no duration),
# or after one qualifier ("5 previous years", "4 consecutive days"); a capital D is dioptres.
_TIME_UNIT = re.compile(r"(?:\d|\b(?:%s))\s*-?\s*(?:(?:consecutive|successive|continuous|previous|preceding|prior|past|last|"
                        r"full|complete|additional|further|next|following)\s+)?"
                        r"(?:(year|yr|month|mo|mth|week|wk|day|hour|hr|minute|min|second)s?\b|(y|yrs?|mos?|wks?|(?-i:d)|h|hrs?)\b)" % _W, re.I)
_TIME_CANON = {"yr": "year", "y": "year", "yrs": "year", "mo": "month", "mos": "month", "mth": "month", "wk": "week",
               "wks": "week", "d": "day", "h": "hour", "hr": "hour", "hrs": "hour", "min": "minute"}


def number(tok: str) -> float | None:
    """A number as written: digits with thousands commas, decimals (a point, or a comma not
    followed by three digits: "18,5"), or a number word."""
    t = tok.strip().lower().replace("−", "-")
    if t in _WORDS:
        return float(_WORDS[t])
    if re.fullmatch(r"[-−]?\d+,\d{1,2}", t):
        t = t.replace(",", ".")
    try:
        return float(t.replace(",", ""))
    except ValueError:
        return None


def _first_op(rxs: list[tuple[re.Pattern, str]], text: str) -> str | None:
    return next((op for rx, op in rxs if rx.search(text)), None)


def parse_constraints(text: str) -> list[tuple[str, tuple[float, ...]]]:
    """The (operator, values) constraints stated in a gold value span.

    ``>/= 50 years`` gives ``[(">=", (50,))]``; ``18-65`` and ``between 7 and 75 years`` a range
    ``[("between", (18, 65))]``; ``>= 18 and < 70 years`` two constraints. A value with no
    comparator reads as ``=``.
    """
    text = _EXPONENT.sub(lambda m: " " * len(m.group(0)), text)
    nums = [(m, number(m.group(0))) for m in _NUMBER.finditer(text)]
    nums = [(m, v) for m, v in nums if v is not None]
    # A minus sign right after a comparator is the value's sign: "<-2.5", "< -1".
    nums = [(m, -v if re.search(r"[<>≤≥=]\s*[-−]$", text[:m.start()]) else v) for m, v in nums]
    if not nums:
        return []
    if len(nums) >= 2:
        (m1, v1), (m2, v2) = nums[0], nums[1]
        gap = text[m1.end():m2.start()]
        if (_RANGE_GAP.fullmatch(gap) and not _first_op(_PRE_RX, gap)) or re.search(r"\bbetween\b", text[:m1.start()], re.I):
            return [("between", (v1, v2))]
    if len(nums) >= 2 and all(re.fullmatch(r"\s*(?:,|or|and|&|and/or|,\s*or|,\s*and)\s*", text[a[0].end():b[0].start()], re.I)
                              for a, b in zip(nums, nums[1:])) and not _first_op(_PRE_RX, text[:nums[0][0].start()]):
        # "0, 1 or 2": a choice of neighbouring grades is their range.
        vals = [v for _, v in nums]
        if all(v == int(v) for v in vals) and vals == list(range(int(vals[0]), int(vals[0]) + len(vals))):
            return [("between", (vals[0], vals[-1]))]
    out = []
    for i, (m, v) in enumerate(nums):
        pre = text[nums[i - 1][0].end() if i else 0:m.start()]
        post = text[m.end():nums[i + 1][0].start() if i + 1 < len(nums) else len(text)]
        out.append((_first_op(_PRE_RX, pre) or _first_op(_POST_RX, post) or "=", (v,)))
    return out


def time_unit(text: str) -> str | None:
    m = _TIME_UNIT.search(text)
    if not m:
        return None
    u = (m.group(1) or m.group(2)).lower()
    return _TIME_CANON.get(u, u)

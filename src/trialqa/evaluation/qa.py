"""Score ``TrialQA.ask`` and ``TrialQA.search`` against a gold question set (JSON Lines).

Gold lines
----------
One JSON object per line with exactly these keys: ``id``, ``question``, ``trial`` (an NCT id or
trial id, ``null``, or ``"title:<exact title>"``), ``category``, ``found`` (bool), ``verdict``
(``yes`` / ``no`` / ``unknown`` / ``null``), ``answer_contains`` (strings), ``numbers``, ``trials``
(ids or ``title:`` references) and ``evidence`` (record excerpts). Blank lines are skipped.

Scoring
-------
An answer is correct when every check that applies passes:

* ``found``: ``answer.found`` equals the expected value (always checked);
* ``verdict``: ``answer.verdict`` equals the expected verdict, when one is given;
* ``contains``: every ``answer_contains`` string occurs in the answer text (case-insensitive,
  whitespace runs folded);
* ``numbers``: every expected number occurs among the numbers read from the answer text
  (``1,500`` = 1500, ``ten`` = 10, ``twenty-five`` = 25, ``two hundred`` = 200), within a relative tolerance of 0.1 %;
* ``trials`` (when ``trials`` is non-empty or the category is ``cross_trial``): the expected
  trials are a subset of ``answer.trials``. The gold list is taken as the complete set of trials
  that satisfy the question, so a returned trial outside it is an *extra* (a trial lacking the
  criterion). Extras do not fail the item; they lower ``cross_trial_precision`` =
  sum |returned ∩ expected| / sum |returned| over those items.

Other figures (micro-averaged over the items they apply to):

* verdict accuracy: items with an expected verdict whose verdict matches;
* abstention precision / recall: "abstained" means ``found`` is False; precision over the items
  where the system abstained, recall over the items where the gold expects it;
* citation precision / recall, over items that have evidence: a citation *covers* an evidence
  string when the evidence occurs in the citation text (case-insensitive, whitespace folded).
  Precision = covering citations / citations; recall = covered evidence strings / evidence strings;
* retrieval, over items that have evidence: ``qa.search(question, k, trial)`` is run; recall@k =
  evidence strings occurring in some top-k hit text / evidence strings; MRR = mean of 1 / rank of
  the first hit containing any evidence string (0 when none does);
* latency of ``ask`` (seconds): p50, p95 (linear interpolation), max.

An exception from ``ask`` fails the item (reason ``error``) and counts as not abstaining.
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import ConfigError, TrialQAError

VERDICTS = ("yes", "no", "unknown")
REL_TOL = 1e-3
_KEYS: dict[str, str] = {
    "id": "str", "question": "str", "trial": "str|null", "category": "str", "found": "bool",
    "verdict": "str|null", "answer_contains": "list[str]", "numbers": "list[number]",
    "trials": "list[str]", "evidence": "list[str]",
}
_REPO = Path(__file__).resolve().parents[3]


class GoldError(TrialQAError):
    """The gold file is unreadable or a line is malformed; the message names file and line."""


@dataclass
class GoldItem:
    id: str
    question: str
    trial: str | None
    category: str
    found: bool
    verdict: str | None
    answer_contains: list[str]
    numbers: list[float]
    trials: list[str]
    evidence: list[str]
    line: int = 0

    def expected(self) -> dict:
        return {"trial": self.trial, "found": self.found, "verdict": self.verdict,
                "answer_contains": self.answer_contains, "numbers": self.numbers, "trials": self.trials}


# --- loading -------------------------------------------------------------------------------------

def _type_ok(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str) and bool(value.strip())
    if kind == "str|null":
        return value is None or (isinstance(value, str) and bool(value.strip()))
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(x, str) and x.strip() for x in value)
    if kind == "list[number]":
        # bool is an int subclass; true/false in a numbers list is a typo, not a number.
        return isinstance(value, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                               and math.isfinite(x) for x in value)
    raise AssertionError(kind)


def parse_gold_line(text: str, line: int = 0) -> GoldItem:
    """One gold line as a ``GoldItem``; ``ValueError`` says what is wrong (without the location)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in _KEYS if k not in obj]
    if missing:
        raise ValueError(f"missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    unknown = sorted(set(obj) - set(_KEYS))
    if unknown:
        # A misspelt key would otherwise silently drop a check.
        raise ValueError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}")
    for key, kind in _KEYS.items():
        if not _type_ok(obj[key], kind):
            raise ValueError(f"{key!r} must be {kind}, got {json.dumps(obj[key])[:60]}")
    if obj["verdict"] is not None and obj["verdict"] not in VERDICTS:
        raise ValueError(f"'verdict' must be one of {', '.join(VERDICTS)} or null, got {obj['verdict']!r}")
    return GoldItem(line=line, **{k: obj[k] for k in _KEYS})


def load_gold(path: str | Path) -> list[GoldItem]:
    """Read and validate a gold JSONL file; ``GoldError`` lists every bad line by number."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldError(f"cannot read gold file {p}: {exc}") from None
    items: list[GoldItem] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for no, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            item = parse_gold_line(text, no)
        except ValueError as exc:
            problems.append(f"{p}:{no}: {exc}")
            continue
        if item.id in seen:
            problems.append(f"{p}:{no}: duplicate id {item.id!r} (first on line {seen[item.id]})")
            continue
        seen[item.id] = no
        items.append(item)
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise GoldError("\n".join(shown) if len(shown) == 1 else f"{len(problems)} bad gold line(s):\n" + "\n".join(shown))
    if not items:
        raise GoldError(f"{p}: no gold questions")
    return items


# --- trial references ----------------------------------------------------------------------------

def resolve_ref(trials: Iterable[Any], ref: str | None) -> str | None:
    """The trial id a gold reference names: an id, an NCT number or ``title:<exact title>``.

    ``ValueError`` when nothing or more than one trial matches.
    """
    if ref is None:
        return None
    trials = list(trials)
    if ref.startswith("title:"):
        title = ref[len("title:"):].strip()
        found = [t for t in trials if (getattr(t, "title", None) or "") == title]
        what = f"no trial titled {title!r}"
    else:
        found = [t for t in trials if t.id == ref] or [t for t in trials if getattr(t, "nct_id", None) == ref]
        what = f"no trial {ref!r}"
    if not found:
        raise ValueError(f"{what} in the corpus")
    if len(found) > 1:
        raise ValueError(f"{ref!r} matches {len(found)} trials: {', '.join(t.id for t in found)}")
    return found[0].id


# --- text normalization --------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case- and whitespace-insensitive form used for every substring comparison."""
    return _WS.sub(" ", text).strip().casefold()


_UNITS = {w: i for i, w in enumerate("""zero one two three four five six seven eight nine ten eleven twelve
thirteen fourteen fifteen sixteen seventeen eighteen nineteen""".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}
_NUMBER_WORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
_WORD_RUN = re.compile(rf"\b(?:{_NUMBER_WORD})(?:[\s-]+(?:{_NUMBER_WORD}))*\b", re.I)
# "1,500" is one number only when every group after a comma has exactly three digits; letters may
# precede ("PHASE1", "x10"), a digit or a decimal part may not (that would split a number).
_DIGITS = re.compile(r"(?<!\d)(?<!\d\.)(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")


def _word_values(run: str) -> list[float]:
    """Numbers in a run of number words: "twenty-five" is 25, "one hundred" 100, but "two three"
    (a unit after a unit or a teen) starts a new number."""
    out: list[float] = []
    total = current = 0
    last = None  # kind of the previous word: unit, tens, scale
    for w in re.split(r"[\s-]+", run.lower()):
        if w in _UNITS:
            if last == "unit" or (last == "tens" and _UNITS[w] >= 10):
                out.append(float(total + current))
                total = current = 0
            current += _UNITS[w]
            last = "unit"
        elif w in _TENS:
            if last in ("unit", "tens"):
                out.append(float(total + current))
                total = current = 0
            current += _TENS[w]
            last = "tens"
        elif w == "hundred":
            current = (current or 1) * 100
            last = "scale"
        else:  # thousand, million
            total += (current or 1) * _SCALES[w]
            current = 0
            last = "scale"
    out.append(float(total + current))
    return out


def numbers_in(text: str) -> list[float]:
    """The numbers stated in ``text``: digits (thousands separators allowed) and number words."""
    out = [float(m.group(0).replace(",", "")) for m in _DIGITS.finditer(text)]
    for m in _WORD_RUN.finditer(text):
        out.extend(_word_values(m.group(0)))
    return out


def has_number(found: Iterable[float], want: float, rel_tol: float = REL_TOL) -> bool:
    return any(math.isclose(x, want, rel_tol=rel_tol, abs_tol=1e-9) for x in found)


# --- scoring -------------------------------------------------------------------------------------

@dataclass
class ItemResult:
    """One gold question, what came back and how it scored."""

    id: str
    category: str
    question: str
    trial: str | None  # the resolved trial id passed to ask/search
    expected: dict
    got: dict  # text, found, verdict, trials, intent, citations (texts), citation_trials
    checks: dict[str, bool | None]  # None: does not apply
    reasons: list[str]
    correct: bool
    latency: float
    error: str | None = None
    extra_trials: list[str] = field(default_factory=list)
    missing_trials: list[str] = field(default_factory=list)
    citations_total: int = 0
    citations_covering: int = 0
    evidence_total: int = 0
    evidence_cited: int = 0
    evidence_retrieved: int = 0
    first_hit_rank: int | None = None  # 1-based rank of the first hit containing evidence
    search_error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _cited_answer(answer: Any) -> dict:
    return {"text": getattr(answer, "text", ""), "found": getattr(answer, "found", None),
            "verdict": getattr(answer, "verdict", None), "trials": list(getattr(answer, "trials", []) or []),
            "intent": getattr(answer, "intent", None),
            "citations": [getattr(c, "text", "") for c in getattr(answer, "citations", []) or []],
            "citation_trials": [getattr(c, "trial_id", "") for c in getattr(answer, "citations", []) or []]}


def score_answer(item: GoldItem, answer: Any, expected_trials: set[str] | None = None) -> tuple[dict, list[str]]:
    """The checks of one answer (name -> passed, or None when it does not apply) and the reasons
    for each failure. ``expected_trials``: the gold ``trials`` resolved to ids."""
    text = getattr(answer, "text", "") or ""
    checks: dict[str, bool | None] = {}
    reasons: list[str] = []
    checks["found"] = answer.found == item.found
    if not checks["found"]:
        reasons.append(f"found: expected {item.found}, got {answer.found}")
    checks["verdict"] = None
    if item.verdict is not None:
        checks["verdict"] = answer.verdict == item.verdict
        if not checks["verdict"]:
            reasons.append(f"verdict: expected {item.verdict!r}, got {answer.verdict!r}")
    checks["contains"] = None
    if item.answer_contains:
        folded = fold(text)
        missing = [s for s in item.answer_contains if fold(s) not in folded]
        checks["contains"] = not missing
        if missing:
            reasons.append("text lacks " + ", ".join(map(repr, missing)))
    checks["numbers"] = None
    if item.numbers:
        stated = numbers_in(text)
        missing_n = [n for n in item.numbers if not has_number(stated, n)]
        checks["numbers"] = not missing_n
        if missing_n:
            reasons.append("numbers missing: " + ", ".join(f"{n:g}" for n in missing_n))
    checks["trials"] = None
    if expected_trials is not None and (item.trials or item.category == "cross_trial"):
        missing_t = sorted(expected_trials - set(answer.trials or []))
        checks["trials"] = not missing_t
        if missing_t:
            reasons.append("trials missing: " + ", ".join(missing_t))
    return checks, reasons


def _covers(evidence: str, text: str) -> bool:
    return fold(evidence) in fold(text)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation between order statistics."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class EvalReport:
    """Scores of a gold run. Ratios are None when nothing applies (empty denominator)."""

    gold: str | None
    k: int
    n: int
    correct: int
    accuracy: float | None
    verdict_n: int
    verdict_correct: int
    verdict_accuracy: float | None
    abstention_expected: int
    abstention_predicted: int
    abstention_true: int
    abstention_precision: float | None
    abstention_recall: float | None
    citation_precision: float | None
    citation_recall: float | None
    citation_n: int  # items with evidence
    cross_trial_n: int
    cross_trial_precision: float | None
    retrieval_recall_at_k: float | None
    retrieval_mrr: float | None
    retrieval_n: int
    latency_p50: float | None
    latency_p95: float | None
    latency_max: float | None
    errors: int
    by_category: dict[str, dict]
    failures: list[dict]
    items: list[ItemResult]
    gold_warnings: list[str] = field(default_factory=list)

    def headline(self) -> dict[str, Any]:
        """The summary figures (no per-item data), for a CLI line or a table."""
        return {k: v for k, v in self.to_dict().items() if k not in ("by_category", "failures", "items", "gold_warnings")}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["items"] = [i.to_dict() for i in self.items]
        return d


def _failure(r: ItemResult) -> dict:
    return {"id": r.id, "category": r.category, "question": r.question, "trial": r.expected.get("trial"),
            "expected": r.expected, "got": {k: r.got.get(k) for k in ("text", "found", "verdict", "trials", "intent")},
            "reasons": r.reasons, "error": r.error}


def evaluate(qa: Any, items: list[GoldItem], k: int = 5, *, gold: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> EvalReport:
    """Ask every gold question of ``qa`` (anything with ``trials``, ``ask`` and ``search``) and score it.

    Trial references are resolved before any question is asked; ``GoldError`` lists the ones that
    match no trial (or several), by gold line.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    trials = list(qa.trials)
    refs: dict[str, tuple[str | None, set[str]]] = {}
    problems = []
    for it in items:
        try:
            refs[it.id] = (resolve_ref(trials, it.trial), {resolve_ref(trials, r) for r in it.trials})
        except ValueError as exc:
            problems.append(f"{gold or 'gold'}:{it.line}: {it.id}: {exc}")
    if problems:
        raise GoldError("\n".join(problems))

    results: list[ItemResult] = []
    for done, it in enumerate(items, 1):
        trial_id, expected_trials = refs[it.id]
        t0 = time.perf_counter()
        try:
            answer, error = qa.ask(it.question, trial_id), None
        except Exception as exc:  # a crash is a failed item, not the end of the run
            answer, error = None, f"{type(exc).__name__}: {exc}"
        latency = time.perf_counter() - t0
        if answer is None:
            checks, reasons = {"error": False}, [f"error: {error}"]
            got = {"text": "", "found": None, "verdict": None, "trials": [], "intent": None, "citations": []}
        else:
            checks, reasons = score_answer(it, answer, expected_trials)
            got = _cited_answer(answer)
        r = ItemResult(it.id, it.category, it.question, trial_id, it.expected(), got, checks, reasons,
                       all(v is not False for v in checks.values()), latency, error)
        if answer is not None and checks.get("trials") is not None:
            returned = set(got["trials"])
            r.extra_trials = sorted(returned - expected_trials)
            r.missing_trials = sorted(expected_trials - returned)
        if it.evidence:
            r.evidence_total = len(it.evidence)
            cites = got["citations"]
            r.citations_total = len(cites)
            r.citations_covering = sum(any(_covers(e, c) for e in it.evidence) for c in cites)
            r.evidence_cited = sum(any(_covers(e, c) for c in cites) for e in it.evidence)
            try:
                hits = list(qa.search(it.question, k, trial_id))[:k]
            except Exception as exc:
                hits, r.search_error = [], f"{type(exc).__name__}: {exc}"
            texts = [h.text for h in hits]
            r.evidence_retrieved = sum(any(_covers(e, t) for t in texts) for e in it.evidence)
            r.first_hit_rank = next((i for i, t in enumerate(texts, 1) if any(_covers(e, t) for e in it.evidence)), None)
        results.append(r)
        if progress:
            progress(done, len(items))
    return _aggregate(results, items, k, gold)


def _aggregate(results: list[ItemResult], items: list[GoldItem], k: int, gold: str | None) -> EvalReport:
    by_id = {it.id: it for it in items}
    n = len(results)
    correct = sum(r.correct for r in results)
    with_verdict = [r for r in results if by_id[r.id].verdict is not None]
    v_ok = sum(r.got["verdict"] == by_id[r.id].verdict for r in with_verdict)
    exp_abs = [r for r in results if not by_id[r.id].found]
    pred_abs = [r for r in results if r.got["found"] is False]
    true_abs = [r for r in pred_abs if not by_id[r.id].found]
    ev = [r for r in results if r.evidence_total]
    cross = [r for r in results if r.checks.get("trials") is not None]
    returned = sum(len(r.got["trials"]) for r in cross)
    lat = [r.latency for r in results]
    cats: dict[str, dict] = {}
    for r in results:
        c = cats.setdefault(r.category, {"n": 0, "correct": 0})
        c["n"] += 1
        c["correct"] += r.correct
    for c in cats.values():
        c["accuracy"] = c["correct"] / c["n"]
    return EvalReport(
        gold=gold, k=k, n=n, correct=correct, accuracy=_ratio(correct, n),
        verdict_n=len(with_verdict), verdict_correct=v_ok, verdict_accuracy=_ratio(v_ok, len(with_verdict)),
        abstention_expected=len(exp_abs), abstention_predicted=len(pred_abs), abstention_true=len(true_abs),
        abstention_precision=_ratio(len(true_abs), len(pred_abs)), abstention_recall=_ratio(len(true_abs), len(exp_abs)),
        citation_precision=_ratio(sum(r.citations_covering for r in ev), sum(r.citations_total for r in ev)),
        citation_recall=_ratio(sum(r.evidence_cited for r in ev), sum(r.evidence_total for r in ev)),
        citation_n=len(ev),
        cross_trial_n=len(cross),
        cross_trial_precision=_ratio(returned - sum(len(r.extra_trials) for r in cross), returned),
        retrieval_recall_at_k=_ratio(sum(r.evidence_retrieved for r in ev), sum(r.evidence_total for r in ev)),
        retrieval_mrr=(sum(1 / r.first_hit_rank for r in ev if r.first_hit_rank) / len(ev)) if ev else None,
        retrieval_n=len(ev),
        latency_p50=percentile(lat, 50), latency_p95=percentile(lat, 95), latency_max=max(lat) if lat else None,
        errors=sum(r.error is not None for r in results),
        by_category=dict(sorted(cats.items())),
        failures=[_failure(r) for r in results if not r.correct],
        items=results,
    )


def check_evidence(qa: Any, items: list[GoldItem]) -> list[str]:
    """Gold evidence strings that occur in no record text (of the item's trial when it names one).

    Such an item can never reach full citation or retrieval recall, so it is worth a look.
    """
    texts: dict[str, str] = {}
    for t in qa.trials:
        try:
            texts[t.id] = fold(html.unescape(t.source_text()))
        except Exception:  # stubs and unreadable sources: nothing to check against
            continue
    out = []
    for it in items:
        try:
            tid = resolve_ref(qa.trials, it.trial)
        except ValueError:
            continue
        pool = [texts[tid]] if tid in texts else list(texts.values()) if tid is None else []
        for e in it.evidence:
            if pool and not any(fold(e) in p for p in pool):
                out.append(f"{it.id} (line {it.line}): evidence not in the record: {e!r}")
    return out


def evaluate_gold(qa: Any, gold_path: str | Path, k: int = 5, *,
                  progress: Callable[[int, int], None] | None = None) -> EvalReport:
    """Load ``gold_path``, run every question against ``qa`` and score it (see the module doc)."""
    items = load_gold(gold_path)
    report = evaluate(qa, items, k, gold=str(gold_path), progress=progress)
    report.gold_warnings = check_evidence(qa, items)
    return report


def build_gold_corpus(dest_dir: str | Path, root: str | Path | None = None, shared: str | Path | None = None) -> Path:
    """Copy the corpus the gold set was written against into ``dest_dir``: the default corpus
    (``corpus/``, the two seed records), ``tests/fixtures/trials/*`` and the records of the shared
    data that ``tests/gold/gold_members.txt`` lists (``../shared/data`` unless ``shared``): a
    member of the XML tarball by its name there, an API v2 study as ``api_v2_nsclc_100.json:NCT...``
    (written as its own ``NCT....json``). Returns ``dest_dir``."""
    base = Path(root) if root else _REPO
    sources = [base / "corpus", base / "tests" / "fixtures" / "trials"]
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    copied: dict[str, Path] = {}
    for src in sources:
        if not src.is_dir():
            raise ConfigError(f"gold corpus source missing: {src}")
        for f in sorted(src.iterdir()):
            if not f.is_file() or f.name.startswith("."):
                continue
            if f.name in copied:
                raise ConfigError(f"gold corpus: {f} and {copied[f.name]} have the same name")
            shutil.copy2(f, dest / f.name)
            copied[f.name] = f
    members = base / "tests" / "gold" / "gold_members.txt"
    if members.is_file():
        _copy_members([m.strip() for m in members.read_text("utf-8").splitlines() if m.strip()],
                      Path(shared) if shared else base.parent / "shared" / "data", dest)
    return dest


def _copy_members(members: list[str], shared: Path, dest: Path) -> None:
    """Copy the listed records out of the shared data sets (see ``build_gold_corpus``)."""
    import tarfile

    xml = [m for m in members if ":" not in m]
    api = [m.split(":", 1) for m in members if ":" in m]
    if xml:
        tgz = shared / "ctgov" / "ctgov_legacy_xml_6786.tgz"
        if not tgz.is_file():
            raise ConfigError(f"gold corpus source missing: {tgz}")
        with tarfile.open(tgz) as tf:
            for m in xml:
                try:
                    data = tf.extractfile(m).read()
                except (KeyError, AttributeError):
                    raise ConfigError(f"gold_members.txt: {m} is not in {tgz}") from None
                (dest / Path(m).name).write_bytes(data)
    by_file: dict[str, list[str]] = {}
    for name, nct in api:
        by_file.setdefault(name, []).append(nct)
    for name, ids in by_file.items():
        path = shared / "ctgov" / name
        if not path.is_file():
            raise ConfigError(f"gold corpus source missing: {path}")
        studies = {s["protocolSection"]["identificationModule"]["nctId"]: s for s in json.loads(path.read_text("utf-8"))}
        for nct in ids:
            if nct not in studies:
                raise ConfigError(f"gold_members.txt: {nct} is not in {path}")
            (dest / f"{nct}.json").write_text(json.dumps(studies[nct], indent=1, ensure_ascii=False), "utf-8")

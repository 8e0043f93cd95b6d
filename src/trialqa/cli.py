"""The ``trialqa`` command line: a thin shell over the library.

User errors print one line to stderr and exit 1; ``--json`` prints data for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
from typing import Any, Callable

from . import config
from .errors import CorpusError, QueryError, TrialQAError


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def _table(rows: list[list[str]], headers: list[str], *, keep: tuple[str, ...] = (),
           narrowest: dict[str, int] | None = None, weight: dict[str, float] | None = None) -> None:
    """Print a table as wide as the terminal; long cells wrap, never cut. To fit, the widest column
    (for its ``weight``: 2 keeps a column twice as wide as the others) gives way first, down to its
    ``narrowest`` width (8 characters unless given); ``keep`` names columns that never wrap (ids, counts)."""
    from rich import box
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table

    cells = [[str(c) for c in r] for r in rows]
    widths = [max([cell_len(h)] + [max((cell_len(x) for x in r[i].splitlines()), default=0) for r in cells])
              for i, h in enumerate(headers)]
    room = shutil.get_terminal_size((120, 20)).columns - 2 * (len(headers) - 1)
    # How far each column may give way: its narrowest width; on a narrow terminal its longest word
    # (so words are not cut); on a very narrow one 4 characters.
    words = [max([cell_len(x) for r in cells for x in r[i].split()] or [1]) for i in range(len(headers))]
    for floor in ((narrowest or {}).get(h, 8) for h in headers), words, [4] * len(headers):
        low = [w if h in keep else min(w, f) for h, w, f in zip(headers, widths, floor)]
        if sum(low) <= room:
            break
    while sum(widths) > room:
        give = [j for j in range(len(widths)) if widths[j] > low[j]]
        if not give:
            break  # nothing can give way: the terminal folds the lines
        widths[max(give, key=lambda j: widths[j] / (weight or {}).get(headers[j], 1))] -= 1
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for h, w in zip(headers, widths):
        table.add_column(h, width=w, no_wrap=h in keep, overflow="fold")
    for r in cells:
        table.add_row(*r)
    # Record text is printed as it is: no markup ("[CD]34+"), emoji codes or highlighting.
    Console(file=sys.stdout, width=sum(widths) + 2 * (len(headers) - 1), markup=False, emoji=False,
            highlight=False).print(table)


def _progress(label: str) -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def report(done: int, total: int) -> None:
        bar = int(30 * done / max(total, 1))
        sys.stderr.write(f"\r{label} [{'#' * bar}{'.' * (30 - bar)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


# --- commands ------------------------------------------------------------------------------------

def cmd_trials(args) -> int:
    from .corpus import load_corpus

    from .corpus.store import open_store

    store = open_store(config.index_dir())  # the store TrialQA.load keeps: only changed records are read
    try:
        corpus = load_corpus(config.corpus_dir(args.corpus), progress=_progress("loading"), store=store)
    finally:
        if store is not None:
            store.close()
    for err in corpus.errors:
        print(f"warning: {err}", file=sys.stderr)
    if args.json:
        _print_json([t.to_dict() for t in corpus])
        return 0
    rows = []
    for t in corpus:
        ages = f"{t.min_age.label() if t.min_age else 'no minimum'} to {t.max_age.label() if t.max_age else 'no limit'}"
        status = (t.status or "").lower().replace("_", " ")
        phases = "/".join(p.lower().replace("_phase", " ").replace("phase", "") for p in t.phases)  # "1/2", "early 1"
        rows.append([t.id, t.title or "", status, phases, str(t.enrollment if t.enrollment is not None else ""),
                     ages, f"{len(t.inclusion)}/{len(t.exclusion)}", t.sponsor or ""])
    _table(rows, ["id", "title", "status", "phase", "n", "ages", "inc/exc", "sponsor"], keep=("id", "n", "inc/exc"),
           narrowest={"title": 16, "status": 10, "ages": 11, "sponsor": 12}, weight={"title": 2})
    print(f"\n{len(corpus)} trial(s)" + (f", {len(corpus.errors)} file(s) with errors" if corpus.errors else ""))
    return 0


def cmd_criteria(args) -> int:
    from .corpus import load_corpus
    from .extraction import requirement_of
    from .extraction.describe import describe

    corpus = load_corpus(config.corpus_dir(args.corpus))
    wanted = args.trial.strip().upper()
    t = next((x for x in corpus if x.id.upper() == wanted or (x.nct_id or "").upper() == wanted), None)
    if t is None:
        raise QueryError(f"unknown trial {args.trial!r}; `trialqa trials` lists the trials")
    items = [{"text": c.text, "section": c.section, "start": c.start, "end": c.end,
              "requirement": requirement_of(c, t).to_dict()} for c in t.criteria]
    if args.json:
        _print_json(items)
        return 0
    rows = [[it["section"][:3], f"{it['start']}-{it['end']}", it["text"], describe(it["requirement"])] for it in items]
    _table(rows, ["sec", "span", "criterion", "requirement"], keep=("sec", "span"), weight={"criterion": 1, "requirement": 1})
    parsed = sum(1 for it in items if not it["requirement"]["unparsed"])
    print(f"\n{len(items)} criteria, {parsed} fully parsed")
    return 0


def cmd_validate(args) -> int:
    from .archives import is_archive
    from .corpus import iter_record_files, load_corpus, read_records
    from pathlib import Path

    root = Path(args.path)
    if not root.exists():
        raise CorpusError(str(root), "no such file or directory")
    files = [root] if root.is_file() else iter_record_files(root)
    problems: list[str] = []
    count = 0
    seen: dict[str, str] = {}
    for f in files:
        try:
            if is_archive(f):  # every member checked; each bad one named ARCHIVE::MEMBER
                got = load_corpus(f, extract=False)
                problems.extend(str(e) for e in got.errors)
                trials = list(got)
            else:
                trials = read_records(f)
        except CorpusError as exc:
            problems.append(str(exc))
            continue
        for t in trials:
            count += 1
            if t.id in seen:
                problems.append(f"{t.source}: duplicate trial id {t.id} (also in {seen[t.id]})")
            seen.setdefault(t.id, t.source)
            if not t.criteria:
                problems.append(f"{t.source}: {t.id}: no eligibility criteria found")
            if not t.title:
                problems.append(f"{t.source}: {t.id}: no title")
    if args.json:
        _print_json({"files": len(files), "trials": count, "problems": problems})
    else:
        for p in problems:
            print(p)
        print(f"{len(files)} file(s), {count} trial(s), {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_extract(args) -> int:
    from .extraction import extract_criteria

    text = args.text if args.text != "-" else sys.stdin.read()
    ents = extract_criteria(text)
    if args.json:
        _print_json([e.to_dict() for e in ents])
        return 0
    rows = []
    for e in ents:
        if e.label == "CONDITION":
            detail = f"{e.concept} ({e.concept_type})"
        else:
            val = f"{_n(e.value)}" + (f"-{_n(e.value2)}" if e.value2 is not None else "")
            detail = f"{e.op or ''} {val} {e.unit or ''}".strip()
            if e.norm_value is not None and (e.norm_unit != e.unit or e.norm_value != e.value):
                detail += f" = {_n(e.norm_value)} {e.norm_unit}"
            what = e.analyte or e.anchor
            if what:
                detail += f"  [{what}{', ' + e.direction if e.direction else ''}]"
        flags = ",".join(f for f, on in (("negated", e.negated), ("hedged", e.hedged)) if on)
        rows.append([e.label, e.text, detail, flags])
    if rows:
        _table(rows, ["label", "text", "normalized", "flags"], keep=("label",))
    else:
        print("no entities found")
    return 0


def _n(x) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _load_qa(args, rebuild: bool = False):
    from .qa import TrialQA

    return TrialQA.load(getattr(args, "corpus", None), getattr(args, "index", None), getattr(args, "model", None),
                        rebuild=rebuild, progress=_progress("embedding"))


def cmd_index(args) -> int:
    qa = _load_qa(args, rebuild=args.rebuild)
    for err in qa.corpus_errors:
        print(f"warning: {err}", file=sys.stderr)
    m = qa.index.manifest
    if args.json:
        _print_json({"status": qa.index_status, "path": str(qa.index.path), "manifest": m})
    else:
        print(qa.index_status)
        print(f"{m['trials']} trials, {m['chunks']} chunks, model {m['model']} ({m['dim']}-d), {m['index_type']} index at {qa.index.path}")
    return 0


def cmd_search(args) -> int:
    qa = _load_qa(args)
    hits = qa.search(args.query, k=args.k, trial=args.trial)
    if args.json:
        _print_json([h.to_dict() for h in hits])
        return 0
    if not hits:
        print("no passages found")
    for i, h in enumerate(hits, 1):
        print(f"{i}. [{h.trial_id} · {h.section} · {h.start}-{h.end}] score {h.score:.4f}")
        print(textwrap.indent(textwrap.fill(h.text, 100), "   "))
    return 0


def cmd_ask(args) -> int:
    qa = _load_qa(args)
    ans = qa.ask(args.question, trial=args.trial)
    if args.json:
        _print_json(ans.to_dict())
        return 0
    badge = f"[{ans.verdict.upper()}] " if ans.verdict else ""
    if not ans.found:
        badge += "[NOT STATED] "
    print(badge + ans.text)
    for c in ans.citations:
        print(f"  \u2514 {c.trial_id} \u00b7 {c.section} \u00b7 chars {c.start}-{c.end}: {c.text}")
    return 0


def cmd_check(args) -> int:
    patient = _facts_file(args.facts) if args.facts else {}
    given = {
        "age": args.age, "sex": args.sex, "days_since_onset": args.days_since_onset, "bsa_percent": args.bsa,
        "labs": args.lab, "conditions": args.condition, "absent": args.absent, "history": args.history,
        "pregnant": args.pregnant, "blood_pressure": args.bp,
        "scores": dict(_name_value(x, "--score") for x in args.score) if args.score else None,
    }
    patient.update({k: v for k, v in given.items() if v is not None})
    qa = _load_qa(args)
    report = qa.check(patient, args.trial)
    if args.json:
        _print_json(report.to_dict())
        return 0
    rows = [[c.status.replace("_", " "), c.section, c.criterion, c.reason] for c in report.criteria]
    _table(rows, ["status", "section", "criterion", "reason"], keep=("status", "section"))
    print(f"\noverall: {report.verdict}")
    return 0


def _facts_file(path: str) -> dict:
    """A patient-facts JSON file (docs/patient_facts.md)."""
    try:
        data = json.loads(_read_patient_file(path, "patient facts"))
    except json.JSONDecodeError as exc:
        raise QueryError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise QueryError(f"{path}: the patient facts must be a JSON object (age, sex, labs, ...)")
    return data


def _name_value(text: str, option: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise QueryError(f"{option} wants NAME=VALUE (e.g. ECOG=1), got {text!r}")
    return name.strip(), value.strip()

def _read_patient_file(path: str, what: str) -> str:
    from .errors import QueryError

    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise QueryError(f"{path}: no such {what} file") from None
    except UnicodeDecodeError as exc:
        raise QueryError(f"{path}: the {what} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise QueryError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def cmd_match(args) -> int:
    from .errors import QueryError

    if args.fhir:
        from .patients.fhir import as_bundle_dict

        raw = _read_patient_file(args.fhir, "FHIR bundle")
        try:
            patient: Any = as_bundle_dict(raw)
        except QueryError as exc:
            raise QueryError(f"{args.fhir}: {exc}") from None
    else:
        patient = _read_patient_file(args.note, "note") if args.note else args.text
    qa = _load_qa(args)
    matches = qa.match(patient, k=args.k)
    if args.json:
        _print_json(matches.to_dict())
        return 0
    print("read from the patient: " + ("; ".join(matches.facts.lines()) or "nothing"))
    rows = []
    for i, m in enumerate(matches, 1):
        why = "; ".join(f"{c.status.replace('_', ' ')}: {c.criterion}" for c in m.criteria[:3]) or m.reason
        rows.append([str(i), m.trial_id, m.verdict, f"{m.score:.3f}", m.title, why])
    _table(rows, ["#", "trial", "verdict", "score", "title", "deciding criteria"], keep=("#", "trial", "score"),
           weight={"title": 1.5, "deciding criteria": 2})
    return 0


def cmd_eval(args) -> int:
    from .evaluation.qa import evaluate_gold
    from .evaluation.report import headline_rows, write_report

    qa = _load_qa(args)
    report = evaluate_gold(qa, args.gold, k=args.k, progress=_progress("asking"))
    written = write_report(report, args.report) if args.report else {}
    if args.json:
        _print_json(report.to_dict())
    else:
        _table([list(r) for r in headline_rows(report)], ["metric", "value", "detail"], keep=("metric", "value"))
        fails = report.to_dict().get("failures", [])
        if fails:
            print(f"\n{len(fails)} failure(s); see --report or --json for the list")
        for name, path in written.items():
            print(f"wrote {path}")
    return 0


def cmd_serve(args) -> int:
    from .ui import serve

    qa = _load_qa(args)
    print(f"TrialQA: {len(qa.trials)} trials; index {qa.index_status}", file=sys.stderr)
    serve(qa, args.host, args.port)
    return 0


# --- parser --------------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    """An argparse type: a whole number, 1 or more."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {n}")
    return n


class _Parser(argparse.ArgumentParser):
    """A usage mistake is a user error like the others: one line on stderr, exit 1."""

    def error(self, message: str):
        self.exit(1, f"error: {self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="trialqa", description="Exact, cited answers about clinical-trial records.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=textwrap.dedent("""\
                                    environment: TRIALQA_CORPUS, TRIALQA_INDEX, TRIALQA_MODEL, TRIALQA_CACHE,
                                    TRIALQA_MAX_RECORD_MB, TRIALQA_SPACY_MODEL"""))
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    s = sub.add_parser("trials", help="list the parsed trials")
    s.add_argument("--corpus", help="corpus directory (default: $TRIALQA_CORPUS or ./corpus)")
    s.add_argument("--json", action="store_true", help="print a JSON list of Trial.to_dict()")
    s.set_defaults(func=cmd_trials)

    s = sub.add_parser("validate", help="check record files and print every problem (exit 1 if any)")
    s.add_argument("path", help="a record file or a directory (read recursively)")
    s.add_argument("--json", action="store_true", help="print {files, trials, problems} as JSON")
    s.set_defaults(func=cmd_validate)

    def corpus_opts(s):
        s.add_argument("--corpus", help="corpus directory (default: $TRIALQA_CORPUS or ./corpus)")
        s.add_argument("--index", help="index directory (default: $TRIALQA_INDEX or ./indexes)")
        s.add_argument("--model", help="sentence-transformers model name or path (default: $TRIALQA_MODEL or the bundled all-MiniLM-L6-v2)")

    s = sub.add_parser("index", help="build the search index, or check that it is fresh")
    corpus_opts(s)
    s.add_argument("--rebuild", action="store_true", help="rebuild even if the index is fresh")
    s.add_argument("--json", action="store_true", help="print the index status, path and manifest as JSON")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("search", help="find the passages that best match a query")
    s.add_argument("query", help="what to look for, in words (quote it)")
    corpus_opts(s)
    s.add_argument("--k", type=_positive_int, default=5, help="number of passages, 1 or more (default 5)")
    s.add_argument("--trial", help="only this trial (id or NCT number)")
    s.add_argument("--json", action="store_true", help="print the passages as a JSON list")
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("ask", help="answer a question with cited passages")
    s.add_argument("question", help="the question, in words (quote it)")
    corpus_opts(s)
    s.add_argument("--trial", help="the trial the question is about (id or NCT number)")
    s.add_argument("--json", action="store_true", help="print the answer with its citations as JSON")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("check", help="check a patient against one trial's criteria")
    corpus_opts(s)
    s.add_argument("--trial", required=True, help="trial id or NCT number")
    s.add_argument("--age", type=float, help="age in years")
    s.add_argument("--sex", choices=["female", "male"], help="the patient's sex")
    s.add_argument("--days-since-onset", type=float, help="days since symptom onset")
    s.add_argument("--bsa", type=float, help="detached body-surface area, percent")
    s.add_argument("--lab", action="append", metavar="NAME=VALUE UNIT", help='a lab value, e.g. "PMN=1200/mm3" (repeatable)')
    s.add_argument("--condition", action="append", help="a condition the patient has (repeatable)")
    s.add_argument("--absent", action="append", help="a condition the patient does not have (repeatable)")
    s.add_argument("--history", action="append", help="a past condition (repeatable)")
    s.add_argument("--score", action="append", metavar="SCALE=VALUE", help='a score, e.g. "ECOG=1", "NYHA=II" (repeatable)')
    s.add_argument("--bp", metavar="SYS/DIA", help='blood pressure in mmHg, e.g. "150/95"')
    s.add_argument("--facts", metavar="FILE", help="patient facts as JSON (docs/patient_facts.md); options override it")
    preg = s.add_mutually_exclusive_group()
    preg.add_argument("--pregnant", dest="pregnant", action="store_true", default=None, help="the patient is pregnant")
    preg.add_argument("--not-pregnant", dest="pregnant", action="store_false", help="the patient is not pregnant")
    s.add_argument("--json", action="store_true", help="print the report (each criterion and the verdict) as JSON")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("criteria", help="show each criterion of a trial compiled into a structured requirement")
    s.add_argument("--corpus", help="corpus directory (default: the configured corpus)")
    s.add_argument("--trial", required=True, help="trial id or NCT number")
    s.add_argument("--json", action="store_true", help="one object per criterion: text, section, start, end, requirement")
    s.set_defaults(func=cmd_criteria)

    s = sub.add_parser("match", help="find trials for a patient (a note, a text or a FHIR bundle)")
    corpus_opts(s)
    given = s.add_mutually_exclusive_group(required=True)
    given.add_argument("--note", metavar="FILE", help="a patient note (UTF-8 text file)")
    given.add_argument("--text", help="the patient note itself (quote it)")
    given.add_argument("--fhir", metavar="BUNDLE.json", help="a FHIR R4 bundle (Patient, Condition, Observation, ...)")
    s.add_argument("--k", type=_positive_int, default=10, help="number of trials, 1 or more (default 10)")
    s.add_argument("--json", action="store_true", help="print the facts read and the ranked matches as JSON")
    s.set_defaults(func=cmd_match)

    s = sub.add_parser("eval", help="evaluate answers against a gold question set")
    s.add_argument("gold", help="gold questions (JSON lines)")
    corpus_opts(s)
    s.add_argument("--k", type=_positive_int, default=5, help="retrieval depth for recall@k, 1 or more (default 5)")
    s.add_argument("--report", metavar="DIR", help="write report.json, summary.md and a chart there")
    s.add_argument("--json", action="store_true", help="print the whole report as JSON")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("serve", help="start the web app")
    corpus_opts(s)
    s.add_argument("--host", default=os.environ.get("TRIALQA_HOST", "127.0.0.1"),
                   help="address to listen on (default: $TRIALQA_HOST or 127.0.0.1)")
    s.add_argument("--port", type=int, default=int(os.environ.get("TRIALQA_PORT", "7860")),
                   help="port to listen on (default: $TRIALQA_PORT or 7860)")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("extract", help="extract criteria entities from text")
    s.add_argument("text", help="criterion text, or - to read standard input")
    s.add_argument("--json", action="store_true", help="print the entities as a JSON list")
    s.set_defaults(func=cmd_extract)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A one-shot call prints its answer, not the model libraries' "Loading weights" bars and notices
    # (read when huggingface_hub and transformers are imported, so set before anything loads them).
    # The index build keeps its own progress bar.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        return args.func(args)
    except TrialQAError as exc:
        msg = str(exc).splitlines()
        print(f"error: {msg[0]}", file=sys.stderr)
        for line in msg[1:]:
            print(line, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())

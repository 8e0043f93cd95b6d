"""Coverage of the criteria compiler over the 6,786-record legacy XML corpus.

    python benchmarks/requirements_coverage.py [--tgz PATH] [--limit N] [--sample 50] [--seed 7]
                                               [--sample-out FILE] [--json]

Unpacks the tarball, loads every record with extraction (which compiles each criterion into its
requirement), and prints: criteria that failed to compile (with the exception), the share fully
parsed (no content word left uncovered), the share with at least one atom, atoms per kind, and
applicability restrictions per kind. ``--sample-out`` writes ``--sample`` random criteria with their
requirements (seeded) as Markdown for a by-hand check.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tgz", default=str(DATA / "ctgov" / "ctgov_legacy_xml_6786.tgz"))
    ap.add_argument("--limit", type=int, default=None, help="only the first N records")
    ap.add_argument("--sample", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sample-out", default=None, help="write the sampled criteria and requirements here (Markdown)")
    ap.add_argument("--recheck", default=None, metavar="SAMPLE.md",
                    help="recompile the criteria of an earlier sample (same trials, same rows) and write them to --sample-out")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.recheck:
        return _recheck(args)
    from trialqa import load_corpus
    from trialqa.extraction import attach_entities, compile_criterion
    from trialqa.extraction.describe import describe

    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(args.tgz) as tf:
            tf.extractall(tmp, filter="data")
        files = sorted(Path(tmp).rglob("*.xml"))[:args.limit] if args.limit else None
        if files is not None:
            keep = Path(tmp) / "subset"
            keep.mkdir()
            for p in files:
                p.rename(keep / p.name)
        trials = load_corpus(Path(tmp) / "subset" if files is not None else Path(tmp), extract=False)
    t0 = time.perf_counter()
    attach_entities(trials)  # entities, then one requirement per criterion
    seconds = time.perf_counter() - t0
    crits = [(t, c) for t in trials for c in t.criteria]
    failures, atoms, applies, per_criterion = [], collections.Counter(), collections.Counter(), collections.Counter()
    parsed = with_atoms = 0
    for t, c in crits:
        try:
            req = c.requirement or compile_criterion(c, t.id)
        except Exception as exc:  # the figure to report: which criteria do not compile, and why
            failures.append({"trial": t.id, "criterion": c.text[:200], "error": "".join(traceback.format_exception_only(exc)).strip()})
            continue
        parsed += req.fully_parsed
        with_atoms += bool(req.atoms)
        kinds = {a.kind for a in req.atoms}
        atoms.update(a.kind for a in req.atoms)
        per_criterion.update(kinds)
        applies.update(a["kind"] for a in req.applies_to)
    n = len(crits)
    out = {"records": len(trials), "criteria": n, "compile_failures": len(failures), "failures": failures[:20],
           "fully_parsed": parsed / n if n else 0.0, "with_atoms": with_atoms / n if n else 0.0,
           "atoms": dict(atoms.most_common()), "criteria_with_atom_kind": {k: v / n for k, v in per_criterion.most_common()},
           "applies_to": dict(applies.most_common()), "extract_and_compile_s": round(seconds, 1)}
    if args.sample_out:
        rng = random.Random(args.seed)
        lines = [f"# {args.sample} random criteria and their requirements (seed {args.seed})", "",
                 "Judge per row: **ok** (the requirement says what the criterion says, unparsed words aside), "
                 "**partial** (right atoms, wrong and/or, window or applicability) or **wrong**.", "",
                 "| # | trial | criterion | requirement | judged |", "|---|---|---|---|---|"]
        for i, (t, c) in enumerate(rng.sample(crits, min(args.sample, n)), 1):
            text = c.text.replace("|", "\\|")
            req = c.requirement.to_dict()
            lines.append(f"| {i} | {t.id} | {c.section}: {text} | {describe(req).replace('|', chr(92) + '|')} | |")
        Path(args.sample_out).write_text("\n".join(lines) + "\n", "utf-8")
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{out['records']} records, {n} criteria; extraction and compilation {seconds:.0f} s")
    print(f"compile failures: {len(failures)}")
    for f in failures[:5]:
        print(f"  {f['trial']}: {f['error']}  ({f['criterion'][:80]})")
    print(f"fully parsed (no content word uncovered): {out['fully_parsed']:.1%}")
    print(f"with at least one atom: {out['with_atoms']:.1%}")
    print("atoms per kind (count; share of criteria with one):")
    for k, v in atoms.most_common():
        print(f"  {k:12s} {v:7d}  {per_criterion[k] / n:6.1%}")
    print("applicability restrictions:", ", ".join(f"{k} {v}" for k, v in applies.most_common()) or "none")
    return 0


def _recheck(args) -> int:
    """The rows of an earlier sample with the requirements the current compiler gives them, reading
    only those records from the tarball (for a by-hand check of the same criteria after a change)."""
    import re

    from trialqa import load_corpus
    from trialqa.extraction.describe import describe

    rows = [r for r in Path(args.recheck).read_text("utf-8").splitlines() if re.match(r"\| \d+ \| NCT", r)]
    wanted = [(r.split(" | ")[1], r.split(" | ")[2].split(": ", 1)[1].replace("\\|", "|")) for r in rows]
    ids = {t for t, _ in wanted}
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(args.tgz) as tf:
            members = [m for m in tf.getmembers() if Path(m.name).stem in ids]
            tf.extractall(tmp, members=members, filter="data")
        trials = {t.id: t for t in load_corpus(Path(tmp))}
    lines = [f"# The criteria of {Path(args.recheck).name}, recompiled", "",
             "| # | trial | criterion | requirement | judged |", "|---|---|---|---|---|"]
    for i, (tid, text) in enumerate(wanted, 1):
        c = next((c for c in trials[tid].criteria if c.text == text), None) if tid in trials else None
        req = describe(c.requirement.to_dict()) if c is not None else "(criterion not found)"
        lines.append(f"| {i} | {tid} | {text.replace('|', chr(92) + '|')} | {req.replace('|', chr(92) + '|')} | |")
    Path(args.sample_out).write_text("\n".join(lines) + "\n", "utf-8")
    print(f"{len(wanted)} criteria recompiled into {args.sample_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

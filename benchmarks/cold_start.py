"""Cold start: from launching a fresh Python process to its first answer, with the index and the
trial store already built; and the peak resident memory of that process at that point.

    python benchmarks/cold_start.py [--corpus DIR] [--derm DIR] [--index DIR] [--question Q] [--trial ID]
                                    [--runs N] [--json]

Two corpora: (a) ``--corpus`` (default: the shipped two-record corpus) and (b) ``--derm`` (default:
the 206 records of ``../shared/data/ctgov/xml_derm_subset``; ``--derm ''`` skips it). The reference,
measured in the same run on the same machine, is a process that does ``import numpy, faiss`` and
exits; the targets are (a) within 8x and (b) within 10x of it.

The index and store are built (or checked) once per corpus in a separate, untimed process first,
so every timed run loads both from disk; a run that had to rebuild the index or parse a record is
reported as an error. Wall time is measured by this parent process from just before spawning the
child to the moment the child's answer line arrives, so it includes interpreter start-up and
imports. The child also reports its own phases (imports, ``TrialQA.load``, ``ask``) and its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in the child. Kept minimal: everything it does counts towards the cold start.
CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from trialqa import TrialQA
t1 = time.perf_counter()
corpus, index, question, trial = sys.argv[1:5]
qa = TrialQA.load(corpus, index)
t2 = time.perf_counter()
answer = qa.ask(question, trial or None)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "ask_s": t3 - t2, "index_status": qa.index_status,
                  "parsed": getattr(getattr(qa, "corpus_stats", None), "parsed", None),
                  "modules": sorted(m for m in ("torch", "spacy", "sentence_transformers") if m in sys.modules),
                  "answer": answer.text[:200], "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
      flush=True)
"""

WARM = r"""
import sys
from trialqa import TrialQA
qa = TrialQA.load(sys.argv[1], sys.argv[2])
stats = getattr(qa, "corpus_stats", None)
print(qa.index_status, "|", stats.to_dict() if stats else "no store")
"""
REFERENCE = "import numpy, faiss"
DERM = ROOT.parent / "shared" / "data" / "ctgov" / "xml_derm_subset"
TARGETS = {"default": 8.0, "derm": 10.0}  # first answer within this many times the reference


def _run_child(python: str, args: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.Popen([python, "-c", CHILD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # the answer line: the clock stops when it arrives
    wall = time.perf_counter() - start
    _, err = proc.communicate()
    if proc.returncode != 0 or not line.strip():
        raise SystemExit(f"child failed (exit {proc.returncode}):\n{err.strip()[-2000:]}")
    return wall, json.loads(line)


def _reference(python: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([python, "-c", REFERENCE], check=True)
        out.append(time.perf_counter() - start)
    return out


def _measure(python: str, corpus: str, index: str, question: str, trial: str, runs: int) -> dict:
    warm = subprocess.run([python, "-c", WARM, corpus, index], capture_output=True, text=True)
    if warm.returncode != 0:
        raise SystemExit(f"could not load or build the index for {corpus}:\n{warm.stderr.strip()[-2000:]}")
    timed = []
    for _ in range(runs):
        wall, child = _run_child(python, [corpus, index, question, trial])
        if not child["index_status"].startswith("loaded"):
            raise SystemExit(f"the timed run did not load the index from disk: {child['index_status']}")
        if child["parsed"]:
            raise SystemExit(f"the timed run parsed {child['parsed']} record(s): the store was not up to date")
        timed.append({"wall_s": round(wall, 3), **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in child.items()}})
    return {"corpus": corpus, "question": question, "trial": trial, "index_warmup": warm.stdout.strip(),
            "first_answer_s_median": round(statistics.median(r["wall_s"] for r in timed), 3),
            "peak_rss_mib_max": round(max(r["peak_rss_kib"] for r in timed) / 1024, 1), "runs": timed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--derm", default=str(DERM), help="the second corpus ('' to skip it)")
    ap.add_argument("--index", default=os.environ.get("TRIALQA_INDEX", str(ROOT / "indexes")))
    ap.add_argument("--question", default="Can a 76-year-old enter this trial?")
    ap.add_argument("--trial", default="NCT07110662")
    ap.add_argument("--derm-trial", default="NCT00000655")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--python", default=sys.executable, help="interpreter for the child processes")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    cases = {"default": _measure(args.python, args.corpus, args.index, args.question, args.trial, args.runs)}
    if args.derm:
        cases["derm"] = _measure(args.python, args.derm, args.index, args.question, args.derm_trial, args.runs)
    reference = _reference(args.python, max(3, args.runs))
    ref = statistics.median(reference)
    for name, case in cases.items():
        case["ratio_to_reference"] = round(case["first_answer_s_median"] / ref, 2)
        case["target_ratio"] = TARGETS[name]
        case["meets_target"] = case["ratio_to_reference"] <= TARGETS[name]
    result = {"reference": REFERENCE, "reference_s_median": round(ref, 3), "reference_runs": [round(x, 3) for x in reference],
              "index": args.index, "cases": cases}
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"reference `python -c \"{REFERENCE}\"`: {ref:.2f} s (median of {len(reference)})")
    for name, case in cases.items():
        print(f"\n[{name}] {case['corpus']}\nindex: {case['index_warmup']}")
        for i, r in enumerate(case["runs"], 1):
            print(f"run {i}: first answer after {r['wall_s']:.2f} s (imports {r['import_s']:.2f} s, load {r['load_s']:.2f} s, "
                  f"ask {r['ask_s']:.3f} s), peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB, loaded {', '.join(r['modules']) or 'none of torch/spacy/sentence_transformers'}")
        print(f"cold start to first answer: {case['first_answer_s_median']:.2f} s (median of {len(case['runs'])}); "
              f"{case['ratio_to_reference']:.1f}x the reference (target {case['target_ratio']:.0f}x: "
              f"{'met' if case['meets_target'] else 'NOT met'}); peak RSS {case['peak_rss_mib_max']:.0f} MiB")
        print(f"answer: {case['runs'][0]['answer']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

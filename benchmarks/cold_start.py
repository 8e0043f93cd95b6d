"""Cold start: from launching a fresh Python process to its first answer, with the index already
built; and the peak resident memory of that process at that point.

    python benchmarks/cold_start.py [--corpus DIR] [--index DIR] [--question Q] [--trial ID] [--runs N] [--json]

The index is built (or checked) once in a separate, untimed process first, so every timed run
loads it from disk; a run that had to rebuild it is reported as an error. Wall time is measured by
this parent process from just before spawning the child to the moment the child's answer line
arrives, so it includes interpreter start-up and imports. The child also reports its own phases
(imports, ``TrialQA.load``, ``ask``) and its peak RSS (``ru_maxrss``).
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
                  "answer": answer.text[:200], "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
      flush=True)
"""

WARM = r"""
import sys
from trialqa import TrialQA
print(TrialQA.load(sys.argv[1], sys.argv[2]).index_status)
"""


def _run_child(python: str, args: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.Popen([python, "-c", CHILD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # the answer line: the clock stops when it arrives
    wall = time.perf_counter() - start
    _, err = proc.communicate()
    if proc.returncode != 0 or not line.strip():
        raise SystemExit(f"child failed (exit {proc.returncode}):\n{err.strip()[-2000:]}")
    return wall, json.loads(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--index", default=os.environ.get("TRIALQA_INDEX", str(ROOT / "indexes")))
    ap.add_argument("--question", default="Can a 76-year-old enter this trial?")
    ap.add_argument("--trial", default="NCT07110662")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--python", default=sys.executable, help="interpreter for the child processes")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    warm = subprocess.run([args.python, "-c", WARM, args.corpus, args.index], capture_output=True, text=True)
    if warm.returncode != 0:
        raise SystemExit(f"could not load or build the index:\n{warm.stderr.strip()[-2000:]}")
    runs = []
    for _ in range(args.runs):
        wall, child = _run_child(args.python, [args.corpus, args.index, args.question, args.trial])
        if not child["index_status"].startswith("loaded"):
            raise SystemExit(f"the timed run did not load the index from disk: {child['index_status']}")
        runs.append({"wall_s": round(wall, 3), **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in child.items()}})

    result = {
        "corpus": args.corpus, "index": args.index, "question": args.question, "trial": args.trial,
        "index_warmup": warm.stdout.strip(),
        "first_answer_s_median": round(statistics.median(r["wall_s"] for r in runs), 3),
        "peak_rss_mib_max": round(max(r["peak_rss_kib"] for r in runs) / 1024, 1),
        "runs": runs,
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"index: {result['index_warmup']}")
    for i, r in enumerate(runs, 1):
        print(f"run {i}: first answer after {r['wall_s']:.2f} s (imports {r['import_s']:.2f} s, load {r['load_s']:.2f} s, "
              f"ask {r['ask_s']:.3f} s), peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB")
    print(f"cold start to first answer: {result['first_answer_s_median']:.2f} s (median of {len(runs)}); "
          f"peak RSS {result['peak_rss_mib_max']:.0f} MiB")
    print(f"answer: {runs[0]['answer']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Throughput of criteria extraction over the 6,786-record legacy XML corpus.

    python benchmarks/extraction_throughput.py [--tgz PATH] [--limit N] [--json]

Unpacks the tarball to a temporary directory, loads the records without extraction, then times
``attach_entities`` (what ``load_corpus`` runs: the spaCy pipeline over every criterion) and, for
comparison, the bare rules (``Rules.extract``) over the same criteria.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tgz", default=str(DATA / "ctgov" / "ctgov_legacy_xml_6786.tgz"))
    ap.add_argument("--limit", type=int, default=None, help="only the first N records")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from trialqa import load_corpus
    from trialqa.extraction import attach_entities, rules
    from trialqa.extraction.pipeline import nlp

    nlp()
    r = rules()  # build once, outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(args.tgz) as tf:
            tf.extractall(tmp, filter="data")
        files = sorted(p for p in Path(tmp).rglob("*.xml"))
        if args.limit:
            keep = Path(tmp) / "subset"
            keep.mkdir()
            for p in files[:args.limit]:
                p.rename(keep / p.name)
            src = keep
        else:
            src = Path(tmp)
        t0 = time.perf_counter()
        trials = load_corpus(src, extract=False)
        load_s = time.perf_counter() - t0
    crits = [c for t in trials for c in t.criteria]
    chars = sum(len(c.text) for c in crits)
    t0 = time.perf_counter()
    attach_entities(trials)
    pipe_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c in crits:
        r.extract(c.text, c.section)
    rules_s = time.perf_counter() - t0
    ents = sum(len(c.entities) for c in crits)
    out = {
        "records": len(trials), "criteria": len(crits), "characters": chars, "entities": ents,
        "load_seconds": round(load_s, 2),
        "pipeline_seconds": round(pipe_s, 2), "pipeline_criteria_per_second": round(len(crits) / pipe_s, 1),
        "rules_seconds": round(rules_s, 2), "rules_criteria_per_second": round(len(crits) / rules_s, 1),
    }
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for k, v in out.items():
            print(f"{k:30} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

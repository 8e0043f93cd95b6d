"""Score the criteria extractor against the LCT and Chia dev sets (brat standoff).

    python benchmarks/extraction_eval.py [--lct DIR] [--chia DIR] [--json] [--errors N]

Prints precision, recall and F1 per kind (numeric thresholds, ages, time windows, negation), with
and without the documented exclusion rules (see ``trialqa.evaluation.extraction``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lct", default=str(DATA / "lct" / "dev"), help="LCT brat directory ('' to skip)")
    ap.add_argument("--chia", default=str(DATA / "chia" / "dev"), help="Chia brat directory ('' to skip)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--errors", type=int, default=0, help="also list up to N errors per corpus and kind")
    ap.add_argument("--limit", type=int, default=None, help="only the first N documents of each corpus")
    args = ap.parse_args(argv)
    from trialqa.evaluation.extraction import evaluate_extraction

    for name in ("lct", "chia"):
        d = getattr(args, name)
        if d and not Path(d).is_dir():
            print(f"error: {d} is not a directory", file=sys.stderr)
            return 1
    result = evaluate_extraction(args.lct or None, args.chia or None, keep_errors=bool(args.errors), limit=args.limit)
    if args.json:
        out = result.to_dict()
        for c in out["corpora"].values():
            c["errors"] = {k: v[:args.errors] for k, v in c["errors"].items()}
        print(json.dumps(out, indent=1, default=list))
        return 0
    print(result.table())
    print(f"({result.seconds:.1f} s)")
    for name, res in result.corpora.items():
        for kind, errs in res.errors.items():
            for e in errs[:args.errors]:
                print(f"{name} {kind} {json.dumps(e, ensure_ascii=False, default=list)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

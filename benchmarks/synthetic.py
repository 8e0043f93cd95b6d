"""A synthetic corpus of N trials recombined from the criteria of real records.

Each synthetic trial takes a real trial as its template (its title, conditions and its numbers of
inclusion and exclusion criteria, so the size distribution is the real one) and draws that many
inclusion and exclusion criteria, each with its lead-in group, from the pools of all real
criteria. Every chunk text of the synthetic corpus is therefore a real chunk text: the index of the
synthetic corpus can reuse the real model's vectors of the source corpus (the embedding cache is
keyed by text), which is how ``index_bench.py`` builds the 100,000-trial index on a 2-core machine.

Records are built in memory (``synthesize``): reading 100,000 records through ``load_corpus`` runs
at the reader's speed (measured on the XML corpus by ``index_bench.py``, tens of records per second
on this machine with entity extraction), which would dominate the benchmark and says nothing about
the index. ``write_api_v2`` writes the same records as ClinicalTrials.gov API v2 JSON
(``{"studies": [...]}``, one file per ``per_file`` studies) so a sample can be read back by the real
reader and checked to give the same chunks (``index_bench.py --scale synthetic`` does that on 500).

    python benchmarks/synthetic.py SOURCE_DIR OUT_DIR [--trials N] [--seed S]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from trialqa.records import Criterion, Trial  # noqa: E402

SOURCE = "<synthetic>"


def synthesize(real: list[Trial], n: int, seed: int = 7) -> list[Trial]:
    """``n`` trials recombined from the criteria of ``real`` (deterministic for a seed)."""
    rng = random.Random(seed)
    pools = {"inclusion": [], "exclusion": []}
    for t in real:
        for c in t.criteria:
            pools[c.section].append((c.text, c.group))
    templates = [t for t in real if t.criteria]
    out = []
    for i in range(n):
        tpl = rng.choice(templates)
        t = Trial(id=f"NCT9{i:07d}", source=SOURCE, format="ctgov_json", nct_id=f"NCT9{i:07d}", title=tpl.title)
        t.conditions = list(tpl.conditions)
        # The chunker takes title and condition chunks only from fields that have a span.
        t.spans = {"title": (0, len(t.title or ""))} | {f"conditions[{j}]": (0, len(c)) for j, c in enumerate(t.conditions)}
        pos = 0
        for section in ("inclusion", "exclusion"):
            count = sum(1 for c in tpl.criteria if c.section == section)
            for j, (text, group) in enumerate(rng.choices(pools[section], k=count) if pools[section] else []):
                # Offsets into the eligibility text write_api_v2 would produce (bullets one per line).
                t.criteria.append(Criterion(text, section, pos + 2, pos + 2 + len(text), j, group))
                pos += len(text) + 3
        out.append(t)
    return out


def replicate(real: list[Trial], n: int, seed: int = 7) -> list[Trial]:
    """``n`` trials that are whole real records under new ids: every section of the record (summary,
    description, outcomes, ...), so the chunks per trial are the source's (about 37 for the XML
    corpus, against about 6 for ``synthesize``, which recombines criteria only). The copies share
    the source's field objects (``dataclasses.replace``): 100,000 of them cost little memory."""
    rng = random.Random(seed)
    return [dataclasses.replace(tpl, id=f"NCT9{i:07d}", nct_id=f"NCT9{i:07d}", source=SOURCE)
            for i, tpl in enumerate(rng.choices(real, k=n))]


def eligibility_text(t: Trial) -> str:
    """The criteria as a registry eligibility block (``Inclusion Criteria:`` / ``* ...`` bullets)."""
    parts = []
    for section, heading in (("inclusion", "Inclusion Criteria:"), ("exclusion", "Exclusion Criteria:")):
        # Ungrouped criteria first: a lead-in line would otherwise capture the bullets after it.
        crit = sorted((c for c in t.criteria if c.section == section), key=lambda c: (c.group is not None, c.group or ""))
        if not crit:
            continue
        parts.append(heading)
        last_group = None
        for c in crit:
            if c.group and c.group != last_group:
                parts.append(f"* {c.group}:")
            last_group = c.group
            parts.append(f"{'  ' if c.group else ''}* {c.text}")
        parts.append("")
    return "\n".join(parts)


def to_api_v2(t: Trial) -> dict:
    return {"protocolSection": {
        "identificationModule": {"nctId": t.nct_id, "briefTitle": t.title or t.id},
        "statusModule": {"overallStatus": "COMPLETED"},
        "conditionsModule": {"conditions": list(t.conditions)},
        "eligibilityModule": {"eligibilityCriteria": eligibility_text(t)},
    }}


def write_api_v2(trials: list[Trial], out_dir: Path, per_file: int = 1000) -> list[Path]:
    """Write ``{"studies": [...]}`` files of ``per_file`` studies each; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(0, len(trials), per_file):
        p = out_dir / f"synthetic_{k // per_file:05d}.json"
        p.write_text(json.dumps({"studies": [to_api_v2(t) for t in trials[k:k + per_file]]}, indent=1), "utf-8")
        paths.append(p)
    return paths


def main(argv: list[str] | None = None) -> int:
    from trialqa import load_corpus

    ap = argparse.ArgumentParser(description="write a synthetic API v2 corpus recombined from real criteria")
    ap.add_argument("source", type=Path, help="directory of real records (e.g. the unpacked XML corpus)")
    ap.add_argument("out", type=Path)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    real = load_corpus(args.source, extract=False)
    paths = write_api_v2(synthesize(real, args.trials, args.seed), args.out)
    print(f"wrote {args.trials} trials in {len(paths)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

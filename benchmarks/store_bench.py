"""The trial store on a bulk archive: first ingest, an unchanged reload, and a re-ingest after
some members changed (how a re-downloaded registry dump arrives).

    python benchmarks/store_bench.py [--archive TGZ] [--alter 1000] [--work-dir DIR] [--index] [--json]

Each phase runs in its own fresh process (so its time includes start-up and its peak RSS is its
own), loading ``load_corpus(<work dir>/registry.tgz, store=<work dir>/store.sqlite)``:

1. ingest: an empty store, every member parsed and extracted (the reference: what every start cost
   before the store);
2. reload: the archive unchanged on disk;
3. re-ingest: the archive replaced, at the same path, by a copy in which ``--alter`` members have an
   amended title; only those are read again.

With ``--index`` each phase is ``TrialQA.load(<archive>, <work dir>/index)`` instead, so the search
index is built (or found current) too, and each phase reports how many chunk texts it embedded: the
re-ingest should embed only the altered members' changed chunks (``TRIALQA_CACHE`` may point at a
cache that already holds the corpus's vectors, to skip the first ingest's hours of embedding).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = ROOT.parent / "shared" / "data" / "ctgov" / "ctgov_legacy_xml_6786.tgz"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from trialqa.corpus import load_corpus
c = load_corpus(sys.argv[1], store=sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - t0, "trials": len(c), "errors": len(c.errors), **c.stats.to_dict(),
                  "spacy_loaded": "spacy" in sys.modules,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


INDEXED_CHILD = r"""
import json, os, re, resource, sys, time
t0 = time.perf_counter()
os.environ["TRIALQA_STORE"] = sys.argv[2]
from trialqa import TrialQA
qa = TrialQA.load(sys.argv[1], sys.argv[3])
m = re.search(r"(\d+) newly embedded", qa.index_status or "")
print(json.dumps({"seconds": time.perf_counter() - t0, "trials": len(qa.trials), "errors": len(qa.corpus_errors),
                  **qa.corpus_stats.to_dict(), "index": qa.index_status, "newly_embedded": int(m.group(1)) if m else 0,
                  "spacy_loaded": "spacy" in sys.modules,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _phase(python: str, archive: Path, store: Path, index: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    cmd = [python, "-c", CHILD, str(archive), str(store)] if index is None else \
        [python, "-c", INDEXED_CHILD, str(archive), str(store), str(index)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"phase failed:\n{out.stderr.strip()[-2000:]}")
    return {"wall_s": round(time.perf_counter() - start, 2),
            **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in json.loads(out.stdout.splitlines()[-1]).items()}}


def _altered_copy(src: Path, dest: Path, n: int) -> int:
    """``src`` re-packed into ``dest`` with the brief title of every k-th XML member amended, ``n`` in all."""
    with tarfile.open(src, "r:gz") as tf:
        names = [m.name for m in tf.getmembers() if m.isfile() and m.name.endswith(".xml")]
    step = max(1, len(names) // n)
    chosen = set(names[::step][:n])
    altered = 0
    tmp = dest.with_name(dest.name + ".tmp")
    with tarfile.open(src, "r|gz") as tin, tarfile.open(tmp, "w:gz") as tout:
        for m in tin:
            data = tin.extractfile(m).read() if m.isfile() else None
            if m.name in chosen and b"</brief_title>" in data:
                data = data.replace(b"</brief_title>", b" (amended)</brief_title>", 1)
                m.size = len(data)
                m.mtime = int(time.time())
                altered += 1
            tout.addfile(m, io.BytesIO(data) if data is not None else None)
    os.replace(tmp, dest)
    return altered


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archive", default=str(ARCHIVE))
    ap.add_argument("--alter", type=int, default=1000, help="members to change before the re-ingest")
    ap.add_argument("--work-dir", default=os.path.join(tempfile.gettempdir(), "trialqa-store-bench"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--index", action="store_true", help="load with TrialQA (store and search index), counting embeddings")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    if not Path(args.archive).is_file():
        ap.error(f"--archive {args.archive}: no such file (the shared data sets live in ../shared/ beside the checkout)")
    if args.alter < 0:
        ap.error("--alter must be 0 or more")
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    archive, store = work / "registry.tgz", work / "store.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    archive.write_bytes(Path(args.archive).read_bytes())
    os.utime(archive, (time.time() - 3600,) * 2)

    result = {"archive": args.archive, "archive_mb": round(archive.stat().st_size / 1048576, 1)}
    index = work / "index" if args.index else None
    if index is not None:
        shutil.rmtree(index, ignore_errors=True)
    result["ingest"] = _phase(args.python, archive, store, index)
    result["reload_unchanged"] = _phase(args.python, archive, store, index)
    result["altered_members"] = _altered_copy(Path(args.archive), archive, args.alter)
    result["reingest_altered"] = _phase(args.python, archive, store, index)
    result["store_mb"] = round(store.stat().st_size / 1048576, 1)
    ref = result["ingest"]["wall_s"]
    for phase in ("reload_unchanged", "reingest_altered"):
        result[phase]["fraction_of_ingest"] = round(result[phase]["wall_s"] / ref, 3)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"archive {args.archive} ({result['archive_mb']} MB); store {store} ({result['store_mb']} MB)")
    for phase in ("ingest", "reload_unchanged", "reingest_altered"):
        r = result[phase]
        extra = f", {r['fraction_of_ingest']:.1%} of the ingest" if "fraction_of_ingest" in r else " (reference)"
        print(f"{phase:17s} {r['wall_s']:8.2f} s{extra}: {r['trials']} trials, {r['parsed']} member(s) read and parsed, "
              f"{r['stored']} from the store, {r['removed']} removed, {r['errors']} error(s); spaCy loaded: "
              f"{r['spacy_loaded']}; peak RSS {r['peak_rss_mib']:.0f} MiB"
              + (f"; {r['newly_embedded']} chunk text(s) embedded" if "newly_embedded" in r else ""))
    print(f"altered members: {result['altered_members']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

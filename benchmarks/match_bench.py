"""``TrialQA.match`` latency over the 6,786 legacy-XML records, and the TREC CT 2022 / SIGIR
matching quality (``--quality``) over the judged trials among them.

Latency: the 109 TREC and SIGIR topic notes, each matched once (k=10) after 3 warm-up calls; p50 /
p95 / max, beside the reference measured in the same run on the same notes: the hybrid passage
search alone (``qa.search(note, k=10)``), which ``match`` calls once plus its eligibility checks.
The real model embeds the queries. Embedding the corpus's ~167,000 distinct chunk texts with the
real model takes ~2 hours on this machine, so the chunks get 384-dimensional hashed bag-of-words
vectors (``--chunk-vectors hash``, the default; ``model`` for real ones): FAISS exact search, BM25
and the checks cost the same whatever the vector values, so latency is meaningful, relevance is not.

Quality (``--quality``): ``trialqa.evaluation.trec`` on TREC 2022 and SIGIR with the real model over
the judged trials (built in ``--work-dir``), written to ``--report`` (default docs/eval/trec).

    .venv/bin/python benchmarks/match_bench.py [--work-dir DIR] [--limit N]
    .venv/bin/python benchmarks/match_bench.py --quality [--report docs/eval/trec] [--first-try]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"
TGZ = DATA / "ctgov" / "ctgov_legacy_xml_6786.tgz"
TOPIC_SETS = {"trec_2022": DATA / "trec_ct" / "trec_2022", "sigir": DATA / "trec_ct" / "sigir"}


class _ModelQueries:
    """Hashed vectors for the chunks (index build), the real model for queries (same dimension)."""

    def __init__(self, real, hashed):
        self.real, self.hashed, self.name, self.dim = real, hashed, hashed.name, hashed.dim
        self.building = True

    def encode(self, texts, progress=None):
        if self.building:
            return self.hashed.encode(texts, progress)
        return self.real.encode(texts)


def _unpack(work: Path, only: set[str] | None = None) -> Path:
    out = work / ("judged" if only else "xml")
    if out.is_dir() and any(out.iterdir()):
        return out
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(TGZ) as tf:
        for m in tf.getmembers():
            name = Path(m.name).name
            if m.isfile() and name.endswith(".xml") and (only is None or name[:-4] in only):
                m.name = name
                tf.extract(m, out, filter="data")
    return out


def _notes() -> list[str]:
    from trialqa.evaluation.trec import load_topics

    return [t.text for folder in TOPIC_SETS.values() for t in load_topics(folder)[0]]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))], 1)


def latency(args) -> dict:
    from tests.fakes import HashingEncoder
    from trialqa import TrialQA
    from trialqa.embedding import get_encoder

    work = Path(args.work_dir)
    corpus = _unpack(work)
    t0 = time.perf_counter()
    real = get_encoder(None)
    enc = _ModelQueries(real, HashingEncoder("hash-384", real.dim)) if args.chunk_vectors == "hash" else real
    qa = TrialQA.load(corpus, work / "index", encoder=enc)
    load_s = time.perf_counter() - t0
    if isinstance(enc, _ModelQueries):
        enc.building = False
    notes = _notes()[: args.limit or None]
    for n in notes[:3]:
        qa.match(n, k=10)
    match_t, search_t = [], []
    for n in notes:
        t = time.perf_counter()
        qa.search(n[:2000], k=10)
        search_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        qa.match(n, k=10)
        match_t.append(time.perf_counter() - t)
    return {"trials": len(qa.trials), "chunks": len(qa.index.chunks), "chunk_vectors": args.chunk_vectors,
            "load_s": round(load_s, 1), "notes": len(notes),
            "match_ms": {"p50": _pct(match_t, 0.5), "p95": _pct(match_t, 0.95), "max": round(1000 * max(match_t), 1)},
            "reference_search_ms": {"p50": _pct(search_t, 0.5), "p95": _pct(search_t, 0.95)},
            "match_over_search_p50": round(statistics.median(match_t) / statistics.median(search_t), 2),
            "target_p50_ms": 1000, "cpus": os.cpu_count()}


def quality(args) -> dict:
    from trialqa import TrialQA
    from trialqa.evaluation.trec import evaluate_topics, load_topics, summary_markdown

    judged = set()
    for folder in TOPIC_SETS.values():
        for grades in load_topics(folder)[1].values():
            judged |= set(grades)
    work = Path(args.work_dir)
    corpus = _unpack(work, judged)
    qa = TrialQA.load(corpus, work / "idx")
    reports = []
    for name, folder in TOPIC_SETS.items():
        t0 = time.perf_counter()
        r = evaluate_topics(qa, folder, name=name)
        print(f"{name}: {r.topics_scored} topics in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        reports.append(r)
    out = Path(args.report)
    out.mkdir(parents=True, exist_ok=True)
    stem = "first_try" if args.first_try else "report"
    data = {"trials": len(qa.trials), "reports": [r.to_dict() for r in reports]}
    from trialqa.storage import atomic_write

    md = summary_markdown(reports, f"Patient-to-trial matching ({stem.replace('_', ' ')})")
    atomic_write(out / f"{stem}.json", lambda f: f.write(json.dumps(data, indent=1).encode("utf-8")))
    atomic_write(out / f"{stem}.md", lambda f: f.write(md.encode("utf-8")))
    return {"trials": len(qa.trials), **{r.name: {k: v for k, v in r.to_dict().items() if k != "per_topic"} for r in reports}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work-dir", default=os.path.join(tempfile.gettempdir(), "trialqa-match-bench"))
    p.add_argument("--quality", action="store_true", help="TREC 2022 and SIGIR matching quality instead of latency")
    p.add_argument("--report", default=str(ROOT / "docs" / "eval" / "trec"))
    p.add_argument("--first-try", action="store_true", help="write first_try.json/md (the untuned version's figures)")
    p.add_argument("--chunk-vectors", choices=["hash", "model"], default="hash")
    p.add_argument("--limit", type=int, default=0, help="latency: only the first N notes")
    args = p.parse_args()
    print(json.dumps(quality(args) if args.quality else latency(args), indent=1))


if __name__ == "__main__":
    main()

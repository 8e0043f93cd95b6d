"""Index benchmarks: build throughput against raw encoding, query latency, memory, size on disk,
embedding reuse and approximate-index recall, at three scales.

    python benchmarks/index_bench.py [--scale seeds|xml|synthetic|all] [--trials 100000]
                                     [--sample-trials 300] [--work-dir DIR] [--reuse-index] [--threads N]
                                     [--embed-budget-s S] [--real-vectors-only] [--json]

* ``seeds``: the corpus in ``corpus/``.
* ``xml``: the 6,786 legacy-XML records (unpacked to a temp dir). The build-overhead figure is
  measured on the first ``--sample-trials`` records with a fresh embedding cache (raw encoding of
  the distinct texts, then ``build_index`` encoding them again); the full corpus is then built
  with the persistent cache in ``--work-dir`` (its first run embeds every distinct text with the
  real model, later runs reuse them, and the output says which). With ``--embed-budget-s S`` the
  real model embeds records in corpus order for at most S seconds into that cache and the texts
  left get proxy vectors (``ProxyEncoder``, hashed bag of words; counted in the output): on a
  loaded 2-core machine the real model runs at ~20 texts/s, hours for the whole corpus. Exact
  search and BM25 cost the same whatever the vector values, so latency stays meaningful.
* ``synthetic``: ``--trials`` trials recombined from the XML records' criteria
  (``benchmarks/synthetic.py``), built in memory. Fast path: every synthetic chunk text is a real
  text of the XML corpus, so its real-model vector comes from the same persistent cache (texts not
  found there are embedded with the real model and counted). ``--real-vectors-only`` recombines
  only the records whose chunk texts all have real vectors (after a budgeted ``xml`` run).
  Recall@10 of the approximate (IVF) index against exact search, per nprobe.

Every scale runs in a child process of its own (``--scale all``), so peak RSS is per scale. Query
latency excludes model loading and the first (warm-up) queries; it is end to end through
``HybridRetriever.search`` (query embedding, dense, BM25 with lexicon expansion, fusion), k=5.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

SHARED = ROOT.parent / "shared" / "data"
XML_TGZ = SHARED / "ctgov" / "ctgov_legacy_xml_6786.tgz"
DEV = SHARED / "nli4ct" / "dev.json"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "trialqa-index-bench"
SHORT_QUERIES = [
    "absolute neutrophil count", "pregnant or breastfeeding women", "minimum age 18 years", "HIV infection",
    "prior chemotherapy", "renal failure creatinine clearance", "informed consent", "body surface area detachment",
    "platelet count below 100,000", "life expectancy less than 3 months", "ECOG performance status 0 or 1",
    "hepatitis B", "daratumumab dose", "brain metastases", "Stevens-Johnson syndrome", "heart failure",
    "contraception during the study", "bilirubin upper limit of normal", "active infection", "age over 75",
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``): ``ru_maxrss`` would also count the parent's RSS at fork."""
    try:
        with open("/proc/self/status") as f:
            return round(next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024, 1)
    except (OSError, StopIteration):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_split_mb() -> dict:
    """RSS in anonymous memory (the process's own) and in file pages (memory-mapped index files,
    shared with the page cache and given back under memory pressure)."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f if line.startswith(("RssAnon", "RssFile", "RssShmem")))
    return {k: round(int(v.split()[0]) / 1024, 1) for k, v in fields.items()}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576, 1)


def dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1048576, 1)


def queries(n_statements: int = 80) -> list[str]:
    """20 short questions and the first NLI4CT dev statements (clinical sentences absent from any corpus)."""
    dev = json.loads(DEV.read_text("utf-8"))
    return SHORT_QUERIES + [s["Statement"] for s in list(dev.values())[:n_statements]]


def percentiles(ms: list[float]) -> dict:
    return {"n": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(max(ms), 1)}


def latency(retriever, qs: list[str], trials: list[str] | None = None, mode: str = "hybrid", k: int = 5) -> dict:
    for q in qs[:3]:  # warm-up: first calls pay one-off costs (lexicon load, allocator, torch kernels)
        retriever.search(q, k=k, mode=mode)
    getattr(retriever, "_qcache", {}).clear()  # every timed query is embedded, none comes from the cache
    ms = []
    for i, q in enumerate(qs):
        t0 = time.perf_counter()
        retriever.search(q, k=k, mode=mode, trial=trials[i % len(trials)] if trials else None)
        ms.append((time.perf_counter() - t0) * 1000)
    return percentiles(ms)


def encode_latency(encoder, qs: list[str]) -> dict:
    encoder.encode(qs[:3])
    ms = []
    for q in qs:
        t0 = time.perf_counter()
        encoder.encode([q])
        ms.append((time.perf_counter() - t0) * 1000)
    return percentiles(ms)


class Timed:
    """Adds up the time spent in a module function during a build (measurement only: the wrapped
    function is called unchanged)."""

    def __init__(self, module, name: str):
        self.module, self.name, self.seconds = module, name, 0.0
        self.orig = getattr(module, name)

    def __enter__(self):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return self.orig(*a, **kw)
            finally:
                self.seconds += time.perf_counter() - t0

        setattr(self.module, self.name, wrapper)
        return self

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.orig)


def build(trials, encoder, root: Path, name: str, cache_dir: Path, fingerprint: str | None = None) -> tuple:
    """``build_index`` with its chunking and FAISS construction timed; returns (index, stats, figures)."""
    from trialqa import index as index_mod

    progress_every = [time.perf_counter()]

    def progress(done, total):
        if time.perf_counter() - progress_every[0] > 30:
            progress_every[0] = time.perf_counter()
            log(f"  embedding {done}/{total}")

    with Timed(index_mod, "chunk_corpus") as tc, Timed(index_mod, "_make_faiss") as tf:
        t0 = time.perf_counter()
        idx, stats = index_mod.build_index(trials, encoder, root, name, cache_dir=cache_dir, progress=progress,
                                           fingerprint=fingerprint)
        wall = time.perf_counter() - t0
    other = wall - stats.seconds_encoding - tc.seconds - tf.seconds
    figures = {"chunks": stats.chunks, "distinct_texts": stats.unique_texts, "newly_encoded": stats.encoded,
               "index_type": stats.index_type, "seconds_total": round(wall, 2),
               "seconds_encoding": round(stats.seconds_encoding, 2), "seconds_chunking": round(tc.seconds, 2),
               "seconds_faiss": round(tf.seconds, 2), "seconds_other": round(other, 2),
               "chunks_per_s": round(stats.chunks / wall, 1),
               "size_on_disk_mb": dir_mb(idx.path)}
    return idx, stats, figures


def build_overhead(trials, encoder, work: Path) -> dict:
    """Raw encoding of the distinct chunk texts, then a build from an empty cache encoding the same texts."""
    from trialqa.chunking import chunk_corpus

    texts = list(dict.fromkeys(c.embed_text for c in chunk_corpus(trials)))
    encoder.encode(texts[:64])  # warm-up outside the timings
    t0 = time.perf_counter()
    encoder.encode(texts)
    raw = time.perf_counter() - t0
    tmp = Path(tempfile.mkdtemp(dir=work, prefix="overhead-"))
    try:
        _, stats, fig = build(trials, encoder, tmp / "idx", "bench", tmp / "cache")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"trials": len(trials), "chunks": fig["chunks"], "distinct_texts": len(texts),
            "raw_encode_s": round(raw, 2), "raw_texts_per_s": round(len(texts) / raw, 1),
            "raw_chunks_per_s": round(fig["chunks"] / raw, 1), "build_s": fig["seconds_total"],
            "build_chunks_per_s": fig["chunks_per_s"], "overhead_pct": round(100 * (fig["seconds_total"] / raw - 1), 1),
            "build_breakdown": {k: fig[k] for k in ("seconds_encoding", "seconds_chunking", "seconds_faiss", "seconds_other")}}


def approx_recall(idx, encoder, qs: list[str], probes=(1, 4, 8, 16, 32, 64, 128), efs=(16, 32, 64, 128, 256),
                  k: int = 10) -> dict:
    """Recall@k of the approximate index (IVF: per ``nprobe``; HNSW: per ``efSearch``) against exact
    inner-product search on the same vectors, through ``ChunkIndex.dense_search`` (candidates from
    the index, exact cosines); empty when the index is exact.

    ``recall_ids``: shared ids / k. ``recall_scores``: approximate results scoring at least the
    exact k-th score (ties count; the synthetic corpus repeats texts, hence identical vectors)."""
    import faiss

    fi = idx.faiss_index
    if isinstance(fi, faiss.IndexIVF):
        kind, knob, values = "ivf", "nprobe", [p for p in probes if p <= fi.nlist]
        get, put = (lambda: fi.nprobe), (lambda v: setattr(fi, "nprobe", v))
    elif isinstance(fi, faiss.IndexHNSW):
        kind, knob, values = "hnsw", "efSearch", list(efs)
        get, put = (lambda: fi.hnsw.efSearch), (lambda v: setattr(fi.hnsw, "efSearch", v))
    else:
        return {}
    Q = encoder.encode(qs).astype(np.float32)
    t0 = time.perf_counter()
    best = np.full((len(Q), k), -np.inf, np.float32)
    best_ids = np.zeros((len(Q), k), np.int64)
    step = 200_000
    for a in range(0, len(idx.vectors), step):  # blockwise, so the score matrix stays small
        s = Q @ idx.vectors[a:a + step].T
        top = np.argpartition(-s, k, axis=1)[:, :k]
        cand = np.concatenate([best, np.take_along_axis(s, top, 1)], 1)
        cand_ids = np.concatenate([best_ids, top + a], 1)
        keep = np.argsort(-cand, axis=1)[:, :k]
        best, best_ids = np.take_along_axis(cand, keep, 1), np.take_along_axis(cand_ids, keep, 1)
    exact_scores, exact_ids = best, best_ids
    exact_s = time.perf_counter() - t0
    old = get()
    out = {"kind": kind, "knob": knob, "queries": len(Q), "k": k,
           "exact_numpy_ms_per_query": round(1000 * exact_s / len(Q), 1), "sweep": {}}
    if kind == "ivf":
        out["nlist"] = fi.nlist
    try:
        for v in values:
            put(v)
            ms, r_ids, r_scores = [], [], []
            for i in range(len(Q)):
                t = time.perf_counter()
                # What serving returns: the index's candidates with the stored vectors' exact cosines
                # (an 8-bit index's own scores are approximations, never equal to the exact ones).
                found = idx.dense_search(Q[i], k)
                ms.append((time.perf_counter() - t) * 1000)
                I, D = [r for r, _ in found], np.array([s for _, s in found])
                r_ids.append(len(set(I) & set(exact_ids[i].tolist())) / k)
                r_scores.append(min(k, int(np.sum(D >= exact_scores[i, -1] - 1e-5))) / k)
            out["sweep"][v] = {"recall_ids": round(float(np.mean(r_ids)), 4),
                               "recall_scores": round(float(np.mean(r_scores)), 4),
                               "search_p50_ms": round(float(np.percentile(ms, 50)), 2),
                               "search_p95_ms": round(float(np.percentile(ms, 95)), 2)}
    finally:
        put(old)
    out["production"] = old
    return out


def query_figures(retriever, encoder, trial_ids: list[str]) -> dict:
    qs = queries()
    rng = np.random.default_rng(1)
    pick = [trial_ids[i] for i in rng.integers(0, len(trial_ids), size=len(qs))]
    return {"queries": len(qs),
            "encode_only": encode_latency(encoder, qs),
            "hybrid": latency(retriever, qs),
            "dense": latency(retriever, qs, mode="dense"),
            "lexical": latency(retriever, qs, mode="lexical"),
            "hybrid_one_trial": latency(retriever, qs, trials=pick)}


def load_encoder():
    from trialqa.embedding import get_encoder

    t0 = time.perf_counter()
    enc = get_encoder()
    enc.encode(["warm-up"])
    return enc, round(time.perf_counter() - t0, 2)


def retriever_for(idx, encoder) -> tuple:
    from trialqa.retrieval import HybridRetriever

    t0 = time.perf_counter()
    r = HybridRetriever(idx, encoder)
    return r, round(time.perf_counter() - t0, 2)


def unpack_xml(work: Path) -> tuple[Path, float]:
    out = work / "xml6786"
    t0 = time.perf_counter()
    if not (out / ".complete").exists():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        with tarfile.open(XML_TGZ) as tf:
            tf.extractall(out, filter="data")
        (out / ".complete").write_text("ok")
    return out, round(time.perf_counter() - t0, 2)


def read_xml(work: Path) -> tuple[list, dict]:
    """The XML records read without extraction; the parsed records are pickled in the work dir, so
    later runs skip the reader (its figures are those of the run that read the files)."""
    import pickle

    from trialqa import load_corpus

    pkl = work / "xml6786.pkl"
    stamp = [XML_TGZ.stat().st_size, int(XML_TGZ.stat().st_mtime)]
    if pkl.exists():
        try:
            with open(pkl, "rb") as f:
                saved = pickle.load(f)
            if saved["stamp"] == stamp:
                return saved["trials"], {**saved["read"], "from_pickle": True}
        except Exception as exc:  # a damaged pickle only costs a re-read
            log(f"xml: ignoring {pkl}: {exc!r}")
    d, unpack_s = unpack_xml(work)
    t0 = time.perf_counter()
    # Entities are not indexed: reading without extraction keeps the benchmark about the index.
    trials = load_corpus(d, extract=False)
    read_s = time.perf_counter() - t0
    read = {"unpack_s": unpack_s, "read_s": round(read_s, 1), "trials": len(trials),
            "read_trials_per_s": round(len(trials) / read_s, 1), "errors": len(trials.errors)}
    tmp = pkl.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump({"stamp": stamp, "trials": list(trials), "read": read}, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, pkl)
    return trials, read


class ProxyEncoder:
    """Stand-in vectors (hashed bag of words, unit length) under the real model's name and dimension,
    for chunk texts the real model had no time to embed (``--embed-budget-s``). Exact search and
    BM25 cost the same whatever the vector values, so latency figures stay meaningful; retrieval
    quality and recall on such vectors are not measured."""

    def __init__(self, name: str, dim: int):
        self.name, self.dim = name, dim

    def encode(self, texts, progress=None):
        import hashlib
        import re

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                h = int(hashlib.md5(w.encode()).hexdigest()[:8], 16)
                out[i, h % self.dim] += 1.0 if h & 1 << 31 else -1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def pre_embed(trials, encoder, cache_dir: Path, budget_s: float) -> dict:
    """Embed the distinct chunk texts of ``trials`` with the real model into the persistent cache, trial
    by trial in corpus order, until ``budget_s`` seconds have passed; returns how far it got."""
    from trialqa.chunking import chunk_trial, text_key
    from trialqa.embedding import EmbeddingCache

    cache = EmbeddingCache(cache_dir, encoder.name, encoder.dim)
    cached_before = len(cache.vectors)
    t0 = last_save = time.perf_counter()
    pending: dict[str, str] = {}
    done = encoded = 0
    enc_s = 0.0
    for i, t in enumerate(trials):
        for c in chunk_trial(t):
            k = text_key(c.embed_text)
            if k not in cache.vectors:
                pending[k] = c.embed_text
        if len(pending) >= 512 or i == len(trials) - 1:
            t1 = time.perf_counter()
            cache.embed(pending, encoder)
            enc_s += time.perf_counter() - t1
            encoded += len(pending)
            pending = {}
            if time.perf_counter() - last_save > 120:
                cache.save()
                last_save = time.perf_counter()
                log(f"  pre-embed: {i + 1} trials, {encoded} texts, {encoded / enc_s:.1f} texts/s")
        if not pending:
            done = i + 1
        if time.perf_counter() - t0 > budget_s and not pending:
            break
    cache.save()
    return {"budget_s": budget_s, "records_done": done, "texts_encoded": encoded,
            "texts_cached_before": cached_before, "seconds": round(time.perf_counter() - t0, 1),
            "encode_texts_per_s": round(encoded / enc_s, 1) if enc_s else None}


def real_cache_keys(encoder, cache_dir: Path) -> set[str]:
    from trialqa.embedding import EmbeddingCache

    return set(EmbeddingCache(cache_dir, encoder.name, encoder.dim).vectors)


# --- scales --------------------------------------------------------------------------------------

def scale_seeds(args) -> dict:
    from trialqa import load_corpus

    enc, model_s = load_encoder()
    trials = load_corpus(ROOT / "corpus")
    work = Path(tempfile.mkdtemp(dir=args.work_dir, prefix="seeds-"))
    try:
        out = {"scale": "seeds", "trials": len(trials), "model_load_s": model_s,
               "build_overhead": build_overhead(trials, enc, work)}
        idx, stats, out["build"] = build(trials, enc, work / "idx", "seeds", work / "cache")
        r, out["bm25_index_s"] = retriever_for(idx, enc)
        out["query"] = query_figures(r, enc, [t.id for t in trials])
        out["reuse"] = {"chunks": stats.chunks, "distinct_texts": stats.unique_texts}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def scale_xml(args) -> dict:
    import lexical_experiment

    enc, model_s = load_encoder()
    trials, read = read_xml(args.work_dir)
    log(f"xml: read {read}")
    if args.records:  # the first N records only (a real-vector build that fits in the time at hand)
        trials = list(trials)[:args.records]
    out = {"scale": "xml", "trials": len(trials), "model_load_s": model_s, "read": read}
    sample = trials[:args.sample_trials]
    log(f"xml: build overhead on {len(sample)} trials (raw encode, then build from an empty cache)")
    out["build_overhead"] = build_overhead(sample, enc, args.work_dir)
    log(f"xml: {out['build_overhead']}")
    cache = args.work_dir / "cache"
    build_enc, build_cache = enc, cache
    if args.embed_budget_s is not None:
        log(f"xml: embedding with the real model for at most {args.embed_budget_s} s (cache {cache})")
        out["pre_embed"] = pre_embed(trials, enc, cache, args.embed_budget_s)
        log(f"xml: pre-embed {out['pre_embed']}")
        # The rest gets proxy vectors, in a throwaway copy of the cache (never in the real one).
        build_cache = Path(tempfile.mkdtemp(dir=args.work_dir, prefix="proxy-cache-"))
        shutil.copytree(cache, build_cache, dirs_exist_ok=True)
        build_enc = ProxyEncoder(enc.name, enc.dim)
    log(f"xml: full build (cache {build_cache})")
    try:
        idx, stats, out["build"] = build(trials, build_enc, args.work_dir / "idx", "xml6786", build_cache)
    finally:
        if build_cache != cache:
            shutil.rmtree(build_cache, ignore_errors=True)
    if build_enc is not enc:
        out["build"]["proxy_vectors"] = stats.encoded
        out["build"]["real_vectors"] = stats.unique_texts - stats.encoded
    out["rss_after_build_mb"] = rss_mb()
    if stats.encoded and build_enc is enc:
        out["build"]["overhead_beyond_encoding_pct"] = round(
            100 * (out["build"]["seconds_total"] / stats.seconds_encoding - 1), 1)
        out["build"]["encode_texts_per_s"] = round(stats.encoded / stats.seconds_encoding, 1)
    out["reuse"] = {"chunks": stats.chunks, "distinct_texts": stats.unique_texts,
                    "embedding_work_saved_pct": round(100 * (1 - stats.unique_texts / stats.chunks), 1)}
    log(f"xml: build {out['build']} reuse {out['reuse']}")
    r, out["bm25_index_s"] = retriever_for(idx, enc)
    out["query"] = query_figures(r, enc, [t.id for t in trials])
    out["approx_recall"] = approx_recall(idx, enc, queries(180))
    out["experiment_argpartition"] = lexical_experiment.experiment_argpartition(r, queries(), percentiles)
    return out


class _Skip(Exception):
    pass


def scale_synthetic(args) -> dict:
    import synthetic
    from trialqa import load_corpus
    from trialqa.chunking import chunk_corpus
    from trialqa.index import load_index, read_manifest

    enc, model_s = load_encoder()
    real, read = read_xml(args.work_dir)
    out = {"scale": "synthetic", "trials": args.trials, "model_load_s": model_s, "source": read}
    cache = args.work_dir / "cache"
    if args.real_vectors_only:
        from trialqa.chunking import chunk_trial, text_key

        keys = real_cache_keys(enc, cache)
        real = [t for t in real if all(text_key(c.embed_text) in keys for c in chunk_trial(t))]
        del keys
        out["source"]["records_with_real_vectors"] = len(real)
        log(f"synthetic: recombining the {len(real)} records whose chunk texts all have real vectors")
    t0 = time.perf_counter()
    trials = (synthetic.replicate if args.whole_records else synthetic.synthesize)(real, args.trials)
    out["synthesize_s"], out["whole_records"] = round(time.perf_counter() - t0, 1), args.whole_records
    # The writer and the real reader agree on the chunks of a sample (checks the in-memory records).
    tmp = Path(tempfile.mkdtemp(dir=args.work_dir, prefix="syn-sample-"))
    try:
        if args.whole_records:
            raise _Skip  # whole records have every section; write_api_v2 writes the recombined kind only
        sample = trials[:500]
        t0 = time.perf_counter()
        synthetic.write_api_v2(sample, tmp, per_file=100)
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = load_corpus(tmp, extract=False)
        back_s = time.perf_counter() - t0
        a = {(c.trial_id, c.section, c.embed_text) for c in chunk_corpus(sample)}
        b = {(c.trial_id, c.section, c.embed_text) for c in chunk_corpus(back)}
        out["sample_roundtrip"] = {"trials": len(sample), "write_s": round(write_s, 2), "read_s": round(back_s, 2),
                                   "read_trials_per_s": round(len(sample) / back_s, 1),
                                   "chunks_in_memory": len(a), "chunks_read_back": len(b),
                                   "agreement_pct": round(100 * len(a & b) / max(len(a | b), 1), 2)}
    except _Skip:
        out["sample_roundtrip"] = "not applicable (whole records)"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"synthetic: {args.trials} trials; roundtrip {out['sample_roundtrip']}")
    if not (cache.exists() and any(cache.rglob("vectors.npy"))):
        log("synthetic: no real vectors cached yet; run --scale xml first (it embeds the XML corpus)")
    name = f"synthetic{args.trials}{'w' if args.whole_records else ''}"
    fingerprint = f"synthetic-{args.trials}-seed7-{len(real)}-{'whole' if args.whole_records else 'recombined'}"
    found = read_manifest(args.work_dir / "idx", name) if args.reuse_index else None
    if found and found[1].get("corpus_fingerprint") == fingerprint:
        t0 = time.perf_counter()
        idx = load_index(*found, verify=False)
        out["build"] = {"reused_index": str(found[0]), "load_s": round(time.perf_counter() - t0, 1),
                        "chunks": len(idx.chunks), "index_type": found[1]["index_type"],
                        "size_on_disk_mb": dir_mb(found[0])}
    else:
        log("synthetic: building (IVF training and adding are not reported inside FAISS)")
        idx, stats, out["build"] = build(trials, enc, args.work_dir / "idx", name, cache, fingerprint)
    out["rss_after_build_mb"] = rss_mb()
    log(f"synthetic: build {out['build']}")
    r, out["bm25_index_s"] = retriever_for(idx, enc)  # the first one also saves the BM25 index
    out["rss_with_retriever_mb"] = rss_mb()
    del r, idx, trials
    log("synthetic: serving the built index in a process of its own")
    cmd = [sys.executable, __file__, "--serve", str(args.work_dir / "idx"), name, "--work-dir", str(args.work_dir)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"the serving process failed (exit {proc.returncode})")
    out["serving"] = json.loads(proc.stdout)
    out["query"], out["approx_recall"] = out["serving"].pop("query"), out["serving"].pop("approx_recall")
    return out


def serve(root: Path, name: str) -> dict:
    """What serving a built index costs: load it from disk (as ``TrialQA.load`` does, checksums
    included), search it (the figures of ``query_figures``), then the peak RSS so far; only then
    recall@10 against exact search, whose ground truth reads every vector (and so maps them all)."""
    from trialqa.index import load_index, read_manifest

    t0 = time.perf_counter()
    enc, model_s = load_encoder()
    idx = load_index(*read_manifest(root, name))
    out = {"model_load_s": model_s, "index_load_s": round(time.perf_counter() - t0 - model_s, 1),
           "chunks": len(idx.chunks), "rss_after_load_mb": rss_mb()}
    r, out["bm25_load_s"] = retriever_for(idx, enc)
    out["rss_with_retriever_mb"] = rss_mb()
    out["query"] = query_figures(r, enc, sorted(idx.by_trial))
    out["peak_rss_serving_mb"] = peak_rss_mb()
    out["rss_after_queries_mb"] = rss_mb()
    out["rss_split_after_queries_mb"] = rss_split_mb()
    log(f"serving: {out}")
    out["approx_recall"] = approx_recall(idx, enc, queries(180))
    out["peak_rss_with_recall_mb"] = peak_rss_mb()
    return out


SCALES = {"seeds": scale_seeds, "xml": scale_xml, "synthetic": scale_synthetic}


def machine() -> dict:
    import faiss

    from trialqa.embedding import get_encoder, onnx_threads

    return {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "encoder": get_encoder().name, "onnx_threads": onnx_threads(),
            "faiss": faiss.__version__,
            "python": platform.python_version(), "load_avg_at_end": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=(*SCALES, "all"), default="all")
    ap.add_argument("--trials", type=int, default=100_000, help="synthetic corpus size")
    ap.add_argument("--sample-trials", type=int, default=300, help="XML records for the build-overhead figure")
    ap.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="unpacked XML, embedding cache, indexes")
    ap.add_argument("--reuse-index", action="store_true", help="synthetic: load a previous build instead of building")
    ap.add_argument("--threads", type=int, default=None,
                    help="embedding intra-op threads (TRIALQA_THREADS; default: the cores); 1 can be faster "
                         "when other jobs load the cores, as the workers then wait on each other")
    ap.add_argument("--embed-budget-s", type=float, default=None,
                    help="xml: embed with the real model for at most this long (records in corpus order), "
                         "proxy vectors for the rest (default: embed everything)")
    ap.add_argument("--whole-records", action="store_true",
                    help="synthetic: copies of whole records under new ids (the source's chunks per trial)")
    ap.add_argument("--real-vectors-only", action="store_true",
                    help="synthetic: recombine only the records whose chunk texts all have real vectors cached")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--records", type=int, default=None, help="xml: build the first N records only")
    ap.add_argument("--serve", nargs=2, metavar=("INDEX_ROOT", "NAME"),
                    help="(internal) serve a built index in this process and print its figures")
    args = ap.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    if args.threads:  # ONNX Runtime's intra-op threads (the encoder reads it when it opens its session)
        os.environ["TRIALQA_THREADS"] = str(args.threads)
    if args.serve:
        print(json.dumps(serve(Path(args.serve[0]), args.serve[1])))
        return 0
    if args.scale != "all":
        t0 = time.perf_counter()
        out = SCALES[args.scale](args)
        out["peak_rss_mb"] = peak_rss_mb()
        out["wall_s"] = round(time.perf_counter() - t0, 1)
        out["machine"] = machine()
        print(json.dumps(out, indent=2) if args.json else report(out))
        return 0
    results = []
    for scale in SCALES:  # one process per scale: peak RSS is then that scale's
        log(f"== {scale}")
        cmd = [sys.executable, __file__, "--scale", scale, "--json", "--trials", str(args.trials),
               "--sample-trials", str(args.sample_trials), "--work-dir", str(args.work_dir)]
        if args.reuse_index:
            cmd.append("--reuse-index")
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        if args.embed_budget_s is not None:
            cmd += ["--embed-budget-s", str(args.embed_budget_s)]
        if args.real_vectors_only:
            cmd.append("--real-vectors-only")
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if proc.returncode:
            log(f"{scale} failed (exit {proc.returncode})")
            continue
        results.append(json.loads(proc.stdout))
        if not args.json:
            print(report(results[-1]), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def report(r: dict) -> str:
    """Readable summary of one scale."""
    lines = [f"## {r['scale']}: {r['trials']} trials (wall {r.get('wall_s')} s, peak RSS {r.get('peak_rss_mb')} MB)"]
    if "read" in r:
        lines.append(f"reader: {r['read']['read_trials_per_s']} records/s (no entity extraction)")
    if "build_overhead" in r:
        b = r["build_overhead"]
        lines.append(f"build vs raw encoding ({b['trials']} trials, {b['chunks']} chunks, {b['distinct_texts']} distinct): "
                     f"raw {b['raw_encode_s']} s ({b['raw_texts_per_s']} texts/s, {b['raw_chunks_per_s']} chunks/s), "
                     f"build {b['build_s']} s ({b['build_chunks_per_s']} chunks/s): overhead {b['overhead_pct']}% "
                     f"{b['build_breakdown']}")
    b = r["build"]
    lines.append(f"index: {json.dumps(b)}")
    if "reuse" in r:
        lines.append(f"reuse: {json.dumps(r['reuse'])}")
    if "serving" in r:
        v = r["serving"]
        lines.append(f"serving process (index loaded from disk): peak RSS {v['peak_rss_serving_mb']} MB after "
                     f"{r['query']['queries']} x 5 query kinds (RSS after load {v['rss_after_load_mb']} MB, with BM25 "
                     f"{v['rss_with_retriever_mb']} MB); load {v['index_load_s']} s, BM25 {v['bm25_load_s']} s; "
                     f"peak {v['peak_rss_with_recall_mb']} MB once the exact ground truth read every vector")
    q = r["query"]
    for key in ("encode_only", "hybrid", "dense", "lexical", "hybrid_one_trial"):
        lines.append(f"query {key:16s} p50 {q[key]['p50_ms']:7.1f} ms  p95 {q[key]['p95_ms']:7.1f} ms  (n={q[key]['n']})")
    if r.get("approx_recall"):
        h = r["approx_recall"]
        lines.append(f"{h['kind'].upper()} recall@{h['k']} vs exact ({h['queries']} queries; {h.get('nlist', '-')} lists; "
                     f"production {h['knob']} {h['production']}; exact numpy {h['exact_numpy_ms_per_query']} ms/query):")
        for v, f in h["sweep"].items():
            lines.append(f"  {h['knob']} {v:>4}: recall ids {f['recall_ids']:.3f} scores {f['recall_scores']:.3f} "
                         f"search p50 {f['search_p50_ms']} ms p95 {f['search_p95_ms']} ms")
    if "experiment_argpartition" in r:
        e = r["experiment_argpartition"]
        lines.append(f"EXPERIMENT unrestricted lexical query over {e['chunks']} chunks ({e['queries']} queries): "
                     f"BM25 scoring p50 {e['bm25_scoring']['p50_ms']} ms p95 {e['bm25_scoring']['p95_ms']} ms; "
                     f"top-{100} by argsort p50 {e['argsort_full']['p50_ms']} ms p95 {e['argsort_full']['p95_ms']} ms, "
                     f"by argpartition p50 {e['argpartition']['p50_ms']} ms p95 {e['argpartition']['p95_ms']} ms "
                     f"(same top scores {e['same_top_scores_pct']}%)")
    lines.append(f"machine: {r.get('machine')}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""Patient-to-trial matching scored on TREC Clinical Trials 2022 and SIGIR 2016 topics.

Data: ``queries.jsonl`` (``{"_id", "text"}``, a patient note a line) and ``qrels/test.tsv``
(``query-id corpus-id score``: 2 eligible, 1 excluded, 0 not relevant) of a topic set, over the
trials of a loaded ``TrialQA`` (the judged trials among the 6,786 XML records; a judged trial not
in the corpus is left out, and a topic with no judged relevant trial in the corpus is not scored).

Two rankings per topic, each beside a plain BM25 on the same trials in the same run:

* ``judged``: the topic's judged trials only (``match(note, trials=judged)``);
* ``all``: every trial of the corpus, unjudged ones counted as not relevant.

Metrics (means over scored topics): NDCG@10 with the grades as gains (2, 1, 0; exponential
gains are not used, so an excluded trial is worth half an eligible one), P@10 counting eligible
trials (grade 2) as TREC CT does, and P@10 counting relevant ones (grade 1 or 2). Verdict
agreement on the judged pairs: ``match``'s verdict against the grade, eligible and undetermined
read as 2 (relevant, not excluded), not eligible as 1 and not relevant as 0; the confusion table
gives every cell. The majority class (everything not relevant) is the baseline agreement.

BM25 baseline: ``bm25s`` with English stop words over one document per trial (title, conditions,
summary and inclusion criteria, the fields ``match`` searches), the note as the query.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import QueryError

K = 10
VERDICT_GRADE = {"eligible": 2, "undetermined": 2, "not eligible": 1, "not relevant": 0}


@dataclass
class Topic:
    id: str
    text: str


def load_topics(folder: str | Path) -> tuple[list[Topic], dict[str, dict[str, int]]]:
    """The topics and the judgments (topic -> trial -> grade) of ``folder`` (e.g. ``trec_ct/sigir``)."""
    folder = Path(folder)
    topics = []
    path = folder / "queries.jsonl"
    for n, line in enumerate(_read(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            topics.append(Topic(str(obj["_id"]), str(obj["text"])))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QueryError(f"{path}: line {n}: not a topic ({{'_id', 'text'}}): {exc}") from None
    qrels: dict[str, dict[str, int]] = {}
    path = folder / "qrels" / "test.tsv"
    for n, line in enumerate(_read(path).splitlines(), 1):
        parts = line.split("\t")
        if n == 1 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # the header
        if len(parts) != 3:
            raise QueryError(f"{path}: line {n}: expected query-id, corpus-id and score separated by tabs")
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return topics, qrels


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise QueryError(f"{path}: no such file") from None


def dcg(gains: list[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    return dcg([grades.get(t, 0) for t in ranked[:k]]) / ideal if ideal > 0 else 0.0


def precision_at(ranked: list[str], grades: dict[str, int], k: int = K, at_least: int = 2) -> float:
    return sum(1 for t in ranked[:k] if grades.get(t, 0) >= at_least) / k


class BM25Baseline:
    """Plain BM25 over one document per trial: title, conditions, summary, inclusion criteria."""

    def __init__(self, trials):
        import bm25s

        self.ids = [t.id for t in trials]
        docs = [trial_document(t) for t in trials]
        self.model = bm25s.BM25()
        self.model.index(bm25s.tokenize(docs, stopwords="en", show_progress=False), show_progress=False)

    def rank(self, query: str, among: list[str] | None = None) -> list[str]:
        import bm25s
        import numpy as np

        words = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)[0]
        known = [w for w in words if w in self.model.vocab_dict]
        scores = np.asarray(self.model.get_scores(known), dtype=float) if known else np.zeros(len(self.ids))
        order = sorted(range(len(self.ids)), key=lambda i: (-scores[i], self.ids[i]))
        ranked = [self.ids[i] for i in order]
        if among is not None:
            keep = set(among)
            ranked = [t for t in ranked if t in keep]
        return ranked


def trial_document(t) -> str:
    return "\n".join([t.title or "", t.official_title or "", "; ".join(t.conditions), t.summary or ""]
                     + [c.text for c in t.inclusion])


@dataclass
class RankingScores:
    ndcg10: float
    p10_eligible: float
    p10_relevant: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TopicSetReport:
    name: str
    topics_scored: int
    judged_pairs: int
    judged: dict[str, RankingScores]  # "match" / "bm25"
    all_trials: dict[str, RankingScores]
    verdicts: dict[str, Any]
    latency_ms: dict[str, float]
    per_topic: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "topics_scored": self.topics_scored, "judged_pairs": self.judged_pairs,
                "judged": {k: v.to_dict() for k, v in self.judged.items()},
                "all_trials": {k: v.to_dict() for k, v in self.all_trials.items()},
                "ndcg10_ratio_to_bm25": {
                    "judged": _ratio(self.judged["match"].ndcg10, self.judged["bm25"].ndcg10),
                    "all_trials": _ratio(self.all_trials["match"].ndcg10, self.all_trials["bm25"].ndcg10)},
                "verdicts": self.verdicts, "latency_ms": self.latency_ms, "per_topic": self.per_topic}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b > 0 else None


def _mean(rows: list[dict], key: str) -> float:
    return round(sum(r[key] for r in rows) / len(rows), 4) if rows else 0.0


def evaluate_topics(qa, folder: str | Path, *, name: str | None = None, topic_ids: set[str] | None = None,
                    progress: Callable[[int, int], None] | None = None) -> TopicSetReport:
    """Score ``qa.match`` and BM25 on the topic set in ``folder`` over ``qa``'s trials."""
    topics, qrels = load_topics(folder)
    in_corpus = {t.id for t in qa.trials}
    bm25 = BM25Baseline(qa.trials)
    rows, pairs, times = [], [], []
    chosen = [t for t in topics if (topic_ids is None or t.id in topic_ids)]
    for n, topic in enumerate(chosen, 1):
        grades = {tid: g for tid, g in qrels.get(topic.id, {}).items() if tid in in_corpus}
        if not any(g > 0 for g in grades.values()):
            continue
        judged = sorted(grades)
        t0 = time.perf_counter()
        ranked_judged = qa.match(topic.text, k=len(judged), trials=judged)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ranked_all = qa.match(topic.text, k=K)
        times.append(time.perf_counter() - t0)
        mj = [m.trial_id for m in ranked_judged]
        ma = [m.trial_id for m in ranked_all]
        bj = bm25.rank(topic.text, judged)
        ba = bm25.rank(topic.text)[:K]
        row = {"topic": topic.id, "judged": len(judged), "eligible": sum(g == 2 for g in grades.values()),
               "excluded": sum(g == 1 for g in grades.values())}
        for label, ranking, g in (("match_judged", mj, grades), ("bm25_judged", bj, grades),
                                  ("match_all", ma, grades), ("bm25_all", ba, grades)):
            row[f"{label}_ndcg10"] = round(ndcg_at(ranking, g), 4)
            row[f"{label}_p10e"] = precision_at(ranking, g, at_least=2)
            row[f"{label}_p10r"] = precision_at(ranking, g, at_least=1)
        rows.append(row)
        pairs.extend((grades[m.trial_id], m.verdict) for m in ranked_judged)
        if progress:
            progress(n, len(chosen))

    def scores(label: str) -> RankingScores:
        return RankingScores(_mean(rows, f"{label}_ndcg10"), _mean(rows, f"{label}_p10e"), _mean(rows, f"{label}_p10r"))

    times.sort()
    latency = {"p50": round(1000 * times[len(times) // 2], 1), "p95": round(1000 * times[int(0.95 * (len(times) - 1))], 1),
               "calls": len(times)} if times else {}
    return TopicSetReport(name or Path(folder).name, len(rows), len(pairs),
                          {"match": scores("match_judged"), "bm25": scores("bm25_judged")},
                          {"match": scores("match_all"), "bm25": scores("bm25_all")},
                          verdict_agreement(pairs), latency, rows)


def verdict_agreement(pairs: list[tuple[int, str]]) -> dict[str, Any]:
    """Agreement of verdicts with grades (see the module doc), the confusion table and the majority baseline."""
    if not pairs:
        return {}
    table = Counter(f"{g}|{v}" for g, v in pairs)
    agree = sum(1 for g, v in pairs if VERDICT_GRADE[v] == g)
    relevant_agree = sum(1 for g, v in pairs if (g > 0) == (v != "not relevant"))
    majority = Counter(g for g, _ in pairs).most_common(1)[0]
    return {"pairs": len(pairs), "agreement": round(agree / len(pairs), 4),
            "relevance_agreement": round(relevant_agree / len(pairs), 4),
            "majority_baseline": {"grade": majority[0], "agreement": round(majority[1] / len(pairs), 4)},
            "confusion": {f"grade {k.split('|')[0]} / {k.split('|')[1]}": n for k, n in sorted(table.items())}}


def summary_markdown(reports: list[TopicSetReport], title: str = "Patient-to-trial matching") -> str:
    lines = [f"# {title}", "",
             "| topic set | ranking | topics | NDCG@10 match | NDCG@10 BM25 | ratio | P@10 eligible match / BM25 "
             "| P@10 relevant match / BM25 |", "|---|---|---|---|---|---|---|---|"]
    for r in reports:
        d = r.to_dict()
        for key, label in (("judged", "judged trials of the topic"), ("all_trials", "all judged trials together")):
            m, b = d[key]["match"], d[key]["bm25"]
            lines.append(f"| {r.name} | {label} | {r.topics_scored} | {m['ndcg10']:.3f} | {b['ndcg10']:.3f} | "
                         f"{d['ndcg10_ratio_to_bm25'][key]} | {m['p10_eligible']:.3f} / {b['p10_eligible']:.3f} | "
                         f"{m['p10_relevant']:.3f} / {b['p10_relevant']:.3f} |")
    lines += ["", "| topic set | judged pairs | verdict agreement | relevance agreement | majority baseline | match p50 / p95 ms |",
              "|---|---|---|---|---|---|"]
    for r in reports:
        v = r.verdicts
        if v:
            lines.append(f"| {r.name} | {v['pairs']} | {v['agreement']:.3f} | {v['relevance_agreement']:.3f} | "
                         f"{v['majority_baseline']['agreement']:.3f} (grade {v['majority_baseline']['grade']}) | "
                         f"{r.latency_ms.get('p50')} / {r.latency_ms.get('p95')} |")
    for r in reports:
        if r.verdicts:
            lines += ["", f"Verdicts against grades, {r.name}: "
                      + ", ".join(f"{k}: {n}" for k, n in r.verdicts["confusion"].items())]
    return "\n".join(lines) + "\n"

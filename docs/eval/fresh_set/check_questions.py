#!/usr/bin/env python3
"""Check questions.jsonl against the 12 records (stdlib only).

usage: python3 check_questions.py CORPUS_DIR   (a folder built by make_corpus.py)

Asserts: every evidence string is 3-8 words, has no <, > or &, and occurs inside ONE line
of the raw XML (legacy records) or inside ONE line of one string field (API v2 JSON);
P-/Y-/U- questions have a verdict; A- questions have abstain true; category counts; every
trial id is in records.txt.
"""
import collections, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = {"V": 16, "Y": 10, "P": 16, "U": 6, "S": 6, "A": 6}


def strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def record_lines(corpus, nct):
    x, j = os.path.join(corpus, nct + ".xml"), os.path.join(corpus, nct + ".json")
    if os.path.exists(x):
        return open(x, encoding="utf-8").read().split("\n")
    lines = []
    for s in strings(json.load(open(j, encoding="utf-8"))):
        lines.extend(s.split("\n"))
    return lines


def main(corpus):
    ids = open(os.path.join(HERE, "records.txt")).read().split()
    assert len(ids) == 12 and len(set(ids)) == 12, "records.txt must list 12 distinct ids"
    lines = {n: record_lines(corpus, n) for n in ids}
    qs = [json.loads(l) for l in open(os.path.join(HERE, "questions.jsonl"), encoding="utf-8") if l.strip()]
    errors, cats, seen = [], collections.Counter(), set()
    for q in qs:
        qid = q["id"]
        cat = qid.split("-")[0]
        cats[cat] += 1
        if qid in seen:
            errors.append(f"{qid}: duplicate id")
        seen.add(qid)
        for k in ("q", "all", "evidence", "trial", "why"):
            if k not in q:
                errors.append(f"{qid}: missing {k}")
        if q["trial"] not in lines:
            errors.append(f"{qid}: trial {q['trial']} not in records.txt")
            continue
        if cat in ("P", "Y", "U") and q.get("verdict") not in ("yes", "no"):
            errors.append(f"{qid}: needs verdict yes/no")
        if cat == "A":
            if q.get("abstain") is not True:
                errors.append(f"{qid}: A- question needs abstain true")
        else:
            if q.get("abstain"):
                errors.append(f"{qid}: abstain set on non-A question")
            if not q["evidence"]:
                errors.append(f"{qid}: no evidence")
        for ev in q["evidence"]:
            n = len(ev.split())
            if not 3 <= n <= 8:
                errors.append(f"{qid}: evidence has {n} words: {ev!r}")
            if any(c in ev for c in "<>&"):
                errors.append(f"{qid}: evidence contains <, > or &: {ev!r}")
            if not any(ev in line for line in lines[q["trial"]]):
                errors.append(f"{qid}: evidence not in one line of {q['trial']}: {ev!r}")
    for c, n in EXPECTED.items():
        if cats[c] != n:
            errors.append(f"category {c}: {cats[c]} questions, expected {n}")
    for c in ("P", "Y", "U"):
        v = collections.Counter(q.get("verdict") for q in qs if q["id"].startswith(c + "-"))
        print(f"{c}: verdict counts {dict(v)}")
    print(f"{len(qs)} questions, by category {dict(cats)}, trials {len({q['trial'] for q in qs})}")
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

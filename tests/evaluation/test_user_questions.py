"""The outsiders' questions (``../shared/data/user_questions/``): 224 questions about 40 records, written
by people outside the team, scored by the set's own ``score.py`` against the real system."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import DATA, ROOT, need

FLOOR = 0.90  # 214/224 reached (200/224 with issue 13's rules, 171/224 before them); the first try was 95/224 (docs/eval/user_questions/)
PATIENT_FLOOR = 0.90  # the P-, Y- and U- questions together (issue 14): 79/85 reached, first try 29/85

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_outsiders_questions_score_at_least_the_floor(tmp_path):
    uq = need(DATA / "user_questions")
    corpus = tmp_path / "corpus"
    subprocess.run([sys.executable, str(uq / "make_corpus.py"), str(corpus), "--shared", str(DATA)], check=True,
                   capture_output=True)
    run = subprocess.run([sys.executable, str(uq / "score.py"), str(uq / "questions.jsonl"), "--corpus", str(corpus),
                          "--index", str(tmp_path / "index"), "--min", str(FLOOR), "--show"],
                         cwd=ROOT, capture_output=True, text=True, timeout=1800)
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-2000:]
    m = re.search(r"(\d+)/(\d+) = ", last)
    assert m, last
    assert int(m.group(1)) / int(m.group(2)) >= FLOOR, run.stdout[-20000:]

    # Issue 14: the patient, yes/no and unit questions on their own, from the same run's failures.
    ids = [json.loads(line)["id"] for line in (uq / "questions.jsonl").read_text("utf-8").splitlines() if line.strip()]
    pyu = {i for i in ids if i[:2] in ("P-", "Y-", "U-")}
    failed = set(re.findall(r"^FAIL ([A-Z]-[\w-]+):", run.stdout, re.M))
    assert pyu and (len(pyu - failed) / len(pyu)) >= PATIENT_FLOOR, sorted(pyu & failed)

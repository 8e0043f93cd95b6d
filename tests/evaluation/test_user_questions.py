"""The outsiders' questions (``../shared/data/user_questions/``): 224 questions about 40 records, written
by people outside the team, scored by the set's own ``score.py`` against the real system."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import DATA, ROOT, need

FLOOR = 0.90  # 205/224 reached (200/224 with issue 13's rules, 171/224 before them); the first try was 95/224 (docs/eval/user_questions/)

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

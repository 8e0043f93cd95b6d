"""A one-shot CLI call on a terminal prints its answer and nothing else: no model-loading bars."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run_with_terminal_stderr(args: list[str], env: dict) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal, where progress bars draw (they stay silent on a pipe)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read().decode()
    proc.wait()
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode(errors="replace")


@pytest.mark.model
def test_trialqa_ask_prints_no_loading_bars(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY")}
    env.update(PYTHONPATH=str(ROOT / "src"), TRIALQA_INDEX=str(tmp_path / "idx"), TRIALQA_CORPUS=str(ROOT / "corpus"))
    build = subprocess.run([sys.executable, "-m", "trialqa", "index"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    # The ONNX query path, and the torch one (which loads the sentence-transformers model, where
    # the "Loading weights" bar lives).
    for onnx in ("1", "0"):
        code, out, err = _run_with_terminal_stderr(
            [sys.executable, "-m", "trialqa", "ask", "Can a 76-year-old enter this trial?", "--trial", "NCT07110662"],
            {**env, "TRIALQA_ONNX": onnx})
        assert code == 0 and out.startswith("[YES]"), err
        assert "Loading weights" not in err and "%|" not in err, err
        assert err.strip() == "", err

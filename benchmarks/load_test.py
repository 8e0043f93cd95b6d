"""Load test of the web app's HTTP API: N concurrent chat clients for a fixed time.

    python benchmarks/load_test.py [--url URL | --corpus DIR --index DIR] [--clients 8] [--seconds 60]
                                   [--port 7861] [--json]

Without ``--url`` it starts ``trialqa serve`` on ``--port`` (the corpus and index of ``--corpus`` /
``--index``, default the seed corpus and a temporary index, built before the clock starts) and
stops it at the end. Each client is a ``gradio_client.Client`` of its own (its own session), and
asks the app's chat the way the page does: the question goes to the chat's ``post`` endpoint, then
``answer`` (which calls ``TrialQA.ask``) returns the reply; one request is that pair. Questions
cycle through a fixed list (field values, criteria, eligibility, cross-trial, out of scope).
Printed: requests, errors (with the first messages), throughput, and latency p50 / p95 / max; the
same questions asked one at a time beforehand give the single-client reference of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What is the minimum age?", "Can a 76-year-old enter the daratumumab trial?",
    "Are pregnant women excluded?", "What is the primary outcome?", "Who sponsors the trial?",
    "Which trials exclude patients with HIV?", "What is the neutrophil count requirement?",
    "How many participants will be enrolled?", "Is prior chemotherapy allowed?", "What is the weather in Paris?",
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def start_server(args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TRIALQA_CORPUS": str(args.corpus),
           "TRIALQA_INDEX": str(args.index)}
    # Build (or check) the index first, so the clock does not time a build.
    subprocess.run([sys.executable, "-m", "trialqa", "index"], env=env, check=True, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([sys.executable, "-m", "trialqa", "serve", "--port", str(args.port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc


def wait_up(url: str, proc: subprocess.Popen | None, timeout: float = 600) -> None:
    import httpx

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the app exited (code {proc.returncode}): {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"the app did not answer at {url} within {timeout:.0f} s")


class ChatClient:
    """One browser-like session: ``post`` then ``answer``, as the chat's submit event chains them."""

    def __init__(self, url: str):
        from gradio_client import Client

        self.client = Client(url, verbose=False)
        names = set(self.client.view_api(print_info=False, return_format="dict")["named_endpoints"])
        missing = {"/post", "/answer"} - names
        if missing:
            raise SystemExit(f"the app's API has no {', '.join(sorted(missing))} endpoint (it has {sorted(names)})")

    def ask(self, question: str) -> str:
        self.client.predict(question, api_name="/post")
        chat = self.client.predict("All trials", api_name="/answer")
        return json.dumps(chat, default=str)


def single(url: str, n: int) -> dict:
    client = ChatClient(url)
    ms = []
    for i in range(n):
        t0 = time.perf_counter()
        client.ask(QUESTIONS[i % len(QUESTIONS)])
        ms.append((time.perf_counter() - t0) * 1000)
    return stats(ms)


def stats(ms: list[float]) -> dict:
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(max(ms), 1)}


def run(url: str, clients: int, seconds: float) -> dict:
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = [0.0]
    # The clock starts once every client is connected (the action runs before any thread goes on).
    ready = threading.Barrier(clients + 1, action=lambda: stop.__setitem__(0, time.monotonic() + seconds))

    def worker(k: int) -> None:
        try:
            client = ChatClient(url)
        except BaseException as exc:  # noqa: BLE001 (counted, then the barrier is released)
            with lock:
                errors.append(f"connect: {type(exc).__name__}: {exc}")
            ready.wait()
            return
        ready.wait()
        i = k
        while time.monotonic() < stop[0]:
            q = QUESTIONS[i % len(QUESTIONS)]
            i += clients
            t0 = time.perf_counter()
            try:
                reply = client.ask(q)
                ok = "assistant" in reply
                err = None if ok else f"no reply to {q!r}: {reply[:200]}"
            except Exception as exc:  # noqa: BLE001 (an error is a figure of the test)
                err = f"{q!r}: {type(exc).__name__}: {str(exc)[:200]}"
            with lock:
                (errors.append(err) if err else lat.append((time.perf_counter() - t0) * 1000))

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = stop[0] - seconds
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    return {"clients": clients, "seconds": round(wall, 1), "requests": len(lat), "errors": len(errors),
            "first_errors": errors[:5], "requests_per_s": round(len(lat) / wall, 2), "latency": stats(lat)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="an app already running (default: start one)")
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "trialqa-load-test-index")
    ap.add_argument("--port", type=int, default=7861)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    proc = None
    url = args.url
    if not url:
        url = f"http://127.0.0.1:{args.port}/"
        log(f"starting the app on {url} (corpus {args.corpus}, index {args.index})")
        proc = start_server(args)
    try:
        t0 = time.perf_counter()
        wait_up(url, proc)
        log(f"app up after {time.perf_counter() - t0:.1f} s")
        out = {"url": url, "single_client": single(url, len(QUESTIONS))}
        log(f"one client, one question at a time: {out['single_client']}")
        out["concurrent"] = run(url, args.clients, args.seconds)
        out["load_avg"] = os.getloadavg()
        out["date"] = time.strftime("%Y-%m-%d %H:%M")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        c = out["concurrent"]
        print(f"single client: {out['single_client']}")
        print(f"{c['clients']} clients for {c['seconds']} s: {c['requests']} requests ({c['requests_per_s']}/s), "
              f"{c['errors']} errors; latency p50 {c['latency'].get('p50_ms')} ms, p95 {c['latency'].get('p95_ms')} ms, "
              f"max {c['latency'].get('max_ms')} ms (load average {out['load_avg'][0]:.1f})")
        for e in c["first_errors"]:
            print(f"  error: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

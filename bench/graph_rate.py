"""Benchmark: N Graph mail sends against the local Graph server while it throttles at R sends/s.

The server (the test suite's Graph fake, ``python -m tests.servers.run graph``, in a process of its own)
answers 429 + Retry-After beyond R (a token bucket with one second of burst). The connector paces itself
with its client-side token bucket set to the same limit, and retries a 429 after the delay the server
asked for. Reported: achieved rate / R (target >= 0.9), and what the server counted: delivered, lost
(never delivered) and duplicated (delivered more than once).

This measures the connector's pacing, not the publish path: the flows' ``publish`` task (find before any
resend, ledger records) is measured under faults and kills by bench/chaos.py.

Reproduce:  .venv/bin/python bench/graph_rate.py --sends 1000 --rate 50 --threads 4
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.base import RetryableError  # noqa: E402
from connectors.registry import get_connector  # noqa: E402
from practiceweek.artifacts import Rendered  # noqa: E402
from practiceweek.planner import Publication  # noqa: E402

TOKEN = "bench-token"


def email(slot: str) -> Rendered:
    """One daily email of a made-up week, as the renderer would hand it to the connector."""
    at = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
    pub = Publication(
        id=f"bench/2026-03-02/email/{slot}",
        campaign="bench",
        day="2026-03-02",
        date=at.date(),
        channel="email",
        slot=slot,
        connector="graph_mail",
        at=at,
        missed_window=dt.timedelta(hours=2),
        title=f"email {slot}",
        fingerprint="bench",
    )
    return Rendered(
        publication=pub,
        subject="Monday: Think Family",
        text="Today's theme is Think Family.",
        html="<p>Today's theme is <b>Think Family</b>.</p>",
        recipients=("staff@example.org",),
        sender="comms@example.org",
    )


def start_server(rate: float) -> tuple[subprocess.Popen[str], str]:
    """The Graph fake in its own process; returns it and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.run", "graph", "--token", TOKEN, "--send-rate", str(rate)],
        cwd=str(ROOT),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())["url"]


def stop_server(proc: subprocess.Popen[str]) -> dict[str, object]:
    """Stop the fake; returns what it counted (``delivered`` ids, ``throttled``)."""
    out, _ = proc.communicate(timeout=30)  # closing its standard input stops it
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sends", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0, help="R: sends per second the server allows")
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()

    server, url = start_server(args.rate)
    todo = collections.deque(email(f"m{i:05d}") for i in range(args.sends))
    lock = threading.Lock()
    retries = [0]
    errors: list[str] = []

    def worker() -> None:
        conn = get_connector(
            "graph_mail",
            access_token=TOKEN,
            base_url=url + "/v1.0",
            sender="comms@example.org",
            timeout=10.0,
            requests_per_interval=int(args.rate),
            interval_seconds=1.0,
        )
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    item = todo.popleft()
                for _ in range(10):
                    try:
                        conn.publish(item)
                        break
                    except RetryableError as exc:
                        with lock:
                            retries[0] += 1
                        time.sleep(exc.retry_after or 1.0)
                else:
                    errors.append(item.id)
        finally:
            conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    counted = stop_server(server)

    delivered: list[str] = counted["delivered"]  # type: ignore[assignment]
    ids = collections.Counter(delivered)
    expected = {email(f"m{i:05d}").id for i in range(args.sends)}
    lost = len(expected - set(ids))
    duplicated = sum(n - 1 for n in ids.values() if n > 1)
    achieved = args.sends / elapsed
    print(f"graph_rate: sends={args.sends} R={args.rate:g}/s threads={args.threads}")
    print(
        f"  elapsed {elapsed:.2f} s, achieved {achieved:.2f} sends/s, achieved/R = {achieved / args.rate:.3f}"
    )
    print(
        f"  server: delivered={len(delivered)} lost={lost} duplicated={duplicated} "
        f"throttled(429)={counted['throttled']} client retries={retries[0]} gave up={len(errors)}"
    )
    print(
        f"  reproduce: .venv/bin/python bench/graph_rate.py --sends {args.sends} --rate {args.rate:g} "
        f"--threads {args.threads}"
    )
    ok = achieved / args.rate >= 0.9 and lost == 0 and duplicated == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""How close to a provider's rate the shared pacers run, and whether they ever exceed it.

A provider allows RATE requests per PER seconds. Each case runs DURATION seconds with 10 threads per
process asking for slots as fast as the pacer gives them (``flows.runtime.ratelimit.LedgerPacer``: slots
reserved in the ledger, shared by every process):

* one process, 10 threads;
* two processes sharing the pacer (what two workers do).

Printed per case: the rate achieved while requests queue, as a share of the provider's (all but the first
burst of RATE, over the time they took), and the most requests in any window of PER seconds (must never
exceed RATE).

    .venv/bin/python bench/rate_limit.py [--rate 10] [--per 1] [--duration 15] [--ledger-url URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chaos import _windows as most_in_window  # noqa: E402 - the most requests in any window


def _hammer(key: str, rate: int, per: float, duration: float, threads: int = 10) -> list[float]:
    from flows.runtime import process
    from flows.runtime.ratelimit import LedgerPacer

    pacer = LedgerPacer(key, rate, per, ledger_of=process.ledger)
    stamps: list[float] = []
    lock = threading.Lock()
    end = time.time() + duration

    def worker() -> None:
        while time.time() < end:
            pacer.acquire()
            with lock:
                stamps.append(time.time())

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return stamps


def _process(key: str, rate: int, per: float, duration: float, out) -> None:  # type: ignore[no-untyped-def]
    out.put(_hammer(key, rate, per, duration))


def share_while_queued(stamps: list[float], rate: int, per: float) -> float:
    """The rate achieved while requests queue, as a share of the provider's: everything after the first
    window's worth (``rate`` requests go at once), over the time it took."""
    stamps = sorted(stamps)
    if len(stamps) <= rate or stamps[-1] == stamps[0]:
        return 0.0
    return (len(stamps) - rate) / (stamps[-1] - stamps[0]) / (rate / per)


def report(label: str, stamps: list[float], rate: int, per: float) -> None:
    share = share_while_queued(stamps, rate, per)
    most = most_in_window(sorted(stamps), per)
    print(
        f"{label:26} {len(stamps):5d} requests in {max(stamps) - min(stamps):5.2f} s; "
        "limit used while queued "
        f"{100 * share:5.1f}%; most in any {per:g} s: {most} "
        f"(limit {rate}: {'never above' if most <= rate else 'ABOVE'})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=10, help="requests allowed per --per seconds")
    parser.add_argument("--per", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--ledger-url", default=None, help="default: a new SQLite ledger")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="practiceweek-ratebench-"))
    os.environ["PRACTICEWEEK_LEDGER_URL"] = args.ledger_url or f"sqlite:///{folder / 'ledger.sqlite3'}"
    from connectors.pacing import margin

    print(
        f"provider limit {args.rate} per {args.per:g} s (paced to {args.rate} per "
        f"{args.per + margin(args.per):g} s); {args.duration:g} s per case, 10 threads per process; "
        f"ledger {'PostgreSQL' if args.ledger_url else 'SQLite'}",
        flush=True,
    )
    stamp = int(time.time())
    report(
        "one process, 10 threads",
        _hammer(f"bench-1-{stamp}", args.rate, args.per, args.duration),
        args.rate,
        args.per,
    )
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_process, args=(f"bench-2-{stamp}", args.rate, args.per, args.duration, out))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    both = out.get() + out.get()
    for p in procs:
        p.join()
    report("two processes, combined", both, args.rate, args.per)
    print(
        f"reproduce: .venv/bin/python bench/rate_limit.py --rate {args.rate} --per {args.per:g} "
        f"--duration {args.duration:g}"
    )


if __name__ == "__main__":
    main()

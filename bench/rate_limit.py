"""How close to a provider's rate a channel runs under the Prefect global concurrency limits.

A fake provider allows RATE calls per second. Each case runs for DURATION seconds with 10 threads calling as
fast as the limiter lets them, against a real Prefect server (started here unless PREFECT_API_URL answers):

* naive:   one slot per call (``rate_limit(name, occupy=1, strict=True)``, limit 1 slot decaying RATE/s);
* batched: ``flows.ratelimit.Pacer`` (several slots per acquisition, paced locally), one process;
* batched, 2 processes sharing the limit (the combined rate must stay within the limit).

    .venv/bin/python bench/rate_limit.py [--rate 10] [--duration 15]
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


def _hammer(acquire, duration: float, threads: int = 10) -> list[float]:  # type: ignore[no-untyped-def]
    stamps: list[float] = []
    lock = threading.Lock()
    end = time.monotonic() + duration

    def worker() -> None:
        while time.monotonic() < end:
            acquire()
            with lock:
                stamps.append(time.time())

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return stamps


def _rate(stamps: list[float], skip: float = 1.0) -> float:
    """Calls per second in the steady state (the first ``skip`` seconds left out)."""
    stamps = sorted(stamps)
    if len(stamps) < 3:
        return 0.0
    start = stamps[0] + skip
    steady = [s for s in stamps if s >= start]
    return (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 2 else 0.0


def _batched_process(name: str, rate: float, batch: int, duration: float, out) -> None:  # type: ignore[no-untyped-def]
    from flows.ratelimit import Limit, Pacer

    pacer = Pacer(Limit(name, rate, batch))
    out.put(_hammer(pacer.acquire, duration))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=10.0, help="provider calls per second")
    parser.add_argument("--duration", type=float, default=15.0)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.embedded import ensure_server, stop_server

    state = Path(tempfile.mkdtemp(prefix="practiceweek-ratebench-"))
    server = ensure_server(state)
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
        from prefect.concurrency.sync import rate_limit

        from flows.ratelimit import Pacer, ensure_limits, limit_for

        stamp = int(time.time())
        naive = f"bench-naive-{stamp}"
        with get_client(sync_client=True) as client:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=naive, limit=1, slot_decay_per_second=args.rate)
            )
        lim = limit_for(f"bench-{stamp}", int(args.rate), 1.0)
        assert lim is not None
        ensure_limits([lim])
        print(
            f"provider rate {args.rate:g}/s; batched limit: {lim.slots} slots decaying {lim.rate:g}/s, "
            f"{lim.batch} slots per acquisition; {args.duration:g} s per case, 10 threads",
            flush=True,
        )

        stamps = _hammer(lambda: rate_limit(naive, occupy=1, strict=True), args.duration)
        r = _rate(stamps)
        print(f"naive   (1 slot per call):        {r:6.2f} calls/s = {100 * r / args.rate:5.1f}% of the rate")

        stamps = _hammer(Pacer(lim).acquire, args.duration)
        r = _rate(stamps)
        print(f"batched (1 process):              {r:6.2f} calls/s = {100 * r / args.rate:5.1f}% of the rate")

        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        procs = [
            ctx.Process(target=_batched_process, args=(lim.name, lim.rate, lim.batch, args.duration, out))
            for _ in range(2)
        ]
        for p in procs:
            p.start()
        both = out.get() + out.get()
        for p in procs:
            p.join()
        r = _rate(both, skip=3.0)
        worst = max(sum(1 for s in both if t <= s < t + 5.0) for t in both) / 5.0
        print(
            f"batched (2 processes, combined):  {r:6.2f} calls/s = {100 * r / args.rate:5.1f}% of the rate; "
            f"busiest 5 s: {worst:.2f} calls/s (limit {args.rate:g}/s + burst {lim.slots} slots)"
        )
    finally:
        if server.started:
            stop_server(state)
    print(
        f"reproduce: .venv/bin/python bench/rate_limit.py --rate {args.rate:g} --duration {args.duration:g}"
    )


if __name__ == "__main__":
    main()

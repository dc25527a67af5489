"""Benchmark: N Graph mail sends against the local Graph server while it throttles at R sends/s.

The server answers 429 + Retry-After beyond R (a token bucket with one second of burst). The
connector paces itself with its client-side token bucket set to the same limit, and retries a 429
after the delay the server asked for. Reported: achieved rate / R (target >= 0.9), and what the
server counted: delivered, lost (never delivered) and duplicated (delivered more than once).

Reproduce:  .venv/bin/python bench/graph_rate.py --sends 1000 --rate 50 --threads 4
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.base import RetryableError  # noqa: E402
from connectors.delivery import deliver  # noqa: E402
from connectors.registry import get_connector  # noqa: E402
from tests.servers import items  # noqa: E402
from tests.servers.graph import GraphServer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sends", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0, help="R: sends per second the server allows")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--safe", action="store_true", help="use deliver() (find before every publish)")
    args = ap.parse_args()

    server = GraphServer(token="bench-token", send_rate=args.rate).start()
    todo = collections.deque(items.email(slot=f"m{i:05d}") for i in range(args.sends))
    lock = threading.Lock()
    retries = [0]
    errors: list[str] = []

    def worker() -> None:
        conn = get_connector(
            "graph_mail",
            access_token="bench-token",
            base_url=server.url + "/v1.0",
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
                if args.safe:
                    deliver(conn, item, attempts=10)
                    continue
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
    server.stop()

    ids = collections.Counter(m["singleValueExtendedProperties"][0]["value"] for m in server.delivered)
    expected = {items.email(slot=f"m{i:05d}").id for i in range(args.sends)}
    lost = len(expected - set(ids))
    duplicated = sum(n - 1 for n in ids.values() if n > 1)
    achieved = args.sends / elapsed
    print(f"graph_rate: sends={args.sends} R={args.rate:g}/s threads={args.threads} safe={args.safe}")
    print(
        f"  elapsed {elapsed:.2f} s, achieved {achieved:.2f} sends/s, achieved/R = {achieved / args.rate:.3f}"
    )
    print(
        f"  server: delivered={len(server.delivered)} lost={lost} duplicated={duplicated} "
        f"throttled(429)={server.throttled} client retries={retries[0]} gave up={len(errors)}"
    )
    print(
        f"  reproduce: .venv/bin/python bench/graph_rate.py --sends {args.sends} --rate {args.rate:g} "
        f"--threads {args.threads}{' --safe' if args.safe else ''}"
    )
    ok = achieved / args.rate >= 0.9 and lost == 0 and duplicated == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""One provider fake as a process of its own, for bench/ scripts (which import no test code).

    python -m tests.servers.run graph [--token TOKEN] [--send-rate R]

Prints one JSON line ``{"url": ...}`` once listening, serves until its standard input closes, then prints
one JSON line of what it counted and exits. Graph counts ``delivered`` (the publication id of every
message sent, repeats included) and ``throttled`` (sends answered 429).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .graph import GraphServer


def graph_counts(server: GraphServer) -> dict[str, Any]:
    """The publication id of every delivered message, and how many sends were throttled."""
    ids = [m["singleValueExtendedProperties"][0]["value"] for m in server.delivered]
    return {"delivered": ids, "throttled": server.throttled}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["graph"])
    ap.add_argument("--token", default=None, help="the bearer token the server expects")
    ap.add_argument("--send-rate", type=float, default=None, help="sends per second before 429")
    args = ap.parse_args(argv)
    server = GraphServer(token=args.token, send_rate=args.send_rate).start()
    print(json.dumps({"url": server.url}), flush=True)
    try:
        sys.stdin.read()  # until the caller closes our standard input
    finally:
        server.stop()
    print(json.dumps(graph_counts(server)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

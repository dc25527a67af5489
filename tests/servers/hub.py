"""Every provider fake in one process of its own, with random faults and a log of each request and each
remote effect: what bench/chaos.py and tests/e2e/test_production.py publish to (bench/ imports no test code;
it starts this module as a process).

    python -m tests.servers.hub --dir DIR [--fault-rate 0.2] [--seed 1]

Writes DIR/providers.env.json (the PRACTICEWEEK_* settings that point the connectors at the servers) once
listening, logs to DIR/providers.jsonl, and follows DIR/providers.control (``revoke mastodon``) until killed.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

from .bluesky import BlueskyServer
from .graph import GraphServer
from .mastodon import MastodonServer
from .teams import TeamsWebhookServer
from .x import XServer

FAULT_KINDS = ("429", "500", "503", "timeout", "reset")
SECRETS = {"graph": "graph-token-0123456789", "mastodon": "masto-token-1234", "bluesky": "app-pass-1234"}


class Hub:
    """Every provider server, with random faults and a log of each request and each remote effect."""

    def __init__(self, folder: Path, fault_rate: float, seed: int) -> None:
        self.folder = folder
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.log = open(folder / "providers.jsonl", "a", buffering=1)  # lives with the process
        self.lock = threading.Lock()
        self.servers = {
            "graph": GraphServer(token=SECRETS["graph"]),
            "teams": TeamsWebhookServer(),
            "x": XServer(),
            "bluesky": BlueskyServer(password=SECRETS["bluesky"]),
            "mastodon": MastodonServer(token=SECRETS["mastodon"]),
        }
        # Graph reads the channel the Teams webhook posts to, so ambiguous cards can be reconciled
        self.servers["graph"].channel_cards = lambda: list(self.servers["teams"].cards)
        for name, srv in self.servers.items():
            self._instrument(name, srv)
            srv.start()

    def _effects(self, name: str, srv: Any) -> dict[str, Any]:
        if name == "graph":
            return {"mail": list(srv.delivered), "event": dict(srv.events), "file": list(srv.drive_uploads)}
        if name == "teams":
            return {"card": list(srv.cards)}
        if name == "x":
            return {"tweet": list(srv.tweets)}
        if name == "bluesky":
            return {"post": dict(srv.records)}
        return {"status": list(srv.statuses)}

    def _instrument(self, name: str, srv: Any) -> None:
        take, dispatch = srv._take_fault, srv.dispatch

        def take_fault(req: Any) -> str | None:
            planned = take(req)
            if planned is None and self.fault_rate and self.rng.random() < self.fault_rate:
                planned = self.rng.choice(FAULT_KINDS)
            self._write(
                {
                    "t": time.time(),
                    "provider": name,
                    "type": "request",
                    "method": req.method,
                    "path": req.path,
                    "fault": planned,
                }
            )
            return planned

        def instrumented(req: Any) -> Any:
            with srv.lock:
                before = self._effects(name, srv)
                response = dispatch(req)
                after = self._effects(name, srv)
            now = time.time()
            for kind, items in after.items():
                old = before[kind]
                new = (
                    [items[k] for k in items if k not in old]
                    if isinstance(items, dict)
                    else items[len(old) :]
                )
                for item in new:
                    self._write(
                        {
                            "t": now,
                            "provider": name,
                            "type": "effect",
                            "kind": kind,
                            "item": json.loads(json.dumps(item, default=str)),
                        }
                    )
            return response

        srv._take_fault, srv.dispatch = take_fault, instrumented

    def _write(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.log.write(json.dumps(record) + "\n")

    def env(self) -> dict[str, str]:
        s = self.servers
        return {
            "PRACTICEWEEK_GRAPH_BASE_URL": s["graph"].url + "/v1.0",
            "PRACTICEWEEK_GRAPH_ACCESS_TOKEN": SECRETS["graph"],
            "PRACTICEWEEK_GRAPH_SENDER": "comms@example.org",
            "PRACTICEWEEK_GRAPH_DRIVE_ID": "drive-1",
            "PRACTICEWEEK_TEAMS_WEBHOOK_URL": s["teams"].webhook_url,
            "PRACTICEWEEK_TEAMS_TEAM_ID": "team-1",
            "PRACTICEWEEK_TEAMS_CHANNEL_ID": "19:practice-week@thread.tacv2",
            "PRACTICEWEEK_X_BASE_URL": s["x"].url,
            "PRACTICEWEEK_X_UPLOAD_URL": s["x"].url,
            "PRACTICEWEEK_X_CONSUMER_KEY": "ck",
            "PRACTICEWEEK_X_CONSUMER_SECRET": "cs",
            "PRACTICEWEEK_X_ACCESS_TOKEN": "at-12345678",
            "PRACTICEWEEK_X_ACCESS_TOKEN_SECRET": "ats",
            "PRACTICEWEEK_BLUESKY_BASE_URL": s["bluesky"].url,
            "PRACTICEWEEK_BLUESKY_HANDLE": "spw.example.org",
            "PRACTICEWEEK_BLUESKY_APP_PASSWORD": SECRETS["bluesky"],
            "PRACTICEWEEK_MASTODON_BASE_URL": s["mastodon"].url,
            "PRACTICEWEEK_MASTODON_ACCESS_TOKEN": SECRETS["mastodon"],
            "PRACTICEWEEK_WEB_ROOT": str(self.folder / "site"),
            "PRACTICEWEEK_OUTBOX": str(self.folder / "outbox"),
        }

    def serve(self) -> None:
        """Publish the settings, then follow control commands (``revoke NAME``) from a file until killed."""
        # written whole, then renamed: a reader polling for the file never sees it half written
        partial = self.folder / "providers.env.json.partial"
        partial.write_text(json.dumps(self.env()))
        partial.replace(self.folder / "providers.env.json")
        control = self.folder / "providers.control"
        done = 0
        while True:
            lines = control.read_text().splitlines() if control.exists() else []
            for line in lines[done:]:
                verb, _, name = line.partition(" ")
                if verb == "revoke" and name == "mastodon":
                    self.servers["mastodon"].token = "revoked-" + SECRETS["mastodon"]
                    self._write({"t": time.time(), "provider": name, "type": "revoked"})
            done = len(lines)
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    Hub(a.dir, a.fault_rate, a.seed).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every provider fake in one process of its own, with random faults and a log of each request and each
remote effect: what bench/chaos.py and tests/e2e/test_production.py publish to (bench/ imports no test code;
it starts this module as a process).

    python -m tests.servers.hub --dir DIR [--fault-rate 0.2] [--seed 1] [--accounts N]

Writes DIR/providers.env.json (the PRACTICEWEEK_* settings that point the connectors at the default
account's servers) once listening, logs to DIR/providers.jsonl, and follows DIR/providers.control
(``revoke mastodon [ACCOUNT]``) until killed.

With ``--accounts N`` it also runs N more accounts, ``p00`` … (one per partnership): a set of servers
of their own per account, each with its own credentials, written to DIR/providers.accounts.json as the
fields of each account's Prefect credentials blocks (by kind: graph, teams, x, bluesky, mastodon). Every
logged request and effect names its account (``""`` for the default one).
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
HANG_S = 1.6  # an injected "timeout": the connection is dropped unanswered after this long
SECRETS = {"graph": "graph-token-0123456789", "mastodon": "masto-token-1234", "bluesky": "app-pass-1234",
           "teams": "sig-0123456789abcdef"}


def _secrets(account: str) -> dict[str, str]:
    """The default account's secrets, or ones of ``account``'s own."""
    return {k: f"{v}-{account}" for k, v in SECRETS.items()} if account else dict(SECRETS)


def _servers(account: str) -> dict[str, Any]:
    """One account's provider servers, answering only its own credentials."""
    secret = _secrets(account)
    servers: dict[str, Any] = {
        "graph": GraphServer(token=secret["graph"]),
        "teams": TeamsWebhookServer(sig=secret["teams"]),
        "x": XServer(),
        "bluesky": BlueskyServer(handle=f"spw{account}.example.org", password=secret["bluesky"]),
        "mastodon": MastodonServer(token=secret["mastodon"]),
    }
    # Graph reads the channel the Teams webhook posts to, so ambiguous cards can be reconciled
    servers["graph"].channel_cards = lambda: list(servers["teams"].cards)
    for server in servers.values():  # the product's clients, not the tests' own (CLIENT_TIMEOUT_S)
        server.hang_seconds = HANG_S
    return servers


class Hub:
    """Every provider server, with random faults and a log of each request and each remote effect."""

    def __init__(self, folder: Path, fault_rate: float, seed: int, accounts: int = 0) -> None:
        self.folder = folder
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.log = open(folder / "providers.jsonl", "a", buffering=1)  # lives with the process
        self.lock = threading.Lock()
        self.accounts = {name: _servers(name) for name in ["", *(f"p{i:02d}" for i in range(accounts))]}
        self.servers = self.accounts[""]
        for account, servers in self.accounts.items():
            for name, srv in servers.items():
                self._instrument(name, srv, account)
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

    def _instrument(self, name: str, srv: Any, account: str = "") -> None:
        take, dispatch = srv._take_fault, srv.dispatch

        def take_fault(req: Any) -> str | None:
            planned = take(req)
            if planned is None and self.fault_rate and self.rng.random() < self.fault_rate:
                planned = self.rng.choice(FAULT_KINDS)
            self._write(
                {
                    "t": time.time(),
                    "provider": name,
                    "account": account,
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
                            "account": account,
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

    def blocks(self) -> dict[str, dict[str, dict[str, str]]]:
        """Each extra account's credentials, as the fields of its Prefect blocks by kind."""
        out = {}
        for account, s in self.accounts.items():
            if not account:
                continue
            secret = _secrets(account)
            out[account] = {
                "graph": {"tenant_id": f"tenant-{account}", "client_id": f"client-{account}",
                          "client_secret": f"unused-{account}", "access_token": secret["graph"],
                          "sender": f"comms-{account}@example.org", "drive_id": f"drive-{account}",
                          "base_url": s["graph"].url + "/v1.0"},
                "teams": {"webhook_url": s["teams"].webhook_url, "team_id": f"team-{account}",
                          "channel_id": f"19:practice-week-{account}@thread.tacv2",
                          "graph_block": f"{account}-graph"},  # its cards are read back in its own tenant
                "x": {"consumer_key": f"ck-{account}", "consumer_secret": f"cs-{account}",
                      "access_token": f"at-{account}-12345678", "access_token_secret": f"ats-{account}",
                      "base_url": s["x"].url, "upload_url": s["x"].url},
                "bluesky": {"handle": f"spw{account}.example.org", "app_password": secret["bluesky"],
                            "base_url": s["bluesky"].url},
                "mastodon": {"base_url": s["mastodon"].url, "access_token": secret["mastodon"]},
            }
        return out

    def revoke(self, provider: str, account: str | None) -> None:
        """Revoke ``provider``'s token of ``account`` (every account's when None)."""
        for name, servers in self.accounts.items():
            if provider == "mastodon" and account in (None, name):
                servers["mastodon"].token = "revoked-" + _secrets(name)["mastodon"]
                self._write({"t": time.time(), "provider": provider, "account": name, "type": "revoked"})

    def serve(self) -> None:
        """Publish the settings, then follow control commands (``revoke NAME [ACCOUNT]``) from a file until
        killed."""
        (self.folder / "providers.accounts.json").write_text(json.dumps(self.blocks()))
        # written whole, then renamed (and last): a reader polling for it never sees it half written
        partial = self.folder / "providers.env.json.partial"
        partial.write_text(json.dumps(self.env()))
        partial.replace(self.folder / "providers.env.json")
        control = self.folder / "providers.control"
        done = 0
        while True:
            lines = control.read_text().splitlines() if control.exists() else []
            for line in lines[done:]:
                verb, *args = line.split()
                if verb == "revoke" and args:
                    self.revoke(args[0], args[1] if len(args) > 1 else None)
            done = len(lines)
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--accounts", type=int, default=0, help="accounts of their own (one per partnership)")
    a = p.parse_args(argv)
    Hub(a.dir, a.fault_rate, a.seed, a.accounts).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

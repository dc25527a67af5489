"""A rehearsal-like week for the engagement and report tests (no tests here): one seed day's publications
rendered and published through the real connectors to the local provider servers, recorded in a ledger
as the publishing flow records them, with the servers then told what people did."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from connectors.registry import get_connector
from ledger import Ledger, Planned
from practiceweek.artifacts import RenderContext
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.servers import graph_reads
from tests.servers.bluesky import BlueskyServer
from tests.servers.graph import GraphServer
from tests.servers.mastodon import MastodonServer
from tests.servers.x import XServer

SEED = Path(__file__).resolve().parents[1] / "campaigns" / "iowscp-domestic-abuse-2024.yaml"
CONNECTORS = {"email": "graph_mail", "teams_event": "graph_events", "x": "x", "bluesky": "bluesky",
              "mastodon": "mastodon", "poster": "outbox", "teams_channel": "teams_channel"}
UNSENT = ("teams_channel",)  # planned, left for the test to fail (the report's failures section)
DAY = "wed"  # the day of the webinar: every channel goes out


@dataclass
class Week:
    ledger: Ledger
    cid: str
    servers: dict[str, Any]
    receipts: dict[str, Any]  # publication id → receipt
    channels: dict[str, str]  # channel → publication id


def environment(tmp: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """The local provider servers and the PRACTICEWEEK_* variables that point the connectors at them."""
    servers = {"graph": GraphServer(token="graph-token").start(), "x": XServer().start(),
               "bluesky": BlueskyServer(password="bsky-pass").start(),
               "mastodon": MastodonServer(token="masto-token").start()}
    env = {
        "PRACTICEWEEK_LEDGER_URL": f"sqlite:///{tmp / 'ledger.sqlite3'}",
        "PRACTICEWEEK_STATE": str(tmp / "state"), "PRACTICEWEEK_OUTBOX": str(tmp / "outbox"),
        "PRACTICEWEEK_GRAPH_ACCESS_TOKEN": "graph-token",
        "PRACTICEWEEK_GRAPH_BASE_URL": servers["graph"].url + "/v1.0",
        "PRACTICEWEEK_GRAPH_SENDER": "iowscp@iow.gov.uk",
        "PRACTICEWEEK_X_CONSUMER_KEY": "ck", "PRACTICEWEEK_X_CONSUMER_SECRET": "cs",
        "PRACTICEWEEK_X_ACCESS_TOKEN": "at", "PRACTICEWEEK_X_ACCESS_TOKEN_SECRET": "ats",
        "PRACTICEWEEK_X_BASE_URL": servers["x"].url, "PRACTICEWEEK_X_UPLOAD_URL": servers["x"].url,
        "PRACTICEWEEK_BLUESKY_HANDLE": servers["bluesky"].handle,
        "PRACTICEWEEK_BLUESKY_APP_PASSWORD": "bsky-pass",
        "PRACTICEWEEK_BLUESKY_BASE_URL": servers["bluesky"].url,
        "PRACTICEWEEK_MASTODON_BASE_URL": servers["mastodon"].url,
        "PRACTICEWEEK_MASTODON_ACCESS_TOKEN": "masto-token",
        "PRACTICEWEEK_RATE_LOG": str(tmp / "pacers.jsonl"),
    }
    return env, servers


def publish_week(lg: Ledger, servers: dict[str, Any]) -> Week:
    """Plan the seed, keep the day's publications on CONNECTORS, publish them for real, record them sent."""
    loaded = load(SEED)
    cid = loaded.id
    lg.set_campaign(cid, str(SEED))
    lg.save_source(cid, str(SEED), SEED.read_text())
    pubs = [replace(p, connector=CONNECTORS[p.channel]) for p in plan(loaded.model)
            if p.channel in CONNECTORS and p.day == DAY and p.slot in ("daily", "da-impact-session")]
    now = time.time()
    lg.apply(cid, [Planned(p.id, cid, p.day, p.channel, p.connector, p.title, p.fingerprint, now, now,
                           86400.0, event_id=p.event_id, snapshot=json.dumps(p.to_snapshot(), default=str))
                   for p in pubs], now=now)
    receipts: dict[str, Any] = {}
    join: dict[str, str] = {}
    for pub in sorted(pubs, key=lambda p: p.channel != "teams_event"):  # the meeting first: its join link
        if pub.channel in UNSENT:
            continue
        conn = get_connector(pub.connector)
        try:
            receipt = conn.publish(render(loaded, pub, RenderContext(join_urls=join)))
        finally:
            conn.close()
        if pub.channel == "teams_event":
            join[pub.event_id or ""] = receipt.extra["join_url"]
        assert lg.claim(pub.id)
        assert lg.mark_sent(pub.id, receipt.remote_id, receipt.url, receipt.extra.get("join_url"))
        receipts[pub.id] = receipt
    return Week(lg, cid, servers, receipts, {p.channel: p.id for p in pubs})


# What people did, as the servers will report it: the figures the report must show exactly.
TOLD = {"bluesky": {"likes": 12, "reposts": 4, "replies": 3, "quotes": 1},
        "mastodon": {"likes": 8, "reposts": 5, "replies": 2},
        "x": {"likes": 21, "reposts": 6, "replies": 4, "quotes": 2, "impressions": 210},
        "teams_event": {"sessions": 1, "attendees": 3, "minutes": 225},
        "email": {"undelivered": 2}}


def tell_servers(week: Week) -> None:
    """Likes, boosts, attendance and bounces, through each server's own controls."""
    s, r, ch = week.servers, week.receipts, week.channels
    t = TOLD
    s["bluesky"].react(r[ch["bluesky"]].remote_id, **t["bluesky"])
    m = t["mastodon"]
    s["mastodon"].react(r[ch["mastodon"]].remote_id, likes=m["likes"], boosts=m["reposts"],
                        replies=m["replies"])
    x = {k: v for k, v in t["x"].items() if k != "impressions"}
    s["x"].react(r[ch["x"]].remote_id, **x)
    graph_reads.attend(s["graph"], r[ch["teams_event"]].extra["join_url"],
                       [("a@iow.gov.uk", 5400), ("b@iow.gov.uk", 4500), ("c@iow.gov.uk", 3600)])
    for who in ("left@iow.gov.uk", "gone@iow.gov.uk"):
        graph_reads.bounce(s["graph"], "iowscp@iow.gov.uk", r[ch["email"]].remote_id, "Wednesday", who)

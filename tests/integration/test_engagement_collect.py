"""Collection after publishing, end to end without a Prefect server: a day of the seed week published
through the real connectors to the local provider servers, readings planned at +1 h, +1 d and +7 d,
taken through the same connectors and pacers, refusals retried later, every reading stored with its time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.operators.engagement import MARKS, collect, plan_readings
from flows.runtime import process
from tests.engagement_week import TOLD, Week, environment, publish_week, tell_servers


@pytest.fixture()
def week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Week]:
    env, servers = environment(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    process.reset()
    try:
        week = publish_week(process.ledger(), servers)
        tell_servers(week)
        yield week
    finally:
        process.reset()
        for server in servers.values():
            server.stop()


def _reads(week: Week) -> dict[str, int]:
    """Read requests each server answered."""
    s = week.servers
    return {"bluesky": sum(r.path.endswith("getPosts") for r in s["bluesky"].requests),
            "mastodon": sum(r.method == "GET" and "/statuses/" in r.path for r in s["mastodon"].requests),
            "x": sum(r.method == "GET" and r.path == "/2/tweets" for r in s["x"].requests),
            "graph": sum(r.method == "GET" and ("onlineMeetings" in r.path or "inbox" in r.path.lower())
                         for r in s["graph"].requests)}


def test_readings_at_each_mark_hold_what_the_servers_reported(week: Week, tmp_path: Path) -> None:
    lg = week.ledger
    pubs = len(week.receipts)
    assert plan_readings(lg) == pubs * len(MARKS) and plan_readings(lg) == 0  # planned once
    sent = min(r.sent_at for r in lg.rows(week.cid) if r.sent_at)
    assert collect(lg, now=sent + 60).readings == 0  # nothing is due before +1 hour
    first = collect(lg, now=sent + 3600 + 5)
    assert first.readings == pubs  # the seed's meeting is over: read an hour after it went out
    grown = {**TOLD["bluesky"], "likes": 30, "reposts": 9}
    week.servers["bluesky"].react(week.receipts[week.channels["bluesky"]].remote_id, **grown)
    later = collect(lg, now=time.time() + 8 * 86400)  # the meeting's three and every other mark
    total = first.readings + later.readings
    assert total == pubs * len(MARKS)
    readings = {(r.publication, r.mark): r for r in lg.readings(week.cid)}
    ch = week.channels
    for channel in ("mastodon", "x"):
        assert readings[(ch[channel], "7d")].figures == TOLD[channel]
    assert readings[(ch["bluesky"], "1h")].figures == TOLD["bluesky"]
    assert readings[(ch["bluesky"], "7d")].figures == grown
    assert readings[(ch["teams_event"], "1d")].figures == TOLD["teams_event"]
    email = readings[(ch["email"], "1d")].figures
    delivered = week.servers["graph"].delivered[0]
    to = [r["emailAddress"]["address"] for r in delivered.get("bccRecipients") or delivered["toRecipients"]]
    assert email == {"recipients": len(to), "undelivered": 2}
    assert readings[(ch["poster"], "1h")].state == "unavailable"
    assert all(r.read_at for r in readings.values())
    # paced through the connectors' own pacers in the ledger: one reservation per read request
    log = [json.loads(line) for line in (tmp_path / "pacers.jsonl").read_text().splitlines()]
    reads = _reads(week)
    assert sum(reads.values()) <= len(log)
    assert reads["bluesky"] == 2 and reads["x"] == 2  # one batched request a collection, not one a post
    print(f"readings={total} requests={reads} pacer reservations={len(log)}")


def test_a_refusal_is_retried_later_and_never_touches_the_publication(week: Week) -> None:
    lg = week.ledger
    plan_readings(lg)
    before = {r.id: (r.state, r.attempts, r.updated_at) for r in lg.rows(week.cid)}
    week.servers["mastodon"].inject("503", path=r"^/api/v1/statuses/\d+$", method="GET")
    week.servers["x"].tier = "free"
    sent = min(r.sent_at for r in lg.rows(week.cid) if r.sent_at)
    done = collect(lg, now=sent + 3605)
    assert done.retries == 1
    waiting = [r for r in lg.readings(week.cid) if r.error]
    assert len(waiting) == 1 and waiting[0].state == "due" and "503" in (waiting[0].error or "")
    assert waiting[0].retry_at and waiting[0].retry_at > sent + 3605  # later, not at once
    x = next(r for r in lg.readings(week.cid) if r.publication == week.channels["x"] and r.mark == "1h")
    assert x.state == "unavailable" and x.reason == "not available on this tier"
    retried = collect(lg, now=(waiting[0].retry_at or 0) + 1)
    assert retried.readings >= 1
    again = next(r for r in lg.readings(week.cid)
                 if r.publication == waiting[0].publication and r.mark == "1h")
    assert again.figures == TOLD["mastodon"] and again.attempts == 2
    assert {r.id: (r.state, r.attempts, r.updated_at) for r in lg.rows(week.cid)} == before

"""A ledger written by the version before accounts (no ``account`` column, stops keyed by connector alone),
opened by this version: its rows keep working. Shared by the SQLite (unit) and PostgreSQL (e2e) tests.

The CREATE TABLE statements are the old ones, as ``git show HEAD~40:practiceweek/ledger.py`` has them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from ledger import Ledger, Planned

OLD_SCHEMA = [
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE campaigns (
        id TEXT PRIMARY KEY, path TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 0,
        origin_real DOUBLE PRECISION, origin_at DOUBLE PRECISION, speed DOUBLE PRECISION,
        window_floor_s DOUBLE PRECISION, approval TEXT NOT NULL DEFAULT 'none', approver TEXT,
        approved_at DOUBLE PRECISION, updated_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE publications (
        id TEXT PRIMARY KEY, campaign TEXT NOT NULL, day TEXT NOT NULL, channel TEXT NOT NULL,
        connector TEXT NOT NULL, title TEXT NOT NULL, fingerprint TEXT NOT NULL,
        planned_at DOUBLE PRECISION NOT NULL, scheduled_at DOUBLE PRECISION NOT NULL,
        missed_window_s DOUBLE PRECISION NOT NULL, depends_on TEXT NOT NULL DEFAULT '[]', event_id TEXT,
        state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, owner TEXT, lease_until DOUBLE PRECISION,
        remote_id TEXT, url TEXT, join_url TEXT, error TEXT, revision INTEGER NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
        sending_at DOUBLE PRECISION, sent_at DOUBLE PRECISION, snapshot TEXT)""",
    """CREATE TABLE stopped_connectors (
        connector TEXT PRIMARY KEY, reason TEXT NOT NULL, status INTEGER,
        stopped_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE windows (
        start DOUBLE PRECISION PRIMARY KEY, gen INTEGER NOT NULL, state TEXT NOT NULL,
        heartbeat DOUBLE PRECISION, flow_run_id TEXT, updated_at DOUBLE PRECISION NOT NULL)""",
]
PENDING, SENT = "c/mon/mastodon/daily", "c/mon/x/daily"


def write_old_ledger(url: str) -> None:
    """An old ledger at ``url``: a pending and a sent publication, and a stopped mastodon connector."""
    now = time.time()
    rows: list[tuple[str, tuple[Any, ...]]] = [
        ("INSERT INTO meta (key, value) VALUES (?, ?)", ("ledger_id", "old0ledger01")),
        ("INSERT INTO campaigns (id, path, revision, updated_at) VALUES (?, ?, 1, ?)", ("c", "c.yaml", now)),
        ("INSERT INTO stopped_connectors VALUES (?, ?, ?, ?)", ("mastodon", "Mastodon 401", 401, now)),
        ("INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?)", (600.0, 2, "done", now, "run-old", now)),
    ]
    for pid, state in ((PENDING, "pending"), (SENT, "sent")):
        rows.append((
            "INSERT INTO publications (id, campaign, day, channel, connector, title, fingerprint, "
            "planned_at, scheduled_at, missed_window_s, state, revision, created_at, updated_at, remote_id, "
            "snapshot) "
            "VALUES (?, 'c', 'mon', ?, ?, ?, 'f1', ?, ?, 3600, ?, 1, ?, ?, ?, '{}')",
            (pid, pid.split("/")[2], pid.split("/")[2], pid, now, now, state, now, now,
             "r1" if state == "sent" else None),
        ))
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            for sql in OLD_SCHEMA:
                conn.execute(sql)
            for sql, args in rows:
                conn.execute(sql, args)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        for sql in OLD_SCHEMA:
            pg.execute(sql)  # type: ignore[arg-type]
        for sql, args in rows:
            pg.execute(sql.replace("?", "%s"), args)  # type: ignore[arg-type]


def _planned(pid: str, account: str, fingerprint: str) -> Planned:
    channel = pid.split("/")[2]
    now = time.time()
    return Planned(pid, "c", "mon", channel, channel, pid, fingerprint, now, now, 3600.0,
                   snapshot=json.dumps({}), account=account)


def check_migrated(url: str) -> None:
    """Open the old ledger twice (the second finds nothing to do) and use its rows as this version does."""
    Ledger(url).close()
    led = Ledger(url)
    assert led.key == "old0ledger01"
    pending, sent = led.get(PENDING), led.get(SENT)
    assert pending is not None and sent is not None
    assert (pending.state, pending.account, sent.state, sent.remote_id) == ("pending", "", "sent", "r1")
    assert set(led.stopped()) == {("mastodon", "")}  # the old stop: the default account
    camp = led.campaign("c")
    assert camp is not None and camp.timezone is None  # not known until the week is scheduled again
    assert led.set_campaign("c", "c.yaml", timezone="Europe/London").timezone == "Europe/London"
    assert led.stop_connector("mastodon", "Mastodon 401", 401, account="iowscp-mastodon")
    assert led.resume_connector("mastodon") and set(led.stopped()) == {("mastodon", "iowscp-mastodon")}
    diff = led.apply("c", [_planned(PENDING, "iowscp-mastodon", "f2"), _planned(SENT, "", "f1")])
    assert (led.window_lanes(600.0), led.window_run(600.0)) == (1, "run-old")  # one lane before lanes
    assert led.window_needed(600.0, lane=1) == 1 and led.window_lanes(600.0) == 2  # the window grows one
    assert led.window_needed(600.0, now=time.time()) == 3  # lane 0 keeps its generations
    moved = led.get(PENDING)
    assert moved is not None and moved.route == ("mastodon", "iowscp-mastodon")
    assert PENDING in [pid for pid, *_ in diff.moved] + diff.updated
    assert led.claim(PENDING, from_states=("pending",), revision=moved.revision)
    assert led.mark_sent(PENDING, "r2", None, None) and led.get(PENDING).state == "sent"  # type: ignore[union-attr]
    led.close()

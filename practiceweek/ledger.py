"""The durable ledger: one row per publication, moved between states by compare-and-set.

States: pending → sending → sent | failed | unknown | skipped | cancelled (unknown → sending after
reconciliation). A transition is ``UPDATE ... WHERE id=? AND state IN (...)``: exactly one caller can
win it, so two workers can never both take 'sending'. SQLite (stdlib, WAL) by default; PostgreSQL when
``PRACTICEWEEK_LEDGER_URL`` is ``postgresql://...``. Times are UTC epoch seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATES = ("pending", "sending", "sent", "failed", "unknown", "skipped", "cancelled")
TERMINAL = ("sent", "failed", "skipped", "cancelled")
OPEN = ("pending", "unknown", "sending")
DEFAULT_LEASE_S = 120.0

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS campaigns (
        id TEXT PRIMARY KEY, path TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 0,
        origin_real DOUBLE PRECISION, origin_at DOUBLE PRECISION, speed DOUBLE PRECISION,
        window_floor_s DOUBLE PRECISION, approval TEXT NOT NULL DEFAULT 'none', approver TEXT,
        approved_at DOUBLE PRECISION, updated_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS publications (
        id TEXT PRIMARY KEY, campaign TEXT NOT NULL, day TEXT NOT NULL, channel TEXT NOT NULL,
        connector TEXT NOT NULL, title TEXT NOT NULL, fingerprint TEXT NOT NULL,
        planned_at DOUBLE PRECISION NOT NULL, scheduled_at DOUBLE PRECISION NOT NULL,
        missed_window_s DOUBLE PRECISION NOT NULL, depends_on TEXT NOT NULL DEFAULT '[]', event_id TEXT,
        state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, owner TEXT, lease_until DOUBLE PRECISION,
        remote_id TEXT, url TEXT, join_url TEXT, error TEXT, revision INTEGER NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
        sending_at DOUBLE PRECISION, sent_at DOUBLE PRECISION, snapshot TEXT)""",
    """CREATE INDEX IF NOT EXISTS publications_due ON publications (state, scheduled_at)""",
    """CREATE INDEX IF NOT EXISTS publications_campaign ON publications (campaign)""",
    """CREATE TABLE IF NOT EXISTS windows (
        start DOUBLE PRECISION PRIMARY KEY, gen INTEGER NOT NULL, state TEXT NOT NULL,
        heartbeat DOUBLE PRECISION, flow_run_id TEXT, updated_at DOUBLE PRECISION NOT NULL)""",
    # operators' alerts: written in the same transaction as the failure they report, sent by whoever sweeps
    """CREATE TABLE IF NOT EXISTS alerts (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, publication TEXT, connector TEXT,
        reason TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, lease_until DOUBLE PRECISION,
        sent_at DOUBLE PRECISION, receipt TEXT)""",
    """CREATE INDEX IF NOT EXISTS alerts_open ON alerts (sent_at, created_at)""",
    # a connector whose credentials or permissions the provider refused: held until someone resumes it
    """CREATE TABLE IF NOT EXISTS stopped_connectors (
        connector TEXT PRIMARY KEY, reason TEXT NOT NULL, status INTEGER,
        stopped_at DOUBLE PRECISION NOT NULL)""",
    # provider rate limits shared by every worker: one row per pacer (locked while a slot is reserved) and
    # the slots it granted in the last two windows
    """CREATE TABLE IF NOT EXISTS pacers (key TEXT PRIMARY KEY, updated_at DOUBLE PRECISION NOT NULL)""",
    # every version of a campaign file the ledger scheduled from: a publication renders from the version
    # that planned it while a re-plan of a newer edit is still on its way
    """CREATE TABLE IF NOT EXISTS campaign_sources (
        campaign TEXT NOT NULL, digest TEXT NOT NULL, path TEXT NOT NULL, text TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (campaign, digest))""",
    """CREATE TABLE IF NOT EXISTS pacer_slots (key TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS pacer_slots_key_at ON pacer_slots (key, at)""",
]

_PUB_COLUMNS = (
    "id",
    "campaign",
    "day",
    "channel",
    "connector",
    "title",
    "fingerprint",
    "planned_at",
    "scheduled_at",
    "missed_window_s",
    "depends_on",
    "event_id",
    "state",
    "attempts",
    "owner",
    "lease_until",
    "remote_id",
    "url",
    "join_url",
    "error",
    "revision",
    "created_at",
    "updated_at",
    "sending_at",
    "sent_at",
)


@dataclass(frozen=True)
class Row:
    """One publication as the ledger knows it."""

    id: str
    campaign: str
    day: str
    channel: str
    connector: str
    title: str
    fingerprint: str
    planned_at: float
    scheduled_at: float
    missed_window_s: float
    depends_on: tuple[str, ...]
    event_id: str | None
    state: str
    attempts: int
    owner: str | None
    lease_until: float | None
    remote_id: str | None
    url: str | None
    join_url: str | None
    error: str | None
    revision: int
    created_at: float
    updated_at: float
    sending_at: float | None
    sent_at: float | None

    @property
    def deadline(self) -> float:
        """Latest moment the publication may still go out."""
        return self.scheduled_at + self.missed_window_s

    @classmethod
    def from_db(cls, values: Iterable[Any]) -> Row:
        data = dict(zip(_PUB_COLUMNS, values, strict=True))
        data["depends_on"] = tuple(json.loads(data["depends_on"] or "[]"))
        return cls(**data)


@dataclass(frozen=True)
class CampaignRow:
    """A campaign the ledger schedules, with its rehearsal time mapping if any."""

    id: str
    path: str
    revision: int
    origin_real: float | None
    origin_at: float | None
    speed: float | None
    window_floor_s: float | None
    approval: str
    approver: str | None
    approved_at: float | None
    updated_at: float

    @property
    def rehearsal(self) -> bool:
        return self.speed is not None

    def effective(self, planned_at: float) -> float:
        """Where a planned time falls: itself, or compressed towards now in a rehearsal."""
        if self.speed is None or self.origin_real is None or self.origin_at is None:
            return planned_at
        return self.origin_at + (planned_at - self.origin_real) / self.speed

    def window(self, missed_window_s: float) -> float:
        if self.speed is None:
            return missed_window_s
        return max(missed_window_s / self.speed, self.window_floor_s or 0.0)


@dataclass(frozen=True)
class Alert:
    """One message for the operators, recorded with the failure it reports."""

    key: str
    kind: str  # failed | skipped | connector-stopped
    subject: str
    publication: str | None
    connector: str | None
    reason: str
    created_at: float
    sent_at: float | None


@dataclass(frozen=True)
class Stopped:
    """A connector stopped because the provider refused its credentials or permissions."""

    connector: str
    reason: str
    status: int | None
    stopped_at: float


@dataclass
class Planned:
    """A publication to put in the ledger (from the planner, with its effective time)."""

    id: str
    campaign: str
    day: str
    channel: str
    connector: str
    title: str
    fingerprint: str
    planned_at: float
    scheduled_at: float
    missed_window_s: float
    depends_on: tuple[str, ...] = ()
    event_id: str | None = None
    snapshot: str | None = None  # the publication as JSON, to withdraw it after it left the plan


@dataclass
class Diff:
    """What applying a new plan changed."""

    added: list[str] = field(default_factory=list)
    moved: list[tuple[str, float, float]] = field(default_factory=list)  # id, old, new scheduled_at
    updated: list[str] = field(default_factory=list)  # content changed, still pending
    cancelled: list[Row] = field(default_factory=list)  # removed before it went out (or a sent event)
    removed_sent: list[str] = field(default_factory=list)  # removed but already out: left alone
    changed_sent: list[str] = field(default_factory=list)  # edited after it went out: left alone
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.moved
            or self.updated
            or self.cancelled
            or self.removed_sent
            or self.changed_sent
        )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def default_url(state_dir: str | Path | None = None) -> str:
    """The ledger URL from PRACTICEWEEK_LEDGER_URL, else SQLite in the state folder."""
    url = os.environ.get("PRACTICEWEEK_LEDGER_URL")
    if url:
        return url
    folder = Path(state_dir or os.environ.get("PRACTICEWEEK_STATE", ".practiceweek"))
    return f"sqlite:///{(folder / 'ledger.sqlite3').resolve()}"


class Ledger:
    """Publications, campaigns and window runs, shared by every process that schedules or publishes."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.postgres = self.url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        if not self.postgres:
            path = self.url.removeprefix("sqlite:///").removeprefix("sqlite://")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._path = path
        with self._tx() as cur:
            if self.postgres:  # concurrent first CREATE TABLE IF NOT EXISTS races on pg_type: serialise it
                cur.execute("SELECT pg_advisory_xact_lock(7283510)")
            for statement in _SCHEMA:
                cur.execute(statement)
            cur.execute(self._q("SELECT value FROM meta WHERE key='ledger_id'"))
            if cur.fetchone() is None:
                cur.execute(
                    self._q("INSERT INTO meta (key, value) VALUES ('ledger_id', ?) ON CONFLICT DO NOTHING"),
                    (uuid.uuid4().hex[:12],),
                )
        self.key = self._meta("ledger_id")

    # --- connections ------------------------------------------------------------------------------------
    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.postgres:
                import psycopg

                conn = psycopg.connect(self.url, autocommit=True)
            else:
                conn = sqlite3.connect(self._path, timeout=60, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
        return conn

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        conn = self._conn()
        cur = conn.cursor()
        if self.postgres:
            with conn.transaction():
                yield cur
            return
        for attempt in range(200):
            try:
                cur.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError:
                if attempt == 199:
                    raise
                time.sleep(0.05)
        try:
            yield cur
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn().cursor()
        cur.execute(self._q(sql), args)
        return list(cur.fetchall())

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self._tx() as cur:
            cur.execute(self._q(sql), args)
            return int(cur.rowcount)

    def _meta(self, key: str) -> str:
        return str(self._read("SELECT value FROM meta WHERE key=?", (key,))[0][0])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- campaigns --------------------------------------------------------------------------------------
    def campaign(self, cid: str) -> CampaignRow | None:
        rows = self._read(
            "SELECT id, path, revision, origin_real, origin_at, speed, window_floor_s, approval, "
            "approver, approved_at, updated_at FROM campaigns WHERE id=?",
            (cid,),
        )
        return CampaignRow(*rows[0]) if rows else None

    def campaigns(self) -> list[CampaignRow]:
        rows = self._read(
            "SELECT id, path, revision, origin_real, origin_at, speed, window_floor_s, approval, "
            "approver, approved_at, updated_at FROM campaigns ORDER BY id"
        )
        return [CampaignRow(*r) for r in rows]

    def set_campaign(
        self,
        cid: str,
        path: str,
        *,
        approval: str = "none",
        origin_real: float | None = None,
        origin_at: float | None = None,
        speed: float | None = None,
        window_floor_s: float | None = None,
        keep_timing: bool = True,
    ) -> CampaignRow:
        """Register a campaign; an existing rehearsal mapping is kept unless ``keep_timing`` is False."""
        now = time.time()
        existing = self.campaign(cid)
        if existing is None:
            self._write(
                "INSERT INTO campaigns (id, path, revision, origin_real, origin_at, speed, window_floor_s, "
                "approval, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (cid, path, origin_real, origin_at, speed, window_floor_s, approval, now),
            )
        elif keep_timing and speed is None:
            self._write(
                "UPDATE campaigns SET path=?, approval=?, updated_at=? WHERE id=?", (path, approval, now, cid)
            )
        else:
            self._write(
                "UPDATE campaigns SET path=?, approval=?, origin_real=?, origin_at=?, speed=?, "
                "window_floor_s=?, updated_at=? WHERE id=?",
                (path, approval, origin_real, origin_at, speed, window_floor_s, now, cid),
            )
        row = self.campaign(cid)
        assert row is not None
        return row

    def save_source(self, cid: str, path: str, text: str) -> None:
        """Keep the version of the campaign file a plan was made from."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        self._write(
            "INSERT INTO campaign_sources (campaign, digest, path, text, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (cid, digest, path, text, time.time()),
        )

    def sources(self, cid: str) -> list[tuple[str, str]]:
        """(path, text) of every version of the campaign the ledger scheduled from, newest first."""
        found = self._read(
            "SELECT path, text FROM campaign_sources WHERE campaign=? ORDER BY created_at DESC", (cid,)
        )
        return [(str(p), str(t)) for p, t in found]

    def approve(self, cid: str, approver: str) -> None:
        self._write(
            "UPDATE campaigns SET approver=?, approved_at=?, updated_at=? WHERE id=?",
            (approver, time.time(), time.time(), cid),
        )

    # --- applying a plan ---------------------------------------------------------------------------------
    def apply(self, cid: str, planned: list[Planned], now: float | None = None) -> Diff:
        """Make the ledger hold ``planned`` for campaign ``cid``; return the difference. Atomic."""
        now = time.time() if now is None else now
        diff = Diff()
        wanted = {p.id: p for p in planned}
        with self._tx() as cur:
            cur.execute(
                self._q(f"SELECT {', '.join(_PUB_COLUMNS)} FROM publications WHERE campaign=?"), (cid,)
            )
            have = {r.id: r for r in (Row.from_db(v) for v in cur.fetchall())}
            cur.execute(self._q("SELECT revision FROM campaigns WHERE id=?"), (cid,))
            found = cur.fetchone()
            revision = (found[0] if found else 0) + 1
            for pid, p in wanted.items():
                old = have.get(pid)
                if old is None or old.state == "cancelled":
                    if old is not None:
                        cur.execute(self._q("DELETE FROM publications WHERE id=?"), (pid,))
                    cur.execute(
                        self._q(
                            f"INSERT INTO publications ({', '.join(_PUB_COLUMNS)}) VALUES "
                            f"({', '.join('?' * len(_PUB_COLUMNS))})"
                        ),
                        (
                            p.id,
                            p.campaign,
                            p.day,
                            p.channel,
                            p.connector,
                            p.title,
                            p.fingerprint,
                            p.planned_at,
                            p.scheduled_at,
                            p.missed_window_s,
                            json.dumps(list(p.depends_on)),
                            p.event_id,
                            "pending",
                            0,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            revision,
                            now,
                            now,
                            None,
                            None,
                        ),
                    )
                    cur.execute(self._q("UPDATE publications SET snapshot=? WHERE id=?"), (p.snapshot, pid))
                    diff.added.append(pid)
                    continue
                same_time = abs(old.scheduled_at - p.scheduled_at) < 1e-3
                same_content = old.fingerprint == p.fingerprint and old.connector == p.connector
                if same_time and same_content and abs(old.missed_window_s - p.missed_window_s) < 1e-3:
                    diff.unchanged += 1
                    continue
                if old.state in ("pending", "unknown", "failed", "skipped"):
                    state = "pending" if old.state in ("failed", "skipped") else old.state
                    cur.execute(
                        self._q(
                            "UPDATE publications SET scheduled_at=?, planned_at=?, missed_window_s=?, "
                            "fingerprint=?, connector=?, title=?, depends_on=?, revision=?, state=?, "
                            "updated_at=?, snapshot=? "
                            "WHERE id=? AND state=?"
                        ),
                        (
                            p.scheduled_at,
                            p.planned_at,
                            p.missed_window_s,
                            p.fingerprint,
                            p.connector,
                            p.title,
                            json.dumps(list(p.depends_on)),
                            revision,
                            state,
                            now,
                            p.snapshot,
                            pid,
                            old.state,
                        ),
                    )
                    if not same_time:
                        diff.moved.append((pid, old.scheduled_at, p.scheduled_at))
                    else:
                        diff.updated.append(pid)
                else:  # sending or sent: it is out (or going out); record that the file moved on
                    diff.changed_sent.append(pid)
            for pid, old in have.items():
                if pid in wanted or old.state == "cancelled":
                    continue
                if old.state in ("pending", "unknown", "failed", "skipped") or (
                    old.state == "sent" and old.channel == "teams_event"
                ):
                    cur.execute(
                        self._q(
                            "UPDATE publications SET state='cancelled', revision=?, updated_at=? "
                            "WHERE id=? AND state=?"
                        ),
                        (revision, now, pid, old.state),
                    )
                    diff.cancelled.append(old)
                else:
                    diff.removed_sent.append(pid)
            if not diff.empty:
                cur.execute(
                    self._q("UPDATE campaigns SET revision=?, updated_at=? WHERE id=?"), (revision, now, cid)
                )
        return diff

    def cancel_campaign(self, cid: str) -> list[Row]:
        """Cancel everything of ``cid`` not yet out; return what was cancelled (plus sent Teams events)."""
        rows = [
            r
            for r in self.rows(cid)
            if r.state in ("pending", "unknown", "failed", "skipped")
            or (r.state == "sent" and r.channel == "teams_event")
        ]
        done = []
        for r in rows:
            if self._cas(r.id, (r.state,), "cancelled"):
                done.append(r)
        return done

    # --- reading ----------------------------------------------------------------------------------------
    def snapshot(self, pid: str) -> str | None:
        rows = self._read("SELECT snapshot FROM publications WHERE id=?", (pid,))
        return rows[0][0] if rows else None

    def forget(self, cid: str) -> None:
        """Drop a campaign's rows (a finished rehearsal being started again)."""
        self._write("DELETE FROM publications WHERE campaign=?", (cid,))
        self._write("DELETE FROM campaigns WHERE id=?", (cid,))
        self._write("DELETE FROM campaign_sources WHERE campaign=?", (cid,))

    def get(self, pid: str) -> Row | None:
        rows = self._read(f"SELECT {', '.join(_PUB_COLUMNS)} FROM publications WHERE id=?", (pid,))
        return Row.from_db(rows[0]) if rows else None

    def rows(self, cid: str | None = None) -> list[Row]:
        if cid is None:
            found = self._read(
                f"SELECT {', '.join(_PUB_COLUMNS)} FROM publications ORDER BY scheduled_at, id"
            )
        else:
            found = self._read(
                f"SELECT {', '.join(_PUB_COLUMNS)} FROM publications WHERE campaign=? "
                "ORDER BY scheduled_at, id",
                (cid,),
            )
        return [Row.from_db(v) for v in found]

    def due(self, until: float, states: tuple[str, ...] = ("pending", "unknown")) -> list[Row]:
        """Open publications scheduled at or before ``until``, earliest first."""
        marks = ", ".join("?" * len(states))
        found = self._read(
            f"SELECT {', '.join(_PUB_COLUMNS)} FROM publications WHERE state IN ({marks}) "
            "AND scheduled_at <= ? ORDER BY scheduled_at, id",
            (*states, until),
        )
        return [Row.from_db(v) for v in found]

    def earlier_open(self, row: Row) -> list[Row]:
        """Publications of the same campaign and channel, due earlier, that are not out yet."""
        found = self._read(
            f"SELECT {', '.join(_PUB_COLUMNS)} FROM publications WHERE campaign=? AND channel=? "
            "AND scheduled_at < ? AND state IN ('pending', 'unknown', 'sending') AND id <> ? "
            "ORDER BY scheduled_at, id",
            (row.campaign, row.channel, row.scheduled_at, row.id),
        )
        return [Row.from_db(v) for v in found]

    def next_open(self, after: float) -> float | None:
        found = self._read(
            "SELECT MIN(scheduled_at) FROM publications WHERE state IN ('pending', 'unknown') "
            "AND scheduled_at > ?",
            (after,),
        )
        return found[0][0] if found and found[0][0] is not None else None

    def counts(self, cid: str | None = None) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for r in self.rows(cid):
            out[r.state] += 1
        return out

    # --- transitions (compare-and-set) ------------------------------------------------------------------
    def _cas(self, pid: str, from_states: tuple[str, ...], to: str, **fields: Any) -> bool:
        now = time.time()
        sets = ["state=?", "updated_at=?"] + [f"{k}=?" for k in fields]
        marks = ", ".join("?" * len(from_states))
        return (
            self._write(
                f"UPDATE publications SET {', '.join(sets)} WHERE id=? AND state IN ({marks})",
                (to, now, *fields.values(), pid, *from_states),
            )
            == 1
        )

    def claim(
        self,
        pid: str,
        owner: str | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        from_states: tuple[str, ...] = ("pending",),
        revision: int | None = None,
    ) -> bool:
        """Take the publication for sending. Exactly one caller wins. With ``revision``, only if no re-plan
        changed it since it was read (the caller rendered that version)."""
        now = time.time()
        marks = ", ".join("?" * len(from_states))
        same_plan = "" if revision is None else " AND revision=?"
        return (
            self._write(
                f"UPDATE publications SET state='sending', attempts=attempts+1, owner=?, "
                f"lease_until=?, sending_at=?, updated_at=? WHERE id=? AND state IN ({marks}){same_plan}",
                (owner or worker_id(), now + lease_s, now, now, pid, *from_states)
                + (() if revision is None else (revision,)),
            )
            == 1
        )

    def mark_sent(
        self,
        pid: str,
        remote_id: str,
        url: str | None = None,
        join_url: str | None = None,
        from_states: tuple[str, ...] = ("sending",),
    ) -> bool:
        return self._cas(
            pid,
            from_states,
            "sent",
            remote_id=remote_id,
            url=url,
            join_url=join_url,
            sent_at=time.time(),
            lease_until=None,
            error=None,
        )

    def mark_failed(self, pid: str, error: str) -> bool:
        """Give up on a publication; its alert to the operators is recorded in the same transaction."""
        return self._end(pid, ("sending", "pending", "unknown"), "failed", error)

    def mark_unknown(self, pid: str, error: str = "") -> bool:
        return self._cas(pid, ("sending",), "unknown", error=error[:2000], lease_until=None)

    def release(self, pid: str, error: str = "") -> bool:
        """Give a publication back (a retryable failure): sending → pending."""
        return self._cas(pid, ("sending",), "pending", error=error[:2000], lease_until=None)

    def mark_skipped(self, pid: str, reason: str) -> bool:
        """Skip a publication that missed its window; its alert is recorded in the same transaction."""
        return self._end(pid, ("pending", "unknown"), "skipped", reason)

    def _end(self, pid: str, from_states: tuple[str, ...], to: str, reason: str) -> bool:
        now = time.time()
        marks = ", ".join("?" * len(from_states))
        with self._tx() as cur:
            cur.execute(
                self._q(
                    f"UPDATE publications SET state=?, error=?, lease_until=NULL, updated_at=? "
                    f"WHERE id=? AND state IN ({marks})"
                ),
                (to, reason[:2000], now, pid, *from_states),
            )
            if cur.rowcount != 1:
                return False
            cur.execute(self._q("SELECT connector FROM publications WHERE id=?"), (pid,))
            connector = cur.fetchone()[0]
            self._add_alert(
                cur, f"{to}:{pid}:{now:.6f}", to, f"[practiceweek] {to}: {pid}", reason, now, pid, connector
            )
        return True

    def _add_alert(
        self,
        cur: Any,
        key: str,
        kind: str,
        subject: str,
        reason: str,
        now: float,
        publication: str | None = None,
        connector: str | None = None,
    ) -> None:
        cur.execute(
            self._q(
                "INSERT INTO alerts (key, kind, subject, publication, connector, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
            ),
            (key, kind, subject[:300], publication, connector, reason[:2000], now),
        )

    # --- operators' alerts ------------------------------------------------------------------------------
    def alerts(self, unsent_only: bool = False) -> list[Alert]:
        where = " WHERE sent_at IS NULL" if unsent_only else ""
        found = self._read(
            "SELECT key, kind, subject, publication, connector, reason, created_at, sent_at FROM alerts"
            f"{where} ORDER BY created_at, key"
        )
        return [Alert(*r) for r in found]

    def claim_alert(self, key: str, lease_s: float = 60.0) -> bool:
        """Take an unsent alert for sending (another sweeper may take it again after ``lease_s``)."""
        now = time.time()
        return (
            self._write(
                "UPDATE alerts SET lease_until=? WHERE key=? AND sent_at IS NULL "
                "AND (lease_until IS NULL OR lease_until < ?)",
                (now + lease_s, key, now),
            )
            == 1
        )

    def alert_sent(self, key: str, receipt: str) -> None:
        self._write("UPDATE alerts SET sent_at=?, receipt=? WHERE key=?", (time.time(), receipt[:500], key))

    # --- provider rate limits ---------------------------------------------------------------------------
    def reserve_slot(self, key: str, limit: int, window: float) -> float:
        """Reserve a request slot of pacer ``key``: at most ``limit`` slots in any ``window`` seconds,
        shared by every process using this ledger. Returns the wall-clock time the caller may send at.

        Slots are granted in time order: a new one goes at once while fewer than ``limit`` lie in the last
        window, else one ``window`` after the ``limit``-th latest, so a queue drains at the full rate."""
        with self._tx() as cur:
            now = time.time()
            cur.execute(
                self._q("INSERT INTO pacers (key, updated_at) VALUES (?, ?) ON CONFLICT DO NOTHING"),
                (key, now),
            )
            lock = " FOR UPDATE" if self.postgres else ""
            cur.execute(self._q(f"SELECT updated_at FROM pacers WHERE key=?{lock}"), (key,))
            cur.execute(
                self._q("SELECT at FROM pacer_slots WHERE key=? ORDER BY at DESC LIMIT 1 OFFSET ?"),
                (key, limit - 1),
            )
            nth = cur.fetchone()
            start = now if nth is None else max(now, float(nth[0]) + window)
            cur.execute(self._q("INSERT INTO pacer_slots (key, at) VALUES (?, ?)"), (key, start))
            cur.execute(self._q("DELETE FROM pacer_slots WHERE key=? AND at < ?"), (key, now - 2 * window))
            cur.execute(self._q("UPDATE pacers SET updated_at=? WHERE key=?"), (now, key))
        return start

    # --- connectors stopped on refused credentials -----------------------------------------------------
    def stop_connector(self, connector: str, reason: str, status: int | None = None) -> bool:
        """Stop a connector (once) and record the operators' alert. False if it was already stopped."""
        now = time.time()
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO stopped_connectors (connector, reason, status, stopped_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (connector, reason[:2000], status, now),
            )
            if cur.rowcount != 1:
                return False
            subject = f"[practiceweek] connector stopped: {connector}"
            self._add_alert(cur, f"stopped:{connector}:{now:.6f}", "connector-stopped", subject, reason, now,
                            connector=connector)
        return True

    def resume_connector(self, connector: str) -> bool:
        return self._write("DELETE FROM stopped_connectors WHERE connector=?", (connector,)) == 1

    def stopped(self) -> dict[str, Stopped]:
        found = self._read("SELECT connector, reason, status, stopped_at FROM stopped_connectors")
        return {r[0]: Stopped(*r) for r in found}

    def recover(self, now: float | None = None, everything: bool = False) -> list[str]:
        """'sending' rows whose worker died (lease over, or ``everything``) become 'unknown'."""
        now = time.time() if now is None else now
        rows = self._read("SELECT id, lease_until FROM publications WHERE state='sending'")
        out = []
        for pid, lease in rows:
            if (everything or lease is None or lease < now) and self._cas(
                pid, ("sending",), "unknown", error="worker stopped while sending; reconciling"
            ):
                out.append(pid)
        return out

    # --- window runs ------------------------------------------------------------------------------------
    def window_needed(
        self, start: float, now: float | None = None, stale_s: float = 6.0, lead_s: float = 20.0
    ) -> int | None:
        """The generation of a new run for window ``start``, or None when a live run covers it.

        A running run is live while it beats (every ~2 s); a scheduled one until ``stale_s + 20`` seconds
        after it should have started (``start - lead_s``). Anything else is presumed lost.
        """
        now = time.time() if now is None else now
        with self._tx() as cur:
            cur.execute(
                self._q("SELECT gen, state, heartbeat, updated_at FROM windows WHERE start=?"), (start,)
            )
            found = cur.fetchone()
            if found is None:
                cur.execute(
                    self._q(
                        "INSERT INTO windows (start, gen, state, updated_at) VALUES (?, 1, 'scheduled', ?)"
                    ),
                    (start, now),
                )
                return 1
            gen, state, heartbeat, updated = found
            alive = (state == "running" and (heartbeat or 0) > now - stale_s) or (
                state == "scheduled" and now < max(updated, start - lead_s) + stale_s + 20
            )
            if alive:
                return None
            cur.execute(
                self._q("UPDATE windows SET gen=?, state='scheduled', updated_at=? WHERE start=?"),
                (gen + 1, now, start),
            )
            return int(gen + 1)

    def window_beat(self, start: float, flow_run_id: str | None = None, state: str = "running") -> None:
        now = time.time()
        if (
            self._write(
                "UPDATE windows SET state=?, heartbeat=?, flow_run_id=COALESCE(?, flow_run_id), "
                "updated_at=? WHERE start=?",
                (state, now, flow_run_id, now, start),
            )
            == 0
        ):
            self._write(
                "INSERT INTO windows (start, gen, state, heartbeat, flow_run_id, updated_at) "
                "VALUES (?, 1, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (start, state, now, flow_run_id, now),
            )

    def window_run(self, start: float) -> str | None:
        rows = self._read("SELECT flow_run_id FROM windows WHERE start=?", (start,))
        return rows[0][0] if rows else None

    def windows(self) -> list[tuple[float, int, str]]:
        return [
            (r[0], r[1], r[2]) for r in self._read("SELECT start, gen, state FROM windows ORDER BY start")
        ]

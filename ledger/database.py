"""Connections, transactions and the schema: SQLite (stdlib, WAL) by default, PostgreSQL when the URL
is ``postgresql://...``. The only module that knows which database it talks to."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from practiceweek.settings import settings

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS campaigns (
        id TEXT PRIMARY KEY, path TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 0,
        origin_real DOUBLE PRECISION, origin_at DOUBLE PRECISION, speed DOUBLE PRECISION,
        window_floor_s DOUBLE PRECISION, approval TEXT NOT NULL DEFAULT 'none', approver TEXT,
        approved_at DOUBLE PRECISION, updated_at DOUBLE PRECISION NOT NULL, timezone TEXT)""",
    # every approver's decision on a week (approved or rejected, who, when, why; with approval per
    # partner, for which partner), kept when a finished rehearsal is forgotten to start again
    """CREATE TABLE IF NOT EXISTS decisions (
        campaign TEXT NOT NULL, verdict TEXT NOT NULL, approver TEXT NOT NULL,
        decided_at DOUBLE PRECISION NOT NULL, comment TEXT NOT NULL DEFAULT '',
        flow_run_id TEXT NOT NULL DEFAULT '', partner TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (campaign, decided_at))""",
    """CREATE TABLE IF NOT EXISTS publications (
        id TEXT PRIMARY KEY, campaign TEXT NOT NULL, day TEXT NOT NULL, channel TEXT NOT NULL,
        connector TEXT NOT NULL, title TEXT NOT NULL, fingerprint TEXT NOT NULL,
        planned_at DOUBLE PRECISION NOT NULL, scheduled_at DOUBLE PRECISION NOT NULL,
        missed_window_s DOUBLE PRECISION NOT NULL, depends_on TEXT NOT NULL DEFAULT '[]', event_id TEXT,
        state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, owner TEXT, lease_until DOUBLE PRECISION,
        remote_id TEXT, url TEXT, join_url TEXT, error TEXT, revision INTEGER NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
        sending_at DOUBLE PRECISION, sent_at DOUBLE PRECISION, snapshot TEXT,
        account TEXT NOT NULL DEFAULT '', fence_start DOUBLE PRECISION, fence_lane INTEGER, fence INTEGER)""",
    """CREATE INDEX IF NOT EXISTS publications_due ON publications (state, scheduled_at)""",
    """CREATE INDEX IF NOT EXISTS publications_campaign ON publications (campaign)""",
    # one row per window run: a crowded window has several lanes, each its own run (and process)
    """CREATE TABLE IF NOT EXISTS windows (
        start DOUBLE PRECISION NOT NULL, lane INTEGER NOT NULL DEFAULT 0, gen INTEGER NOT NULL,
        state TEXT NOT NULL, heartbeat DOUBLE PRECISION, flow_run_id TEXT,
        updated_at DOUBLE PRECISION NOT NULL, owner TEXT, queue TEXT, standby_gen INTEGER NOT NULL DEFAULT 0,
        standby_at DOUBLE PRECISION, fence INTEGER NOT NULL DEFAULT 0, standby_queue TEXT, lost_queue TEXT,
        lost_at DOUBLE PRECISION, PRIMARY KEY (start, lane))""",
    # a window lane's spares (standby runs), at most one per work queue other than its owner's: the number
    # of the latest one put there, until when it counts as alive (its last beat, or until it beats, how long
    # it may take to start) and its last beat
    """CREATE TABLE IF NOT EXISTS window_spares (
        start DOUBLE PRECISION NOT NULL, lane INTEGER NOT NULL, queue TEXT NOT NULL, number INTEGER NOT NULL,
        at DOUBLE PRECISION NOT NULL, beat DOUBLE PRECISION, PRIMARY KEY (start, lane, queue))""",
    # operators' alerts: written in the same transaction as the failure they report, sent by whoever sweeps
    """CREATE TABLE IF NOT EXISTS alerts (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, publication TEXT, connector TEXT,
        reason TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, lease_until DOUBLE PRECISION,
        sent_at DOUBLE PRECISION, receipt TEXT)""",
    """CREATE INDEX IF NOT EXISTS alerts_open ON alerts (sent_at, created_at)""",
    # a connector's account whose credentials or permissions the provider refused: held until resumed
    """CREATE TABLE IF NOT EXISTS stopped_connectors (
        connector TEXT NOT NULL, account TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL, status INTEGER,
        stopped_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (connector, account))""",
    # provider rate limits shared by every worker: one row per pacer (locked while a slot is reserved) and
    # the slots it granted in the last two windows
    """CREATE TABLE IF NOT EXISTS pacers (key TEXT PRIMARY KEY, updated_at DOUBLE PRECISION NOT NULL)""",
    # every version of a campaign file the ledger scheduled from: a publication renders from the version
    # that planned it while a re-plan of a newer edit is still on its way
    """CREATE TABLE IF NOT EXISTS campaign_sources (
        campaign TEXT NOT NULL, digest TEXT NOT NULL, path TEXT NOT NULL, text TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (campaign, digest))""",
    # a slot: when its request may go (``at``; once confirmed, when it went), its own ``id``, and for a
    # request held until its answer ``ended_at`` (a cap ahead while in flight; NULL: not yet confirmed)
    """CREATE TABLE IF NOT EXISTS pacer_slots (key TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, id TEXT,
        ended_at DOUBLE PRECISION)""",
    """CREATE INDEX IF NOT EXISTS pacer_slots_key_at ON pacer_slots (key, at)""",
    # renderings and rendered assets, content-addressed: made once (ahead of time), read by every worker
    """CREATE TABLE IF NOT EXISTS renderings (
        key TEXT PRIMARY KEY, campaign TEXT, data BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
    # engagement readings after publishing (ledger/engagement.py): one row per publication and mark
    """CREATE TABLE IF NOT EXISTS readings (
        publication TEXT NOT NULL, mark TEXT NOT NULL, due_at DOUBLE PRECISION NOT NULL, state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, retry_at DOUBLE PRECISION, figures TEXT, reason TEXT,
        read_at DOUBLE PRECISION, error TEXT, PRIMARY KEY (publication, mark))""",
    """CREATE INDEX IF NOT EXISTS readings_due ON readings (state, due_at)""",
]

_WINDOWS = next(i for i, sql in enumerate(_SCHEMA) if "TABLE IF NOT EXISTS windows" in sql)
_WINDOW_OWNERSHIP = (("owner", "TEXT"), ("queue", "TEXT"), ("standby_gen", "INTEGER NOT NULL DEFAULT 0"),
                     ("standby_at", "DOUBLE PRECISION"),  # added after lanes: older ledgers gain them
                     ("fence", "INTEGER NOT NULL DEFAULT 0"),  # the fencing token (ledger/fences.py)
                     # where the lane's standby runs, and the queue of its last run lost (ledger/windows.py)
                     ("standby_queue", "TEXT"), ("lost_queue", "TEXT"), ("lost_at", "DOUBLE PRECISION"))
_CLAIM_FENCE = (("fence_start", "DOUBLE PRECISION"), ("fence_lane", "INTEGER"), ("fence", "INTEGER"))
_SLOT_ENDS = (("id", "TEXT"), ("ended_at", "DOUBLE PRECISION"))  # a slot's identity and its request's end
_STOPPED = next(i for i, sql in enumerate(_SCHEMA) if "TABLE IF NOT EXISTS stopped_connectors" in sql)


def default_url(state_dir: str | Path | None = None) -> str:
    """The ledger URL from PRACTICEWEEK_LEDGER_URL, else SQLite in the state folder."""
    cfg = settings()
    if cfg.ledger_url is not None and cfg.ledger_url.get_secret_value():
        return cfg.ledger_url.get_secret_value()
    folder = Path(state_dir) if state_dir else cfg.state
    return f"sqlite:///{(folder / 'ledger.sqlite3').resolve()}"


def _session_options() -> str:
    """Each PostgreSQL session's settings: ``idle_in_transaction_session_timeout``, so that a frozen
    process (a paused host) cannot hold a row lock another host waits for longer than that (its session
    ends; on waking, its next statement fails as after a restart of the database, and it reconnects)."""
    ms = int(settings().ledger_idle_tx_s * 1000)
    return f"-c idle_in_transaction_session_timeout={ms}" if ms > 0 else ""


def columns_sql(columns: Iterable[str]) -> str:
    """``a, b, c`` for a SELECT or INSERT column list."""
    return ", ".join(columns)


def insert_sql(table: str, columns: Iterable[str]) -> str:
    """``INSERT INTO table (a, b) VALUES (?, ?)`` for the given columns."""
    names = tuple(columns)
    return f"INSERT INTO {table} ({columns_sql(names)}) VALUES ({', '.join('?' * len(names))})"



def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the ledger's database could not be reached (PostgreSQL restarting, a dropped
    connection): the same call is worth trying again in a moment."""
    try:
        import psycopg
    except ImportError:  # SQLite-only installation
        return False
    return isinstance(exc, psycopg.OperationalError)


class WriterLock:
    """Where the writers of one SQLite file queue: a thread lock within this process, then an exclusive
    lock on ``<file>.writer`` across processes. SQLite lets one writer in at a time and makes the others
    poll with growing sleeps (up to 100 ms each); here the kernel hands the lock on at once, to the
    threads of this process and to the other window runs sharing the ledger."""

    def __init__(self, path: str) -> None:
        self.path = f"{path}.writer"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0  # the process that opened ``_fd`` (a forked child opens its own)

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._pid != os.getpid():
                self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            assert self._fd is not None
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_writers: dict[str, WriterLock] = {}  # SQLite file → the lock this process's writers queue on
_writers_lock = threading.Lock()


def _writer_lock(path: str) -> WriterLock:
    """One writer lock per SQLite file and process."""
    resolved = str(Path(path).resolve())
    with _writers_lock:
        return _writers.setdefault(resolved, WriterLock(resolved))


class Database:
    """One connection per thread, transactions, and the schema created on first use."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.postgres = self.url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        if not self.postgres:
            path = self.url.removeprefix("sqlite:///").removeprefix("sqlite://")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._path = path
            self._writer = _writer_lock(path)
        with self._tx() as cur:
            if self.postgres:  # concurrent first CREATE TABLE IF NOT EXISTS races on pg_type: serialise it
                cur.execute("SELECT pg_advisory_xact_lock(7283510)")
            for statement in _SCHEMA:
                cur.execute(statement)
            self._migrate(cur)
            cur.execute(self._q("SELECT value FROM meta WHERE key='ledger_id'"))
            if cur.fetchone() is None:
                cur.execute(
                    self._q("INSERT INTO meta (key, value) VALUES ('ledger_id', ?) ON CONFLICT DO NOTHING"),
                    (uuid.uuid4().hex[:12],),
                )
        self.key = self._meta("ledger_id")

    def _columns(self, cur: Any, table: str) -> set[str]:
        """The columns ``table`` has now (an older ledger may lack some)."""
        if self.postgres:
            cur.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s",
                (table,),
            )
            return {r[0] for r in cur.fetchall()}
        cur.execute(f"PRAGMA table_info({table})")
        return {r[1] for r in cur.fetchall()}

    def _migrate(self, cur: Any) -> None:
        """Bring a ledger made by an older version up to this schema, in the schema's transaction (rows
        keep working: they publish through the deployment's default account, '')."""
        if "timezone" not in self._columns(cur, "campaigns"):  # read from the file until re-scheduled
            cur.execute("ALTER TABLE campaigns ADD COLUMN timezone TEXT")
        if "partner" not in self._columns(cur, "decisions"):  # approval per partner: '' the whole week
            cur.execute("ALTER TABLE decisions ADD COLUMN partner TEXT NOT NULL DEFAULT ''")
        publications = self._columns(cur, "publications")
        if "account" not in publications:
            cur.execute("ALTER TABLE publications ADD COLUMN account TEXT NOT NULL DEFAULT ''")
        for column, kind in _CLAIM_FENCE:  # the window fence a claim was made under (ledger/fences.py)
            if column not in publications:
                cur.execute(f"ALTER TABLE publications ADD COLUMN {column} {kind}")
        if "account" not in self._columns(cur, "stopped_connectors"):  # keyed by connector alone: rebuild
            cur.execute(_SCHEMA[_STOPPED].replace("stopped_connectors", "stopped_connectors_new", 1))
            cur.execute(
                "INSERT INTO stopped_connectors_new (connector, account, reason, status, stopped_at) "
                "SELECT connector, '', reason, status, stopped_at FROM stopped_connectors"
            )
            cur.execute("DROP TABLE stopped_connectors")
            cur.execute("ALTER TABLE stopped_connectors_new RENAME TO stopped_connectors")
        if "lane" not in self._columns(cur, "windows"):  # one run per window before lanes: rebuild
            cur.execute(_SCHEMA[_WINDOWS].replace("windows", "windows_new", 1))
            cur.execute(
                "INSERT INTO windows_new (start, lane, gen, state, heartbeat, flow_run_id, updated_at) "
                "SELECT start, 0, gen, state, heartbeat, flow_run_id, updated_at FROM windows"
            )
            cur.execute("DROP TABLE windows")
            cur.execute("ALTER TABLE windows_new RENAME TO windows")
        slots = self._columns(cur, "pacer_slots")  # slots by id, held until their answer (ledger/pacers.py)
        for column, kind in _SLOT_ENDS:
            if column not in slots:
                cur.execute(f"ALTER TABLE pacer_slots ADD COLUMN {column} {kind}")
        have = self._columns(cur, "windows")  # a window's owner and its standby (flows/publishing/publish.py)
        for column, kind in _WINDOW_OWNERSHIP:
            if column not in have:
                cur.execute(f"ALTER TABLE windows ADD COLUMN {column} {kind}")

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self.postgres and conn.closed:  # lost when PostgreSQL restarted: a new one
            conn = None
        if conn is None:
            if self.postgres:
                import psycopg

                conn = psycopg.connect(self.url, autocommit=True, options=_session_options())
            else:
                conn = sqlite3.connect(self._path, timeout=60, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
        return conn

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def _fresh(self, error: Exception) -> Any:
        """After ``error`` before any statement ran: a new connection if PostgreSQL restarted under the
        old one (safe to retry: nothing was done), else ``error`` again."""
        if not (self.postgres and getattr(self._local, "conn", None) is not None and self._local.conn.closed):
            raise error
        self._local.conn = None
        return self._conn()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        conn = self._conn()
        if self.postgres:
            import psycopg

            with ExitStack() as stack:
                try:
                    stack.enter_context(conn.transaction())  # BEGIN
                except psycopg.OperationalError as exc:
                    conn = self._fresh(exc)
                    stack.enter_context(conn.transaction())
                yield conn.cursor()
            return
        with self._writer:
            cur = conn.cursor()
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
        try:
            cur = self._conn().cursor()
            cur.execute(self._q(sql), args)
        except Exception as exc:  # noqa: BLE001 - psycopg's OperationalError; a read is safe to repeat
            cur = self._fresh(exc).cursor()
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

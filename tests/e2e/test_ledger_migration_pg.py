"""A PostgreSQL ledger made before accounts existed opens with this version and its rows keep working (a
throw-away cluster from Debian's PostgreSQL binaries, set up as deploy/production.py sets up the ledger's)."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.production import Postgres, free_port, pg_bin
from tests.ledger_migration import check_migrated, write_old_ledger

pytestmark = pytest.mark.skipif(
    not (pg_bin() / "postgres").exists(), reason="PostgreSQL server binaries are missing"
)


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh cluster in a folder of its own under /tmp (the postgres OS user must reach it when root runs
    the tests, which pytest's private tmp_path does not allow)."""
    root = Path(tempfile.mkdtemp(prefix="practiceweek-ledger-pg-"))
    pg = Postgres(root, free_port(), secrets.token_urlsafe(16), role="practiceweek", database="ledger")
    try:
        pg.init()
        yield pg.url()
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_an_old_postgres_ledger_gains_accounts_and_keeps_its_rows(pg_url: str) -> None:
    import psycopg

    write_old_ledger(pg_url)
    check_migrated(pg_url)
    with psycopg.connect(pg_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        key = conn.execute(
            "SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = 'stopped_connectors'::regclass AND i.indisprimary"
        ).fetchone()
    assert "stopped_connectors_new" not in tables and key == ("connector,account",)


def test_schedulers_racing_for_a_new_window_on_postgres_make_one_run_and_never_fail(pg_url: str) -> None:
    """Several schedule runs apply their weeks at once (each its own connection): on PostgreSQL two of them
    can both find a window missing; exactly one makes its run, the others find it covered, none fails."""
    import threading

    from ledger import Ledger

    Ledger(pg_url).rows()  # the schema, made once
    starts = [1_800_000_000.0 + 60 * i for i in range(40)]
    racers = 4
    barrier = threading.Barrier(racers)
    results: list[list[int | None]] = [[] for _ in range(racers)]
    errors: list[BaseException] = []

    def race(slot: int) -> None:
        led = Ledger(pg_url)
        for start in starts:
            barrier.wait()
            try:
                results[slot].append(led.window_needed(start, now=start - 30))
            except BaseException as exc:  # noqa: BLE001 - the failure under test
                errors.append(exc)
                results[slot].append(None)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    for i in range(len(starts)):
        assert [results[slot][i] for slot in range(racers)].count(1) == 1


def test_standbys_racing_for_a_dead_owners_window_on_postgres_take_it_exactly_once(pg_url: str) -> None:
    """Standby runs of a window whose owner stopped beating all try to take it over at once (each its own
    connection): exactly one becomes the owner; the dead owner's next beat learns it lost the window."""
    import threading

    from ledger import Ledger

    starts = [1_900_000_000.0 + 60 * i for i in range(20)]
    first = Ledger(pg_url)
    for start in starts:
        assert first.window_take(start, "primary")
        first._write("UPDATE windows SET heartbeat=0 WHERE start=?", (start,))
    racers = 4
    barrier = threading.Barrier(racers)
    won: list[list[bool]] = [[] for _ in range(racers)]

    def race(slot: int) -> None:
        led = Ledger(pg_url)
        for start in starts:
            barrier.wait()
            won[slot].append(led.window_take(start, f"standby-{slot}", stale_s=5.0))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for i, start in enumerate(starts):
        winners = [slot for slot in range(racers) if won[slot][i]]
        assert len(winners) == 1
        assert first.window_held(start).owner == f"standby-{winners[0]}"  # type: ignore[union-attr]
        assert not first.window_beat(start, "p", owner="primary")


def test_a_takeover_fences_the_old_owners_claims_and_sends_on_postgres(pg_url: str) -> None:
    """The fence on PostgreSQL (READ COMMITTED, each party its own connection): the old token's claim and
    check are refused once the takeover committed, and a claim racing the takeover is voided or refused."""
    from tests.ledger_fence import check_fence, check_racing_claims_and_a_takeover

    check_fence(pg_url)
    check_racing_claims_and_a_takeover(pg_url)


FROZEN_HOLDER = """
import os, signal, sys
from ledger import Ledger
led = Ledger(sys.argv[1])
with led._tx() as cur:  # a pacer's row locked, as reserve_slot locks it, then the process freezes
    cur.execute("INSERT INTO pacers (key, updated_at) VALUES ('x:acct', 0) ON CONFLICT DO NOTHING")
    cur.execute("SELECT updated_at FROM pacers WHERE key='x:acct' FOR UPDATE")
    print("locked", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
    try:
        cur.execute("SELECT 1")
    except Exception as exc:
        print(f"ended: {type(exc).__name__}", flush=True)
        raise SystemExit(3)
print("kept its transaction", flush=True)
"""


def test_a_frozen_process_holding_a_row_lock_releases_it_within_the_idle_timeout_on_postgres(
    pg_url: str,
) -> None:
    """A host frozen inside a ledger transaction (SIGSTOP) holds its row lock only until PostgreSQL ends its
    idle session (PRACTICEWEEK_LEDGER_IDLE_TX_S): another host's pacer gets its slot while it is still
    frozen, and the woken process finds its transaction gone (nothing it does after waking commits)."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    from ledger import Ledger
    from tests.helpers import ROOT

    env = {**os.environ, "PRACTICEWEEK_LEDGER_IDLE_TX_S": "1"}
    Ledger(pg_url).close()  # the tables
    holder = subprocess.Popen([sys.executable, "-c", FROZEN_HOLDER, pg_url], stdout=subprocess.PIPE, env=env,
                              cwd=str(ROOT), text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        got: list[tuple[str, float]] = []
        other = threading.Thread(target=lambda: got.append(Ledger(pg_url).reserve_slot("x:acct", 3, 10.0)))
        other.start()
        other.join(timeout=60)
        assert got, "the other host still waits for the frozen one's lock"
        assert Path(f"/proc/{holder.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"  # frozen
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        out, _ = holder.communicate(timeout=60)
    assert holder.returncode == 3 and "ended: " in out

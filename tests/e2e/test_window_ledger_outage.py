"""A window run's steps outlive a restart of the ledger's PostgreSQL (a throw-away cluster from Debian's
PostgreSQL binaries, as deploy/production.py sets up the ledger's): a step that cannot reach it is tried
again until it is back, instead of failing the window run and waiting for healing to start another."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.production import Postgres, free_port, pg_bin
from flows.publishing.publish import through_outages
from ledger import Ledger, unavailable

pytestmark = pytest.mark.skipif(
    not (pg_bin() / "postgres").exists(), reason="PostgreSQL server binaries are missing"
)


@pytest.fixture()
def pg() -> Iterator[Postgres]:
    """A fresh cluster under /tmp (the postgres OS user must reach it when root runs the tests)."""
    root = Path(tempfile.mkdtemp(prefix="practiceweek-ledger-pg-"))
    cluster = Postgres(root, free_port(), secrets.token_urlsafe(16), role="practiceweek", database="ledger")
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_window_step_waits_for_the_ledgers_postgresql_to_come_back(pg: Postgres) -> None:
    led = Ledger(pg.url())
    led.put_rendering("probe", b"1")
    pg.stop(mode="immediate")  # as after a crash
    with pytest.raises(Exception) as raised:  # what failed every running window run before
        led.rendering("probe")
    assert unavailable(raised.value)

    restarted = threading.Timer(2.0, pg.start)
    restarted.start()
    began = time.time()
    assert through_outages(lambda: led.rendering("probe")) == b"1"
    restarted.join()
    assert time.time() - began >= 1.0  # it waited for the restart rather than answering from nowhere
    led.close()


def test_a_step_that_fails_for_another_reason_is_not_repeated(pg: Postgres) -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        through_outages(broken)
    assert calls == [1] and not unavailable(ValueError())

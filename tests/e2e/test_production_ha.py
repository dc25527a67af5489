"""The high-availability production set-up (``deploy/ha.py``): two ``--no-services`` API servers and a
services process on PostgreSQL, Redis (``prefect-redis``) and HAProxy in front, every part a real Debian or
Prefect process in a temporary folder. Checked with tools nobody here wrote: ``ss`` for listening sockets,
redis-py and psycopg for refusals, httpx through the balancer; then one small week through a worker kill and
an API-server kill, counted from the provider servers' own logs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.ha import HAStack
from deploy.production import PG_BIN
from tests.helpers import ROOT, wait_until

_spec = importlib.util.spec_from_file_location("practiceweek_bench_chaos_ha", ROOT / "bench" / "chaos.py")
assert _spec is not None and _spec.loader is not None
chaos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chaos)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (PG_BIN / "postgres").exists(), reason="PostgreSQL server binaries are missing"),
    pytest.mark.skipif(not (shutil.which("redis-server") and shutil.which("haproxy")),
                       reason="redis-server or haproxy is missing (.ci/system-deps installs them)"),
]


@pytest.fixture(scope="module")
def rig() -> Iterator[Any]:
    r = chaos.Rig(workers=2, ha=True)
    try:
        r.up()
        yield r
    finally:
        r.down()


@pytest.fixture(scope="module")
def stack(rig: Any) -> HAStack:
    assert isinstance(rig.stack, HAStack)
    return rig.stack


@pytest.fixture(autouse=True)
def whole_stack(stack: HAStack) -> None:
    """Each test starts from a whole stack, whichever of this module's tests ran before it: the kill test's
    blows can leave an API server down or restarting when it ends (tests run in a random order)."""
    stack.start_server()  # starts only the parts not running; waits until the balancer answers
    indexes = range(1, len(stack.api_ports) + 1)  # and every API server, not just one behind the balancer
    wait_until(lambda: all(stack.api_healthy(i) for i in indexes), 180, "every API server to answer",
               seen=lambda: {f"api-{i}": stack.api_healthy(i) for i in indexes})


def _our_pids(stack: HAStack) -> set[int]:
    """Process groups the stack started, plus both PostgreSQL postmasters (their children share them)."""
    groups = {proc.pid for proc in stack.procs.values()}
    for name, _ in stack.parts():  # restarted by another process attached to the stack (the chaos bench)
        with contextlib.suppress(OSError, ValueError):
            groups.add(int((stack.root / f"{name}.pid").read_text()))
    for cluster in (stack.pg, stack.ledger):
        groups.add(int((cluster.data / "postmaster.pid").read_text().split()[0]))
    return groups


def test_every_part_runs_and_nothing_listens_beyond_loopback(stack: HAStack) -> None:
    names = [name for name, _ in stack.parts()]
    assert names == ["redis", "api-1", "api-2", "services", "haproxy"]
    assert all(stack.running(n) for n in names), {n: stack.running(n) for n in names}
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    ours = _our_pids(stack)
    found: dict[str, str] = {}
    for line in listening.splitlines():
        pids = [int(p) for p in re.findall(r"pid=(\d+)", line)]
        mine = [p for p in pids if p in ours or _group(p) in ours]
        if mine:
            local = line.split()[3]
            found[local] = line.split("users:")[-1]
    ports = {stack.api_port, *stack.api_ports, stack.pg.port, stack.ledger.port, stack.redis.port}
    assert {int(addr.rsplit(":", 1)[1]) for addr in found} >= ports, found
    assert found and all(addr.startswith(("127.0.0.1:", "[::1]:")) for addr in found), found


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_redis_refuses_clients_without_its_password(stack: HAStack) -> None:
    import redis

    port = stack.redis.port
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=5).ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port, password="not-the-password", socket_timeout=5).ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=5).get("anything")
    good = redis.Redis(host="127.0.0.1", port=port, password=stack.redis.password, socket_timeout=5)
    assert good.ping() is True
    assert good.config_get("bind") == {"bind": "127.0.0.1"}
    assert good.config_get("protected-mode") == {"protected-mode": "yes"}
    assert good.config_get("appendonly") == {"appendonly": "yes"}
    assert os.stat(stack.redis.conf).st_mode & 0o077 == 0  # the file holding the password is private
    # Prefect uses it: its messaging streams and Docket's keys are there
    assert good.dbsize() > 0 or redis.Redis(host="127.0.0.1", port=port, db=1,
                                             password=stack.redis.password).dbsize() > 0


def test_postgres_refuses_clients_without_the_password(stack: HAStack) -> None:
    import psycopg

    for cluster in (stack.pg, stack.ledger):
        base = {"host": "127.0.0.1", "port": cluster.port, "dbname": cluster.database, "connect_timeout": 5}
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            psycopg.connect(user=cluster.role, **base).close()
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(user=cluster.role, password="not-the-password", **base).close()
        with psycopg.connect(user=cluster.role, password=cluster.password, **base) as conn:
            assert conn.execute("select 1").fetchone() == (1,)


def test_the_balancer_and_every_api_server_require_the_auth_string(stack: HAStack) -> None:
    user, password = stack.auth_string.split(":", 1)
    bases = [stack.api_url] + [f"http://127.0.0.1:{p}/api" for p in stack.api_ports]
    for base in bases:
        url = f"{base}/flows/filter"
        assert httpx.post(url, json={}, timeout=30).status_code == 401
        assert httpx.post(url, json={}, auth=(user, "wrong"), timeout=30).status_code == 401
        assert httpx.post(url, json={}, auth=(user, password), timeout=30).status_code == 200
        assert httpx.get(f"{base}/health", timeout=30).status_code == 200
    # clients are given the balancer only
    env = stack.client_env()
    assert env["PREFECT_API_URL"] == stack.api_url and str(stack.api_port) in env["PREFECT_API_URL"]
    assert "PREFECT_API_DATABASE_CONNECTION_URL" not in env and not any("REDIS" in k for k in env)


def test_the_ledger_carries_on_after_its_postgresql_restarts(stack: HAStack) -> None:
    """A worker's ledger keeps one connection; PostgreSQL restarting under it must cost one round trip,
    not every later call (reads are repeated, a transaction that could not BEGIN is begun again)."""
    from ledger import Ledger

    led = Ledger(stack.ledger.url())
    led.put_rendering("ha-probe-before", b"1")
    for action in ("read", "write"):
        stack.ledger.stop(mode="immediate")  # as after a crash
        stack.ledger.start()
        if action == "read":
            assert led.rendering("ha-probe-before") == b"1"
        else:
            led.put_rendering("ha-probe-after", b"2")
            assert led.rendering("ha-probe-after") == b"2"
    led.close()


def test_a_week_goes_out_once_in_order_through_a_worker_kill_and_an_api_server_kill(rig: Any) -> None:
    out = rig.root / "rehearsal-ha.json"
    cmd = [sys.executable, str(ROOT / "bench" / "chaos.py"), "--attach", str(rig.root), "--workers", "2",
           "--campaigns", "1", "--minutes", "0.75", "--worker-kills", "1", "--server-kills", "1",
           "--services-kills", "0", "--redis-restarts", "0", "--pg-restarts", "0",
           "--grace", "150", "--seed", "5", "--alert-wait", "20", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    keys = ("duplicates", "missing", "late", "out_of_order", "unreconciled", "ledger_states", "duplicate_ids",
            "missing_ids", "late_ids", "out_of_order_ids", "failed_with_reason", "events")
    summary = json.dumps({k: result.get(k) for k in keys}, indent=1)
    assert result["worker_kills"] == 1 and result["server_kills"] == 1, summary
    assert any(e.get("killed", "").startswith("api-") for e in result["events"]), summary
    assert result["duplicates"] == 0, summary
    assert result["missing"] == 0, summary
    assert result["late"] == 0, summary
    assert result["out_of_order"] == 0, summary
    assert result["unreconciled"] == 0, summary
    assert result["ledger_states"] == {"sent": result["publications"]}, summary  # nothing skipped or failed

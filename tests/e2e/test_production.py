"""The production set-up: PostgreSQL that admits only the Prefect server's role, an authenticated
Prefect server (API and UI), a process work pool and workers fed by prefect.yaml pull steps.

Everything is real: PostgreSQL from the Debian binaries in a temporary directory on a free port,
``prefect server start`` on it, headless Chromium for the UI. Nothing is installed here.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.production import PG_BIN, Stack
from tests.helpers import ROOT

_spec = importlib.util.spec_from_file_location("practiceweek_bench_chaos", ROOT / "bench" / "chaos.py")
assert _spec is not None and _spec.loader is not None
chaos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chaos)
Rig = chaos.Rig

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (PG_BIN / "postgres").exists(), reason="PostgreSQL server binaries are missing"),
]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def rig() -> Iterator[Any]:
    """PostgreSQL ×2 (Prefect's, the ledger's), the authenticated server, a process pool, two workers fed by
    deploy/prefect.yaml's pull step, and the provider servers in a process of their own."""
    r = Rig(workers=2)
    try:
        r.up()
        yield r
    finally:
        r.down()


@pytest.fixture(scope="module")
def stack(rig: Any) -> Stack:
    return rig.stack


def _connect(stack: Stack, *, user: str, password: str, dbname: str | None = None):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(host="127.0.0.1", port=stack.pg.port, user=user, password=password,
                           dbname=dbname or stack.pg.database, connect_timeout=5)


def test_postgres_admits_only_the_prefect_servers_role(stack: Stack) -> None:
    import psycopg

    with _connect(stack, user="prefect", password=stack.pg.password) as conn:
        tables = conn.execute("select count(*) from information_schema.tables where table_name = 'flow_run'")
        assert tables.fetchone() == (1,)  # the Prefect server migrated its schema into this database
        assert conn.execute("show password_encryption").fetchone() == ("scram-sha-256",)
    refusals = [
        ({"user": "prefect", "password": "not-the-password"}, "password authentication failed"),
        ({"user": "pgsetup", "password": stack.pg.password}, "no pg_hba.conf entry"),  # bootstrap superuser
        ({"user": "postgres", "password": stack.pg.password}, "no pg_hba.conf entry"),
        ({"user": "intruder", "password": "x"}, "no pg_hba.conf entry"),
        ({"user": "prefect", "password": stack.pg.password, "dbname": "postgres"}, "no pg_hba.conf entry"),
    ]
    for kwargs, reason in refusals:
        with pytest.raises(psycopg.OperationalError, match=reason):
            _connect(stack, **kwargs).close()
    hba = [line.split() for line in (stack.pg.data / "pg_hba.conf").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    assert hba and all(row[0] == "host" and row[1:3] == ["prefect", "prefect"] and row[-1] == "scram-sha-256"
                       for row in hba)


def test_api_refuses_clients_without_the_auth_string(stack: Stack) -> None:
    url = f"{stack.api_url}/flows/filter"
    user, password = stack.auth_string.split(":", 1)
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, json={}, auth=(user, "wrong")).status_code == 401
    assert httpx.post(url, json={}, headers={"Authorization": "Bearer " + password}).status_code == 401
    assert httpx.post(url, json={}, auth=(user, password)).status_code == 200
    assert httpx.get(f"{stack.api_url}/health").status_code == 200  # probes stay open, and show nothing
    # the Prefect CLI (like workers) authenticates with PREFECT_API_AUTH_STRING; without it, it is refused
    stack.create_pool()
    assert "practiceweek" in stack.prefect("work-pool", "inspect", "practiceweek").stdout
    env = {k: v for k, v in stack.client_env().items() if k != "PREFECT_API_AUTH_STRING"}
    cmd = [sys.executable, "-m", "prefect", "work-pool", "inspect", "practiceweek"]
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "practiceweek" not in refused.stdout


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is missing")
def test_ui_shows_a_login_prompt_and_no_data_until_the_auth_string_is_entered(stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    secret_name = "practiceweek-ui-auth-probe"
    user, password = stack.auth_string.split(":", 1)
    assert httpx.post(f"{stack.api_url}/flows/", json={"name": secret_name}, auth=(user, password)).is_success
    base = stack.api_url.removesuffix("/api")
    with sync_playwright() as pw:
        args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            # "/" leads to the default UI (v2 in Prefect 3.8); "/flows" is the classic UI with its own login.
            for start in ("/", "/v2/flows", "/flows"):
                page = browser.new_context().new_page()
                answered: list[tuple[int, str]] = []
                page.on("response", lambda r, out=answered: out.append((r.status, r.url)) if "/api/" in r.url
                        else None)
                page.goto(base + start)
                page.wait_for_url("**/login**", timeout=30_000)
                field = page.get_by_placeholder("admin:pass")
                field.wait_for(timeout=30_000)
                assert secret_name not in page.content()
                data = [(s, u) for s, u in answered if not u.endswith(("/api/health", "/api/ready"))]
                assert data and all(s == 401 for s, _ in data), data  # every data request was refused
                field.fill(f"{user}:wrong")
                page.get_by_role("button", name="Login").click()
                page.wait_for_timeout(1000)
                assert "/login" in page.url and secret_name not in page.content()
                field.fill(stack.auth_string)
                page.get_by_role("button", name="Login").click()
                page.wait_for_url(lambda u: "/login" not in u, timeout=30_000)
                page.goto(base + ("/v2/flows" if start != "/flows" else "/flows"))
                page.get_by_text(secret_name).first.wait_for(timeout=30_000)
                page.context.close()
        finally:
            browser.close()


def test_two_workers_publish_a_week_exactly_once_through_a_worker_kill(rig: Any) -> None:
    """One partnership's week (36 publications on every connector) rehearsed in 45 s on two workers;
    one worker is killed with SIGKILL (with its flow runs) mid-week, restarted and the windows healed.
    Counted from the provider servers' own logs."""
    out = rig.root / "rehearsal.json"
    cmd = [sys.executable, str(ROOT / "bench" / "chaos.py"), "--attach", str(rig.root), "--workers", "2",
           "--campaigns", "1", "--minutes", "0.75", "--worker-kills", "1", "--server-kills", "0",
           "--grace", "150", "--seed", "7", "--alert-wait", "20", "--out", str(out)]
    # a fresh interpreter: the client side (Prefect settings, ledger) must not leak into other tests
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    keys = ("duplicates", "missing", "late", "unreconciled", "ledger_states", "duplicate_ids", "missing_ids",
            "late_ids", "failed_with_reason", "events")
    summary = json.dumps({k: result[k] for k in keys}, indent=1)
    assert result["worker_kills"] == 1, summary
    assert result["duplicates"] == 0, summary
    assert result["missing"] == 0, summary  # delivered, or failed and reported; never silently lost
    assert result["late"] == 0, summary
    assert result["unreconciled"] == 0, summary
    # every failure or skip is recorded with its reason and its alert in one transaction, and alerted
    alerted, failed = result["failed_alerted"].split("/")
    assert alerted == failed, summary
    assert all(r["never_above"] for r in result["rates"].values()), result["rates"]
    logs = {name: (rig.stack.logs / f"{name}.log").read_text() for name in ("worker-1", "worker-2")}
    # both workers served the pool; which of them picks up each run is the scheduler's choice (the killed
    # one may get none after its restart), so: runs were taken by workers, each through the pull step
    assert all(f"Worker '{name}' started!" in text for name, text in logs.items()), logs
    # (a worker that lost the race for a run logs "Aborted submission" and never pulls: not a taker)
    takers = [name for name, text in logs.items() if "submitted to infrastructure" in text]
    assert takers, logs
    for name in takers:
        assert "Deployment step 'git_clone' completed successfully" in logs[name]
    # scheduling on a worker renders the week ahead in its process pool (the pool's children import the
    # worker's clone: a file entrypoint made them fail with "attempted relative import")
    worked = "".join(logs.values())
    failed = [line for line in worked.splitlines() if "could not render" in line]
    assert not failed, failed[:3]
    assert "publication(s) of" in worked and "ahead (" in worked

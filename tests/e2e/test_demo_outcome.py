"""After a clean `practiceweek demo` of the IOW week, on a Prefect server of its own, the operator meets
the truth: every window run and task run ended Completed (none Cancelled by the command stopping), no window
run was scheduled in the past (the UI would label it late), each publication has its line in the window
run's logs in the Prefect API while the terminal stayed quiet, and `status`/`report` read the demo's ledger
(45 sent), with nothing pointing them at it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ledger import Ledger
from tests.helpers import CAMPAIGNS, ROOT, wait_until
from tests.prefect_servers import ServerPool

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
IOW = CAMPAIGNS / "iowscp-domestic-abuse-2024.yaml"
CID = "iowscp-da-2024"


@pytest.fixture(scope="module")
def own_server(server_pool: ServerPool) -> Iterator[str]:
    """A Prefect server for this module alone (its runs are only this demo's); its API URL."""
    with server_pool.borrowed() as server:
        yield server.api_url


@pytest.fixture(scope="module")
def demo(own_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`practiceweek demo` of the IOW week as an operator runs it: no PRACTICEWEEK_LEDGER_URL."""
    tmp = tmp_path_factory.mktemp("demo-outcome")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRACTICEWEEK_", "PREFECT_"))}
    env.update({"PREFECT_API_URL": own_server, "PREFECT_UI_API_URL": own_server,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": str(tmp / "prefect-client"),
                "PRACTICEWEEK_STATE": str(tmp / "state"), "PRACTICEWEEK_OUTBOX": str(tmp / "outbox"),
                "PRACTICEWEEK_REHEARSAL_START_S": "15", "PYTHONPATH": str(ROOT), "NO_COLOR": "1"})
    cmd = [sys.executable, "-m", "cli", "demo", str(IOW), "--speed", "80000", "--timeout", "240"]
    done = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=420)
    try:
        yield {"done": done, "env": env, "tmp": tmp, "api": own_server}
    finally:
        from flows.runtime.embedded import stop_server

        stop_server(tmp / "state")  # the outbox's file server (the Prefect server is the module's)


def _post(api: str, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = httpx.post(f"{api}{path}", json={"limit": 200, **body}, timeout=30)
    r.raise_for_status()
    return list(r.json())


def _window_runs(api: str) -> list[dict[str, Any]]:
    return _post(api, "/flow_runs/filter", {"flows": {"name": {"any_": ["publish-window"]}}})


def _sent(demo: dict[str, Any]) -> set[str]:
    [ledger] = (demo["tmp"] / "state" / "demo").rglob("ledger.sqlite3")
    return {r.id for r in Ledger(f"sqlite:///{ledger}").rows(CID) if r.state == "sent"}


def test_the_demo_went_out_whole(demo: dict[str, Any]) -> None:
    done = demo["done"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "published 45, failed 0, skipped 0, cancelled 0, open 0" in done.stdout, done.stdout
    assert len(_sent(demo)) == 45


def test_every_run_ends_as_it_ended_and_none_was_scheduled_late(demo: dict[str, Any]) -> None:
    api = demo["api"]
    flow_runs = _post(api, "/flow_runs/filter", {})
    assert flow_runs and {r["state_type"] for r in flow_runs} == {"COMPLETED"}, [  # those that did not
        (r["name"], r["state_type"], r["state"]["message"], r["start_time"], r["end_time"])
        for r in flow_runs if r["state_type"] != "COMPLETED"
    ]
    windows = _window_runs(api)
    assert windows
    for run in windows:  # created for now at the latest: the UI labels a run late by start - expected
        created = dt.datetime.fromisoformat(run["created"])
        expected = dt.datetime.fromisoformat(run["expected_start_time"])
        assert expected >= created - dt.timedelta(seconds=2), (run["name"], run["created"], expected)
    ids = [r["id"] for r in windows]

    def tasks_completed() -> bool:  # task states reach the server as events, just after their run's
        tasks = _post(api, "/task_runs/filter", {"flow_runs": {"id": {"any_": ids}}})
        return len(tasks) >= 45 and {t["state_type"] for t in tasks} == {"COMPLETED"}

    wait_until(tasks_completed, 30, "every task run of the window runs Completed")


def test_the_engagement_safety_net_is_paused_once_nothing_serves_it(demo: dict[str, Any]) -> None:
    """The demo's server outlives its serving process: the safety net's interval schedule is paused (its
    Scheduled runs, which nothing would start, deleted), so no collect-engagement run turns Late."""
    from flows.runtime.names import DEPLOYMENTS

    deployment = httpx.get(f"{demo['api']}/deployments/name/{DEPLOYMENTS['engagement']}", timeout=30).json()
    assert deployment["paused"], deployment


def test_each_publication_has_its_log_line_in_the_api_and_the_terminal_stays_quiet(
    demo: dict[str, Any],
) -> None:
    api, done = demo["api"], demo["done"]
    lines: list[str] = []
    for run in _window_runs(api):
        for offset in range(0, 2000, 200):  # the API answers at most 200 at a time
            logs = _post(api, "/logs/filter", {"logs": {"flow_run_id": {"any_": [run["id"]]}},
                                               "offset": offset, "sort": "TIMESTAMP_ASC"})
            lines += [log["message"] for log in logs if log["level"] == 20]
            if len(logs) < 200:
                break
    published = {line.split()[1] for line in lines if line.startswith("published ")}
    assert published == _sent(demo), lines[:20]
    line = next(line for line in lines if line.startswith("published "))
    assert " through outbox, " in line and " s after its time → file://" in line, line  # what, where, when
    assert "| INFO" not in done.stdout + done.stderr, done.stderr  # Prefect's INFO lines: not in the terminal


def test_every_window_run_that_published_has_the_status_table_attached(demo: dict[str, Any]) -> None:
    """An operator opening any window run that sent something finds the week's live status table in its
    Artifacts tab: each such run wrote a version of ``plan-<campaign>`` of its own."""
    api = demo["api"]
    published = {run["id"] for run in _window_runs(api) if _task_count(api, run["id"])}
    versions = _post(api, "/artifacts/filter", {"artifacts": {"key": {"any_": [f"plan-{CID}"]}}})
    attached = {v["flow_run_id"] for v in versions}
    assert published and published <= attached, (len(published), len(published - attached), len(versions))


def _task_count(api: str, run_id: str) -> int:
    return len(_post(api, "/task_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}}}))


@pytest.mark.parametrize("command", ["status", "report"])
def test_status_and_report_read_the_demo_ledger(demo: dict[str, Any], command: str) -> None:
    tmp, env = demo["tmp"], demo["env"]
    extra = ["--out", str(tmp / "report")] if command == "report" else []
    done = subprocess.run([sys.executable, "-m", "cli", command, str(IOW), *extra], env=env, cwd=tmp,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"ledger: sqlite:///{tmp / 'state' / 'demo'}"), done.stdout
    [counts] = [line for line in done.stdout.splitlines() if line.startswith(f"{CID}: ")]
    assert " 45 sent," in counts, done.stdout

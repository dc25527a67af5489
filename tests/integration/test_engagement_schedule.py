"""collect-engagement's interval schedule, the safety net that reads engagement no event asked for, on the
test's own real server: Prefect's scheduler makes its runs ``SAFETY_NET_S`` apart while the deployments are
served (with SQLAlchemy 2.1 the scheduler of Prefect 3.8.8 failed on every loop, "Can't evaluate bulk DML
statement", and the net never ran: pyproject keeps SQLAlchemy below 2.1); a command that stops serving
pauses it only when no other serving process polls it, and serving again resumes it."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from flows.operators.engagement import SAFETY_NET_S
from flows.runtime.embedded import pause_unserved_safety_net
from flows.runtime.names import DEPLOYMENTS
from tests.helpers import kill_tree, serve_here, wait_until

WAIT_S = 5.0  # two of the serving process's polls (PRACTICEWEEK_POLL_S, 2 s) and one more second


def _scheduled(api: str) -> list[str]:
    """When the safety net's Scheduled runs are due."""
    body = {"flows": {"name": {"any_": ["collect-engagement"]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}, "limit": 50}
    return sorted(r["expected_start_time"] for r in httpx.post(f"{api}/flow_runs/filter", json=body,
                                                               timeout=30).json())


def _deployment(api: str) -> dict[str, Any]:
    return dict(httpx.get(f"{api}/deployments/name/{DEPLOYMENTS['engagement']}", timeout=30).json())


def _stop(proc: subprocess.Popen[bytes]) -> float:
    """Stop a serving process as a command does; when it had stopped."""
    kill_tree(proc.pid, signal.SIGTERM)
    proc.wait(15)
    return time.time()


def test_the_safety_net_is_scheduled_while_served_and_paused_when_nothing_serves_it(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    api = prefect_env["PREFECT_API_URL"]
    first = serve_here(prefect_env, tmp_path / "serve-1.log")
    wait_until(lambda: len(_scheduled(api)) >= 2, 60, "the scheduler's collect-engagement runs",
               seen=lambda: (_scheduled(api), _deployment(api).get("paused")))
    due = [datetime.fromisoformat(at) for at in _scheduled(api)]
    assert {(b - a).total_seconds() for a, b in zip(due, due[1:], strict=False)} == {SAFETY_NET_S}, due

    second = serve_here(prefect_env, tmp_path / "serve-2.log", alongside=first)  # polling on its own
    try:
        assert not pause_unserved_safety_net(api, _stop(first), WAIT_S), "paused while another process serves"
        assert not _deployment(api)["paused"], "the net stopped while still served"
        wait_until(lambda: _scheduled(api), 60, "the safety net's runs (made again once the second process "
                   "applied the deployments)", seen=lambda: _deployment(api).get("paused"))

        assert pause_unserved_safety_net(api, _stop(second), WAIT_S), "not paused once nothing serves it"
        assert _deployment(api)["paused"]
        assert _scheduled(api) == [], "Scheduled runs left that nothing would start"
    finally:
        kill_tree(second.pid)

    third = serve_here(prefect_env, tmp_path / "serve-3.log")
    try:
        assert not _deployment(api)["paused"], "serving again did not resume the safety net"
        wait_until(lambda: _scheduled(api), 60, "the resumed safety net's runs",
                   seen=lambda: _deployment(api).get("paused"))
    finally:
        kill_tree(third.pid)

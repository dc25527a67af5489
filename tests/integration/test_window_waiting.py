"""A window run that a busy machine starts late is waiting, not lost: healing leaves it alone while its
poller is alive, so no second generation waits beside it (to end empty, or Cancelled when the week ends:
what a loaded suite showed operators after a clean rehearsal). Once nothing polls, it is replaced.

On the test's own real Prefect server; the "busy serving process" asks the server for work, as a runner's
poll does, but takes nothing."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx

from ledger import Ledger, Planned
from tests.helpers import wait_until

CID = "late-start-2024"


def _planned(at: float) -> Planned:
    return Planned(id=f"{CID}/mon/email/p", campaign=CID, day="mon", channel="email", connector="outbox",
                   title="p", fingerprint="f", planned_at=at, scheduled_at=at, missed_window_s=3600)


def _window_runs(api: str) -> list[dict[str, Any]]:
    body = {"flows": {"name": {"any_": ["publish-window"]}}, "limit": 50}
    return list(httpx.post(f"{api}/flow_runs/filter", json=body, timeout=30).json())


def _poll_taking_nothing(api: str, deployment_id: str) -> None:
    """What a serving process's poll sends, asking only for runs due before 2000: it takes nothing, and
    the server records the deployment as polled now."""
    body = {"deployment_ids": [deployment_id], "scheduled_before": "2000-01-01T00:00:00Z"}
    assert httpx.post(f"{api}/deployments/get_scheduled_flow_runs", json=body, timeout=30).json() == []


def _last_polled(api: str, deployment_id: str) -> float | None:
    polled = httpx.get(f"{api}/deployments/{deployment_id}", timeout=30).json()["last_polled"]
    return dt.datetime.fromisoformat(polled).timestamp() if polled else None


def test_a_run_started_late_by_a_busy_poller_is_kept_and_replaced_once_nothing_polls(
    on_own_server: Ledger, prefect_env: dict[str, str]
) -> None:
    from flows.plan.waiting import LIVE_POLL_S
    from flows.plan.windows import ensure_windows

    led, api = on_own_server, prefect_env["PREFECT_API_URL"]
    second = time.time() % 60  # the window is this minute's: it opened 6 s or more ago (its run is
    if not 10 <= second <= 35:  # overdue then), and is still the window LIVE_POLL_S later
        time.sleep((70 - second) % 60)
    led.set_campaign(CID, f"{CID}.yaml", timezone="Europe/London")
    led.apply(CID, [_planned(time.time() - 5)])  # due 5 s ago, an hour to go out
    assert ensure_windows(led, led.rows())  # generation 1, scheduled a few seconds ahead, never taken
    (first,) = _window_runs(api)
    start = first["parameters"]["window_start"]
    led._write("UPDATE windows SET updated_at=? WHERE start=?", (time.time() - 60, start))  # made long ago
    assert led.window_overdue(start, lead_s=20) == 1  # by the ledger alone: presumed lost

    _poll_taking_nothing(api, first["deployment_id"])
    wait_until(lambda: _last_polled(api, first["deployment_id"]) is not None, 30,
               "the server to record the poll", seen=lambda: _last_polled(api, first["deployment_id"]))
    assert ensure_windows(led, led.rows()) == []  # its poller is alive: late, not lost
    assert led.window_held(start).gen == 1  # type: ignore[union-attr]
    assert [r["id"] for r in _window_runs(api)] == [first["id"]]

    later = time.time() + LIVE_POLL_S + 1  # as if nothing had polled since
    assert ensure_windows(led, led.rows(), now=later)  # presumed lost: a new generation
    runs = {r["parameters"]["generation"]: r for r in _window_runs(api)}
    assert sorted(runs) == [1, 2] and led.window_held(start).gen == 2  # type: ignore[union-attr]
    assert runs[2]["idempotency_key"] != runs[1]["idempotency_key"]

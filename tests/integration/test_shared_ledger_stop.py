"""Two commands sharing one ledger (two `practiceweek run`s of different weeks on the embedded default): the
one that stops ends only the window runs of its own weeks, on the test's own real Prefect server; the other
week's runs stay scheduled for the command still serving them."""

from __future__ import annotations

import time
from typing import Any

import httpx

from ledger import Ledger, Planned


def _planned(cid: str, at: float) -> Planned:
    return Planned(id=f"{cid}/mon/email/p", campaign=cid, day="mon", channel="email", connector="outbox",
                   title="p", fingerprint="f", planned_at=at, scheduled_at=at, missed_window_s=3600)


def _window_runs(api: str) -> dict[str, dict[str, Any]]:
    """The window runs on the server by campaign tag."""
    body = {"flows": {"name": {"any_": ["publish-window"]}}, "limit": 200}
    runs = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=30).json()
    return {tag: run for run in runs for tag in run["tags"] if tag.startswith("campaign:")}


def test_a_command_that_stops_ends_only_the_window_runs_of_its_own_weeks(
    on_own_server: Ledger, prefect_env: dict[str, str]
) -> None:
    from flows.plan.windows import cancel_open_window_runs, ensure_windows

    led, api = on_own_server, prefect_env["PREFECT_API_URL"]
    now = time.time()
    for cid, at in (("ours-2024", now + 900), ("theirs-2024", now + 1800)):  # two windows, two weeks
        led.set_campaign(cid, f"{cid}.yaml", timezone="Europe/London")
        led.apply(cid, [_planned(cid, at)])
    ensure_windows(led, led.rows())
    before = _window_runs(api)
    weeks = ("ours-2024", "theirs-2024")
    assert {before[f"campaign:{c}"]["state_type"] for c in weeks} == {"SCHEDULED"}

    assert cancel_open_window_runs(led.key, "stopped", {"ours-2024"}) == 1
    after = _window_runs(api)
    assert after["campaign:ours-2024"]["state_type"] == "CANCELLED"
    assert after["campaign:theirs-2024"]["state_type"] == "SCHEDULED"  # the other command's to run

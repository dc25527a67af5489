"""Where healing puts a window lane's runs when a host is lost, on a real Prefect server: host 2 died
(its runs stopped beating), so no new standby or generation goes to its work queue while another is left,
and a standby already put there that has not started yet is replaced at once. A run put on a lost host's
queue waits for the host to come back, and the lane has no live spare meanwhile: a loss of the owner's
host then waits for that too (bench/RESULTS.md, chaos-hosts: a 31.9 s takeover)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from ledger import Ledger, Planned
from tests.helpers import api_call

QUEUES = "worker-1,worker-2,worker-3"


def _planned(cid: str, at: float) -> Planned:
    return Planned(id=f"{cid}/mon/email/p", campaign=cid, day="mon", channel="email", connector="outbox",
                   title="p", fingerprint="f", planned_at=at, scheduled_at=at, missed_window_s=3600)


def _runs(api: str) -> list[dict[str, Any]]:
    """Every window run on the server: its window, role and work queue."""
    body = {"flows": {"name": {"any_": ["publish-window"]}}, "limit": 200}
    runs = _call("POST", f"{api}/flow_runs/filter", json=body).json()
    return [{"window": run["parameters"]["window_start"], "standby": run["parameters"].get("standby", False),
             "queue": run["work_queue_name"]} for run in runs]


def _call(method: str, url: str, **body: Any) -> httpx.Response:
    """One API request (asked again while the server answers 503); any other error fails the test."""
    return api_call(method, url, **body).raise_for_status()  # type: ignore[no-any-return]


def _in_a_pool_with_each_workers_queue(api: str) -> None:
    """The publish-window deployment in a process pool with a queue per worker, as the production set-up
    registers it (``deploy/stack.py``): a run can be put in a given worker's queue."""
    _call("POST", f"{api}/work_pools/", json={"name": "pw", "type": "process"})
    for name in QUEUES.split(","):
        _call("POST", f"{api}/work_pools/pw/queues", json={"name": name})
    deployment = _call("GET", f"{api}/deployments/name/publish-window/publish-window")
    _call("PATCH", f"{api}/deployments/{deployment.json()['id']}", json={"work_pool_name": "pw"})


def _host_2_lost(led: Ledger, taken: float, placed: float, now: float) -> None:
    """Window ``taken``: its owner ran on worker-2 and died 8 s ago; its standby on worker-3 took it over
    (and so beats as standby no more). Window ``placed``: its standby was put on worker-2 and has not
    started. Worker-1 and worker-3 beat.

    Healing is then asked at ``now`` + 1 s, not at the clock's time: on a busy machine the seconds the
    server takes to make the runs would otherwise make every beat here stale (6 s), and healing would
    rightly replace the live owners too."""
    assert led.window_needed(taken, now=now) == 1
    assert led.standby_needed(taken, now=now) == 1
    led.standby_placed(taken, 0, "worker-3")
    assert led.window_take(taken, "run-dead", queue="worker-2")
    led._write("UPDATE windows SET heartbeat=?, standby_at=? WHERE start=?", (now - 8, now - 7, taken))
    assert led.window_take(taken, "run-spare", stale_s=5.0, queue="worker-3")
    assert led.window_needed(placed, now=now) == 1
    assert led.standby_needed(placed, now=now) == 1
    led.standby_placed(placed, 0, "worker-2")
    assert led.window_take(placed, "run-owner", queue="worker-1")


def test_healing_puts_no_new_run_on_a_lost_hosts_queue_and_moves_a_spare_that_has_not_started(
    on_own_server: Ledger, prefect_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.plan.windows import ensure_windows

    monkeypatch.setenv("PRACTICEWEEK_WINDOW_STANDBY", "true")
    monkeypatch.setenv("PRACTICEWEEK_WINDOW_QUEUES", QUEUES)
    led, api = on_own_server, prefect_env["PREFECT_API_URL"]
    now = time.time()
    base = (now // 60 + 2) * 60
    taken, placed = base, base + 60
    fresh = [base + 120 + 60 * k for k in range(3)]  # new windows: each turn of the queues once
    for k, at in enumerate([taken, placed, *fresh]):
        led.set_campaign(f"c{k}", f"c{k}.yaml", timezone="Europe/London")
        led.apply(f"c{k}", [_planned(f"c{k}", at + 5)])
    _host_2_lost(led, taken, placed, now)
    assert led.lost_queues(now + 1) == {"worker-2"}
    _in_a_pool_with_each_workers_queue(api)
    ensure_windows(led, led.rows(), now=now + 1)
    runs = _runs(api)
    by_window = {(r["window"], r["standby"]): r["queue"] for r in runs}
    # the lane taken over gets a new spare, beside its owner (worker-3) and not on worker-2: worker-1
    assert by_window[(taken, True)] == "worker-1"
    # the spare that was put on worker-2 and has not started is replaced on a live queue
    assert by_window[(placed, True)] == "worker-3"
    for start in fresh:  # a new window's run and its spare: on the two live queues
        assert {by_window[(start, False)], by_window[(start, True)]} == {"worker-1", "worker-3"}
    assert "worker-2" not in {r["queue"] for r in runs}


def test_with_two_spares_a_lane_has_one_on_each_other_host_and_none_on_a_lost_one(
    on_own_server: Ledger, prefect_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PRACTICEWEEK_WINDOW_SPARES=2`` on three hosts: each lane's runs on all three, so when one host is
    lost while another's part is down (a worker killed a moment before), a spare still runs on the third.
    While host 2 is lost, no spare goes there; once a run beats there again, each lane gets its second."""
    from flows.plan.windows import ensure_windows

    for key, value in {"STANDBY": "true", "QUEUES": QUEUES, "SPARES": "2"}.items():
        monkeypatch.setenv(f"PRACTICEWEEK_WINDOW_{key}", value)
    led, api = on_own_server, prefect_env["PREFECT_API_URL"]
    now = time.time()
    base = (now // 60 + 2) * 60
    taken, placed = base, base + 60
    fresh = [base + 120 + 60 * k for k in range(3)]
    for k, at in enumerate([taken, placed, *fresh]):
        led.set_campaign(f"c{k}", f"c{k}.yaml", timezone="Europe/London")
        led.apply(f"c{k}", [_planned(f"c{k}", at + 5)])
    _host_2_lost(led, taken, placed, now)
    _in_a_pool_with_each_workers_queue(api)
    ensure_windows(led, led.rows(), now=now + 1)
    while_lost = _runs(api)
    led.standby_beat(placed, queue="worker-2")  # host 2 is back: a run beats there
    ensure_windows(led, led.rows(), now=now + 2)
    back = _runs(api)
    assert "worker-2" not in {r["queue"] for r in while_lost}
    spares = {(r["window"], r["queue"]) for r in while_lost if r["standby"]}
    assert (taken, "worker-1") in spares  # beside its owner on worker-3: the one live host left
    for start in fresh:
        owner = next(r["queue"] for r in while_lost if r["window"] == start and not r["standby"])
        assert {q for w, q in spares if w == start} == {"worker-1", "worker-3"} - {owner}
    added = {(r["window"], r["queue"]) for r in back if r["standby"]} - spares
    assert {w for w, q in added if q == "worker-2"} == {taken, *fresh}  # each lane's second spare

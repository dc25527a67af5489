"""A window run that a worker left Pending (killed while handing it to a process of its own) is handed back
to its queue, and a real Prefect process worker then takes it; a run whose process was started, one Pending
only for a moment, and a served run (no work pool) are left alone.

On the test's own real Prefect server. Prefect itself never takes such a run again: no worker takes a
Pending run, and nothing moves it on without the process the dead worker never started."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from typing import Any

from ledger import Ledger
from tests.helpers import api_call, prefect_in_this_process, wait_until

POOL = "stranded-test-pool"


def _post(api: str, path: str, body: dict[str, Any]) -> Any:
    response = api_call("POST", f"{api}{path}", json=body)
    assert response.status_code in (200, 201), (path, response.status_code, response.text[:500])
    return response.json()


def _run(api: str, run_id: str) -> dict[str, Any]:
    return dict(api_call("GET", f"{api}/flow_runs/{run_id}").json())


def _pending_run(api: str, deployment_id: str, pid: str | None = None) -> str:
    """A run of the deployment, made Pending as a worker does just before it starts the run's process."""
    run = _post(api, f"/deployments/{deployment_id}/create_flow_run", {"state": {"type": "SCHEDULED"}})
    _post(api, f"/flow_runs/{run['id']}/set_state", {"state": {"type": "PENDING"}, "force": True})
    if pid is not None:  # the worker started its process and recorded it
        assert api_call("PATCH", f"{api}/flow_runs/{run['id']}",
                        json={"infrastructure_pid": pid}).status_code == 204
    return str(run["id"])


def test_a_run_its_worker_left_pending_is_handed_back_and_a_worker_takes_it(
    on_own_server: Ledger, prefect_env: dict[str, str], tmp_path: Any
) -> None:
    from flows.plan.waiting import STRANDED_S, WINDOW_FLOW, hand_back_stranded

    api = prefect_env["PREFECT_API_URL"]
    _post(api, "/work_pools/", {"name": POOL, "type": "process"})
    flow = _post(api, "/flows/", {"name": WINDOW_FLOW})
    pooled = _post(api, "/deployments/", {"name": "pooled", "flow_id": flow["id"], "work_pool_name": POOL,
                                          "entrypoint": "flows/publishing/publish.py:nothing_here"})
    served = _post(api, "/deployments/", {"name": "served", "flow_id": flow["id"]})
    stranded = _pending_run(api, pooled["id"])
    started = _pending_run(api, pooled["id"], pid="worker-host:4242")
    of_serving = _pending_run(api, served["id"])

    pending_at = dt.datetime.fromisoformat(_run(api, stranded)["state"]["timestamp"]).timestamp()
    with prefect_in_this_process(api):  # asked about moments counted from when the run became Pending
        assert hand_back_stranded(now=pending_at + 1) == []  # its worker may still be starting it
        handed = hand_back_stranded(now=pending_at + STRANDED_S + 1)
    assert handed == [_run(api, stranded)["name"]], handed
    assert _run(api, stranded)["state"]["type"] == "SCHEDULED"
    assert "handed back" in _run(api, stranded)["state"]["message"]
    assert _run(api, started)["state"]["type"] == "PENDING"  # its process runs: leave it to it
    assert _run(api, of_serving)["state"]["type"] == "PENDING"  # a serving process records no process

    env = {**os.environ, **prefect_env, "PREFECT_WORKER_QUERY_SECONDS": "1"}
    with open(tmp_path / "worker.log", "w") as log:
        cmd = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process",
               "--name", "after-the-dead-one"]
        worker = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                  cwd=tmp_path)
    try:
        def seen() -> object:
            return _run(api, stranded)["state"], (tmp_path / "worker.log").read_text()[-2000:]

        wait_until(lambda: _run(api, stranded)["state"]["type"] != "SCHEDULED", 120,
                   "a worker to take the run handed back", seen=seen)
        assert _run(api, started)["state"]["type"] == "PENDING"  # no worker takes a Pending run
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(30)

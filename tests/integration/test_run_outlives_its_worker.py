"""A flow run outlives the worker that started it: a real ``prefect worker`` starts the run, is killed
(SIGKILL, the run left running, as a worker crash leaves it), and the run's next log lines meet the broken
pipe the dead worker read its output through. Prefect's console (rich) then ends the process with
``SystemExit`` (the control case, measured in chaos-hosts: every worker kill took its window runs with it
at their next log line, standbys at the moment they took a window over); with
``flows.runtime.logs.outlive_lost_output`` (done when that module is imported, as every practiceweek flow's
module does) the run carries on, ends Completed, and its log lines still reach the Prefect API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, api_call, wait_until

POOL = "outlives-test-pool"
ENTRYPOINT = "tests/fixtures/flows/outlives_its_worker.py:stand_by"


def _deployment(api: str, control: bool) -> str:
    """The fixture flow's deployment in a process pool, run from this checkout (``control``: its runs do
    not import ``flows.runtime.logs``)."""
    api_call("POST", f"{api}/work_pools/", json={"name": POOL, "type": "process"})
    flow = api_call("POST", f"{api}/flows/", json={"name": "outlives-its-worker"}).json()
    body = {"name": "outlives", "flow_id": flow["id"], "work_pool_name": POOL, "entrypoint": ENTRYPOINT,
            "job_variables": {"working_dir": str(ROOT), "env": {"OUTLIVES_TEST_CONTROL": str(int(control))}}}
    deployment = api_call("POST", f"{api}/deployments/", json=body)
    assert deployment.status_code in (200, 201), deployment.text[:500]
    return str(deployment.json()["id"])


def _run(api: str, run_id: str) -> dict[str, Any]:
    return dict(api_call("GET", f"{api}/flow_runs/{run_id}").json())


def _logs(api: str, run_id: str) -> list[str]:
    body = {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}
    return [line["message"] for line in api_call("POST", f"{api}/logs/filter", json=body).json()]


@pytest.mark.parametrize("outlive", [True, False], ids=["outlives", "control"])
def test_a_run_carries_on_logging_after_its_worker_is_killed(
    prefect_env: dict[str, str], tmp_path: Path, outlive: bool
) -> None:
    api = prefect_env["PREFECT_API_URL"]
    params = {"folder": str(tmp_path)}
    run = api_call("POST", f"{api}/deployments/{_deployment(api, control=not outlive)}/create_flow_run",
                   json={"parameters": params}).json()
    env = {**os.environ, **prefect_env, "PREFECT_WORKER_QUERY_SECONDS": "1"}
    cmd = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process",
           "--name", "about-to-die"]
    worker = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True, cwd=tmp_path)  # its output through a pipe, as always
    try:
        wait_until(lambda: (tmp_path / "standing").exists(), 120, "the run to stand by",
                   seen=lambda: _run(api, run["id"])["state"])
    finally:
        worker.kill()  # the worker alone: the run lives on, the pipe it read the run's output from is gone
        worker.wait(30)
        assert worker.stdout is not None
        worker.stdout.close()
        (tmp_path / "go").touch()  # the run's process ends whatever happens here (it waits for this file)
    wait_until(lambda: _run(api, run["id"])["state"]["type"] in ("COMPLETED", "CRASHED", "FAILED"), 60,
               "the run to end", seen=lambda: _run(api, run["id"])["state"])
    state = _run(api, run["id"])["state"]
    if outlive:
        assert state["type"] == "COMPLETED", state
        assert (tmp_path / "done").exists()
        wait_until(lambda: sum("takes the window over" in m for m in _logs(api, run["id"])) == 3, 30,
                   "its log lines to reach the API", seen=lambda: _logs(api, run["id"]))
    else:  # what every practiceweek flow did before: the first log line after the worker's death ends it
        assert state["type"] == "CRASHED" and "system exit" in state["message"], state
        assert not (tmp_path / "done").exists()
    assert worker.returncode == -signal.SIGKILL

"""The alert-operators automation on the test's own real Prefect server: every event it expects starts an
alert-operators run, including Prefect's own (a late flow run, a pool or deployment no worker polls), whose
payload has no ``reason`` and whose resource may have no name. Prefect renders each single-expression
parameter through ``tojson``; an undefined value then made the action fail ("InvalidJinja" in the server's
log), and the operators were told nothing about the runs that were late."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from tests.helpers import wait_until

LATE_RUN = str(uuid.uuid4())
EVENTS = [  # (event, resource): what Prefect itself emits, with no payload
    ("prefect.flow-run.Late", {"prefect.resource.id": f"prefect.flow-run.{LATE_RUN}",
                               "prefect.resource.name": "Mon 24 Jun 08:00 · hscp-lfr-2024 · 5 publications"}),
    ("prefect.work-pool.not-ready", {"prefect.resource.id": f"prefect.work-pool.{uuid.uuid4()}"}),
]


def _alert_runs(api: str) -> list[dict[str, Any]]:
    body = {"flows": {"name": {"any_": ["alert-operators"]}}, "limit": 20}
    return list(httpx.post(f"{api}/flow_runs/filter", json=body, timeout=30).json())


def _automations_ready(api: str) -> bool:
    found = httpx.post(f"{api}/automations/filter", json={}, timeout=30).json()
    return any(a["name"] == "alert operators" for a in found)


def test_prefects_own_events_start_an_alert_run_with_what_they_say(
    on_own_server: object, prefect_env: dict[str, str]
) -> None:
    api = prefect_env["PREFECT_API_URL"]
    wait_until(lambda: _automations_ready(api), 30, "the alert automation")
    now = dt.datetime.now(dt.UTC).isoformat()
    events = [{"id": str(uuid.uuid4()), "occurred": now, "event": name, "resource": resource, "payload": {}}
              for name, resource in EVENTS]
    assert httpx.post(f"{api}/events", json=events, timeout=30).status_code == 204

    ours = {resource["prefect.resource.id"] for _, resource in EVENTS}  # (the server may emit others)

    def started() -> dict[str, dict[str, Any]]:
        runs = [r["parameters"] for r in _alert_runs(api)]
        return {p["publication"]: p for p in runs if p.get("publication") in ours}

    wait_until(lambda: len(started()) == len(EVENTS), 60, "an alert-operators run per event",
               seen=lambda: [r["parameters"] for r in _alert_runs(api)])
    late, pool = (started()[resource["prefect.resource.id"]] for _, resource in EVENTS)
    assert late["event"] == "prefect.flow-run.Late" and late["reason"] == ""
    assert late["name"] == EVENTS[0][1]["prefect.resource.name"]
    assert pool["event"] == "prefect.work-pool.not-ready" and pool["reason"] == pool["name"] == ""

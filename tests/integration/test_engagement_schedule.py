"""collect-engagement's interval schedule (the safety net that reads engagement nobody scheduled) gets its
runs from Prefect's scheduler on the test's own real server. With SQLAlchemy 2.1 the scheduler of Prefect
3.8.8 failed on every loop ("Can't evaluate bulk DML statement") and the safety net never ran; pyproject
keeps SQLAlchemy below 2.1."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.helpers import wait_until


def _engagement_runs(api: str) -> list[dict[str, Any]]:
    body = {"flows": {"name": {"any_": ["collect-engagement"]}}, "limit": 50}
    return list(httpx.post(f"{api}/flow_runs/filter", json=body, timeout=30).json())


def test_the_engagement_safety_net_is_scheduled_by_prefect(prefect_env: dict[str, str]) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.operators.engagement import SAFETY_NET_S
    from flows.serving.deployments import register

    api = prefect_env["PREFECT_API_URL"]
    with temporary_settings(updates={PREFECT_API_URL: api}):
        register()
    wait_until(lambda: len(_engagement_runs(api)) >= 2, 60, "the scheduler's collect-engagement runs",
               seen=lambda: _engagement_runs(api))
    runs = sorted(r["expected_start_time"] for r in _engagement_runs(api) if r["state_type"] == "SCHEDULED")
    gaps = {(datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()
            for a, b in zip(runs, runs[1:], strict=False)}
    assert gaps == {SAFETY_NET_S}, runs

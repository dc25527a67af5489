"""The collect-engagement flow on a real Prefect server: it plans the readings of what went out, takes
those due, and leaves a scheduled run (visible in the UI) at each coming reading time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ledger import Ledger, Planned
from tests.helpers import prefect_in_this_process

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_collection_schedules_its_next_runs(prefect_env: dict[str, str], tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    from flows.operators.engagement import MARKS, collect_engagement
    from flows.runtime import process
    from flows.runtime.names import ROLES
    from flows.serving.deployments import register

    Path(prefect_env["PRACTICEWEEK_STATE"]).mkdir(parents=True, exist_ok=True)
    process.reset()
    led = Ledger(prefect_env["PRACTICEWEEK_LEDGER_URL"])
    led.set_campaign("c", str(tmp_path / "c.yaml"))
    now = time.time()
    led.apply("c", [Planned("c/mon/x/daily", "c", "mon", "x", "outbox", "post", "f", now, now, 60.0,
                            snapshot="{}")], now=now)
    assert led.claim("c/mon/x/daily") and led.mark_sent("c/mon/x/daily", "r-1")
    # as if it went out two hours ago: its +1 h reading is due, +1 d and +7 d are to come
    assert led.add_readings("c/mon/x/daily", {mark: now - 3600 + s for mark, s in MARKS}) == len(MARKS)
    with prefect_in_this_process(prefect_env["PREFECT_API_URL"]):
        register()
        result = collect_engagement()
        assert result["planned"] == 0 and result["readings"] == 1 and result["scheduled"] == 2

        async def scheduled() -> list[str]:
            async with get_client() as client:
                runs = await client.read_flow_runs(
                    deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[ROLES["engagement"]])),
                    sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=200)  # FastAPI 0.154 refuses nulls
                return [r.name for r in runs
                        if r.name.startswith("engagement ") and r.state_type.value == "SCHEDULED"]

        names = asyncio.run(scheduled())
    process.reset()
    assert len(names) >= 2, names  # +1 d and +7 d, as runs the operators can see coming
    (reading,) = [r for r in led.readings("c") if r.mark == "1h"]
    assert reading.state == "unavailable" and reading.reason == "outbox does not report engagement"

"""Is a window's run that has not started lost, or only waiting for a busy worker?

Healing presumes a scheduled window run lost when it has not started some seconds after its time, and
schedules a new generation. On a machine too busy to start runs on time (a burst, a test suite, a host
catching up after a freeze) the first run is not lost: the process that polls its queue is alive and takes
it as soon as it can. A new generation would then wait beside it on the same poller, start after it, find
the window taken and end with nothing done, or be cancelled when the week ends: a Cancelled run in the
operators' view for a week that went well.

So a run is only waiting, and kept, while Prefect still has it Scheduled, Pending or Running and something
polled its work queue (a worker) or its deployment (a serving process) within ``LIVE_POLL_S``. A dead worker
or serving process stops polling, so its runs are presumed lost within seconds, as before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterIdempotencyKey,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound

LIVE_POLL_S = 20.0  # a poller that asked for work this recently is alive (they poll every 2-10 s)
NOT_STARTED = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING]  # Running: before its first beat


def window_run_key(ledger_key: str, run_key: str, lane: int) -> str:
    """The idempotency key of a window lane's run: one run per generation (or standby number) and lane."""
    return f"window:{ledger_key}:{run_key}" + (f":lane-{lane}" * bool(lane))


def run_waits(ledger_key: str, start: float, lane: int, gen: int, now: float) -> bool:
    """Whether generation ``gen`` of window ``start``'s lane is on the server, not started and not ended,
    on a queue (or deployment) something alive polls: a run that will start, only late."""
    key = window_run_key(ledger_key, f"{int(start)}:{gen}", lane)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                idempotency_key=FlowRunFilterIdempotencyKey(any_=[key]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=NOT_STARTED)),
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,  # None is sent as null, which the API refuses
            limit=1,
            offset=0,
        )
        return bool(runs) and _polled_since(client, runs[0], now - LIVE_POLL_S)


def _polled_since(client: Any, run: Any, since: float) -> bool:
    """Whether the poller of ``run`` (its work queue's workers, or its deployment's serving process) asked
    the server for work after ``since`` (a POSIX time)."""
    try:
        if run.work_pool_name and run.work_queue_name:
            polled = client.read_work_queue_by_name(run.work_queue_name, work_pool_name=run.work_pool_name)
        elif run.deployment_id is not None:
            polled = client.read_deployment(run.deployment_id)
        else:
            return False
    except ObjectNotFound:  # the queue or deployment was removed: nothing will take the run
        return False
    last: dt.datetime | None = polled.last_polled
    return last is not None and last.timestamp() > since

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

One run would wait for ever: a worker killed while handing a run to a process of its own leaves it Pending
(no worker takes a Pending run) with no process, and the worker started in its place polls the same queue.
``hand_back_stranded`` puts such a run back to Scheduled, for the next poll to take. (Were a worker to start
the run's process and fail to record it, a second process could start for the run; the ledger's claims and
fences keep that one from publishing anything twice.)
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterIdempotencyKey,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound
from prefect.states import Scheduled

from ..runtime.names import DEPLOYMENTS

LIVE_POLL_S = 20.0  # a poller that asked for work this recently is alive (they poll every 2-10 s)
STRANDED_S = 20.0  # Pending this long with no process started for it: its worker died handing it over
WINDOW_FLOW = DEPLOYMENTS["window"].split("/")[0]  # the flow every window run is a run of
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


def stranded(run: Any, now: float, after_s: float = STRANDED_S) -> bool:
    """Whether ``run`` was left by a worker killed while handing it over: Pending for ``after_s`` or more,
    taken from a work pool's queue, and no process started for it (a worker records the process as the run's
    ``infrastructure_pid`` the moment it starts it). A served run (no pool) is never stranded so: a serving
    process records no process id, and its runs stay Pending while their process imports."""
    state = run.state
    return (state is not None and state.type == StateType.PENDING and bool(run.work_pool_name)
            and not run.infrastructure_pid and state.timestamp.timestamp() <= now - after_s)


def hand_back_stranded(now: float | None = None, after_s: float = STRANDED_S) -> list[str]:
    """Put each stranded window run (:func:`stranded`) back to Scheduled, due now, so a worker polling its
    queue takes it at once. Returns their names."""
    now = time.time() if now is None else now
    with get_client(sync_client=True) as client:
        pending = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[WINDOW_FLOW])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.PENDING]))),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,  # None is sent as null, which the API refuses
            limit=200,
            offset=0,
        )
        handed = []
        for run in pending:
            if stranded(run, now, after_s):
                client.set_flow_run_state(run.id, Scheduled(
                    scheduled_time=dt.datetime.now(dt.UTC),
                    message="handed back: the worker that took it stopped before starting its process",
                ), force=True)
                handed.append(run.name)
        return handed

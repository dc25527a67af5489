"""Which Pending window runs healing hands back (``flows.plan.waiting.stranded``): only one taken from a work
pool's queue, Pending for ``STRANDED_S`` or more, with no process recorded for it."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from prefect.client.schemas.objects import StateType

from flows.plan.waiting import STRANDED_S, stranded

NOW = 1_800_000_000.0


def _run(state: StateType, pending_s: float, pool: str | None = "pool", pid: str | None = None) -> object:
    since = dt.datetime.fromtimestamp(NOW - pending_s, dt.UTC)
    return SimpleNamespace(state=SimpleNamespace(type=state, timestamp=since), work_pool_name=pool,
                           infrastructure_pid=pid)


@pytest.mark.parametrize(("run", "expected"), [
    (_run(StateType.PENDING, STRANDED_S), True),  # its worker died before starting a process
    (_run(StateType.PENDING, STRANDED_S + 600), True),
    (_run(StateType.PENDING, STRANDED_S - 1), False),  # its worker may still be starting it
    (_run(StateType.PENDING, STRANDED_S + 600, pid="host:4242"), False),  # its process runs
    (_run(StateType.PENDING, STRANDED_S + 600, pool=None), False),  # served: no process id is recorded
    (_run(StateType.SCHEDULED, STRANDED_S + 600), False),
    (_run(StateType.RUNNING, STRANDED_S + 600), False),
    (SimpleNamespace(state=None, work_pool_name="pool", infrastructure_pid=None), False),
])
def test_a_run_is_stranded_only_when_pending_from_a_pool_with_no_process(run: object, expected: bool) -> None:
    assert stranded(run, NOW) is expected

"""Is a worker polling the work pool? Prefect's own answer, read from the server.

Prefect's foreman marks a worker offline once it has sent no heartbeat for three of its heartbeat intervals,
and a pool with no online worker ``NOT_READY`` (emitting ``prefect.work-pool.not-ready``). The
``alert-operators`` deployment runs on that same pool, so with no worker it cannot run to say so: the heal
round, which runs in the supervisor and needs no worker, reads the pool's status instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import WorkPoolStatus
from prefect.exceptions import ObjectNotFound

from ..runtime.names import DEPLOYMENTS


@dataclass(frozen=True)
class IdlePool:
    """A work pool no worker polls."""

    name: str
    resource: str  # the pool's event resource: prefect.work-pool.<id>
    last_heartbeat: float  # the latest heartbeat of any of its workers (0: none ever)


def idle_pool(name: str | None = None) -> IdlePool | None:
    """The pool ``name`` (default: the publish-window deployment's) if Prefect marks it NOT_READY; None when
    a worker polls it, an operator paused it, or the deployments are served by a process (no pool)."""
    with get_client(sync_client=True) as client:
        if name is None:
            try:
                name = client.read_deployment_by_name(DEPLOYMENTS["window"]).work_pool_name
            except ObjectNotFound:
                return None
        if not name:
            return None
        pool = client.read_work_pool(name)
        if pool.status != WorkPoolStatus.NOT_READY:
            return None
        workers = client.read_workers_for_work_pool(name, limit=200, offset=0)  # FastAPI 0.154 refuses null
    beats = [w.last_heartbeat_time.timestamp() for w in workers if w.last_heartbeat_time]
    return IdlePool(name, f"prefect.work-pool.{pool.id}", max(beats, default=0.0))

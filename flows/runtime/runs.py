"""Naming the flow run in progress after what it does, so operators read the UI at a glance."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext, get_run_context


def name_this_run(name: str, tags: list[str]) -> None:
    """Rename and tag the current flow run (nothing outside a flow run; never raises: names are cosmetic)."""
    try:
        run_context = get_run_context()
        flow_run = run_context.flow_run if isinstance(run_context, FlowRunContext) else None
        if flow_run is None:  # not a flow run (a test calling the flow's function, a task)
            return
        every = sorted(set(flow_run.tags) | set(tags))
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, name=name[:200], tags=every)
        flow_run.tags = every  # a later rename keeps them (approval per partner tags each decision)
    except Exception:  # noqa: BLE001 - names are cosmetic
        pass

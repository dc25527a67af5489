"""Events operators and automations see: ``practiceweek.publication.<kind>`` with the campaign, day and
channel as related resources; ``practiceweek.campaign.approved|rejected`` for an approver's decision.

They are handed to Prefect by one background thread of the process, in the order they happened, with the
time they happened and in the context of the run that emitted them: Prefect's events worker takes one
lock per event, and a burst's publish tasks queued on it (in a 1,200-publication burst, over a third of
their time). While publications are still going out (an event emitted in the last ``LULL_S``), the thread
waits for a lull, up to ``HOLD_S`` after an event was emitted: in a burst the sends get the interpreter
first, and the events follow seconds later with the time they happened. ``flush`` waits until every event
is handed over (at the end of a window run or a schedule run, and at the process's exit).

Prefect relates an event to the run that emitted it (its flow run, flow, deployment, task run) and to
every tag of that run. A window run is tagged with each campaign it publishes (``names.tags_for``), up to
80 (more: ``campaigns:many``), so each publication's event carried as many tags, a row each in the
server's ``event_resources`` and most of the server's CPU per publication (bench/RESULTS.md, issue 28). A
publication's event carries the run, but of its tags only ``practiceweek`` and its own campaign's.
"""

from __future__ import annotations

import atexit
import contextvars
import datetime as dt
import queue
import threading
import time
from typing import Any

from prefect.context import FlowRunContext
from prefect.events import emit_event

from ledger import Decision, Row

from . import cpu

LULL_S = 0.2  # no event emitted for this long: the burst is over, or there was none
HOLD_S = 10.0  # an event waits for a lull at most this long after it was emitted

Pending = tuple[contextvars.Context, str, Row, dict[str, Any], dt.datetime, float]
_pending: queue.Queue[Pending] = queue.Queue()
_sender: threading.Thread | None = None
_sender_lock = threading.Lock()
_last_emitted = [0.0]  # time.monotonic() of the last ``emit``


def emit(kind: str, row: Row, **payload: Any) -> None:
    """Emit ``practiceweek.publication.<kind>`` for ``row`` (from the background thread); never raises."""
    global _sender
    _last_emitted[0] = now = time.monotonic()
    _pending.put((contextvars.copy_context(), kind, row, payload, dt.datetime.now(dt.UTC), now))
    with _sender_lock:
        if _sender is None or not _sender.is_alive():
            _sender = threading.Thread(target=_send_pending, name="practiceweek-events", daemon=True)
            _sender.start()


def flush(timeout: float = 30.0) -> bool:
    """Wait (at most ``timeout`` s) until every event emitted so far is handed to Prefect."""
    waiter = threading.Thread(target=_pending.join, daemon=True)
    waiter.start()
    waiter.join(timeout)
    return not waiter.is_alive()


atexit.register(flush, 10.0)


def _send_pending() -> None:
    while True:
        context, kind, row, payload, occurred, emitted = _pending.get()
        try:
            while (wait := hold_for(time.monotonic(), _last_emitted[0], emitted)) > 0:
                time.sleep(wait)
            # in the emitter's context: Prefect relates the event to its flow and task run from there
            context.run(_send, kind, row, payload, occurred)
        finally:
            _pending.task_done()


def hold_for(now: float, last_emitted: float, emitted: float) -> float:
    """How long an event emitted at ``emitted`` waits before it is handed over (0: now), at ``now``, the
    last event having been emitted at ``last_emitted``: until a lull of ``LULL_S``, at most ``HOLD_S``."""
    return max(0.0, min(last_emitted + LULL_S, emitted + HOLD_S) - now)


def _only_its_tags(campaign: str) -> None:
    """In the (copied) context of an event about ``campaign``'s publication: its run as Prefect relates it,
    with the tags ``practiceweek`` and ``campaign:<id>`` only, not every campaign of the run."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    tags = [t for t in ctx.flow_run.tags if t in ("practiceweek", f"campaign:{campaign}")]
    if tags != list(ctx.flow_run.tags):
        lean = ctx.flow_run.model_copy(update={"tags": tags})
        FlowRunContext.__var__.set(ctx.model_copy(update={"flow_run": lean}))


def _send(kind: str, row: Row, payload: dict[str, Any], occurred: dt.datetime) -> None:
    try:
        _only_its_tags(row.campaign)
        emit_event(
            event=f"practiceweek.publication.{kind}",
            occurred=occurred,
            resource={
                "prefect.resource.id": f"practiceweek.publication.{row.id}",
                "prefect.resource.name": row.title[:200],
                "practiceweek.campaign": row.campaign,
            },
            related=[
                {
                    "prefect.resource.id": f"practiceweek.campaign.{row.campaign}",
                    "prefect.resource.role": "campaign",
                },
                {
                    "prefect.resource.id": f"practiceweek.day.{row.campaign}.{row.day}",
                    "prefect.resource.role": "day",
                },
                {
                    "prefect.resource.id": f"practiceweek.channel.{row.channel}",
                    "prefect.resource.role": "channel",
                },
            ],
            payload={
                "publication": row.id,
                "campaign": row.campaign,
                "day": row.day,
                "channel": row.channel,
                "scheduled_at": dt.datetime.fromtimestamp(row.scheduled_at, dt.UTC).isoformat(),
                **payload,
            },
        )
        cpu.count("events")
    except Exception:  # noqa: BLE001 - events are for people; never block a publication on them
        pass


def emit_campaign(kind: str, cid: str, name: str, decision: Decision) -> None:
    """Emit ``practiceweek.campaign.<kind>`` (approved, rejected) with who, when and why; never raises."""
    try:
        emit_event(
            event=f"practiceweek.campaign.{kind}",
            resource={"prefect.resource.id": f"practiceweek.campaign.{cid}", "prefect.resource.name": name},
            payload={
                "campaign": cid,
                "approver": decision.approver,
                "comment": decision.comment,
                "decided_at": dt.datetime.fromtimestamp(decision.decided_at, dt.UTC).isoformat(),
                "flow_run_id": decision.flow_run_id,
                **({"partner": decision.partner} if decision.partner else {}),  # approval per partner
            },
        )
    except Exception:  # noqa: BLE001 - events are for people; the ledger holds the decision
        pass

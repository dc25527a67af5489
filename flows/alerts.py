"""``alert_operators``: run by an automation when a publication fails or is skipped."""

from __future__ import annotations

import datetime as dt
import os

from prefect import flow, get_run_logger

from practiceweek.artifacts import Rendered
from practiceweek.planner import Publication

from . import _runtime as rt


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


@flow(name="alert-operators", log_prints=True, persist_result=False)
def alert_operators(event: str, publication: str, reason: str = "") -> str:
    """Tell the operators (PRACTICEWEEK_OPERATORS_CONNECTOR, default outbox) what went wrong."""
    log = get_run_logger()
    pid = publication.removeprefix("practiceweek.publication.")
    what = event.rsplit(".", 1)[-1]
    row = rt.ledger().get(pid)
    campaign = row.campaign if row else pid.split("/", 1)[0]
    stamp = dt.datetime.now(dt.UTC)
    subject = f"[practiceweek] {what}: {pid}"
    text = "\n".join(
        [
            f"Publication {pid} was {what}.",
            f"Reason: {reason or (row.error if row else '') or 'not given'}",
            f"Scheduled for: {_when(row.scheduled_at) if row else '?'}",
            f"Attempts: {row.attempts if row else '?'}",
            "Check the flow run in the Prefect UI, fix the cause, then run",
            "`practiceweek schedule FILE` again.",
        ]
    )
    slot = f"alert-{what}-{rt.artifact_key(pid)}-{stamp:%H%M%S%f}"
    pub = Publication(
        id=f"operators/{pid}/{what}",
        campaign="operators",
        day=campaign,
        date=stamp.date(),
        channel="email",
        slot=slot,
        connector="outbox",
        at=stamp,
        missed_window=dt.timedelta(hours=1),
        title=subject,
        fingerprint=slot,
    )
    name = os.environ.get("PRACTICEWEEK_OPERATORS_CONNECTOR", "outbox")
    receipt = rt.connector(name).publish(Rendered(publication=pub, subject=subject, text=text))
    log.warning("operators alerted through %s: %s", name, subject)
    return receipt.remote_id

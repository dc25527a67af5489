"""Operators' alerts: every failure, skip, stopped connector and rejected week, sent from the ledger.

The ledger records an alert in the same transaction as the failure it reports, so an alert cannot be
lost with a crashed process or a Prefect server that was down when the failure happened. Whoever comes
next sends what is unsent: the publishing task right after the failure, every publish-window run, the
``heal`` sweep, and the ``alert-operators`` flow (triggered by the failure events). An alert is claimed
before it is sent, so two sweepers do not send it twice; one claimed by a process that then died is sent
again after its lease (at least once; the outbox file of a repeated alert replaces the first).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from prefect import flow, get_run_logger

from ledger import Alert, Row, Stopped, Verdict
from practiceweek.accounts import parse_route, route_label
from practiceweek.artifacts import Rendered
from practiceweek.planner import Publication
from practiceweek.settings import settings

from ..runtime import names, process
from ..runtime.logs import outlive_lost_output
from .pools import IdlePool, idle_pool

RESUME_HINT = (
    "Fix the credentials or permissions named above, then run `practiceweek connectors resume {name}`: "
    "publications held meanwhile go out if their window is still open, the others are skipped and "
    "reported."
)


def held_too_long(row: Row, stopped: Stopped) -> str:
    """Why a publication held by a stopped connector (for its account) was skipped."""
    return f"missed its window while the {route_label(*row.route)} connector was stopped: {stopped.reason}"


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%a %d %b %Y %H:%M:%S UTC")


def alert_text(alert: Alert) -> str:
    """What the operators read: what happened, why, and what to do."""
    if alert.kind == "connector-stopped":
        name = alert.connector or "?"  # connector@account for a campaign's own account
        connector, account = parse_route(name)
        which = f" for the account in Prefect block '{account}'" if account else ""
        return "\n".join(
            [
                f"The {connector} connector{which} was stopped at {_when(alert.created_at)}: the provider "
                "refused its credentials or permissions.",
                f"Provider's answer: {alert.reason}",
                "Nothing more is sent through it; other connectors and accounts carry on.",
                RESUME_HINT.format(name=name),
            ]
        )
    if alert.kind == Verdict.REJECTED:  # the week's whole message, written when it was rejected
        return alert.reason
    if alert.publication is None:  # the infrastructure: an idle pool, a run that has not started
        return f"At {_when(alert.created_at)}, {alert.reason}."
    row = process.ledger().get(alert.publication or "")
    lines = [
        f"Publication {alert.publication} was {alert.kind} at {_when(alert.created_at)}.",
        f"Reason: {alert.reason or 'not given'}",
    ]
    if row is not None:
        lines += [
            f"Campaign: {row.campaign}; day: {row.day}; channel: {row.channel} "
            f"(connector {route_label(*row.route)})",
            f"Scheduled for: {_when(row.scheduled_at)}; attempts: {row.attempts}",
        ]
    lines += [
        "Check its task run in the Prefect UI (search for the publication id), fix the cause, then run",
        "`practiceweek schedule FILE` again: what is still open is published, what went out is left alone.",
    ]
    return "\n".join(lines)


def send_alert(alert: Alert) -> str:
    """Send one alert through PRACTICEWEEK_OPERATORS_CONNECTOR (default: the outbox)."""
    stamp = dt.datetime.fromtimestamp(alert.created_at, dt.UTC)
    rejected = alert.kind == Verdict.REJECTED  # keyed rejected:<campaign>:<time>
    target = alert.publication or alert.connector or (alert.key.split(":")[1] if rejected else "practiceweek")
    campaign = (alert.publication or "").split("/", 1)[0] or ("approvals" if rejected else "connectors")
    slot = f"alert-{alert.kind}-{names.artifact_key(target)}-{stamp:%Y%m%d%H%M%S%f}"
    pub = Publication(
        id=f"operators/{target}/{alert.kind}",
        campaign="operators",
        day=campaign,
        date=stamp.date(),
        channel="email",
        slot=slot,
        connector="outbox",
        at=stamp,
        missed_window=dt.timedelta(hours=1),
        title=alert.subject,
        fingerprint=slot,
    )
    name = settings().operators_connector
    rendered = Rendered(publication=pub, subject=alert.subject, text=alert_text(alert))
    receipt = process.connector(name).publish(rendered)
    return f"{name}:{receipt.remote_id}"


def send_due_alerts(limit: int = 200, log: Any = None) -> int:
    """Send every unsent alert in the ledger (each claimed first). Returns how many were sent."""
    led = process.ledger()
    sent = 0
    for alert in led.alerts(unsent_only=True)[:limit]:
        if not led.claim_alert(alert.key):
            continue
        try:
            receipt = send_alert(alert)
        except Exception as exc:  # noqa: BLE001 - left unsent: the next sweep tries again after the lease
            if log is not None:
                log.error("could not alert the operators about %s: %s", alert.key, exc)
            continue
        led.alert_sent(alert.key, receipt)
        sent += 1
        if log is not None:
            log.warning("operators alerted: %s", alert.subject)
    return sent


# Prefect's own events that mean publications are about to be late: → (alert kind, what operators read)
INFRASTRUCTURE_EVENTS = {
    "prefect.flow-run.Late": (
        "window-late",
        "the window run {name} has not started by its time: check that a worker or `practiceweek run` "
        "is serving the deployments",
    ),
    "prefect.work-pool.not-ready": (
        "no-worker",
        "no worker is polling the work pool {name}: start one (`prefect worker start --pool {name}`) or "
        "publications will not go out",
    ),
    "prefect.deployment.not-ready": (
        "not-served",
        "nothing is serving the deployment {name}: start `practiceweek run` or the production workers",
    ),
}
LATE_EVENT = "practiceweek.publication.late"
POOL_EVENT = "prefect.work-pool.not-ready"


def record_idle_pool(pool: IdlePool) -> bool:
    """One alert per pool and outage (keyed by its workers' last heartbeat, so the heal round that finds the
    pool idle and the triggered flow that runs once a worker is back do not both send one)."""
    kind, text = INFRASTRUCTURE_EVENTS[POOL_EVENT]
    since = f"; its last worker heartbeat was at {_when(pool.last_heartbeat)}" if pool.last_heartbeat else ""
    message = text.format(name=pool.name) + since
    return process.ledger().record_alert(
        f"{kind}:{pool.resource}:{pool.last_heartbeat:.0f}", kind, f"[practiceweek] {message.split(':')[0]}",
        message,
    )


def record_event_alert(event: str, resource: str, name: str, reason: str, now: float | None = None) -> bool:
    """Turn a triggering event that no failure recorded into an operators' alert (once per resource and
    minute, so a flapping pool does not flood them). False if the event needs no alert of its own."""
    minute = int((time.time() if now is None else now) // 60)
    if event == LATE_EVENT:
        publication = resource.removeprefix("practiceweek.publication.")
        subject = f"[practiceweek] late: {publication}"
        return process.ledger().record_alert(
            f"late:{publication}", "late", subject, reason or "went out late", publication=publication
        )
    if event not in INFRASTRUCTURE_EVENTS:
        return False
    if event == POOL_EVENT:  # only if it is still idle: this flow may run once a worker is back
        pool = idle_pool(name or None)
        return pool is not None and record_idle_pool(pool)
    kind, text = INFRASTRUCTURE_EVENTS[event]
    message = text.format(name=name or resource)
    return process.ledger().record_alert(
        f"{kind}:{resource}:{minute}", kind, f"[practiceweek] {message.split(':')[0]}", message
    )


@flow(name="alert-operators", log_prints=True, persist_result=False)
def alert_operators(event: str = "", publication: str = "", reason: str = "", name: str = "") -> int:
    """Alert the operators: record what the triggering event says (lateness, an idle pool, a run that
    has not started) and send every unsent alert in the ledger (failures are recorded when they happen)."""
    outlive_lost_output()
    record_event_alert(event, publication, name, reason)
    return send_due_alerts(log=get_run_logger())

"""What one ``publish`` task can end with, and how the ledger's failures are reported to operators."""

from __future__ import annotations

from enum import StrEnum

from prefect.artifacts import create_markdown_artifact

from ledger import Row
from practiceweek.accounts import route_label

from ..operators.alerts import send_due_alerts
from ..runtime import events, names, process
from ..runtime.logs import run_logger


class Outcome(StrEnum):
    """The result of one ``publish`` task."""

    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    HELD = "held"  # its connector (account) is stopped: it waits for `practiceweek connectors resume`
    MOVED = "moved"  # re-planned to later: a later window run publishes it
    TAKEN = "taken"  # another worker has it (sending, or being reconciled)
    FENCED = "fenced"  # its window run was taken over (it had stopped beating): its new owner publishes it
    UNKNOWN_PUBLICATION = "unknown-publication"  # not in the ledger


class Ended(Exception):
    """A step of the ``publish`` task ends the task here: ``outcome`` is how (the task returns it). Every
    step ends the same way, so each returns only what the next step needs."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


def outcome_of(state: str) -> Outcome:
    """The outcome a task reports for a publication the ledger already holds in ``state``."""
    try:
        outcome = Outcome(state)
    except ValueError:
        return Outcome.TAKEN
    return outcome if outcome in (Outcome.SENT, Outcome.FAILED, Outcome.SKIPPED, Outcome.CANCELLED) else (
        Outcome.TAKEN
    )


def alert_now() -> None:
    """Send the alert the ledger just recorded (a window run or heal sends it later if this fails)."""
    try:
        send_due_alerts(log=run_logger())
    except Exception as exc:  # noqa: BLE001 - recorded in the ledger: the next sweep sends it
        run_logger().warning("operators' alert left for the next sweep: %s", exc)


def skip(row: Row, reason: str) -> Outcome:
    """Skip ``row`` (if still pending) and tell the operators why."""
    if process.ledger().mark_skipped(row.id, reason):
        run_logger().warning("skipped %s: %s", row.id, reason)
        events.emit("skipped", row, reason=reason)
        alert_now()
    return Outcome.SKIPPED


def fail(row: Row, reason: str) -> Outcome:
    """Record ``row`` as failed, keep the provider's answer for the operators, and alert them."""
    if process.ledger().mark_failed(row.id, reason):
        events.emit("failed", row, reason=reason)
        try:
            create_markdown_artifact(
                markdown=f"### {row.id} failed\n\n{row.title}\n\n```\n{reason[:5000]}\n```",
                key=names.artifact_key(f"failure-{row.id}"),
                description=f"Why {row.id} failed (the provider's answer)",
            )
        except Exception:  # noqa: BLE001 - the alert carries the reason too
            pass
        alert_now()
    return Outcome.FAILED


def stop_connector(row: Row, exc: Exception) -> Outcome:
    """The provider refused the credentials of the row's connector and account: hold this publication and
    stop that account's connector (other accounts of the same connector carry on)."""
    label = route_label(*row.route)
    if process.ledger().stop_connector(row.connector, str(exc), getattr(exc, "status", None), row.account):
        run_logger().error(
            "stopped the %s connector: %s; its publications are held until "
            "`practiceweek connectors resume %s`",
            label,
            exc,
            label,
        )
        events.emit("connector-stopped", row, connector=row.connector, account=row.account, reason=str(exc))
        alert_now()
    return Outcome.HELD


def missed(row: Row, now: float) -> str:
    """Why a publication was skipped for lateness."""
    return (
        f"missed its window: due {now - row.scheduled_at:.0f} s ago, window {row.missed_window_s:.0f} s"
    )

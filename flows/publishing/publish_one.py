"""The ``publish`` task: one publication, exactly once, on time, in its channel's order.

Read top to bottom, a publication goes through four steps:

1. **guard**: not already out or taken, its connector (for its account) not stopped, still within its
   window, what it links to out first, and every earlier publication of its channel out (or skipped) first;
2. **content**: rendered (ahead of time where possible) from the plan the ledger holds;
3. **reconcile**: a publication whose outcome is unknown (a crash mid-send, an ambiguous answer) is
   looked up at the provider before anything is sent again;
4. **attempt** and **record**: claimed in the ledger (exactly one worker wins), sent, and recorded.

Each step returns what the next one needs; a step that ends the task (held, skipped, failed, moved, taken,
or found already out) raises ``Ended`` with the outcome, which the task returns.
"""

from __future__ import annotations

import threading
import time
from typing import Any, NoReturn

from prefect import task
from prefect.artifacts import create_markdown_artifact

from connectors.base import (
    Connector,
    OutcomeUnknownError,
    PermanentError,
    Receipt,
    RetryableError,
    refused_credentials,
)
from ledger import TERMINAL, WAITING, Fence, Row, State, worker_id
from practiceweek.accounts import route_label
from practiceweek.artifacts import Rendered
from practiceweek.settings import settings

from ..operators.alerts import held_too_long
from ..operators.status import refresh_after_publication
from ..plan import timing
from ..runtime import cpu, events, fencing, names, process
from ..runtime.logs import run_logger
from .content import content_for
from .outcomes import Ended, Outcome, fail, missed, outcome_of, skip, stop_connector

START_BY_S = 5.0  # a send begins at least this long before its window closes (its requests take seconds)


class TryAgain(Exception):
    """An I/O failure worth another attempt (the provider's delay has already been waited)."""


def _retry_on_io(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except TryAgain:
        return True
    except Exception:  # noqa: BLE001 - any other failure is final
        return False
    return False


@task(
    name="publish",
    retries=settings().max_attempts - 1,  # read when the worker process starts
    retry_delay_seconds=0,
    retry_condition_fn=_retry_on_io,
    task_run_name="{label}",
    persist_result=False,
    log_prints=True,
)
def publish(publication_id: str, record: bool = True, label: str = "", fence: Fence | None = None) -> Outcome:
    """Render and publish one publication, exactly once (a window run's task: under its ``fence``).
    Returns how it ended."""
    with cpu.part("task"):  # the task's own code; Prefect's engine around it is the rest of its thread
        try:
            return _publish(publication_id, record, fence)
        except Ended as ended:
            return ended.outcome
        finally:
            _task_ended(publication_id).set()  # what links to it looks again now


def _publish(publication_id: str, record: bool, fence: Fence | None = None) -> Outcome:
    with cpu.part("ledger.guard"):
        row = process.ledger().get(publication_id)
        if row is None:
            return Outcome.UNKNOWN_PUBLICATION
        row = guard(row)
    with cpu.part("content"):
        row, rendered = content_for(row)
    _sleep_until(row.scheduled_at)
    conn = _connector_for(row)
    if row.state == State.UNKNOWN:
        reconcile(row, conn, rendered)
    attempt(row, conn, rendered, fence)
    cpu.count("sent")
    if record:  # a crowded window records a summary and rewrites the plan tables once, at its end
        with cpu.part("readback"):
            if len(rendered.posts) > 1:
                _record_thread(row, rendered)
            refresh_after_publication(row.campaign)
    return Outcome.SENT


# --- 1. guard ------------------------------------------------------------------------------------------
def guard(row: Row) -> Row:
    """The row as it stands once it may go out (``Ended``: it does not go out now)."""
    if row.state in TERMINAL or row.state == State.SENDING:
        raise Ended(outcome_of(row.state))  # someone else has it
    _not_held(row)
    if time.time() > row.deadline and row.state != State.UNKNOWN:  # an unknown one is reconciled first
        raise Ended(skip(row, missed(row, time.time())))
    if row.depends_on:
        _wait_for_dependencies(row)
    ordered = _in_channel_order(row)
    if ordered.revision != row.revision and ordered.scheduled_at > time.time() + 1:
        raise Ended(Outcome.MOVED)  # re-planned while waiting: a later window run publishes it then
    return ordered


def _not_held(row: Row) -> None:
    """Ends HELD while the publication's connector is stopped for its account; skipped once its window
    passed."""
    stopped = process.ledger().stopped().get(row.route)
    if stopped is None:
        return
    if time.time() > row.deadline:
        raise Ended(skip(row, held_too_long(row, stopped)))
    raise Ended(Outcome.HELD)


def _wait_for_dependencies(row: Row) -> None:
    """Wait (until the publication's deadline, at most 60 s) for what it links to: woken as soon as a task
    of this process ends it (a crowded window's dependants start well ahead and wait here by the
    hundred), else looking again every second (another process publishes it)."""
    led = process.ledger()
    until = min(row.deadline, time.time() + 60)
    while time.time() < until:
        deps = [led.get(dep) for dep in row.depends_on]
        waiting = [d for d in deps if d is not None and d.state not in TERMINAL]
        if not waiting:
            return
        ended_here = _task_ended(waiting[0].id)
        if ended_here.is_set():  # its task ended without an end (held, or trying again): look later
            time.sleep(0.5)
        else:
            ended_here.wait(min(1.0, max(0.0, until - time.time())))


_ended: dict[str, threading.Event] = {}  # publication id → set when a task of this process ends it
_ended_lock = threading.Lock()


def _task_ended(publication_id: str) -> threading.Event:
    with _ended_lock:
        return _ended.setdefault(publication_id, threading.Event())


def _in_channel_order(row: Row) -> Row:
    """Keep each channel in its planned order: Tuesday's card before Wednesday's, after any outage.

    Waits while an earlier publication of the same campaign and channel is open. An earlier one still
    pending after its own deadline is skipped (and reported) here, so this one is not held for ever.
    Returns the row as it stands once nothing earlier is open; ends the task if it can no longer go out
    (its own window closed first, or a re-plan took it).
    """
    led = process.ledger()
    while True:
        now = time.time()
        waiting = []
        for earlier in led.earlier_open(row):
            if earlier.state == State.PENDING and earlier.deadline < now:
                skip(earlier, missed(earlier, now))
            else:
                waiting.append(earlier)
        current = led.get(row.id)
        if current is None or current.state not in WAITING:
            raise Ended(outcome_of((current or row).state))
        if current.revision != row.revision:
            row = current  # re-planned while waiting: its new time decides what is earlier
            continue
        if not waiting:
            return current
        if now > row.deadline:
            first = waiting[0]
            why = missed(row, now) + f"; it waited for the earlier {first.id} ({first.state})"
            raise Ended(skip(row, why))
        time.sleep(0.1)


def _sleep_until(at: float) -> None:
    delay = at - time.time()
    if delay > 0:
        time.sleep(delay)


def _connector_for(row: Row) -> Connector:
    try:
        return process.connector(*row.route)
    except PermanentError as exc:  # no credentials, or a connector that cannot be built
        if refused_credentials(exc):
            raise Ended(stop_connector(row, exc)) from None
        fail(row, str(exc))
        raise


# --- 3. reconcile ---------------------------------------------------------------------------------------
def reconcile(row: Row, conn: Connector, rendered: Rendered) -> None:
    """Ask the provider whether an 'unknown' publication went out. Returns: it did not, send it now; ends
    the task SENT if it did (or as it ends when it cannot be asked)."""
    try:
        receipt = conn.find(rendered)
    except (RetryableError, OutcomeUnknownError) as exc:
        raise TryAgain(f"could not reconcile {row.id}: {exc}") from None
    except PermanentError as exc:
        if refused_credentials(exc):
            raise Ended(stop_connector(row, exc)) from None
        fail(row, f"could not reconcile: {exc}")
        raise
    if receipt is not None:
        if process.ledger().mark_sent(
            row.id, receipt.remote_id, receipt.url, receipt.extra.get("join_url"),
            from_states=(State.UNKNOWN,),
        ):
            run_logger().info("reconciled %s: it had gone out (%s)", row.id, receipt.remote_id)
            events.emit("published", row, reconciled=True, url=receipt.url)
        raise Ended(Outcome.SENT)
    if not conn.can_find:  # SMTP, a bare webhook: ask a person
        raise Ended(fail(
            row,
            f"outcome unknown ({row.error or 'interrupted while sending'}) and {row.connector} cannot be "
            "checked: confirm with the recipients whether it arrived before sending it again",
        ))
    if time.time() > row.deadline:
        raise Ended(skip(row, missed(row, time.time()) + "; the provider confirmed it never arrived"))


# --- 4. attempt and record ------------------------------------------------------------------------------
def attempt(row: Row, conn: Connector, rendered: Rendered, fence: Fence | None = None) -> Receipt:
    """Claim the publication (exactly one worker wins; a window run's task only while its ``fence`` is
    current) and send it once, the fence checked again right before each request
    (``flows/runtime/fencing.py``); never begin a send so close to the end of its window (``START_BY_S``)
    that its requests would land after it."""
    led = process.ledger()
    if row.state == State.PENDING and time.time() > row.deadline - START_BY_S:
        why = missed(row, time.time()) + f"; too close to its end to begin ({START_BY_S:g} s)"
        raise Ended(skip(row, why))
    from_states = (State.UNKNOWN,) if row.state == State.UNKNOWN else (State.PENDING,)
    with cpu.part("ledger.claim"):
        claimed = led.claim(row.id, from_states=from_states, revision=row.revision, fence=fence)
    if not claimed:
        now_row = led.get(row.id)
        if fence is not None and not led.fence_current(fence):
            _fenced(row, "its claim was refused")
        if now_row is not None and now_row.state in WAITING:
            raise TryAgain(f"{row.id} was re-planned while it was being prepared")
        raise Ended(outcome_of((now_row or row).state))
    try:
        with fencing.holding(row.id, fence):
            fencing.check(led)
            with cpu.part("connector"):
                receipt = conn.publish(rendered)
    except fencing.Fenced:
        _fenced(row, "nothing was sent")
    except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded, then re-raised
        _after_failure(row, row.attempts + 1, exc)
    with cpu.part("ledger.record"):
        led.mark_sent(row.id, receipt.remote_id, receipt.url, receipt.extra.get("join_url"))
    late = time.time() - row.scheduled_at
    with cpu.part("prefect.log_events"):
        _say_published(row, receipt, late)
    return receipt


def _say_published(row: Row, receipt: Receipt, late: float) -> None:
    """The Logs tab's line and the events of a publication that went out."""
    run_logger().info(  # the Logs tab's line per publication: what went out, where, how late
        "published %s through %s, %.2f s after its time → %s",
        row.id, route_label(*row.route), late, receipt.url or receipt.remote_id,
    )
    events.emit("published", row, url=receipt.url, lateness_s=round(late, 3))
    if late > settings().late_after_s:
        events.emit("late", row, lateness_s=round(late, 3), reason=f"went out {late:.0f} s after its time")


def _fenced(row: Row, what: str) -> NoReturn:
    """This run's window was taken over while it held ``row``: its new owner reconciles and publishes it."""
    run_logger().warning(
        "%s: this run's window was taken over; %s (its new owner publishes it)", row.id, what
    )
    raise Ended(Outcome.FENCED)


def _after_failure(row: Row, attempt_no: int, exc: Exception) -> NoReturn:
    """Record a failed attempt by what it means: retry later, reconcile first, stop, or give up (each
    change only while this thread's claim stands: a fenced-out run never undoes its successor's)."""
    led, mine = process.ledger(), worker_id()
    if isinstance(exc, RetryableError):
        led.release(row.id, str(exc), claimant=mine)
        wait = exc.retry_after if exc.retry_after is not None else min(2 ** (attempt_no - 1), 30)
        if attempt_no >= settings().max_attempts or time.time() + wait > row.deadline:
            fail(row, f"gave up after {attempt_no} attempt(s): {exc}")
            raise exc
        run_logger().warning("%s: provider asked to retry in %.1f s: %s", row.id, wait, exc)
        timing.wait_before_retry(wait)
        raise TryAgain(str(exc)) from None
    if isinstance(exc, OutcomeUnknownError):
        led.mark_unknown(row.id, str(exc), claimant=mine)
        if attempt_no >= settings().max_attempts:
            fail(row, f"outcome unknown after {attempt_no} attempt(s): {exc}")
            raise exc
        timing.wait_before_retry(min(2 ** (attempt_no - 1), 15))
        raise TryAgain(str(exc)) from None
    if isinstance(exc, PermanentError) and refused_credentials(exc):
        led.release(row.id, str(exc), claimant=mine)  # not sent: it may go out once the connector is fixed
        raise Ended(stop_connector(row, exc)) from None
    if not isinstance(exc, PermanentError):
        led.mark_unknown(row.id, f"{type(exc).__name__}: {exc}", claimant=mine)  # reconcile before retrying
        fail(row, f"{type(exc).__name__}: {exc}")
        raise exc
    fail(row, str(exc))
    raise exc


def _record_thread(row: Row, rendered: Rendered) -> None:
    """A thread went out: the exact text of each of its posts, for the operator (the table has the rest)."""
    posts = "\n\n".join(f"**{i}/{len(rendered.posts)}**\n\n{p.text}" for i, p in enumerate(rendered.posts, 1))
    try:
        create_markdown_artifact(
            markdown=f"### {row.title}\n\n{posts}",
            key=names.artifact_key(f"thread-{row.id}"),
            description=f"The {len(rendered.posts)} posts of {row.id} as they went out",
        )
    except Exception as exc:  # noqa: BLE001 - the publication is out; the record is secondary
        run_logger().warning("could not record the thread of %s: %s", row.id, exc)

"""Publishing: the ``publish`` task (one publication) and the ``publish_window`` flow (one window of time).

A window run starts before its window opens (its start-up cost paid early), renders what is coming,
and submits each publication as its own task at the publication's own time. It publishes everything
the ledger holds as due and not yet out, so a moved publication or a missed run heals at the next run.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.context import get_run_context
from prefect.task_runners import ThreadPoolTaskRunner

from connectors.base import OutcomeUnknownError, PermanentError, RetryableError, refused_credentials
from ledger import TERMINAL, Row
from practiceweek.artifacts import Rendered

from . import _runtime as rt
from .alerts import send_due_alerts
from .heal import held_too_long

_prepared: dict[tuple[str, str], Rendered] = {}
_prepared_lock = threading.Lock()


REPLAN_WAIT_S = 20.0  # how long past its time a publication waits for the re-plan of an edited file


class TryAgain(Exception):
    """An I/O failure worth another attempt (the provider's delay has already been waited)."""


def _retry_on_io(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except TryAgain:
        return True
    except Exception:  # noqa: BLE001
        return False
    return False


def prepare(row: Row) -> Rendered | None:
    """Render a publication ahead of its time (only once what it depends on is out)."""
    led = rt.ledger()
    for dep in row.depends_on:
        d = led.get(dep)
        if d is not None and d.state not in TERMINAL:
            return None
    found = rt.publication_of(row)
    if found is None:
        return None
    rendered = rt.render(found[0], found[1], rt.context_for(row))
    with _prepared_lock:
        _prepared[(row.id, row.fingerprint)] = rendered
    return rendered


def _rendered(row: Row) -> Rendered | None:
    with _prepared_lock:
        ready = _prepared.pop((row.id, row.fingerprint), None)
    if ready is not None:
        return ready
    found = rt.publication_of(row)
    if found is None or found[1].fingerprint != row.fingerprint:
        return None
    return rt.render(found[0], found[1], rt.context_for(row))


def _rendered_as_scheduled(row: Row) -> Rendered | None:
    """Render the version of the file the ledger scheduled ``row`` from (its edit not re-planned yet)."""
    found = rt.scheduled_publication_of(row)
    if found is None:
        return None
    return rt.render(found[0], found[1], rt.context_for(row))


def _replanned(row: Row, wait_s: float = REPLAN_WAIT_S) -> Row | None:
    """The file changed under a scheduled publication: wait for its re-plan to reach the ledger.

    Waits at most ``wait_s`` past the publication's time (and never past its deadline). Returns the row as
    re-planned (None if it is no longer open) or, if no re-plan came, the row unchanged: the ledger's plan
    stands and the publication goes out as scheduled.
    """
    led = rt.ledger()
    until = min(row.deadline, max(row.scheduled_at, time.time()) + wait_s)
    while time.time() < until:
        now_row = led.get(row.id)
        if now_row is None or now_row.state not in ("pending", "unknown"):
            return None
        if now_row.revision != row.revision:
            return now_row
        time.sleep(0.25)
    return row


def _in_channel_order(row: Row) -> Row | str:
    """Keep each channel in its planned order: Tuesday's card before Wednesday's, after any outage.

    Waits while an earlier publication of the same campaign and channel is open. An earlier one still
    pending after its own deadline is skipped (and reported) here, so this one is not held for ever.
    Returns the row as it stands once nothing earlier is open, or the outcome if it can no longer go out
    (its own window closed first, or a re-plan took it).
    """
    led = rt.ledger()
    while True:
        now = time.time()
        waiting = []
        for earlier in led.earlier_open(row):
            if earlier.state == "pending" and earlier.deadline < now:
                _skip(earlier, _missed(earlier))
            else:
                waiting.append(earlier)
        current = led.get(row.id)
        if current is None or current.state not in ("pending", "unknown"):
            return (current or row).state
        if current.revision != row.revision:
            row = current  # re-planned while waiting: its new time decides what is earlier
            continue
        if not waiting:
            return current
        if now > row.deadline:
            first = waiting[0]
            return _skip(row, _missed(row) + f"; it waited for the earlier {first.id} ({first.state})")
        time.sleep(0.1)


def _wait_for_dependencies(row: Row) -> None:
    """Wait (until the publication's deadline, at most 60 s) for what it links to."""
    led = rt.ledger()
    until = min(row.deadline, time.time() + 60)
    while time.time() < until:
        open_deps = [
            d for d in (led.get(dep) for dep in row.depends_on) if d is not None and d.state not in TERMINAL
        ]
        if not open_deps:
            return
        time.sleep(0.2)


def _missed(row: Row) -> str:
    return (
        f"missed its window: due {time.time() - row.scheduled_at:.0f} s ago, "
        f"window {row.missed_window_s:.0f} s"
    )


def _alert_now() -> None:
    """Send the alert the ledger just recorded (a window run or heal sends it later if this fails)."""
    try:
        send_due_alerts(log=get_run_logger())
    except Exception as exc:  # noqa: BLE001 - recorded in the ledger: the next sweep sends it
        get_run_logger().warning("operators' alert left for the next sweep: %s", exc)


def _skip(row: Row, reason: str) -> str:
    if rt.ledger().mark_skipped(row.id, reason):
        get_run_logger().warning("skipped %s: %s", row.id, reason)
        rt.emit("skipped", row, reason=reason)
        _alert_now()
    return "skipped"


def _fail(row: Row, reason: str) -> None:
    if rt.ledger().mark_failed(row.id, reason):
        rt.emit("failed", row, reason=reason)
        _alert_now()


def _stop_connector(row: Row, exc: Exception) -> str:
    """The provider refused the connector's credentials: hold this publication and stop the connector."""
    led = rt.ledger()
    if led.stop_connector(row.connector, str(exc), getattr(exc, "status", None)):
        get_run_logger().error(
            "stopped the %s connector: %s; its publications are held until "
            "`practiceweek connectors resume %s`",
            row.connector,
            exc,
            row.connector,
        )
        rt.emit("connector-stopped", row, connector=row.connector, reason=str(exc))
        _alert_now()
    return "held"


def _held(row: Row) -> str | None:
    """``held`` while the publication's connector is stopped; skipped once its window has passed."""
    stopped = rt.ledger().stopped().get(row.connector)
    if stopped is None:
        return None
    if time.time() > row.deadline:
        return _skip(row, held_too_long(row, stopped))
    return "held"


def _record(row: Row, rendered: Rendered | None, url: str | None) -> None:
    """The operator's view of one publication: its content and a link to it."""
    try:
        if rendered is not None:
            body = rendered.text if len(rendered.text) < 20000 else rendered.text[:20000] + "\n\n…"
            create_markdown_artifact(
                markdown=f"### {rendered.subject}\n\n{body}",
                key=rt.artifact_key(f"content-{row.id}"),
                description=f"Rendered content of {row.id}",
            )
        if url:
            create_link_artifact(
                link=url,
                link_text=row.title[:200],
                key=rt.artifact_key(f"link-{row.id}"),
                description=f"Where {row.id} was published",
            )
    except Exception as exc:  # noqa: BLE001 - the publication is out; the record is secondary
        get_run_logger().warning("could not record artifacts for %s: %s", row.id, exc)


@task(
    name="publish",
    retries=rt.MAX_ATTEMPTS - 1,
    retry_delay_seconds=0,
    retry_condition_fn=_retry_on_io,
    task_run_name="{label}",
    persist_result=False,
    log_prints=True,
)
def publish(publication_id: str, record: bool = True, label: str = "") -> str:
    """Render and publish one publication, exactly once. Returns its final ledger state."""
    log = get_run_logger()
    led = rt.ledger()
    row = led.get(publication_id)
    if row is None:
        return "unknown-publication"
    if row.state in TERMINAL or row.state == "sending":
        return row.state  # someone else has it
    held = _held(row)
    if held is not None:
        return held
    if time.time() > row.deadline and row.state != "unknown":  # an unknown one is reconciled first
        return _skip(row, _missed(row))
    if row.depends_on:
        _wait_for_dependencies(row)
    ordered = _in_channel_order(row)  # earlier ones of this channel go out (or are skipped) first
    if isinstance(ordered, str):
        return ordered
    if ordered.revision != row.revision and ordered.scheduled_at > time.time() + 1:
        return "moved"  # re-planned while waiting: a later window run publishes it at its new time
    row = ordered
    rendered = _rendered(row)
    if rendered is None:  # the file was edited since this was scheduled: publish what the re-plan says
        fresh = _replanned(row)
        if fresh is None:
            return (led.get(row.id) or row).state  # cancelled (or taken) by the re-plan
        if fresh is not row and fresh.scheduled_at > time.time() + 1:
            return "moved"  # a later window run publishes it at its new time
        row = fresh
        rendered = _rendered(row) or _rendered_as_scheduled(row)  # no re-plan came: the ledger's plan
    if rendered is None:
        _fail(row, "the campaign file no longer plans this publication as scheduled, or cannot be read")
        return "failed"
    delay = row.scheduled_at - time.time()
    if delay > 0:
        time.sleep(delay)
    try:
        conn = rt.connector(row.connector)
    except PermanentError as exc:  # no credentials, or a connector that cannot be built
        if refused_credentials(exc):
            return _stop_connector(row, exc)
        _fail(row, str(exc))
        raise

    if row.state == "unknown":  # a crash or an ambiguous answer earlier: reconcile before anything else
        try:
            receipt = conn.find(rendered)
        except (RetryableError, OutcomeUnknownError) as exc:
            raise TryAgain(f"could not reconcile {row.id}: {exc}") from None
        except PermanentError as exc:
            if refused_credentials(exc):
                return _stop_connector(row, exc)
            _fail(row, f"could not reconcile: {exc}")
            raise
        if receipt is None and not getattr(conn, "can_find", True):  # SMTP, a bare webhook: ask a person
            _fail(
                row,
                f"outcome unknown ({row.error or 'interrupted while sending'}) and {row.connector} cannot be "
                "checked: confirm with the recipients whether it arrived before sending it again",
            )
            return "failed"
        if receipt is None and time.time() > row.deadline:
            return _skip(row, _missed(row) + "; the provider confirmed it never arrived")
        if receipt is not None:
            if led.mark_sent(
                row.id,
                receipt.remote_id,
                receipt.url,
                receipt.extra.get("join_url"),
                from_states=("unknown",),
            ):
                log.info("reconciled %s: it had gone out (%s)", row.id, receipt.remote_id)
                rt.emit("published", row, reconciled=True, url=receipt.url)
            return "sent"
        taken = led.claim(row.id, from_states=("unknown",), revision=row.revision)
    else:
        taken = led.claim(row.id, revision=row.revision)
    if not taken:
        now_row = led.get(row.id)
        if now_row is not None and now_row.state in ("pending", "unknown"):
            raise TryAgain(f"{row.id} was re-planned while it was being prepared")
        return (now_row or row).state

    attempt = row.attempts + 1
    try:
        receipt = conn.publish(rendered)
    except RetryableError as exc:
        led.release(row.id, str(exc))
        wait = exc.retry_after if exc.retry_after is not None else min(2 ** (attempt - 1), 30)
        if attempt >= rt.MAX_ATTEMPTS or time.time() + wait > row.deadline:
            _fail(row, f"gave up after {attempt} attempt(s): {exc}")
            raise
        log.warning("%s: provider asked to retry in %.1f s: %s", row.id, wait, exc)
        time.sleep(max(0.0, wait))
        raise TryAgain(str(exc)) from None
    except OutcomeUnknownError as exc:
        led.mark_unknown(row.id, str(exc))
        if attempt >= rt.MAX_ATTEMPTS:
            _fail(row, f"outcome unknown after {attempt} attempt(s): {exc}")
            raise
        time.sleep(min(2 ** (attempt - 1), 15))
        raise TryAgain(str(exc)) from None
    except PermanentError as exc:
        if refused_credentials(exc):
            led.release(row.id, str(exc))  # not sent: it may still go out once the connector is fixed
            return _stop_connector(row, exc)
        _fail(row, str(exc))
        raise
    except Exception as exc:
        led.mark_unknown(row.id, f"{type(exc).__name__}: {exc}")  # not classified: reconcile before retrying
        _fail(row, f"{type(exc).__name__}: {exc}")
        raise
    led.mark_sent(row.id, receipt.remote_id, receipt.url, receipt.extra.get("join_url"))
    late = time.time() - row.scheduled_at
    log.info("published %s (%.2f s after its time) → %s", row.id, late, receipt.url or receipt.remote_id)
    rt.emit("published", row, url=receipt.url, lateness_s=round(late, 3))
    if record:
        _record(row, rendered, receipt.url)
    return "sent"


def _release_resumed(submitted: dict[str, Any], held: dict[str, str], led: Any) -> None:
    """Note the tasks that came back ``held`` (``held``: every finished task looked at → the connector
    holding it, or '' if none); once that connector is resumed, take the publication out of ``submitted``
    so this window run submits it again."""
    for pid, fut in submitted.items():
        if pid not in held and fut.wrapped_future.done():
            try:
                outcome = fut.result(raise_on_failure=False)
            except Exception:  # noqa: BLE001 - a failed task is not held
                outcome = None
            row = led.get(pid) if outcome == "held" else None
            held[pid] = row.connector if row else ""
    waiting = {pid: name for pid, name in held.items() if name and pid in submitted}
    if not waiting:
        return
    stopped = led.stopped()
    for pid, name in waiting.items():
        if name not in stopped:
            del submitted[pid]
            del held[pid]


def _rename(window_start: float, rows: list[Row]) -> None:
    """Name and tag this run after what it publishes."""
    try:
        from prefect.client.orchestration import get_client

        ctx = get_run_context()
        flow_run = ctx.flow_run  # type: ignore[union-attr]
        if len(rows) == 1:
            name = rt.run_name(rows[0], rt.zone_of(rows[0].campaign))
        else:
            first = rows[0] if rows else None
            zone = rt.zone_of(first.campaign) if first else None
            when = (
                time.strftime("%a %d %b %H:%M", time.localtime(window_start))
                if zone is None
                else __import__("datetime")
                .datetime.fromtimestamp(window_start, zone)
                .strftime("%a %d %b %H:%M")
            )
            name = f"window {when} · {len(rows)} publications"
        with get_client(sync_client=True) as client:
            client.update_flow_run(
                flow_run.id, name=name, tags=sorted(set(flow_run.tags) | set(rt.tags_for(rows)))
            )
    except Exception:  # noqa: BLE001 - names are cosmetic
        pass


@flow(
    name="publish-window",
    task_runner=ThreadPoolTaskRunner(max_workers=64),
    log_prints=True,
    persist_result=False,
)
def publish_window(window_start: float, ledger_key: str | None = None, generation: int = 1) -> dict[str, int]:
    """Publish every publication due by the end of this window, each at its own time."""
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    log = get_run_logger()
    led = rt.ledger()
    if ledger_key and led.key != ledger_key:
        log.info("this run belongs to another ledger (%s); nothing to do here", ledger_key)
        return {}
    end = window_start + rt.WINDOW_S
    ctx = get_run_context()
    flow_run_id = str(ctx.flow_run.id) if getattr(ctx, "flow_run", None) else None  # type: ignore[union-attr]
    led.window_beat(window_start, flow_run_id)
    recovered = rt.recover_orphans()
    if recovered:
        log.warning(
            "%d publication(s) were being sent when a worker stopped; reconciling them", len(recovered)
        )
    _alert_now()  # alerts recorded while no process could send them (a crash, the server down)
    upcoming = [
        r for r in led.due(end) if r.scheduled_at >= window_start or r.scheduled_at < time.time() - rt.HEAL_S
    ]
    _rename(window_start, upcoming)
    total = max(1, len(upcoming))
    record = len(upcoming) <= rt.RECORD_LIMIT  # a crowded window: one summary instead of an artifact each
    try:
        progress_id = create_progress_artifact(
            0.0, key=None, description=f"window of {len(upcoming)} publication(s)"
        )
    except Exception:  # noqa: BLE001 - the server is restarting: publish anyway, without the progress bar
        progress_id = None
    submitted: dict[str, Any] = {}
    results: dict[str, int] = {}
    last_beat = 0.0
    unrenderable: set[str] = set()  # waiting on a dependency, or broken: rendered in the task
    held: dict[str, str] = {}  # finished tasks looked at: id → the stopped connector holding it, or ''
    last_progress = -1.0
    while True:
        now = time.time()
        if now - last_beat > 2:
            led.window_beat(window_start, flow_run_id)
            last_beat = now
        # this window's publications, and earlier ones left behind (a lost or crashed run): not live ones
        due = [
            r
            for r in led.due(min(end, now + rt.PREPARE_S))
            if r.id not in submitted and (r.scheduled_at >= window_start or r.scheduled_at < now - rt.HEAL_S)
        ]
        next_at = None
        for r in due:
            if r.scheduled_at <= time.time() + rt.SUBMIT_AHEAD_S:
                name = rt.task_name(r, rt.zone_of(r.campaign))
                submitted[r.id] = publish.submit(r.id, record=record, label=name)
            else:
                due_at = r.scheduled_at - rt.SUBMIT_AHEAD_S
                next_at = due_at if next_at is None else min(next_at, due_at)
        # render ahead, one at a time, what is not yet due, while nothing is about to be due
        prepared_one = False
        budget = time.time() + 0.3
        for r in due:
            if time.time() > budget or next_at is not None and next_at - time.time() < 0.3:
                break
            if r.id in submitted or (r.id, r.fingerprint) in _prepared or r.id in unrenderable:
                continue
            prepared_one = True
            try:
                if prepare(r) is None:
                    unrenderable.add(r.id)
            except Exception as exc:  # noqa: BLE001 - the task renders again and reports it
                unrenderable.add(r.id)
                log.warning("could not render %s ahead: %s", r.id, exc)
        done = sum(1 for f in submitted.values() if f.wrapped_future.done())  # no API call per future
        _release_resumed(submitted, held, led)
        total = max(total, len(submitted))
        progress = round(100.0 * done / total, 1)
        if progress != last_progress and progress_id is not None:
            try:
                update_progress_artifact(progress_id, progress)
            except Exception:  # noqa: BLE001
                pass
            last_progress = progress
        if time.time() >= end and done == len(submitted):
            led.window_beat(window_start, flow_run_id, state="done")
            if not [r for r in led.due(end) if r.id not in submitted and r.scheduled_at >= window_start]:
                break
            led.window_beat(window_start, flow_run_id)  # more arrived while closing: keep going
            continue
        if prepared_one:
            continue
        wake = min(end, next_at if next_at is not None else end, time.time() + 0.5)
        time.sleep(max(0.0, min(wake - time.time(), 0.5)))
    _alert_now()
    for pid, fut in submitted.items():
        try:
            state = fut.result(raise_on_failure=False)
            state = state if isinstance(state, str) else "failed"
        except Exception:  # noqa: BLE001
            state = "failed"
        results[state] = results.get(state, 0) + 1
        del pid
    try:
        update_progress_artifact(progress_id, 100.0)
    except Exception:  # noqa: BLE001
        pass
    from .status import publish_plan_tables

    if not record and submitted:  # crowded: one table of what went out and where
        try:
            from prefect.artifacts import create_table_artifact

            rows = [led.get(pid) for pid in submitted]
            create_table_artifact(
                table=[{"publication": r.id, "state": r.state, "link": r.url or ""} for r in rows if r],
                description=f"{len(rows)} publications of this window and where they went",
            )
        except Exception:  # noqa: BLE001
            pass
    publish_plan_tables({r.campaign for r in upcoming} | {pid.split("/", 1)[0] for pid in submitted})
    log.info("window done: %s", results)
    return results

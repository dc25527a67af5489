"""Applying a plan: a loaded campaign's publications, applied to the ledger as a difference (withdrawing what
left it, emitting events, scheduling window runs), and an edited file re-planned as the trigger would.

No approval and no scheduling flow: publishing re-plans an edited file from here (``replan_edited``) while
importing nothing of planning (``flows.planning``: the ``schedule-campaign`` flow, approval, render ahead).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact

from ledger import TERMINAL, CampaignRow, Diff, Ledger, Planned, Row, State
from practiceweek.artifacts import RenderContext, Rendered
from practiceweek.errors import CampaignError
from practiceweek.loader import Loaded, load
from practiceweek.partners import approval_mode, approving_partners
from practiceweek.planner import Publication, plan
from practiceweek.settings import settings

from ..operators.status import publish_plan_tables
from ..runtime import campaigns, events, names, process
from . import timing
from .windows import ensure_windows


def planned_rows(
    loaded: Loaded,
    led: Ledger,
    *,
    rehearse: bool = False,
    speed: float | None = None,
    real: bool = False,
    now: float | None = None,
    held: frozenset[str] = frozenset(),
) -> list[Planned]:
    """The campaign's publications with the times they run at (compressed when rehearsing), leaving out
    those of the ``held`` partners (approval per partner: not approved yet). A rehearsal's time mapping
    is made from the whole week, whichever partners are approved first."""
    now = time.time() if now is None else now
    pubs = plan(loaded.model)
    if rehearse:
        camp = _rehearsal(loaded, led, pubs, speed, now)
    else:
        camp = led.set_campaign(loaded.id, _path(loaded), approval=approval_mode(loaded.model),
                                keep_timing=not real, timezone=loaded.model.campaign.timezone)
    return [
        Planned(
            id=p.id,
            campaign=loaded.id,
            day=p.day,
            channel=p.channel,
            connector=p.connector,
            account=p.account,
            title=p.title,
            fingerprint=p.fingerprint,
            planned_at=p.at.timestamp(),
            scheduled_at=camp.effective(p.at.timestamp()),
            missed_window_s=camp.window(p.missed_window.total_seconds()),
            depends_on=p.depends_on,
            event_id=p.event_id,
            snapshot=_snapshot(p),
        )
        for p in pubs
        if p.partner not in held
    ]


def _path(loaded: Loaded) -> str:
    return str(Path(loaded.path).resolve())


def _rehearsal(
    loaded: Loaded, led: Ledger, pubs: list[Publication], speed: float | None, now: float
) -> CampaignRow:
    """The campaign registered as a rehearsal: the one under way, or a new one (compressed to
    ``REHEARSAL_S``, or at ``speed``) when there is none, it finished, or its speed changed. A week
    approved before its rehearsal starts again stays approved."""
    cid, approval, zone = loaded.id, approval_mode(loaded.model), loaded.model.campaign.timezone
    camp = led.campaign(cid)
    rows = led.rows(cid)
    finished = bool(rows) and all(r.state in TERMINAL for r in rows)
    if camp is not None and camp.rehearsal and not finished and (speed is None or camp.speed == speed):
        return led.set_campaign(cid, _path(loaded), approval=approval, timezone=zone)
    approved = camp if camp is not None and camp.approved_at is not None else None
    if finished or (camp is not None and not camp.rehearsal):
        led.forget(cid)
    first = min(p.at.timestamp() for p in pubs) if pubs else now
    last = max(p.at.timestamp() for p in pubs) if pubs else now
    camp = led.set_campaign(
        cid,
        _path(loaded),
        approval=approval,
        origin_real=first,
        origin_at=now + settings().rehearsal_start_s,
        speed=speed or max(1.0, (last - first) / timing.REHEARSAL_S),
        window_floor_s=timing.REHEARSAL_FLOOR_S,
        keep_timing=False,
        timezone=zone,
    )
    if approved is not None and approved.approver:  # the rehearsal starts again, still approved
        led.approve(cid, approved.approver, at=approved.approved_at)
    return camp


def held_partners(loaded: Loaded, led: Ledger) -> frozenset[str]:
    """Approval per partner: the partners whose publications still wait for their approver (never
    approved, or rejected last); empty for any other week."""
    waiting = approving_partners(loaded.model)
    return frozenset(waiting) - led.approved_partners(loaded.id) if waiting else frozenset()


def _snapshot(p: Publication) -> str:
    return json.dumps(p.to_snapshot(), ensure_ascii=False, default=str)


def cancellation(row: Row) -> RenderContext:
    """A cancellation outranks every invitation of the event: their SEQUENCE is the plan revision they
    were rendered at, never above the campaign's current one."""
    camp = process.ledger().campaign(row.campaign)
    return RenderContext(cancelled=True, sequence=max(row.revision, camp.revision if camp else 0) + 1)


def withdraw(loaded: Loaded | None, row: Row) -> str:
    """Cancel a publication that already went out (Teams events) through its connector."""
    text = process.ledger().snapshot(row.id)
    if not text or row.state != State.SENT:
        return "nothing to withdraw"
    pub = Publication.from_snapshot(json.loads(text))
    try:
        rendered = campaigns.render(loaded, pub, cancellation(row)) if loaded else None
    except Exception:  # noqa: BLE001 - a removed item may no longer render; cancel by identity
        rendered = None
    rendered = rendered or Rendered(publication=pub, subject=f"Cancelled: {pub.title}", text="cancelled")
    process.connector(*row.route).cancel(rendered)
    return "withdrawn"


def diff_markdown(cid: str, diff: Diff, led: Ledger) -> str:
    """The difference a new version of the file made, for people."""

    def when(ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%a %d %b %H:%M:%S UTC")

    lines = [f"## {cid}: schedule applied", ""]
    if diff.empty:
        lines.append(f"No change: {diff.unchanged} publication(s) untouched.")
        return "\n".join(lines)
    for pid in diff.added:
        row = led.get(pid)
        lines.append(f"- **new** `{pid}` at {when(row.scheduled_at) if row else '?'}")
    for pid, old, new in diff.moved:
        lines.append(f"- **moved** `{pid}`: {when(old)} → {when(new)}")
    for pid in diff.updated:
        lines.append(f"- **updated** `{pid}` (content changed)")
    for row in diff.cancelled:
        lines.append(
            f"- **cancelled** `{row.id}`" + (" (Teams event withdrawn)" if row.state == State.SENT else "")
        )
    for pid in diff.removed_sent:
        lines.append(f"- **removed after it went out** `{pid}` (left as published)")
    for pid in diff.changed_sent:
        lines.append(f"- **changed after it went out** `{pid}` (left as published)")
    lines.append(f"- unchanged: {diff.unchanged}")
    return "\n".join(lines)


def apply_campaign(
    loaded: Loaded,
    *,
    rehearse: bool = False,
    speed: float | None = None,
    real: bool = False,
    schedule_runs: bool = True,
) -> tuple[Diff, str]:
    """Apply a campaign's plan to the ledger, withdraw what left it, and schedule window runs (rendering
    ahead is planning's: ``flows.planning.schedule.apply_and_render_ahead``). With approval per partner
    only the approved partners' publications are applied."""
    led = process.ledger()
    planned = planned_rows(loaded, led, rehearse=rehearse, speed=speed, real=real,
                           held=held_partners(loaded, led))
    led.save_source(loaded.id, str(Path(loaded.path).resolve()), loaded.text)
    diff = led.apply(loaded.id, planned)
    for row in diff.cancelled:
        if row.state == State.SENT:
            try:
                withdraw(loaded, row)
            except Exception as exc:  # noqa: BLE001 - logged; the rest of the plan still applies
                get_run_logger().error("could not withdraw %s: %s", row.id, exc)
        events.emit("cancelled", row)
    for pid in diff.added + [m[0] for m in diff.moved]:
        current = led.get(pid)
        if current is not None:
            events.emit("scheduled", current)
    if schedule_runs:
        ensure_windows(led, led.rows(loaded.id))
    return diff, diff_markdown(loaded.id, diff, led)


def record_diff(cid: str, text: str) -> None:
    """Show operators what a plan changed (the diff artifact) and the campaign's plan tables."""
    create_markdown_artifact(
        markdown=text,
        key=names.artifact_key(f"diff-{cid}"),
        description=f"What this schedule run changed in {cid}",
    )
    publish_plan_tables({cid})


def replan_edited(path: str) -> Diff | None:
    """Apply an edited campaign file now, exactly as the re-plan trigger would (idempotent: a second
    re-plan of the same file changes nothing). None if the file cannot be loaded: the ledger's plan
    stands until it is fixed."""
    try:
        loaded = load(path)
    except CampaignError:
        return None
    camp = process.ledger().campaign(loaded.id)
    if loaded.model.campaign.approval == "required" and (camp is None or camp.approved_at is None):
        return None  # an unapproved week waits for its approver, not for a worker
    waiting = approving_partners(loaded.model)
    if waiting and set(waiting) <= held_partners(loaded, process.ledger()):
        return None  # approval per partner: no partner approved yet
    diff, text = apply_campaign(loaded)  # no render ahead: this worker has a publication due now
    if not diff.empty:
        get_run_logger().info("re-planned %s here (the file changed under a due publication)", loaded.id)
        record_diff(loaded.id, text)
    return diff

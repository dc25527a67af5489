"""``schedule_campaign``: load and plan a campaign, ask for approval if it needs it, apply the difference to
the ledger and make Prefect run its publications at their times (one prefetched ``publish_window`` run per
window of time: ``flows.plan.apply``), and render ahead what it added or changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.exceptions import FlowPauseTimeout

from ledger import Decision, Diff, Row, Verdict
from practiceweek.loader import Loaded, load
from practiceweek.partners import approving_partners

from ..plan.apply import apply_campaign, held_partners, record_diff
from ..runtime import events, process
from ..runtime.logs import outlive_lost_output
from ..runtime.runs import name_this_run
from . import approval
from .prerender import Prerendered, prerender, prerender_many


def apply_and_render_ahead(
    loaded: Loaded,
    *,
    rehearse: bool = False,
    speed: float | None = None,
    real: bool = False,
    render_ahead: bool = True,
) -> tuple[Diff, str]:
    """Apply a campaign's plan (``flows.plan.apply.apply_campaign``), then render ahead what it added or
    changed."""
    diff, text = apply_campaign(loaded, rehearse=rehearse, speed=speed, real=real)
    if render_ahead:
        _render_ahead(loaded, process.ledger().rows(loaded.id))
    return diff, text


def _render_ahead(loaded: Loaded, rows: list[Row]) -> None:
    """Pre-render the campaign's open publications (a failure only means they render at send time)."""
    log = get_run_logger()
    try:
        done = prerender(str(Path(loaded.path).resolve()), rows)
    except Exception as exc:  # noqa: BLE001 - rendering at send time still works
        log.warning("could not render %s ahead (they render at send time): %s", loaded.id, exc)
        return
    if done.rendered:
        log.info(
            "rendered %d publication(s) of %s ahead (%d stored whole) in %.1f s on %.1f core(s)",
            done.rendered, loaded.id, done.stored, done.wall_s, done.cores_used,
        )


def render_weeks_ahead(paths: list[str]) -> Prerendered:
    """Pre-render several scheduled weeks in one batch on every core (``practiceweek demo`` of several
    files): their shared work keeps every core busy, where one week at a time leaves cores idle."""
    led = process.ledger()
    batch = []
    for path in paths:
        loaded = load(path)
        batch.append((str(Path(loaded.path).resolve()), led.rows(loaded.id)))
    return prerender_many(batch)


@flow(name="schedule-campaign", log_prints=True, persist_result=False)
def schedule_campaign(
    path: str,
    rehearse: bool = False,
    speed: float | None = None,
    real: bool = False,
    render_ahead: bool = True,
) -> dict[str, Any] | State[Any]:
    """Load and plan a campaign; schedule new publications, move moved ones, cancel removed ones. A week
    that needs approval waits for it first; a rejected one ends Cancelled ("Rejected"), nothing scheduled.
    A joint week approved per partner asks each partner's approver in turn (``_per_partner``).
    ``render_ahead=False``: the caller renders ahead, several weeks in one batch (``render_weeks_ahead``)."""
    outlive_lost_output()  # a week awaiting approval waits for days: its worker may die meanwhile
    loaded = load(path)  # CampaignError fails the run with every problem listed
    options: dict[str, Any] = {"rehearse": rehearse, "speed": speed, "real": real,
                               "render_ahead": render_ahead}
    if approving_partners(loaded.model):
        return _per_partner(loaded, options)
    camp = process.ledger().campaign(loaded.id)
    waits = loaded.model.campaign.approval == "required" and (camp is None or camp.approved_at is None)
    title = approval.run_title(loaded, "Approve" if waits else "Schedule")
    name_this_run(title, approval.campaign_tags(loaded))
    if waits:
        try:
            answer = approval.ask(loaded)
        except FlowPauseTimeout:
            get_run_logger().warning("%s: no decision in time; nothing scheduled",
                                     approval.week_label(loaded))
            return approval.unanswered(loaded)
        decision = approval.decide(loaded, answer)
        if decision.verdict == Verdict.REJECTED:
            get_run_logger().warning("%s rejected by %s: %s; nothing scheduled",
                                     approval.week_label(loaded), decision.approver, decision.comment or "-")
            return approval.rejected_state(decision)
        get_run_logger().info("approved by %s", decision.approver)
    return _apply(loaded, options)


def _per_partner(loaded: Loaded, options: dict[str, Any]) -> dict[str, Any] | State[Any]:
    """Approval per partner: what needs no approval or was approved before goes on the schedule first; then
    each partner still waiting is asked in the file's order, and its publications are scheduled as soon
    as its approver approves. A rejection holds only that partner's; the run ends "Rejected" only when
    nothing at all was scheduled."""
    log = get_run_logger()
    asking = [k for k in approving_partners(loaded.model) if k in held_partners(loaded, process.ledger())]
    first = asking[0] if asking else ""
    name_this_run(approval.run_title(loaded, "Approve" if asking else "Schedule", first),
                  approval.campaign_tags(loaded))
    result = _apply(loaded, options) if len(asking) < len(loaded.partners) else None
    rejected: list[Decision] = []
    for partner in asking:
        try:
            answer = approval.ask(loaded, partner)
        except FlowPauseTimeout:
            log.warning("%s: no decision in time; its publications are not scheduled",
                        approval.week_label(loaded, partner))
            return approval.unanswered(loaded, partner)
        decision = approval.decide(loaded, answer, partner)
        if decision.verdict == Verdict.REJECTED:
            log.warning("%s rejected by %s: %s; its publications are not scheduled",
                        approval.week_label(loaded, partner), decision.approver, decision.comment or "-")
            rejected.append(decision)
            continue
        log.info("%s approved by %s", partner, decision.approver)
        result = _apply(loaded, options)
    if result is None:
        return approval.rejected_state(*rejected)
    return {**result, "rejected_partners": [d.partner for d in rejected]}


def _apply(loaded: Loaded, options: dict[str, Any]) -> dict[str, Any]:
    """Apply the plan (what its approval lets through), show the difference, and say what it changed."""
    diff, text = apply_and_render_ahead(loaded, **options)
    print(text)
    record_diff(loaded.id, text)
    events.flush()
    return {
        "campaign": loaded.id,
        "added": len(diff.added),
        "moved": len(diff.moved),
        "updated": len(diff.updated),
        "cancelled": len(diff.cancelled),
        "unchanged": diff.unchanged,
        "diff": text,
    }

"""Approving a week (``approval: required``): what the approver reviews before the schedule run pauses, the
form they fill in the Prefect UI (Resume), and what their decision leaves behind.

The decision is a required choice, ``Approve`` or ``Reject``, with no default: an untouched form is
refused by both Prefect UIs and by the API alike, never read as "no" in one and an error in the other.
Either way the ledger keeps who, when and why (``decisions``); a rejection also emits
``practiceweek.campaign.rejected``, records a ``decision-<campaign>`` artifact, alerts the comms team
through the operators' alert path, and ends the run Cancelled under the state name "Rejected".

A joint week approved per partner (``approval: per_partner``, or a list of partners) asks each partner's
approver in turn, for that partner's publications only (``partner``: its key): the form, the plan table,
the decision, its artifact (``decision-<campaign>-<partner>``) and alert name the partner, and a rejection
holds only that partner's publications (``flows.planning.schedule``).
"""

from __future__ import annotations

import datetime as dt
import time
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.states import Cancelled, Failed
from pydantic import ConfigDict, Field, model_validator

from ledger import Decision, Verdict
from practiceweek.dates import week_dates
from practiceweek.loader import Loaded
from practiceweek.planner import Publication, plan
from practiceweek.render import preview
from practiceweek.settings import settings

from ..operators.alerts import send_due_alerts
from ..operators.status import cell, day_page, link, markdown_table, preview_location, ui_url, when
from ..runtime import events, names, process
from ..runtime.runs import name_this_run

POLL_S = 2  # how often a paused run in this process asks whether it was resumed
REJECTED = "Rejected"  # the state name a rejected run ends in (type Cancelled)
UNANSWERED = "Unanswered"  # the state name of a run whose approval timed out (type Failed)
PAUSE_EXPIRED = "never resumed"  # in the Failed state's message Prefect's server puts on an expired pause


class Choice(StrEnum):
    """The approver's decision, as the form offers it."""

    APPROVE = "Approve"
    REJECT = "Reject"


# A rejection needs a reason: said in the form's JSON schema, so the Prefect server refuses the answer
# (the run stays paused) whether it comes from either UI or the API, and checked again when it is read.
REASON_REQUIRED: dict[str, Any] = {
    "if": {"properties": {"decision": {"const": "Reject"}}, "required": ["decision"]},
    "then": {"properties": {"comment": {"type": "string", "minLength": 1, "pattern": "\\S"}},
             "required": ["comment"]},
}


class Approval(RunInput):
    """The Resume form of a schedule run waiting for approval (fields show their descriptions as help)."""

    model_config = ConfigDict(json_schema_extra=REASON_REQUIRED)

    # an inline enum (no $ref) with no default: a select in both UIs, refused when left untouched
    decision: Literal[Choice.APPROVE, Choice.REJECT] = Field(
        title="Decision",
        description="Approve: every publication of the week is scheduled and goes out at its time. "
        "Reject: nothing is scheduled or sent, and the comms team is alerted with your comment.",
    )
    approver: str = Field(
        title="Your name and email",
        min_length=3,
        max_length=200,
        description="Who decides, e.g. Jo Bloggs, jo.bloggs@iow.gov.uk: kept in the ledger with the time, "
        "and shown by practiceweek status.",
    )
    comment: str = Field(
        default="",
        title="Comment",
        max_length=2000,
        description="Why, or what to change: required with Reject (sent to the comms team); kept with an "
        "approval.",
    )

    @model_validator(mode="after")
    def _a_rejection_says_why(self) -> Approval:
        if self.decision == Choice.REJECT and not self.comment.strip():
            raise ValueError("a rejection needs a comment: say why, or what to change")
        return self


def week_label(loaded: Loaded, partner: str = "") -> str:
    """``IOWSCP practice week 25–29 Nov 2024`` (a partner's: its own short name)."""
    days = week_dates(loaded.model)
    short = (loaded.for_partner(partner) if partner else loaded).model.campaign.organiser.short_name
    return f"{short} practice week {date_span(days[0], days[-1])}"


def date_span(first: dt.date, last: dt.date) -> str:
    """``25–29 Nov 2024``, ``31 Mar – 4 Apr 2025``, ``30 Dec 2024 – 3 Jan 2025``."""
    if first.year != last.year:
        return f"{first:%-d %b %Y} – {last:%-d %b %Y}"
    if first.month != last.month:
        return f"{first:%-d %b} – {last:%-d %b %Y}"
    return f"{first.day}–{last:%-d %b %Y}"


def run_title(loaded: Loaded, verb: str, partner: str = "") -> str:
    """``Approve: IOWSCP practice week 25–29 Nov 2024 · <topic>`` (the schedule run's name; approval per
    partner: the partner asked now); the topic is the title without a leading "... Practice Week:", which
    the label already says."""
    title = loaded.model.campaign.title
    head, _, topic = title.partition(": ")
    label = week_label(loaded, partner)
    return f"{verb}: {label} · {topic if topic and 'practice week' in head.lower() else title}"


def campaign_tags(loaded: Loaded, *extra: str) -> list[str]:
    return ["practiceweek", f"campaign:{loaded.id}", *extra]


def _local(ts: float, zone: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(ts, zone).strftime("%a %d %b %Y %H:%M %Z")


# --- what the approver reviews ---------------------------------------------------------------------------


def preview_site(loaded: Loaded) -> tuple[Path, str]:
    """Write the week's preview site for its approver; return its index and a link a browser opens
    (PRACTICEWEEK_PREVIEW_URL, else the outbox's HTTP address when the preview is under the outbox,
    else '')."""
    index, address = preview_location(loaded.id)
    return preview(loaded, index.parent), address


def review_table(pubs: list[Publication], zone: ZoneInfo, preview_url: str,
                 status: str = "⏸ awaiting approval") -> list[dict[str, str]]:
    """The plan awaiting approval, in the columns of the live status table that replaces it once
    approved; each publication opens its day in the preview."""
    return [
        {
            "status": status,
            "due": when(p.at.timestamp(), zone),
            "tries": "0",
            "publication": link(p.id.split("/", 1)[-1], day_page(preview_url, p.id, p.day),
                                f"{p.id}: {p.title}"),
        }
        for p in pubs
    ]


def plan_artifact(loaded: Loaded, lines: list[dict[str, str]], description: str) -> None:
    """Write the week's ``plan-<campaign>`` table (the key the live status table keeps once approved)."""
    create_markdown_artifact(
        markdown=markdown_table(lines, f"**{cell(description)}**"),
        key=names.artifact_key(f"plan-{loaded.id}"),
        description=description,
    )


def form_description(loaded: Loaded, pubs: list[Publication], preview_url: str, note: str,
                     partner: str = "") -> str:
    """The markdown above the Resume form: which week (approval per partner: whose part), what to
    review, what each choice does."""
    camp = loaded.model.campaign
    who = (loaded.for_partner(partner) if partner else loaded).model.campaign.organiser.name
    zone = ZoneInfo(camp.timezone)
    span = (
        f"{len(pubs)} publications from {_local(pubs[0].at.timestamp(), zone)} to "
        f"{_local(pubs[-1].at.timestamp(), zone)}"
        if pubs
        else "no publications"
    )
    review = f"[the preview of every publication]({preview_url})" if preview_url else note
    whose = [
        f"- **For {who} only**: you decide on its {len(pubs)} publications; each partner of this joint week "
        "has its own approver, and a rejection holds only this partner's publications.",
    ] if partner else []
    return "\n".join(
        [
            f"### {week_label(loaded, partner)}",
            f"**{camp.title}** (`{loaded.id}`) from {who}: {span}.",
            "",
            *whose,
            f"- **Review first**: {review}, and the plan table (this run's Artifacts tab, "
            f"`{names.artifact_key(f'plan-{loaded.id}')}`).",
            "- **Approve** schedules every publication; **Reject** schedules nothing and alerts the comms "
            "team with your comment.",
        ]
    )


def partner_plan(loaded: Loaded, partner: str = "") -> list[Publication]:
    """The week's publications (approval per partner: ``partner``'s only)."""
    pubs = plan(loaded.model)
    return [p for p in pubs if p.partner == partner] if partner else pubs


def publish_review(loaded: Loaded, partner: str = "") -> str:
    """Publish the plan table and the preview for the approver; return the form's description."""
    log = get_run_logger()
    pubs = partner_plan(loaded, partner)
    note = ""
    try:
        index, link = preview_site(loaded)
        note = "" if link else f"the preview at `{index}` (no web address: set PRACTICEWEEK_PREVIEW_URL)"
    except Exception as exc:  # noqa: BLE001 - the approver can still review the plan table
        link, note = "", f"no preview (it could not be built: {exc})"
        log.warning("could not build the preview of %s: %s", loaded.id, exc)
    plan_artifact(loaded, review_table(pubs, ZoneInfo(loaded.model.campaign.timezone), link),
                  f"The week's plan of {loaded.id}{f' for {partner}' if partner else ''}, awaiting "
                  f"approval: {len(pubs)} publications")
    if link and partner:  # the partner's own section of the joint week's preview
        link = f"{link.rsplit('/', 1)[0]}/{partner}/index.html"
    if link:
        log.info("preview of %s for its approver: %s", loaded.id, link)
    return form_description(loaded, pubs, link, note, partner)


# --- asking, and what the answer leaves behind ------------------------------------------------------------


def ask(loaded: Loaded, partner: str = "") -> Approval:
    """Pause this run until someone fills the Resume form (the plan and the preview published first);
    approval per partner: ``partner``'s approver, on its publications."""
    description = publish_review(loaded, partner)
    if partner:  # the run says whose approver it waits for now (it was named after the last decision)
        name_this_run(run_title(loaded, "Approve", partner), campaign_tags(loaded))
    context = FlowRunContext.get()
    where = ""
    if context is not None and context.flow_run is not None:
        where = f" at {ui_url()}/runs/flow-run/{context.flow_run.id}"
    get_run_logger().warning(
        "%s needs approval: open this run in the Prefect UI%s, then Resume (new UI: the ⋮ menu, top right)",
        week_label(loaded, partner), where,
    )
    form = Approval.with_initial_data(description=description)
    timeout = settings().approval_timeout_s
    return pause_flow_run(wait_for_input=form, timeout=max(1, round(timeout)), poll_interval=POLL_S)


def decide(loaded: Loaded, answer: Approval, partner: str = "") -> Decision:
    """Record the decision in the ledger (a rejection's alert in the same transaction), emit its event,
    record its artifact, tag the run, and send the comms team's alert of a rejection at once. Approval
    per partner: the decision is ``partner``'s, on its publications only."""
    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context is not None and context.flow_run is not None else ""
    verdict = Verdict.APPROVED if answer.decision == Choice.APPROVE else Verdict.REJECTED
    who, why = answer.approver.strip(), answer.comment.strip()
    decision = Decision(loaded.id, verdict, who, time.time(), why, run_id, partner)
    label = week_label(loaded, partner)
    led = process.ledger()
    if verdict == Verdict.APPROVED and not partner:
        led.set_campaign(loaded.id, str(Path(loaded.path).resolve()), approval="required",
                         timezone=loaded.model.campaign.timezone)
    led.decide(decision, f"[practiceweek] rejected: {label} by {decision.approver}",
               rejection_text(loaded, decision))
    events.emit_campaign(verdict, loaded.id, label, decision)
    create_markdown_artifact(
        markdown=decision_markdown(loaded, decision),
        key=names.artifact_key(f"decision-{loaded.id}" + (f"-{partner}" if partner else "")),
        description=f"{label}: {verdict} by {decision.approver}",
    )
    verb = "Approved" if verdict == Verdict.APPROVED else "Rejected"
    tag = f"approval:{partner}:{verdict}" if partner else f"approval:{verdict}"
    name_this_run(run_title(loaded, verb, partner), campaign_tags(loaded, tag))
    if verdict == Verdict.REJECTED:
        rewrite_plan_table(loaded, decision)
        send_due_alerts(log=get_run_logger())
    return decision


def rewrite_plan_table(loaded: Loaded, decision: Decision) -> None:
    """The plan table of a rejected week (or partner) says so (an approved one's is rewritten by the
    status flow)."""
    pubs = partner_plan(loaded, decision.partner)
    zone = ZoneInfo(loaded.model.campaign.timezone)
    whose = f" for {decision.partner}" if decision.partner else ""
    plan_artifact(loaded, review_table(pubs, zone, "", status="✗ rejected: not scheduled"),
                  f"The week's plan of {loaded.id}{whose}, rejected by {decision.approver}: "
                  f"none of its {len(pubs)} publications was scheduled")


def _what(loaded: Loaded, partner: str) -> str:
    """What a decision is about: the week, or one partner's part of it."""
    if not partner:
        return "Nothing of it"
    return f"Nothing of {loaded.for_partner(partner).model.campaign.organiser.short_name}'s part"


def rejection_text(loaded: Loaded, decision: Decision) -> str:
    """What the comms team reads when a week (or a partner's part) is rejected: who, when, why, and what
    to do."""
    zone = ZoneInfo(loaded.model.campaign.timezone)
    path = Path(loaded.path).resolve()
    others = " (the other partners' publications are not held by this)" if decision.partner else ""
    return "\n".join(
        [
            f"{week_label(loaded, decision.partner)} ({loaded.model.campaign.title}, {loaded.id}) was "
            f"rejected by {decision.approver} at {_local(decision.decided_at, zone)}.",
            f"Comment: {decision.comment or '(none given)'}",
            f"{_what(loaded, decision.partner)} was scheduled and nothing of it will go out{others}.",
            f"To propose it again: change {path} as asked, then run `practiceweek schedule {path}` "
            "(or `practiceweek run`): a new run waits for approval in the Prefect UI.",
        ]
    )


def decision_markdown(loaded: Loaded, decision: Decision) -> str:
    """The ``decision-<campaign>`` artifact (``decision-<campaign>-<partner>`` per partner)."""
    zone = ZoneInfo(loaded.model.campaign.timezone)
    lines = [
        f"## {week_label(loaded, decision.partner)}: {decision.verdict}",
        "",
        f"**{decision.verdict.capitalize()} by** {decision.approver} "
        f"**at** {_local(decision.decided_at, zone)}",
        "",
    ]
    if decision.comment:
        lines += [f"> {line}" for line in decision.comment.splitlines()] + [""]
    part = "of this partner " if decision.partner else ""
    if decision.verdict == Verdict.REJECTED:
        lines.append(f"Nothing {part}was scheduled and nothing {part}will go out; the comms team was "
                     "alerted.")
    else:
        lines.append(f"Every publication {part}of the week is scheduled (see the plan table).")
    return "\n".join(lines)


def rejected_state(*decisions: Decision) -> State[Any]:
    """The state a rejected schedule run ends in: Cancelled, named "Rejected", saying who and why (each
    partner's rejection, when every partner asked rejected its part)."""
    said = []
    for decision in decisions:
        whose = f" ({decision.partner})" if decision.partner else ""
        why = f": {decision.comment}" if decision.comment else ""
        said.append(f"Rejected by {decision.approver}{whose}{why}")
    return Cancelled(name=REJECTED, message="; ".join(said)[:1000])


def unanswered(loaded: Loaded, partner: str = "") -> State[Any]:
    """No decision within PRACTICEWEEK_APPROVAL_TIMEOUT_S: the comms team alerted (once), the run renamed
    and tagged ``approval:unanswered``, and a Failed state "Unanswered" proposed (the server may keep its
    own Failed state of an expired pause instead: ``timed_out`` recognises both). Approval per partner:
    ``partner``'s approver did not answer (the partners approved before it stay scheduled)."""
    waited = _duration(settings().approval_timeout_s)
    path = Path(loaded.path).resolve()
    what = _what(loaded, partner).replace("Nothing", "nothing", 1)
    reason = (f"no one decided on {week_label(loaded, partner)} ({loaded.id}) within {waited}: {what} was "
              f"scheduled or sent; `practiceweek run {path}` asks for approval again")
    now = time.time()
    subject = f"[practiceweek] not approved in time: {week_label(loaded, partner)}"
    process.ledger().record_alert(f"unanswered:{loaded.id}:{now:.6f}", "unanswered", subject, reason)
    name_this_run(run_title(loaded, "Unanswered", partner), campaign_tags(loaded, "approval:unanswered"))
    send_due_alerts(log=get_run_logger())
    return Failed(name=UNANSWERED, message=unanswered_message(what if partner else "nothing"))


def unanswered_message(what: str = "nothing") -> str:
    """What a run whose approval timed out says (``what``: what was not scheduled)."""
    return (f"No decision within {_duration(settings().approval_timeout_s)}: {what} was scheduled or sent; "
            "the comms team was alerted.")


def timed_out(state: State[Any]) -> bool:
    """Whether a schedule run's final state is that of an approval left unanswered."""
    return bool(state.is_failed() and (state.name == UNANSWERED or PAUSE_EXPIRED in (state.message or "")))


def _duration(seconds: float) -> str:
    """``7 days``, ``3 hours``, ``5 seconds``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds:g} seconds"

"""Teams events (Microsoft Graph event body + .ics) and Teams channel cards (Adaptive Card 1.5)."""

from __future__ import annotations

import json
from typing import Any

from ..artifacts import RenderContext, Rendered
from ..errors import CampaignError, Problem
from ..loader import Loaded
from ..planner import Publication
from . import ics, views
from .env import BUILTIN, override_dir, render_template


def render_event(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Rendered:
    c = loaded.model.campaign
    event = views.event_view(loaded, views.find_event(loaded, pub.event_id or pub.slot), ctx)
    audience = c.audiences.get(event["audience"])
    recipients = tuple(audience.recipients) if audience else ()
    context = {**views.base(loaded, pub, ctx), "event": event}
    html = render_template(loaded, "event.html", **context)
    text = render_template(loaded, "event.txt", **context)
    zone = c.timezone
    body = {
        "subject": event["title"],
        "body": {"contentType": "HTML", "content": html},
        "start": {"dateTime": f"{event['date'].isoformat()}T{event['start']}:00", "timeZone": zone},
        "end": {"dateTime": f"{event['date'].isoformat()}T{event['end']}:00", "timeZone": zone},
        "location": {"displayName": "Microsoft Teams meeting"},
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
        "allowNewTimeProposals": False,
        "responseRequested": False,
        "attendees": [{"emailAddress": {"address": a}, "type": "required"} for a in recipients],
        "transactionId": ics.transaction_id(pub.id),
    }
    if ctx.cancelled:
        text = f"{event['title']} on {event['date_label']} is cancelled. We are sorry for any inconvenience."
    data = ics.event_ics(loaded, event, text, sequence=ctx.sequence, cancelled=ctx.cancelled,
                         recipients=recipients)
    subject = ("Cancelled: " if ctx.cancelled else "") + event["title"]
    return Rendered(publication=pub, subject=subject, text=text, html=html, recipients=recipients,
                    sender=event["organiser"], event=body, ics=data)


def render_card(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Rendered:
    context = views.base(loaded, pub, ctx)
    events = views.events_on(loaded, pub.date, ctx)
    day = views.leave_to_events(views.day_for(loaded, pub, tag=context["tag"]), events)
    context.update(day=day, events=events)
    context["actions"] = card_actions(day, events, context["link"])
    raw = render_template(loaded, "card.json", **context)
    try:
        card = json.loads(raw)
    except json.JSONDecodeError as exc:
        override = override_dir(loaded)
        path = BUILTIN / "card.json"
        if override and (override / "card.json").exists():
            path = override / "card.json"
        raise CampaignError([Problem(str(path), 1, 1, "campaign.branding.templates",
                                     f"template card.json does not produce JSON: {exc.msg} at rendered line "
                                     f"{exc.lineno} column {exc.colno}")]) from None
    subject = f"{day['weekday']}: {day['title']}"
    return Rendered(publication=pub, subject=subject, text=subject, card=card)


# button labels that fit a Teams card button (about 20-25 characters before Teams cuts them with "…")
BUTTON_LABELS = {
    "toolkit": "Open the toolkit", "overview_pack": "Open the overview pack", "briefing": "Read the briefing",
    "training": "See the training", "procedure": "Read the procedure", "guidance": "Read the guidance",
    "poster": "See the poster", "report": "Read the report", "strategy": "Read the strategy",
    "webpage": "Visit the web page",
}
MAX_LABEL = 25
MAX_ACTIONS = 4  # Teams shows more only behind a "…" menu


def card_actions(day: dict[str, Any], events: list[dict[str, Any]], link: str | None) -> list[dict[str, str]]:
    """The card's buttons: join each event, open one resource of each kind, then the whole week."""
    joins = [{"title": _fit(f"Join the {e['kind']}", "Join on Teams"), "url": e["join_url"]}
             for e in events if e["join_url"]]
    week = [{"title": "The whole week", "url": link}] if link else []
    resources: list[dict[str, str]] = []
    for r in day["resources"]:
        label = BUTTON_LABELS.get(r["kind"], "Open the resource")
        if label not in {a["title"] for a in resources}:
            resources.append({"title": label, "url": r["url"]})
    room = max(0, MAX_ACTIONS - len(joins) - len(week))
    return joins + resources[:room] + week


def _fit(label: str, short: str) -> str:
    return label if len(label) <= MAX_LABEL else short

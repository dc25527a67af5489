"""iCalendar invitations (RFC 5545) for the week's Teams events, with the campaign's VTIMEZONE.

One event has one UID wherever its invitation travels (the teams_event .ics and the day's email), so a
re-planned event (higher SEQUENCE) or a cancellation (METHOD:CANCEL) replaces the calendar entry
instead of adding one. When the meeting is created in Microsoft Graph, Exchange invites the attendees
under its own UID, so the email then carries no invitation of its own (``mail.py``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from ..dates import day_key
from ..loader import Loaded
from ..planner import publication_id
from .vtimezone import vtimezone

NAMESPACE = uuid.UUID("6f1c7a52-3d0e-4b8e-9a55-7d1f0c2b9e41")


def event_pub_id(loaded: Loaded, event: dict[str, Any]) -> str:
    """The id of the teams_event publication that creates ``event`` (its UID source)."""
    host = event.get("host") or ""  # a joint week: the partner whose publication creates the meeting
    return publication_id(loaded.id, day_key(event["date"]), "teams_event", event["id"], host)


def stable_uid(pub_id: str) -> str:
    return f"{uuid.uuid5(NAMESPACE, pub_id)}@practiceweek"


def transaction_id(pub_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "graph-transaction:" + pub_id))


def event_ics(loaded: Loaded, event: dict[str, Any], description: str, *, sequence: int = 0,
              cancelled: bool = False, recipients: tuple[str, ...] = ()) -> bytes:
    """A REQUEST (or CANCEL) calendar with one VEVENT and the VTIMEZONE it needs."""
    from icalendar import Calendar, Event, vCalAddress, vText

    zone = ZoneInfo(loaded.model.campaign.timezone)
    pub_id = event_pub_id(loaded, event)
    start = dt.datetime.combine(event["date"], dt.time.fromisoformat(event["start"]), tzinfo=zone)
    end = dt.datetime.combine(event["date"], dt.time.fromisoformat(event["end"]), tzinfo=zone)
    cal = Calendar()
    cal.add("prodid", "-//practiceweek//Safeguarding Practice Week//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    cal.add_component(vtimezone(loaded.model.campaign.timezone, event["date"].year))
    ev = Event()
    ev.add("uid", stable_uid(pub_id))
    ev.add("sequence", sequence)
    ev.add("dtstamp", dt.datetime.combine(event["date"], dt.time(0, 0), tzinfo=dt.UTC)
           - dt.timedelta(days=30) + dt.timedelta(minutes=sequence))
    ev.add("dtstart", start)
    ev.add("dtend", end)
    ev.add("summary", ("Cancelled: " if cancelled else "") + event["title"])
    ev.add("description", description)
    join = event.get("join_url")
    ev.add("location", f"Microsoft Teams: {join}" if join else "Microsoft Teams")  # clients link it
    if join:
        ev.add("url", join)
    ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    ev.add("transp", "OPAQUE")
    organiser = vCalAddress(f"mailto:{event['organiser']}")
    organiser.params["cn"] = vText(loaded.model.campaign.organiser.name)
    ev.add("organizer", organiser)
    for address in recipients:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("FALSE")
        ev.add("attendee", attendee)
    cal.add_component(ev)
    return cal.to_ical()

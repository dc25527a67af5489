"""The week as a calendar for the comms team: one VEVENT per planned publication (RFC 5545).

What goes out (SUMMARY: the plan's title), where (LOCATION: channel, audience, account), when (DTSTART in
the campaign's zone, with its VTIMEZONE; 15 minutes long, TRANSP:TRANSPARENT so it blocks no one's
diary) and a link to the publication in the week's preview (URL: the day page ``<day>.html`` the preview
lists it under, anchored ``#<channel>-<slot>`` as ``site.py`` writes it).

UIDs and SEQUENCE, without a database: the UID is ``<publication id>@practiceweek`` (publication ids are
stable across re-plans), so an entry is updated in place, never duplicated. SEQUENCE needs to know the
last version a calendar saw; the previous feed *is* that state. Before writing, the feed it replaces is
read back: each entry carries ``X-PRACTICEWEEK-REVISION``, a hash of what it shows. An entry whose
revision is unchanged keeps its SEQUENCE and DTSTAMP (two runs of the same plan write the same bytes);
a changed one (moved, retitled, re-linked) gets SEQUENCE + 1 and a new DTSTAMP; a new one starts at 0. A
publication in the previous feed but no longer planned (its day, slot or channel removed, or its file
no longer given) stays in the feed with STATUS:CANCELLED and SEQUENCE + 1, so clients that imported the
file remove it, and subscribers see it cancelled; if it is planned again it comes back at the next
SEQUENCE. Deleting the feed file restarts every SEQUENCE at 0 (subscribed calendars still follow: a
subscription replaces its whole calendar on every refresh).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ..accounts import route_label
from ..dates import day_key, outside_key, week_dates
from ..loader import Loaded
from ..planner import Publication, plan
from .env import CHANNEL_NAMES
from .vtimezone import vtimezone

PRODID = "-//practiceweek//Week calendar//EN"
LENGTH = dt.timedelta(minutes=15)  # a publication is an instant; long enough to read in a day view
REVISION = "X-PRACTICEWEEK-REVISION"
REFRESH = dt.timedelta(hours=1)  # how often subscribers are asked to fetch the feed again (RFC 7986)


class FeedError(ValueError):
    """The file at --out cannot be read back as a feed practiceweek wrote."""


@dataclass(frozen=True)
class Seen:
    """What the previous feed said about one entry."""

    sequence: int
    stamp: dt.datetime
    revision: str
    component: Any  # the icalendar Event, re-emitted as cancelled when no longer planned


def uid(pub: Publication) -> str:
    """The entry's UID: the publication id, stable across re-plans (not the Teams invitation's UID)."""
    return f"{pub.id}@practiceweek"


def preview_link(loaded: Loaded, pub: Publication, base: str) -> str:
    """Where the preview shows ``pub``: the page of the date it goes out on, at its section's anchor (in a
    joint week, in its partner's own part of the preview)."""
    date = pub.at.date()
    key = day_key(date) if date in week_dates(loaded.model) else outside_key(date)
    partner = f"/{pub.partner}" if pub.partner else ""
    return f"{base.rstrip('/')}{partner}/{key}.html#{pub.channel}-{pub.slot}"


def where(pub: Publication) -> str:
    """The channel, its audience and its connector (and account): "Email to practitioners (graph_mail)"."""
    audience = f" to {pub.audience}" if pub.audience else ""
    return f"{CHANNEL_NAMES[pub.channel]}{audience} ({route_label(pub.connector, pub.account)})"


def read_previous(data: bytes | None) -> dict[str, Seen]:
    """Every entry of the feed being replaced, by UID; nothing for no file. FeedError if it is not one."""
    if not data:
        return {}
    from icalendar import Calendar

    try:
        cal = Calendar.from_ical(data)
    except ValueError as exc:
        raise FeedError(f"not an iCalendar file ({exc})") from None
    if str(cal.get("prodid", "")) != PRODID:
        raise FeedError("not a calendar `practiceweek calendar` wrote; it is left as it is")
    seen: dict[str, Seen] = {}
    for event in cal.walk("VEVENT"):
        try:
            seen[str(event["uid"])] = Seen(int(event.get("sequence", 0)), event.decoded("dtstamp"),
                                           str(event.get(REVISION, "")), event)
        except (KeyError, ValueError) as exc:
            raise FeedError(f"an entry has no valid UID, SEQUENCE or DTSTAMP ({exc})") from None
    return seen


def _fields(loaded: Loaded, pub: Publication, link: str) -> dict[str, Any]:
    """What the entry shows; its hash is the entry's revision."""
    when = f"{pub.at:%A %d %B %Y %H:%M} ({loaded.model.campaign.timezone})"
    lines = [pub.title, f"Where: {where(pub)}", f"When: {when}", f"Campaign: {loaded.model.campaign.title}",
             f"Publication: {pub.id}", f"Preview: {link}"]
    return {"summary": pub.title, "location": where(pub), "description": "\n".join(lines), "url": link,
            "dtstart": pub.at, "dtend": pub.at + LENGTH, "categories": [CHANNEL_NAMES[pub.channel]],
            "status": "CONFIRMED"}


def _revision(fields: dict[str, Any]) -> str:
    blob = repr(sorted((k, v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in fields.items()))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _event(key: str, fields: dict[str, Any], before: Seen | None, now: dt.datetime) -> Any:
    from icalendar import Event

    revision = _revision(fields)
    same = before is not None and before.revision == revision
    sequence = 0 if before is None else before.sequence + (0 if same else 1)
    stamp = before.stamp if same and before is not None else now
    ev = Event()
    ev.add("uid", key)
    ev.add("sequence", sequence)
    ev.add("dtstamp", stamp)
    ev.add("last-modified", stamp)
    for name in ("dtstart", "dtend", "summary", "location", "description", "url", "status"):
        ev.add(name, fields[name])
    ev.add("categories", fields["categories"])
    ev.add("transp", "TRANSPARENT")
    ev.add(REVISION, revision)
    return ev


def _cancelled(before: Seen, now: dt.datetime) -> Any:
    """A previous entry no longer planned: as it was, STATUS:CANCELLED, one SEQUENCE higher (once)."""
    ev = before.component
    if str(ev.get("status", "")) == "CANCELLED":
        return ev
    for name in ("status", "sequence", "dtstamp", "last-modified", REVISION):
        ev.pop(name, None)
    ev.add("status", "CANCELLED")
    ev.add("sequence", before.sequence + 1)
    ev.add("dtstamp", now)
    ev.add("last-modified", now)
    ev.add(REVISION, "cancelled")
    return ev


def _zones(events: list[Any]) -> dict[str, int]:
    """Each TZID the entries use and the year of its first entry (the VTIMEZONE is built around it)."""
    zones: dict[str, int] = {}
    for ev in events:
        start = ev.decoded("dtstart")
        zone = start.tzinfo if isinstance(start, dt.datetime) else None
        if isinstance(zone, ZoneInfo) and zone.key != "UTC":
            zones[zone.key] = min(zones.get(zone.key, start.year), start.year)
    return zones


def week_calendar(weeks: list[Loaded], link_base: Callable[[Loaded], str], previous: bytes | None = None,
                  now: dt.datetime | None = None) -> bytes:
    """The feed of every publication of ``weeks``, replacing ``previous`` (the feed written last time).

    ``link_base(loaded)``: the address of that week's preview folder. ``now``: the DTSTAMP of entries
    that changed (default: this second, UTC)."""
    from icalendar import Calendar

    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    seen = read_previous(previous)
    events: list[Any] = []
    for loaded in weeks:
        base = link_base(loaded)
        for pub in plan(loaded.model):
            fields = _fields(loaded, pub, preview_link(loaded, pub, base))
            events.append(_event(uid(pub), fields, seen.pop(uid(pub), None), stamp))
    events += [_cancelled(seen[key], stamp) for key in sorted(seen)]
    cal = Calendar()
    titles = "; ".join(w.model.campaign.title for w in weeks)
    for name, value in (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN"),
                        ("method", "PUBLISH"), ("name", titles), ("x-wr-calname", titles)):
        cal.add(name, value)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")  # Outlook's name for REFRESH-INTERVAL
    for zone, year in sorted(_zones(events).items()):
        cal.add_component(vtimezone(zone, year))
    for ev in events:
        cal.add_component(ev)
    return bytes(cal.to_ical())

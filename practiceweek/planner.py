"""Expand a campaign into the ordered publications that make up its week.

Each publication has a stable id ``campaign/day/channel/slot``, an exact time in
the campaign's timezone, what it shows, what it waits for, and a fingerprint of
its content. The same file always plans the same; editing one day changes only
the publications that show that day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from .channels import Setting, resolve
from .dates import day_key, exact, known_date
from .model import CHANNELS, CampaignFile, Day, Event

CHANNEL_ORDER = {
    name: i
    for i, name in enumerate(
        ("teams_event", "web_page", "poster", "email", "teams_channel", "x", "bluesky", "mastodon")
    )
}


@dataclass(frozen=True)
class Publication:
    """One thing that goes out once, at one time, through one connector."""

    id: str
    campaign: str
    day: str
    date: dt.date
    channel: str
    slot: str
    connector: str
    at: dt.datetime
    missed_window: dt.timedelta
    title: str
    fingerprint: str
    depends_on: tuple[str, ...] = ()
    audience: str | None = None
    event_id: str | None = None
    content: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "campaign": self.campaign,
            "day": self.day,
            "date": self.date.isoformat(),
            "channel": self.channel,
            "slot": self.slot,
            "connector": self.connector,
            "at": self.at.isoformat(),
            "missed_window_s": int(self.missed_window.total_seconds()),
            "title": self.title,
            "audience": self.audience,
            "event_id": self.event_id,
            "depends_on": list(self.depends_on),
            "fingerprint": self.fingerprint,
        }


def fingerprint(content: Any) -> str:
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _campaign_view(cf: CampaignFile) -> dict[str, Any]:
    c = cf.campaign
    return c.model_dump(mode="json", include={"id", "title", "summary", "organiser", "branding", "hashtags"})


def _day_view(day: Day) -> dict[str, Any]:
    return day.model_dump(mode="json", exclude={"channels"})


def _event_view(event: Event) -> dict[str, Any]:
    return event.model_dump(mode="json")


def plan(cf: CampaignFile) -> list[Publication]:
    """Every publication of the campaign, ordered by time."""
    zone = ZoneInfo(cf.campaign.timezone)
    cid = cf.campaign.id
    base = _campaign_view(cf)
    days = sorted(((known_date(cf, d), d) for d in cf.days), key=lambda pair: pair[0])
    events_on: dict[dt.date, list[Event]] = {}
    for event in cf.events:
        events_on.setdefault(known_date(cf, event), []).append(event)
    out: list[Publication] = []

    def add(
        date: dt.date,
        setting: Setting,
        slot: str,
        title: str,
        content: dict[str, Any],
        at: dt.datetime,
        depends: list[str],
        **extra: Any,
    ) -> str:
        key = "week" if slot == "week" else day_key(date)
        pid = f"{cid}/{key}/{setting.channel}/{slot}"
        content = {**content, "connector": setting.connector}
        out.append(
            Publication(
                id=pid,
                campaign=cid,
                day=key,
                date=date,
                channel=setting.channel,
                slot=slot,
                connector=setting.connector,
                at=at,
                missed_window=setting.missed_window,
                title=title,
                fingerprint=fingerprint(content),
                depends_on=tuple(depends),
                content=content,
                **extra,
            )
        )
        return pid

    # Teams events are created ahead; the day's email, card and reminder carry their join link.
    created: dict[str, str] = {}
    event_setting = resolve(cf.channels, None, "teams_event")
    email_week = resolve(cf.channels, None, "email")
    for date, events in sorted(events_on.items()):
        for event in events:
            if event_setting.enabled:
                when = exact(
                    date - dt.timedelta(days=event_setting.create_days_before), event_setting.at, zone
                )
                created[event.id] = add(
                    date,
                    event_setting,
                    event.id,
                    f"Create Teams {event.kind}: {event.title}",
                    {"campaign": base, "event": _event_view(event)},
                    when,
                    [],
                    audience=event.audience,
                    event_id=event.id,
                )
            minutes = event_setting.reminder_minutes_before
            if email_week.enabled and event_setting.enabled and minutes > 0:
                start = exact(date, event.start, zone).astimezone(dt.UTC)  # count back in real minutes,
                when = (start - dt.timedelta(minutes=minutes)).astimezone(zone)  # not on the wall clock
                reminder = replace(email_week, missed_window=dt.timedelta(minutes=minutes))
                add(
                    date,
                    reminder,
                    f"reminder-{event.id}",
                    f"Reminder: {event.title} starts at {event.start:%H:%M}",
                    {"campaign": base, "event": _event_view(event), "reminder_minutes": minutes},
                    when,
                    [created[event.id]],
                    audience=event.audience,
                    event_id=event.id,
                )

    first_poster: tuple[dt.date, Setting] | None = None
    for date, day in days:
        view = {
            "campaign": base,
            "day": _day_view(day),
            "events": [_event_view(e) for e in events_on.get(date, [])],
        }
        event_deps = [created[e.id] for e in events_on.get(date, []) if e.id in created]
        poster_id = None
        for channel in CHANNELS:
            if channel == "teams_event":
                continue
            setting = resolve(cf.channels, day, channel)
            if not setting.enabled:
                continue
            at = exact(date, setting.at, zone)
            if channel == "poster":
                first_poster = first_poster or (date, setting)
                poster_id = add(date, setting, "daily", f"Poster: {day.title}", view, at, [])
            elif channel == "web_page":
                shown = [_day_view(d) for dd, d in days if dd <= date]
                add(
                    date,
                    setting,
                    "daily",
                    f"Week page: reveal {date:%A}",
                    {"campaign": base, "days": shown, "events": [_event_view(e) for e in cf.events]},
                    at,
                    [],
                )
            elif channel == "email":
                deps = ([poster_id] if poster_id else []) + event_deps
                add(
                    date,
                    setting,
                    "daily",
                    f"Email: {day.title}",
                    {**view, "audience": setting.audience},
                    at,
                    deps,
                    audience=setting.audience,
                )
            else:
                deps = ([poster_id] if poster_id and channel != "teams_channel" else []) + event_deps
                add(
                    date,
                    setting,
                    "daily",
                    f"{channel.replace('_', ' ').title()}: {day.title}",
                    view,
                    at,
                    deps,
                )
    if first_poster is not None:
        date, setting = first_poster
        add(
            date,
            setting,
            "week",
            "Poster: the whole week",
            {"campaign": base, "days": [_day_view(d) for _, d in days]},
            exact(date, setting.at, zone),
            [],
        )
    out.sort(key=lambda p: (p.at, CHANNEL_ORDER[p.channel], p.id))
    return out

"""Channel defaults and the resolution of week-level settings with per-day overrides."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .model import ChannelConfig, Channels, Day
from .notices import ExtraSlot, time_slot

DEFAULT_AT = {
    "poster": dt.time(8, 0),
    "week_poster": dt.time(8, 0),
    "web_page": dt.time(8, 0),
    "email": dt.time(8, 30),
    "teams_channel": dt.time(9, 0),
    "teams_event": dt.time(10, 0),
    "x": dt.time(12, 0),
    "bluesky": dt.time(12, 0),
    "mastodon": dt.time(12, 0),
}
DEFAULT_WINDOW = {
    "poster": dt.timedelta(hours=4),
    "week_poster": dt.timedelta(hours=4),
    "web_page": dt.timedelta(hours=12),
    "email": dt.timedelta(hours=2),
    "teams_channel": dt.timedelta(hours=1),
    "teams_event": dt.timedelta(hours=12),
    "x": dt.timedelta(minutes=30),
    "bluesky": dt.timedelta(minutes=30),
    "mastodon": dt.timedelta(minutes=30),
}
# which connectors can carry which channel; the first is the default
CONNECTORS_FOR = {
    "poster": ("outbox", "graph_files"),
    "week_poster": ("outbox", "graph_files"),
    "email": ("outbox", "graph_mail", "smtp_mail"),
    "teams_event": ("outbox", "graph_events"),
    "teams_channel": ("outbox", "teams_channel"),
    "web_page": ("outbox", "web_page"),
    "x": ("outbox", "x"),
    "bluesky": ("outbox", "bluesky"),
    "mastodon": ("outbox", "mastodon"),
}
# connectors that invite the event's attendees themselves (Exchange sends, updates and cancels the
# invitation under its own UID): the day's email then attaches no second invitation
INVITES_ATTENDEES = frozenset({"graph_events"})


@dataclass(frozen=True)
class Setting:
    """A channel's effective settings on one day."""

    channel: str
    enabled: bool
    at: dt.time
    connector: str
    missed_window: dt.timedelta
    audience: str | None
    create_days_before: int
    reminder_minutes_before: int
    source: str  # "week" or "day": where 'at' came from, for error positions
    extras: tuple[ExtraSlot, ...] = ()  # more publications that day, each at its own time, by time


def slot_of(extra: ExtraSlot) -> str:
    """The slot name of an extra publication: its id, else derived from its time."""
    return extra.id or time_slot(extra.at)


def resolve(channels: Channels, day: Day | None, channel: str) -> Setting:
    """Merge the week's settings for ``channel`` with ``day``'s overrides."""
    week: ChannelConfig | None = getattr(channels, channel)
    over: ChannelConfig | None = getattr(day.channels, channel) if day and day.channels else None

    def pick(name: str, default: Any) -> Any:
        for layer in (over, week):
            if layer is not None and getattr(layer, name) is not None:
                return getattr(layer, name)
        return default

    if over is not None:  # a day that names a channel turns it on that day, unless it says enabled: false
        enabled = over.enabled is not False
    else:
        enabled = week is not None and week.enabled is not False
    return Setting(
        channel=channel,
        enabled=bool(enabled),
        at=pick("at", DEFAULT_AT[channel]),
        connector=pick("connector", CONNECTORS_FOR[channel][0]),
        missed_window=pick("missed_window", DEFAULT_WINDOW[channel]),
        audience=pick("audience", None),
        create_days_before=pick("create_days_before", 5),
        reminder_minutes_before=pick("reminder_minutes_before", 60),
        source="day" if over is not None and over.at is not None else "week",
        extras=_extras(week, over),
    )


def _extras(week: ChannelConfig | None, over: ChannelConfig | None) -> tuple[ExtraSlot, ...]:
    """The week's extra slots merged with the day's: a day's slot replaces the week's of the same name."""
    merged: dict[str, ExtraSlot] = {}
    for layer in (week, over):
        for extra in layer.extra if layer is not None else []:
            merged[slot_of(extra)] = extra
    kept = [e for e in merged.values() if e.enabled is not False]
    return tuple(sorted(kept, key=lambda e: (e.at, slot_of(e))))

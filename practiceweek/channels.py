"""Channel defaults and the resolution of week-level settings with per-day overrides."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .model import ChannelConfig, Channels, Day

DEFAULT_AT = {
    "poster": dt.time(8, 0),
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
    "email": ("outbox", "graph_mail", "smtp_mail"),
    "teams_event": ("outbox", "graph_events"),
    "teams_channel": ("outbox", "teams_channel"),
    "web_page": ("outbox", "web_page"),
    "x": ("outbox", "x"),
    "bluesky": ("outbox", "bluesky"),
    "mastodon": ("outbox", "mastodon"),
}


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


def resolve(channels: Channels, day: Day | None, channel: str) -> Setting:
    """Merge the week's settings for ``channel`` with ``day``'s overrides."""
    week: ChannelConfig | None = getattr(channels, channel)
    over: ChannelConfig | None = getattr(day.channels, channel) if day and day.channels else None

    def pick(name: str, default: Any) -> Any:
        for layer in (over, week):
            if layer is not None and getattr(layer, name) is not None:
                return getattr(layer, name)
        return default

    enabled = pick("enabled", week is not None)
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
    )

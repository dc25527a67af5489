"""How each channel is configured in a campaign file: for the whole week under ``channels:``, and per day."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .fields import CONNECTORS, Duration, LocalTime, Slug, Strict
from .notices import ExtraSlot


class ChannelConfig(Strict):
    """When and through what a channel publishes. Every field may be overridden per day."""

    enabled: bool | None = Field(
        None, description="Switch the channel off (false) or on (true).", examples=[True]
    )
    at: LocalTime | None = Field(
        None, description="Local time the channel publishes on each day.", examples=["08:30"]
    )
    connector: Literal[CONNECTORS] | None = Field(  # type: ignore[valid-type]  # the tuple, spread at run time
        None,
        description="Which connector delivers it; 'outbox' writes files locally.",
        examples=["graph_mail"],
    )
    missed_window: Duration | None = Field(
        None,
        description="How late it may still go out; later than this it is skipped and operators alerted.",
        examples=["2h", "30m"],
    )
    audience: Slug | None = Field(
        None, description="Audience id (email channel): who receives it.", examples=["practitioners"]
    )
    create_days_before: int | None = Field(
        None,
        ge=0,
        le=60,
        description="Teams events: create the meeting this many days before it happens.",
        examples=[7],
    )
    reminder_minutes_before: int | None = Field(
        None,
        ge=0,
        le=10080,
        description="Teams events: reminder email this many minutes before the start (0 for none).",
        examples=[60],
    )
    extra: list[ExtraSlot] = Field(
        default_factory=list,
        description="More publications of this channel on the same day, each at its own time (email, "
        "teams_channel, x, bluesky, mastodon). A day's extra with the same time (or id) replaces the week's.",
        examples=[[{"at": "13:00"}], [{"at": "13:00", "one_thing": True}]],
    )


class Channels(Strict):
    """The channels of the week. A channel left out is off; a day that names a channel turns it on."""

    poster: ChannelConfig | None = Field(
        None,
        description="Daily A4 poster (PDF and PNG). Off: no poster is attached, linked or pictured anywhere.",
        examples=[{"at": "08:00"}],
    )
    week_poster: ChannelConfig | None = Field(
        None,
        description="The whole-week poster, once, on the week's first day (on or off by itself). "
        "Week-level only.",
        examples=[{"at": "08:00"}],
    )
    email: ChannelConfig | None = Field(
        None,
        description="Daily email to an audience.",
        examples=[{"at": "08:30", "audience": "practitioners"}],
    )
    teams_event: ChannelConfig | None = Field(
        None,
        description="Teams meetings and webinars for the week's events.",
        examples=[{"create_days_before": 7, "at": "10:00", "reminder_minutes_before": 60}],
    )
    teams_channel: ChannelConfig | None = Field(
        None, description="Daily announcement card in a Teams channel.", examples=[{"at": "09:00"}]
    )
    web_page: ChannelConfig | None = Field(
        None, description="The week's public page; each day revealed when live.", examples=[{"at": "08:00"}]
    )
    x: ChannelConfig | None = Field(None, description="Daily post on X.", examples=[{"at": "12:00"}])
    bluesky: ChannelConfig | None = Field(
        None, description="Daily post on Bluesky.", examples=[{"at": "12:00"}]
    )
    mastodon: ChannelConfig | None = Field(
        None, description="Daily post on Mastodon.", examples=[{"at": "12:00"}]
    )

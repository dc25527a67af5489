"""Publications beyond one-per-channel-per-day: extra slots on a day, and notices before and after the week.

An ``ExtraSlot`` is another email, card or post of a channel on the same day, at its own time, with its own
focus. A ``Notice`` is an announcement before the week (a launch poster, a save-the-date, a teaser post)
or a follow-up after it (a thank-you, a round-up of every resource, a feedback survey link).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from .fields import ContentWarning, Date, Image, LocalTime, Resource, Slug, Strict, Text

EXTRA_CHANNELS = ("email", "teams_channel", "x", "bluesky", "mastodon")  # may go out more than once a day
NOTICE_CHANNELS = ("poster", "email", "teams_channel", "web_page", "x", "bluesky", "mastodon")


def time_slot(at: dt.time) -> str:
    """The slot name derived from a time: ``at-1300``. Stable whatever else is added to the day."""
    return f"at-{at:%H%M}"


def notice_slot(kind: str, notice: Notice) -> str:
    """The slot name of a notice: its id, else ``announcement-1600`` / ``follow-up-0900`` from its time."""
    return notice.id or f"{kind}-{notice.at:%H%M}"


class ExtraSlot(Strict):
    """Another publication of this channel on the same day, at its own time (a second X post at 13:00)."""

    at: LocalTime = Field(description="Local time this one goes out.", examples=["13:00"])
    id: Slug | None = Field(
        None,
        description="Stable name of this slot, the last part of its publication id; "
        "defaults to its time (at-1300). Give one if you may move its time later.",
        examples=["lunchtime"],
    )
    enabled: bool | None = Field(
        None,
        description="false: drop this slot (on a day, to skip one the week's channel settings add).",
        examples=[False],
    )
    text: Text | None = Field(
        None,
        description="Your own words: the whole post on social networks, the opening paragraph of an email "
        "or card. Only on a day (the same post every day is refused by X).",
        examples=["Neglect can be hard to see. What does a day in this child's life look like?"],
    )
    theme: Text | None = Field(
        None,
        description="Show only this theme of the day (its title, as written in the day). Only on a day.",
        examples=["Recognising neglect"],
    )
    resource: Text | None = Field(
        None,
        description="Show only this resource of the day (its title, as written in the day). Only on a day.",
        examples=["Neglect Strategy and Toolkit"],
    )
    one_thing: bool | None = Field(
        None,
        description="true: lead with the day's 'If you do one thing' line and leave the rest out.",
        examples=[True],
    )
    content_warning: ContentWarning | None = Field(
        None,
        description="A content warning on this post only (Mastodon; Bluesky self-labels), instead of the "
        "day's or the campaign's. Social networks only.",
        examples=[{"text": "Child sexual exploitation"}],
    )


class Notice(Strict):
    """A publication before or after the week, at a date and time of its own, on the channels you list."""

    date: Date = Field(
        description="Date it goes out (YYYY-MM-DD): before the week for an announcement, after it for a "
        "follow-up.",
        examples=["2025-10-24"],
    )
    at: LocalTime = Field(description="Local time it goes out, on that date's clock.", examples=["16:00"])
    channels: list[Literal[NOTICE_CHANNELS]] = Field(  # type: ignore[valid-type]
        min_length=1,
        description="Where it goes out: poster (the whole-week poster), email, teams_channel, web_page "
        "(the week's page), x, bluesky, mastodon. Teams meetings are created from events instead.",
        examples=[["poster", "x", "bluesky"]],
    )
    id: Slug | None = Field(
        None,
        description="Stable name, the last part of its publication ids; defaults to 'announcement-HHMM' or "
        "'follow-up-HHMM' from its time. Give one when two notices share a date and time.",
        examples=["launch", "save-the-date"],
    )
    title: Text = Field(
        description="Headline: the email's subject, the card's heading, the first line of a generated post.",
        examples=["Coming soon: Neglect: See it, Say it"],
    )
    text: Text | None = Field(
        None,
        description="The message itself: the email's opening paragraph, the card's text and, unless a "
        "network has its own text, the whole social post.",
        examples=["Safeguarding Practice Week starts on Monday 27 October. Five days on neglect."],
    )
    x: Text | None = Field(None, description="Own text for X (weighted 280, links count 23).",
                           examples=["Next week: Neglect: See it, Say it. #SafeguardingPracticeWeek"])
    bluesky: Text | None = Field(None, description="Own text for Bluesky (300 graphemes).",
                                 examples=["Next week: Neglect: See it, Say it."])
    mastodon: Text | None = Field(None, description="Own text for Mastodon (500 characters).",
                                  examples=["Next week: Neglect: See it, Say it."])
    image: Image | None = Field(
        None,
        description="Picture for social posts; the whole-week poster when left out (if week_poster is on).",
        examples=[{"src": "images/launch.png", "alt": "Neglect: See it, Say it. 27 to 31 October"}],
    )
    events: list[Slug] = Field(
        default_factory=list,
        description="Ids of events this notice invites to: an email carries each one's invitation (.ics), "
        "a post or card names its date and time.",
        examples=[["neglect-webinar"]],
    )
    audience: Slug | None = Field(
        None, description="Email: who receives it; the email channel's audience when left out.",
        examples=["practitioners"],
    )
    content_warning: ContentWarning | None = Field(
        None,
        description="A content warning on this notice's Mastodon posts (and Bluesky self-labels, if given), "
        "instead of the campaign's.",
        examples=[{"text": "Domestic abuse"}],
    )
    round_up: bool = Field(
        False,
        description="true: list every day of the week with its themes and resources (a round-up).",
        examples=[True],
    )
    resources: list[Resource] = Field(
        default_factory=list,
        description="Links of its own, e.g. a feedback survey (kind: survey).",
        examples=[[{"title": "Tell us what you thought", "url": "https://forms.example.gov.uk/spw",
                    "kind": "survey"}]],
    )

"""The campaign model: a practice week as comms teams write it in YAML.

Day → themes → resources, plus events, audiences and channels. Every field has
a description and an example, which become the JSON Schema that gives editors
autocompletion (``practiceweek schema``). The building blocks live in ``fields.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from .accounts import Accounts
from .channel_config import ChannelConfig, Channels
from .fields import (
    CHANNELS,
    SOCIAL_NETWORKS,
    WEEKDAYS,
    ContentWarning,
    Date,
    Email,
    HttpUrl,
    Image,
    LocalTime,
    Resource,
    ResourceKind,
    Slug,
    Strict,
    Text,
    Weekday,
)
from .notices import Notice
from .partner_model import Audience, Branding, Organiser, Partners, ThemeOverrides

__all__ = [
    "Audience",
    "Branding",
    "Organiser",
    "CHANNELS",
    "SOCIAL_NETWORKS",
    "WEEKDAYS",
    "ChannelConfig",
    "Channels",
    "Image",
    "Resource",
    "ResourceKind",
]


class Week(Strict):
    """The dates the practice week runs."""

    start: Date = Field(description="First day of the week (YYYY-MM-DD).", examples=["2024-06-24"])
    end: Date | None = Field(
        None, description="Last day; defaults to four days after start (Mon–Fri).", examples=["2024-06-28"]
    )

    @property
    def last(self) -> dt.date:
        return self.end or self.start + dt.timedelta(days=4)


class Analytics(Strict):
    """How links in what goes out are tagged for the partnership's own web analytics."""

    tag_links: bool = Field(
        True,
        description="Add utm_source (channel), utm_medium, utm_campaign (campaign id) and utm_content "
        "(day and slot) to every link to the organiser's own website, so its analytics show which email, "
        "post, card or poster brought each visit. Links to other sites are never changed. false: no tags.",
        examples=[False],
    )


class Campaign(Strict):
    """Who runs the week, when, for whom, and how it looks."""

    id: Slug = Field(
        description="Stable identifier: lower-case letters, digits, hyphens. Used in publication ids; "
        "changing it re-plans everything.",
        examples=["hscp-lfr-2024"],
    )
    title: Text = Field(
        description="Name of the week as recipients see it.",
        examples=["Safeguarding Practice Week: Learning from Reviews"],
    )
    summary: Text | None = Field(
        None,
        description="One or two sentences introducing the week.",
        examples=["Five days on the perennial practice challenges from reviews."],
    )
    organiser: Organiser = Field(
        description="The partnership running the week.",
        examples=[
            {
                "name": "Hampshire Safeguarding Children Partnership",
                "short_name": "HSCP",
                "email": "hscp@hants.gov.uk",
            }
        ],
    )
    timezone: Text = Field(
        "Europe/London", description="IANA timezone all local times are in.", examples=["Europe/London"]
    )
    week: Week = Field(
        description="The dates of the week.", examples=[{"start": "2024-06-24", "end": "2024-06-28"}]
    )
    branding: Branding = Field(
        default_factory=Branding,
        description="Colours, logo and template overrides.",
        examples=[{"primary_colour": "#1D3E6E", "accent_colour": "#F2A900"}],
    )
    analytics: Analytics = Field(
        default_factory=Analytics,
        description="Tagging of links to the organiser's website for its web analytics (on by default).",
        examples=[{"tag_links": False}],
    )
    audiences: dict[Slug, Audience] = Field(
        default_factory=dict,
        description="Named recipient groups, by id (required unless the week has partners, each with "
        "its own).",
        examples=[{"practitioners": {"description": "Practitioners", "recipients": ["list@hants.gov.uk"]}}],
    )
    allowed_email_domains: list[Text] = Field(
        default_factory=list,
        description="Only addresses at these domains (or their subdomains) may receive email (required "
        "unless the week has partners, each with its own).",
        examples=[["hants.gov.uk", "hampshirescp.org.uk"]],
    )
    hashtags: list[Text] = Field(
        default_factory=list,
        description="Hashtags added to social posts (without #).",
        examples=[["SafeguardingPracticeWeek"]],
    )
    content_warning: ContentWarning | None = Field(
        None,
        description="A content warning on every Mastodon post (and Bluesky self-labels, if given) of the "
        "week; a day, an extra post or a notice may give its own.",
        examples=[{"text": "Domestic abuse"}],
    )
    approval: Literal["none", "required", "per_partner"] | list[Slug] = Field(
        "none",
        description="'required': nothing goes out until someone approves the week in the Prefect UI (one "
        "approver for the whole week, joint or not). Joint weeks: 'per_partner': each partner's "
        "publications wait for that partner's own approver, and one partner rejecting holds only its own; "
        "a list of partner keys: only those partners' publications wait for their approvers, the others' "
        "go out as planned.",
        examples=["required", "per_partner", ["portsmouth", "southampton"]],
    )
    accounts: Accounts = Field(
        default_factory=Accounts,
        description="The provider accounts this campaign publishes through: a saved Prefect block name per "
        "provider kind (never a secret). Unset: the deployment's default accounts.",
        examples=[{"x": "iowscp-x", "graph": "iowscp-m365", "mastodon": "iowscp-mastodon"}],
    )
    partners: Partners = None


class Theme(Strict):
    """One theme of a day."""

    title: Text = Field(description="The theme's name.", examples=["Information exchange"])
    summary: Text | None = Field(
        None, description="A short paragraph on the theme.", examples=["Share information in a timely way."]
    )
    key_messages: list[Text] = Field(
        default_factory=list,
        description="Bullet points for practice.",
        examples=[["Don't assume important information is already known."]],
    )
    one_thing: Text | None = Field(
        None,
        description="The 'If you do one thing' line.",
        examples=["Share information in a way that can be understood by everyone."],
    )
    resources: list[Resource] = Field(
        default_factory=list,
        description="Resources for this theme.",
        examples=[
            [{"title": "HIPS Procedures", "url": "https://hipsprocedures.org.uk/", "kind": "procedure"}]
        ],
    )
    partners: ThemeOverrides = None


class SocialText(Strict):
    """Hand-written social post text; generated from the day when left out."""

    text: Text | None = Field(
        None,
        description="Text for every network unless a network has its own.",
        examples=["Today: information exchange. #SafeguardingPracticeWeek"],
    )
    x: Text | None = Field(
        None, description="Text for X (weighted 280, links count 23).", examples=["Today…"]
    )
    bluesky: Text | None = Field(None, description="Text for Bluesky (300 graphemes).", examples=["Today…"])
    mastodon: Text | None = Field(
        None, description="Text for Mastodon (500 characters).", examples=["Today…"]
    )
    image: Image | None = Field(
        None,
        description="Image for the posts; the day's poster when left out.",
        examples=[{"src": "images/tuesday.png", "alt": "Two practitioners talking"}],
    )


class Day(Strict):
    """One day of the week: its themes and how it goes out."""

    weekday: Weekday | None = Field(
        None, description="Which day, by name (give this or date).", examples=["tuesday"]
    )
    date: Date | None = Field(
        None, description="Which day, by date (give this or weekday).", examples=["2024-06-25"]
    )
    title: Text = Field(description="Headline of the day.", examples=["Information exchange and risk"])
    summary: Text | None = Field(
        None, description="Introduction to the day.", examples=["Today we focus on…"]
    )
    themes: list[Theme] = Field(
        min_length=1,
        description="The day's themes.",
        examples=[
            [
                {
                    "title": "Information exchange",
                    "one_thing": "Share information in a way that can be understood by everyone.",
                }
            ]
        ],
    )
    poster: Image | None = Field(
        None,
        description="A ready-made poster image instead of the generated one.",
        examples=[
            {"src": "posters/tuesday.png", "alt": "Poster: information exchange, risk and critical thinking"}
        ],
    )
    social: SocialText | None = Field(
        None,
        description="Hand-written social post text.",
        examples=[{"text": "Today: information exchange. #SafeguardingPracticeWeek"}],
    )
    content_warning: ContentWarning | None = Field(
        None,
        description="A content warning on this day's Mastodon posts (and Bluesky self-labels, if given), "
        "instead of the campaign's.",
        examples=[{"text": "Self-harm", "bluesky": ["graphic-media"]}],
    )
    channels: Channels | None = Field(
        None,
        description="Per-day overrides of the week's channel settings.",
        examples=[{"email": {"at": "10:00"}, "x": {"enabled": False}}],
    )


class Event(Strict):
    """A Teams webinar or meeting during the week."""

    id: Slug = Field(description="Stable id of the event.", examples=["da-impact-webinar"])
    kind: Literal["webinar", "meeting"] = Field(
        "webinar", description="Webinar or meeting.", examples=["webinar"]
    )
    title: Text = Field(
        description="Title of the meeting.",
        examples=["An introduction to the impact of domestic abuse on children and young people"],
    )
    day: Weekday | None = Field(
        None, description="Day of the week it happens (give this or date).", examples=["wednesday"]
    )
    date: Date | None = Field(
        None, description="Date it happens (give this or day).", examples=["2024-11-27"]
    )
    start: LocalTime = Field(description="Local start time.", examples=["13:30"])
    end: LocalTime = Field(description="Local end time.", examples=["15:00"])
    description: Text | None = Field(None, description="What the session covers.", examples=["A 90-minute…"])
    organiser: Email = Field(description="Mailbox that owns the meeting.", examples=["iowscp@iow.gov.uk"])
    audience: Slug = Field(description="Audience id invited to it.", examples=["practitioners"])
    join_url: HttpUrl | None = Field(
        None,
        description="Join link if the meeting already exists elsewhere.",
        examples=["https://teams.microsoft.com/l/meetup-join/…"],
    )
    host: Slug | None = Field(
        None,
        description="Joint weeks: the partner (its key under campaign.partners) that creates the meeting and "
        "sends its one set of invitations; every partner announces it. The first partner when left out.",
        examples=["hampshire"],
    )


Announcements = Annotated[list[Notice], Field(
    default_factory=list,
    description="Publications before the week starts: a launch poster, a save-the-date email with the "
    "webinar invitation, teaser posts. Each has its own date and time.",
    examples=[[{"date": "2025-10-24", "at": "16:00", "channels": ["poster", "x"],
                "title": "Coming soon: Neglect: See it, Say it"}]],
)]
FollowUps = Annotated[list[Notice], Field(
    default_factory=list,
    description="Publications after the week ends: a thank-you post, a round-up email with every "
    "resource, a feedback survey link. Each has its own date and time.",
    examples=[[{"date": "2025-11-03", "at": "09:00", "channels": ["email"], "title": "Thank you",
                "round_up": True}]],
)]


class CampaignFile(Strict):
    """A practice week: campaign, channels, days and events."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="practiceweek campaign",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    campaign: Campaign = Field(
        description="Who runs the week, when and for whom.",
        examples=[
            {
                "id": "hscp-lfr-2024",
                "title": "Safeguarding Practice Week: Learning from Reviews",
                "organiser": {
                    "name": "Hampshire Safeguarding Children Partnership",
                    "short_name": "HSCP",
                    "email": "hscp@hants.gov.uk",
                },
                "week": {"start": "2024-06-24"},
                "audiences": {
                    "practitioners": {
                        "description": "Practitioners",
                        "recipients": ["hscp-practitioners@hants.gov.uk"],
                    }
                },
                "allowed_email_domains": ["hants.gov.uk"],
            }
        ],
    )
    channels: Channels = Field(
        description="Which channels publish, when, and through which connector.",
        examples=[{"poster": {"at": "08:00"}, "email": {"at": "08:30", "audience": "practitioners"}}],
    )
    days: list[Day] = Field(
        min_length=1,
        max_length=7,
        description="The days of the week, in order.",
        examples=[
            [
                {
                    "weekday": "tuesday",
                    "title": "Information exchange",
                    "themes": [{"title": "Information exchange"}],
                }
            ]
        ],
    )
    events: list[Event] = Field(
        default_factory=list,
        description="Teams webinars and meetings.",
        examples=[
            [
                {
                    "id": "da-impact-webinar",
                    "title": "The impact of domestic abuse on children",
                    "day": "wednesday",
                    "start": "13:30",
                    "end": "15:00",
                    "organiser": "iowscp@iow.gov.uk",
                    "audience": "practitioners",
                }
            ]
        ],
    )
    announcements: Announcements
    follow_ups: FollowUps

"""Who runs a week and for whom: the organiser, its branding and audiences, and, for a joint week, the
partners that each publish the shared programme under their own name.

A joint week names its ``partners:`` under ``campaign``: each with its own organiser, branding, audiences,
allowed email domains and accounts. Days, themes, resources, events and channels are shared; a partner
switches a channel off or changes it (``channels:``), a theme gives a partner its own resources
(``themes[…].partners``), an announcement can be for some partners only. ``practiceweek.partners`` expands
the file into one single-partner campaign per partner.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .accounts import Accounts
from .channel_config import Channels
from .fields import _COLOUR, Email, HttpUrl, Image, Resource, Slug, Strict, Text


class Organiser(Strict):
    """The partnership that runs the week."""

    name: Text = Field(
        description="Full name of the partnership.", examples=["Hampshire Safeguarding Children Partnership"]
    )
    short_name: Text = Field(description="Abbreviation used in subject lines and posts.", examples=["HSCP"])
    email: Email = Field(description="Reply-to and organiser address.", examples=["hscp@hants.gov.uk"])
    website: HttpUrl | None = Field(
        None, description="The partnership's website.", examples=["https://www.hampshirescp.org.uk"]
    )


class Branding(Strict):
    """Colours and logo for posters, emails and the week's page."""

    primary_colour: Annotated[str, Field(pattern=_COLOUR.pattern)] = Field(
        "#1D3E6E", description="Main colour as #RRGGBB; used for headings and banners.", examples=["#005EB8"]
    )
    accent_colour: Annotated[str, Field(pattern=_COLOUR.pattern)] = Field(
        "#F2A900", description="Second colour as #RRGGBB; used for highlights.", examples=["#F2A900"]
    )
    logo: Image | None = Field(
        None,
        description="The partnership's logo, with alt text.",
        examples=[{"src": "images/logo.png", "alt": "HSCP logo"}],
    )
    templates: Text | None = Field(
        None,
        description="Folder of Jinja2 templates overriding the built-in ones "
        "(relative to the campaign file).",
        examples=["templates/hscp"],
    )


class Audience(Strict):
    """A named group of recipients."""

    description: Text = Field(
        description="Who this group is.", examples=["Multi-agency practitioners in Hampshire"]
    )
    recipients: list[Email] = Field(
        min_length=1,
        description="Email addresses or distribution lists.",
        examples=[["safeguarding-practitioners@hants.gov.uk"]],
    )


class Partner(Strict):
    """One partnership of a joint week: it publishes the shared programme under its own name, colours and
    accounts, to its own audiences, on its own web page."""

    organiser: Organiser = Field(
        description="The partnership's own name, short name, mailbox and website.",
        examples=[{"name": "Isle of Wight Safeguarding Children Partnership", "short_name": "IOWSCP",
                   "email": "iowscp@iow.gov.uk", "website": "https://www.iowscp.org.uk"}],
    )
    branding: Branding | None = Field(
        None,
        description="Its own colours, logo and templates; the campaign's branding when left out.",
        examples=[{"primary_colour": "#00558C", "accent_colour": "#78BE20"}],
    )
    audiences: dict[Slug, Audience] = Field(
        min_length=1,
        description="Its own recipient groups, by id. Give each the ids the channels and events name.",
        examples=[{"practitioners": {"description": "Practitioners on the Isle of Wight",
                                     "recipients": ["iowscp-practitioners@iow.gov.uk"]}}],
    )
    allowed_email_domains: list[Text] = Field(
        min_length=1,
        description="Only addresses at these domains (or their subdomains) may receive its email.",
        examples=[["iow.gov.uk"]],
    )
    accounts: Accounts = Field(
        default_factory=Accounts,
        description="Its own provider accounts: a saved Prefect block name per provider kind. Two partners "
        "never share one. Unset: the deployment's default accounts.",
        examples=[{"x": "iowscp-x", "graph": "iowscp-m365"}],
    )
    hashtags: list[Text] | None = Field(
        None,
        description="Its own hashtags (without #); the campaign's when left out.",
        examples=[["IOWSafeguardingWeek"]],
    )
    channels: Channels | None = Field(
        None,
        description="Changes to the week's channels for this partner only: a field given here replaces the "
        "week's; 'enabled: false' switches a channel off (no Bluesky for a partner without an account).",
        examples=[{"bluesky": {"enabled": False}, "email": {"at": "09:00"}}],
    )


Partners = Annotated[dict[Slug, Partner] | None, Field(
    None,
    description="A joint week: the partnerships that each publish the shared programme under their own "
    "name, by a short key (the last part of their publication ids). The first is the lead. Leave out for "
    "a week one partnership runs; then campaign.organiser, audiences and allowed_email_domains are its own.",
    examples=[{
        "hampshire": {
            "organiser": {"name": "Hampshire Safeguarding Children Partnership", "short_name": "HSCP",
                          "email": "hscp@hants.gov.uk"},
            "audiences": {"practitioners": {"description": "Practitioners in Hampshire",
                                            "recipients": ["hscp-practitioners@hants.gov.uk"]}},
            "allowed_email_domains": ["hants.gov.uk"],
            "accounts": {"x": "hscp-x"},
        },
        "isle-of-wight": {
            "organiser": {"name": "Isle of Wight Safeguarding Children Partnership", "short_name": "IOWSCP",
                          "email": "iowscp@iow.gov.uk"},
            "branding": {"primary_colour": "#00558C"},
            "audiences": {"practitioners": {"description": "Practitioners on the Isle of Wight",
                                            "recipients": ["iowscp-practitioners@iow.gov.uk"]}},
            "allowed_email_domains": ["iow.gov.uk"],
            "accounts": {"x": "iowscp-x"},
            "channels": {"bluesky": {"enabled": False}},
        },
    }],
)]


class ThemeOverride(Strict):
    """What one partner shows of a theme instead of the shared text: each field given replaces it."""

    summary: Text | None = Field(None, description="Its own summary of the theme.",
                                 examples=["Portsmouth's neglect pathway in brief."])
    key_messages: list[Text] | None = Field(None, description="Its own key messages.",
                                            examples=[["Use the Portsmouth neglect toolkit."]])
    one_thing: Text | None = Field(None, description="Its own 'If you do one thing' line.",
                                   examples=["Ask what a day in this child's life looks like."])
    resources: list[Resource] | None = Field(
        None,
        description="Its own resources for the theme, shown instead of the shared ones ([] for none).",
        examples=[[{"title": "Portsmouth neglect toolkit",
                    "url": "https://www.portsmouthscp.org.uk/neglect", "kind": "toolkit"}]],
    )


ThemeOverrides = Annotated[dict[Slug, ThemeOverride] | None, Field(
    None,
    description="Joint weeks: a partner's own version of this theme, by the partner's key; the others "
    "show the shared one.",
    examples=[{"portsmouth": {"resources": [{"title": "Portsmouth neglect toolkit",
                                             "url": "https://www.portsmouthscp.org.uk/neglect",
                                             "kind": "toolkit"}]}}],
)]

"""The building blocks of campaign files: dates, times, addresses, links, images and resources.

Each is checked the same way by the validator and described the same way in the JSON Schema, so an
editor and ``practiceweek validate`` accept the same values.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CHANNELS = ("poster", "email", "teams_event", "teams_channel", "web_page", "x", "bluesky", "mastodon")
SOCIAL_NETWORKS = ("x", "bluesky", "mastodon")
CONNECTORS = (
    "outbox",
    "smtp_mail",
    "graph_mail",
    "graph_events",
    "graph_files",
    "teams_channel",
    "web_page",
    "x",
    "bluesky",
    "mastodon",
)

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?$")


def kind_of(value: Any) -> str:
    """What a YAML value is, in a comms officer's words (after "got a"), never its Python form."""
    if isinstance(value, dict):
        return "group of 'name: value' lines"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "true/false value"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "empty value"
    return "text"


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, dict | list):  # its parts, not one date
        raise ValueError(f"expected a date written YYYY-MM-DD (e.g. 2024-06-24), got a {kind_of(value)}")
    text = str(value).strip()
    match = _DATE.match(text)
    if not match:
        raise ValueError(f"expected a date written YYYY-MM-DD (e.g. 2024-06-24), got {text!r}")
    try:
        date = dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ValueError(f"{text} is not a real date (check the month and the day of the month)") from None
    if not 2000 <= date.year <= 2100:
        raise ValueError(f"expected a year between 2000 and 2100, got {text}")
    return date


def _time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    text = str(value).strip()
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"expected a 24-hour local time HH:MM (e.g. 09:30), got {text!r}")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _duration(value: Any) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    text = str(value).strip()
    match = _DURATION.match(text)
    if not text or not match or not any(match.groups()):
        raise ValueError(f"expected a duration like 30m, 2h or 1d 6h, got {text!r}")
    d, h, m = (int(g or 0) for g in match.groups())
    return dt.timedelta(days=d, hours=h, minutes=m)


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address (expected name@example.org)")
    return value.lower()


def _http_url(value: str) -> str:
    text = value.strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme not in ("http", "https") or not re.match(r"^https?://[^\s/$.?#][^\s]*$", text, re.I):
        raise ValueError(f"expected an http:// or https:// web address, got {text!r}")
    return text


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            f"expected lower-case letters, digits and hyphens (e.g. hscp-lfr-2024), got {value!r}"
        )
    return value


WEEKDAY_SPELLINGS = tuple(
    spelt for day in WEEKDAYS for spelt in (day, day.capitalize(), day.upper())
)  # what both the validator and the JSON Schema accept: monday, Monday, MONDAY


def _weekday(value: Any) -> str:
    text = str(value)
    if text not in WEEKDAY_SPELLINGS:
        lower = text.strip().lower()

        def score(day: str) -> float:  # 'munday' is nearer monday than sunday
            return difflib.SequenceMatcher(None, lower, day).ratio() + (0.05 if lower[:1] == day[:1] else 0)

        best = max(WEEKDAYS, key=score)
        hint = f"; did you mean '{best}'?" if score(best) >= 0.6 else ""
        raise ValueError(
            f"expected a weekday name (monday … sunday, or Monday … Sunday), got {value!r}{hint}"
        )
    return text.lower()


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _str(value: Any) -> Any:
    """Accept YAML numbers where text is meant (e.g. a title '2024')."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _schema(**extra: Any) -> Any:
    """The JSON Schema of a field type, written to accept exactly what its validator accepts."""
    return Field(json_schema_extra=extra)


_URL_PATTERN = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s/$.?#]\S*\s*$"

Text = Annotated[str, BeforeValidator(_str), AfterValidator(_nonblank), _schema(type=["string", "number"],
                                                                                  pattern=r"\S")]
Date = Annotated[dt.date, BeforeValidator(_date), _schema(type="string", format="date",
                                                          pattern=r"^\s*\d{4}-\d{2}-\d{2}\s*$")]
LocalTime = Annotated[dt.time, BeforeValidator(_time), _schema(type="string", pattern=_TIME.pattern)]
Duration = Annotated[
    dt.timedelta, BeforeValidator(_duration), _schema(type="string", pattern=r"^(\d+d)?\s*(\d+h)?\s*(\d+m)?$")
]
Email = Annotated[str, AfterValidator(_email), _schema(pattern=r"^\s*" + _EMAIL.pattern[1:-1] + r"\s*$")]
HttpUrl = Annotated[str, AfterValidator(_http_url), _schema(pattern=_URL_PATTERN)]
Slug = Annotated[str, AfterValidator(_slug), _schema(pattern=r"^\s*" + _SLUG.pattern[1:-1] + r"\s*$")]
Weekday = Annotated[str, BeforeValidator(_weekday), _schema(enum=list(WEEKDAY_SPELLINGS))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Image(Strict):
    """A picture with the words that describe it to someone who cannot see it."""

    src: Text = Field(
        description="Path (relative to the campaign file) or https:// address of the image.",
        examples=["images/hscp-logo.png"],
    )
    alt: Text = Field(
        description="Alt text: what the image shows, for screen readers. Required.",
        examples=["Hampshire Safeguarding Children Partnership logo"],
    )


class ResourceKind(StrEnum):
    """What sort of resource it is."""

    toolkit = "toolkit"
    overview_pack = "overview_pack"
    briefing = "briefing"
    training = "training"
    procedure = "procedure"
    guidance = "guidance"
    poster = "poster"
    report = "report"
    strategy = "strategy"
    webpage = "webpage"
    survey = "survey"


class Resource(Strict):
    """Something practitioners can open: a toolkit, pack, briefing, training or procedure."""

    title: Text = Field(description="Name of the resource.", examples=["Learning from Reviews Toolkit"])
    url: HttpUrl = Field(
        description="http(s) address where it lives.",
        examples=["https://www.hampshirescp.org.uk/learning-from-reviews-toolkit"],
    )
    kind: ResourceKind = Field(
        description="What sort of resource this is (shown as its label).", examples=["toolkit"]
    )
    description: Text | None = Field(
        None,
        description="One sentence on what it offers.",
        examples=["Tools to apply learning from reviews in everyday practice."],
    )


BLUESKY_SELF_LABELS = ("graphic-media", "nudity", "sexual", "porn", "!no-unauthenticated")


class ContentWarning(Strict):
    """A content warning on social posts about a sensitive topic (abuse, exploitation, self-harm)."""

    text: Text = Field(
        description="What Mastodon shows in place of the post until the reader opens it (the post's content "
        "warning, its spoiler_text). A few words naming the topic.",
        examples=["Domestic abuse"],
    )
    bluesky: list[Literal[BLUESKY_SELF_LABELS]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="Bluesky self-labels, where one applies: graphic-media (images of injury), nudity, "
        "sexual, porn, or !no-unauthenticated (hidden from people not logged in). Bluesky has no label for "
        "a topic, so most weeks leave this out; X has no content warnings.",
        examples=[["graphic-media"]],
    )

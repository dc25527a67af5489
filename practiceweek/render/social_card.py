"""A social card per post, sized for feeds: a 1200 × 675 PNG typeset with Typst, with alt text.

It shows the day's title, its key message (the "If you do one thing" line, else the first key
message) and every event's time (each one's title too when there are two), in the partnership's colours,
with its logo.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..artifacts import Attachment, RenderContext
from ..loader import Loaded
from ..planner import Publication
from . import views
from .poster import brand_colours, logo_file
from .typeset import typeset

WIDTH, HEIGHT = 1200, 675
PPI = 144  # the card is 600 × 337.5 pt

_CARDS: dict[tuple[str, ...], Attachment] = {}


def card_for(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Attachment:
    """The social card of ``pub``'s day; cached per campaign content and day."""
    digest = hashlib.sha256(loaded.model.model_dump_json().encode()).hexdigest()
    key = (str(loaded.path), digest, pub.date.isoformat())
    if key not in _CARDS:
        if len(_CARDS) > 256:
            _CARDS.clear()
        data, files = card_data(loaded, pub, ctx)
        png = typeset(loaded, "social_card.typ", data, files, fmt="png", ppi=PPI)[0]
        _CARDS[key] = Attachment(f"{pub.day}-card.png", "image/png", png, alt=data["alt"])
    return _CARDS[key]


def notice_card(loaded: Loaded, pub: Publication, title: str, text: str | None) -> Attachment:
    """The social card of an announcement or follow-up (a date outside the week's days)."""
    message = (text or "").split(". ")[0].strip() or None
    data, files = _card(loaded, date_label=views.long_date(pub.date), title=title, heading=title,
                        message=message, event=None)
    png = typeset(loaded, "social_card.typ", data, files, fmt="png", ppi=PPI)[0]
    return Attachment(f"{pub.day}-{pub.slot}-card.png", "image/png", png, alt=data["alt"])


def card_data(loaded: Loaded, pub: Publication,
              ctx: RenderContext) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What ``social_card.typ`` shows (plain data) and the logo file beside it."""
    day = views.day_view(loaded, views.find_day(loaded, pub.date))
    events = views.events_on(loaded, pub.date, ctx)
    messages = [t["key_messages"][0] for t in day["themes"] if t["key_messages"]]
    message = (f"If you do one thing: {day['one_things'][0]}" if day["one_things"]
               else messages[0] if messages else None)
    event = sessions_line(events)
    return _card(loaded, date_label=day["date_label"], title=f"{day['weekday']}: {day['title']}",
                 heading=day["title"], message=message, event=event)


def sessions_line(events: list[dict[str, Any]]) -> str | None:
    """Every session of the day in one line, in time order: "Webinar: 1:30pm to 3pm on Microsoft Teams",
    or with two "Webinar: Title A, 10am to 11am; Meeting: Title B, 2pm to 3pm, on Microsoft Teams"."""
    if not events:
        return None
    ordered = sorted(events, key=lambda e: e["start"])
    if len(ordered) == 1:
        return f"{ordered[0]['kind'].capitalize()}: {ordered[0]['time_label']} on Microsoft Teams"
    parts = [f"{e['kind'].capitalize()}: {e['title']}, {e['time_label']}" for e in ordered]
    return "; ".join(parts) + ", on Microsoft Teams"


def _card(loaded: Loaded, *, date_label: str, title: str, heading: str, message: str | None,
          event: str | None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The card's data in the partnership's colours, with its alt text and the logo file beside it."""
    c = loaded.model.campaign
    files: dict[str, bytes] = {}
    alt = " ".join(f"{part}." for part in (f"{c.title}, {date_label}", heading, message, event)
                   if part).replace("..", ".")
    data = {"title": title, "author": c.organiser.name, "alt": alt,
            "brand": brand_colours(views.brand(loaded, offline=True)), "logo": logo_file(loaded, files),
            "kicker": f"{date_label} · {c.organiser.short_name}", "heading": heading, "message": message,
            "event": event, "organiser": c.organiser.name,
            "hashtag": f"#{c.hashtags[0].lstrip('#')}" if c.hashtags else None}
    return data, files

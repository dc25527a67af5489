"""Rendered publications built by hand for connector tests (no renderer involved)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from practiceweek.artifacts import Attachment, Post, Rendered
from practiceweek.planner import Publication

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def publication(
    channel: str,
    connector: str,
    slot: str = "daily",
    day: str = "2026-03-02",
    campaign: str = "spw-2026",
    **kw: Any,
) -> Publication:
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    return Publication(
        id=f"{campaign}/{day}/{channel}/{slot}",
        campaign=campaign,
        day=day,
        date=dt.date.fromisoformat(day) if day != "week" else dt.date(2026, 3, 2),
        channel=channel,
        slot=slot,
        connector=connector,
        at=at,
        missed_window=dt.timedelta(hours=2),
        title=f"{channel} {slot}",
        fingerprint=kw.pop("fingerprint", "f00d"),
        **kw,
    )


def email(
    connector: str = "graph_mail",
    slot: str = "daily",
    recipients: tuple[str, ...] = ("staff@example.org",),
    attachments: tuple[Attachment, ...] = (),
    **kw: Any,
) -> Rendered:
    return Rendered(
        publication=publication("email", connector, slot),
        subject="Monday: Think Family",
        text="Today's theme is Think Family.",
        html="<p>Today's theme is <b>Think Family</b>.</p>",
        recipients=recipients,
        sender="comms@example.org",
        attachments=attachments,
        **kw,
    )


def event(slot: str = "ev-1", subject: str = "Lunch and learn", fingerprint: str = "f00d") -> Rendered:
    body = {
        "subject": subject,
        "body": {"contentType": "HTML", "content": "<p>Join us</p>"},
        "start": {"dateTime": "2026-03-02T12:30:00", "timeZone": "Europe/London"},
        "end": {"dateTime": "2026-03-02T13:30:00", "timeZone": "Europe/London"},
        "attendees": [{"emailAddress": {"address": "staff@example.org"}, "type": "required"}],
    }
    return Rendered(
        publication=publication("teams_event", "graph_events", slot, fingerprint=fingerprint, event_id=slot),
        subject=subject,
        text="Join us",
        event=body,
    )


def files(slot: str = "daily", big: bool = False) -> Rendered:
    data = {"poster-mon.pdf": b"%PDF-1.4 poster " * 64, "poster-mon.png": PNG}
    if big:
        data["poster-mon-print.pdf"] = b"%PDF-1.7 " + bytes(range(256)) * (5 * 4096)  # ~5 MB
    return Rendered(
        publication=publication("poster", "graph_files", slot), subject="Poster", text="Poster", files=data
    )


def card(slot: str = "daily") -> Rendered:
    body = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "body": [{"type": "TextBlock", "text": "Monday: Think Family", "weight": "Bolder", "wrap": True}],
    }
    return Rendered(
        publication=publication("teams_channel", "teams_channel", slot),
        subject="Monday",
        text="Monday: Think Family",
        card=body,
    )


def social(channel: str, slot: str = "daily", texts: tuple[str, ...] | None = None) -> Rendered:
    texts = texts or (
        f"Monday ({slot}): Think Family #SPW2026 https://intranet.example/spw",
        f"Join the lunch and learn at 12:30 ({slot})",
    )
    posts = tuple(
        Post(
            text=t,
            image=Attachment("poster-mon.png", "image/png", PNG, alt="Poster: Think Family, Monday")
            if i == 0
            else None,
        )
        for i, t in enumerate(texts)
    )
    return Rendered(
        publication=publication(channel, channel, slot), subject=texts[0], text=texts[0], posts=posts
    )


def page(slot: str = "daily") -> Rendered:
    return Rendered(
        publication=publication("web_page", "web_page", slot),
        subject="Week",
        text="Week",
        files={
            "index.html": b"<!doctype html><title>Week</title><h1>Monday</h1>",
            "assets/poster-mon.png": PNG,
        },
    )

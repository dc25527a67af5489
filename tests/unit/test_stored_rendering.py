"""A rendering stored ahead of its time reads back as it was rendered (issue 28).

Scheduling stores each publication's rendering in the ledger; the window run reads it back at the
publication's time, in the burst. The files (posters, the email's attachments and MIME message, images,
invitations) are stored as raw bytes after a JSON header, not as base64 inside the JSON, so reading one
back is a copy, not a decode. A ledger written before this format still reads back.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest

from practiceweek.artifacts import (
    STORED_MAGIC,
    Attachment,
    Rendered,
    rendered_from_bytes,
    rendered_to_bytes,
)
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.render_support import EVENTS_SEED

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def one_of_each() -> dict[str, Rendered]:
    """The events seed's first publication of each channel, rendered (posters, email, Teams, social)."""
    loaded = load(EVENTS_SEED)
    first: dict[str, Rendered] = {}
    for pub in plan(loaded.model):
        if pub.channel not in first:
            first[pub.channel] = render(loaded, pub)
    return first


def _files(r: Rendered) -> list[bytes]:
    """Every file a rendering carries."""
    images = [p.image.data for p in r.posts if p.image is not None]
    return [a.data for a in r.attachments] + images + list(r.files.values()) + [
        b for b in (r.ics, r.eml) if b is not None
    ]


def _first_format(r: Rendered) -> bytes:
    """How a ledger stored a rendering before this format: one JSON document, the files in base64."""

    def b64(data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode()

    def attachment(a: Attachment) -> dict[str, Any]:
        return {"filename": a.filename, "content_type": a.content_type, "data": b64(a.data), "alt": a.alt}

    return json.dumps({
        "publication": r.publication.to_snapshot(), "subject": r.subject, "text": r.text, "html": r.html,
        "recipients": list(r.recipients), "sender": r.sender,
        "attachments": [attachment(a) for a in r.attachments],
        "posts": [{"text": p.text, "image": p.image and attachment(p.image), "links": p.links,
                   "warning": p.warning, "labels": list(p.labels)} for p in r.posts],
        "event": r.event, "ics": b64(r.ics), "card": r.card,
        "files": {k: b64(v) for k, v in r.files.items()}, "eml": b64(r.eml),
    }, ensure_ascii=False, default=str).encode()


def _same(again: Rendered, rendered: Rendered) -> None:
    assert again.publication.to_snapshot() == rendered.publication.to_snapshot()
    assert replace(again, publication=rendered.publication) == rendered


def test_every_channel_reads_back_as_it_was_rendered(one_of_each: dict[str, Rendered]) -> None:
    assert {"email", "poster", "web_page", "teams_event", "x", "bluesky", "mastodon"} <= set(one_of_each)
    for rendered in one_of_each.values():
        stored = rendered_to_bytes(rendered)
        assert stored.startswith(STORED_MAGIC)
        _same(rendered_from_bytes(stored), rendered)


def test_files_are_stored_as_their_own_bytes_not_base64(one_of_each: dict[str, Rendered]) -> None:
    carrying = [r for r in one_of_each.values() if _files(r)]
    assert {r.publication.channel for r in carrying} >= {"email", "poster", "teams_event"}
    for rendered in carrying:
        stored = rendered_to_bytes(rendered)
        for data in _files(rendered):
            assert data in stored
        assert len(stored) < len(_first_format(rendered))  # base64 made every file a third larger


def test_a_rendering_stored_in_the_first_format_still_reads_back(one_of_each: dict[str, Rendered]) -> None:
    for rendered in one_of_each.values():
        _same(rendered_from_bytes(_first_format(rendered)), rendered)


def test_an_empty_file_and_an_absent_one_stay_apart(one_of_each: dict[str, Rendered]) -> None:
    email = one_of_each["email"]
    edited = replace(email, ics=b"", eml=None,
                     attachments=(Attachment("empty.txt", "text/plain", b""), *email.attachments))
    again = rendered_from_bytes(rendered_to_bytes(edited))
    assert again.ics == b"" and again.eml is None
    assert again.attachments[0].data == b""
    _same(again, edited)

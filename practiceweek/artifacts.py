"""What a rendered publication is: the exact bytes and fields a connector sends.

Renderers (``practiceweek.render``) produce these; connectors consume them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .planner import Publication


@dataclass(frozen=True)
class Attachment:
    """A file that travels with a publication (poster PDF/PNG, .ics invitation)."""

    filename: str
    content_type: str
    data: bytes
    alt: str | None = None  # images: what the image shows


@dataclass(frozen=True)
class Post:
    """One social post of a thread, with its optional image and alt text."""

    text: str
    image: Attachment | None = None
    links: tuple[tuple[str, str], ...] = ()  # Bluesky: (address as shown in text, address the link opens)
    warning: str | None = None  # Mastodon: the content warning (spoiler_text) shown before the post
    labels: tuple[str, ...] = ()  # Bluesky: self-labels ("graphic-media")


@dataclass(frozen=True)
class RenderContext:
    """Facts known only once earlier publications went out."""

    join_urls: dict[str, str] = field(default_factory=dict)  # event id → Teams join link
    links: dict[str, str] = field(default_factory=dict)  # publication id → published URL (poster link, page)
    sequence: int = 0  # raised each time an already-sent event changes (.ics SEQUENCE)
    cancelled: bool = False  # render a cancellation (METHOD:CANCEL) instead

    def digest(self, *, sequence: bool) -> str:
        """What in this context a rendering can show: the week pages' URLs (the only links renderers
        read), the join links and, with ``sequence``, the invitations' SEQUENCE. Two contexts with the
        same digest render a publication the same way, so a rendering made ahead with the URLs its
        dependencies will have is the one to send once they have them."""
        shown = {
            "links": {k: v for k, v in sorted(self.links.items()) if PAGE_MARK in k},
            "join_urls": dict(sorted(self.join_urls.items())),
            "sequence": self.sequence if sequence else None,
            "cancelled": self.cancelled,
        }
        return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:16]


PAGE_MARK = "/web_page/"  # in a publication id: the week's web page, whose URL renderers link to
# the join link the preview shows until the Teams meeting exists: a reserved domain (RFC 2606) that never
# opens anything, and words saying what it stands for
PREVIEW_JOIN_URL = "https://join-link.invalid/placeholder-the-teams-meeting-s-own-link-goes-here/{event}"


def preview_context(pub: Publication, makers: dict[str, str]) -> RenderContext:
    """The context the preview renders ``pub`` in: for each Teams meeting it waits for (``makers``: the id
    of the publication that creates a meeting → the event's id), the placeholder join link, so the
    preview shows every Join button and invitation link where the sent publication will have the real one
    (``flows/runtime/campaigns.context_for`` reads it from the ledger)."""
    return RenderContext(join_urls={makers[dep]: PREVIEW_JOIN_URL.format(event=makers[dep])
                                    for dep in pub.depends_on if dep in makers})


@dataclass(frozen=True)
class Rendered:
    """A publication rendered for its channel. Only the fields its channel uses are set."""

    publication: Publication
    subject: str
    text: str
    html: str | None = None
    recipients: tuple[str, ...] = ()
    sender: str | None = None
    attachments: tuple[Attachment, ...] = ()
    posts: tuple[Post, ...] = ()  # social: the thread, first post first
    event: dict[str, Any] | None = None  # teams_event: Microsoft Graph event body
    ics: bytes | None = None  # teams_event / email on event days
    card: dict[str, Any] | None = None  # teams_channel: Adaptive Card
    files: dict[str, bytes] = field(default_factory=dict)  # poster/web_page: relative path → bytes
    eml: bytes | None = None  # email: the complete MIME message

    @property
    def id(self) -> str:
        return self.publication.id

    @property
    def invites(self) -> bool:
        """Carries a calendar invitation (so its context's SEQUENCE shows in it)."""
        return self.ics is not None or any(a.content_type == "text/calendar" for a in self.attachments)


# --- stored renderings: a JSON header, then the files' raw bytes (never pickle: the store is shared between
# workers). Base64 inside the JSON (the first format, still read) made reading a poster's email back at its
# time cost more of a burst's CPU than sending it (bench/RESULTS.md, issue 28).
STORED_MAGIC = b"PWR2\n"  # a stored rendering in this format starts with these bytes
_LENGTH = struct.Struct(">I")  # the header's length, after the magic


class _Blobs:
    """The files of one rendering, laid end to end after its header; the header holds ``[offset, length]``."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def put(self, data: bytes | None) -> list[int] | None:
        if data is None:
            return None
        at = [self.size, len(data)]
        self.parts.append(data)
        self.size += len(data)
        return at


def _attachment_json(a: Attachment, blobs: _Blobs) -> dict[str, Any]:
    return {"filename": a.filename, "content_type": a.content_type, "blob": blobs.put(a.data), "alt": a.alt}


def rendered_to_bytes(r: Rendered) -> bytes:
    """A rendering as bytes another worker can read back with ``rendered_from_bytes``."""
    blobs = _Blobs()
    header = {
        "publication": r.publication.to_snapshot(),
        "subject": r.subject,
        "text": r.text,
        "html": r.html,
        "recipients": list(r.recipients),
        "sender": r.sender,
        "attachments": [_attachment_json(a, blobs) for a in r.attachments],
        "posts": [{"text": p.text, "image": p.image and _attachment_json(p.image, blobs), "links": p.links,
                   "warning": p.warning, "labels": list(p.labels)} for p in r.posts],
        "event": r.event,
        "ics": blobs.put(r.ics),
        "card": r.card,
        "files": {k: blobs.put(v) for k, v in r.files.items()},
        "eml": blobs.put(r.eml),
    }
    head = json.dumps(header, ensure_ascii=False, default=str).encode()
    return b"".join([STORED_MAGIC, _LENGTH.pack(len(head)), head, *blobs.parts])


def rendered_from_bytes(data: bytes) -> Rendered:
    """What ``rendered_to_bytes`` stored (or the first format: JSON with the files in base64)."""
    if not data.startswith(STORED_MAGIC):
        return _rendered(json.loads(data), _unb64)
    view = memoryview(data)
    start = len(STORED_MAGIC) + _LENGTH.size
    (length,) = _LENGTH.unpack_from(view, len(STORED_MAGIC))
    body = view[start + length:]

    def blob(at: list[int] | None) -> bytes | None:
        return None if at is None else bytes(body[at[0]:at[0] + at[1]])

    return _rendered(json.loads(bytes(view[start:start + length])), blob)


def _unb64(text: Any) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _rendered(d: dict[str, Any], blob: Callable[[Any], bytes | None]) -> Rendered:
    """A rendering from its stored header, its files read by ``blob``."""

    def attachment(a: dict[str, Any]) -> Attachment:
        data = blob(a["blob"] if "blob" in a else a["data"]) or b""
        return Attachment(a["filename"], a["content_type"], data, a.get("alt"))

    return Rendered(
        publication=Publication.from_snapshot(d["publication"]),
        subject=d["subject"],
        text=d["text"],
        html=d["html"],
        recipients=tuple(d["recipients"]),
        sender=d["sender"],
        attachments=tuple(attachment(a) for a in d["attachments"]),
        posts=tuple(Post(p["text"], p["image"] and attachment(p["image"]),
                         tuple(tuple(pair) for pair in p.get("links") or ()), p.get("warning"),
                         tuple(p.get("labels") or ())) for p in d["posts"]),
        event=d["event"],
        ics=blob(d["ics"]),
        card=d["card"],
        files={k: blob(v) or b"" for k, v in d["files"].items()},
        eml=blob(d["eml"]),
    )

"""What a rendered publication is: the exact bytes and fields a connector sends.

Renderers (``practiceweek.render``) produce these; connectors consume them.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class RenderContext:
    """Facts known only once earlier publications went out."""

    join_urls: dict[str, str] = field(default_factory=dict)  # event id → Teams join link
    links: dict[str, str] = field(default_factory=dict)  # publication id → published URL (poster link, page)
    sequence: int = 0  # raised each time an already-sent event changes (.ics SEQUENCE)
    cancelled: bool = False  # render a cancellation (METHOD:CANCEL) instead


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

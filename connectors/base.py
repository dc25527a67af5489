"""The one contract every connector implements.

A connector publishes a rendered publication and returns a receipt; it can find
an earlier publication of the same item (to reconcile after a crash or an
ambiguous timeout); and it classifies failures so the caller knows whether to
retry, stop, or reconcile first. Each connector declares its provider's limits
as class attributes.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from practiceweek import textlimits
from practiceweek.artifacts import Post, Rendered
from practiceweek.planner import Publication


@dataclass(frozen=True)
class Receipt:
    """Proof that a publication reached its provider."""

    publication_id: str
    remote_id: str
    url: str | None = None
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"join_url": ...}


@dataclass(frozen=True)
class Sent:
    """A publication that went out, as the ledger remembers it: enough to ask its provider how it did."""

    publication_id: str
    channel: str
    remote_id: str
    sent_at: dt.datetime
    url: str | None = None
    join_url: str | None = None  # Teams meetings
    account: str | None = None  # the mailbox that sent the email or organises the meeting
    recipients: int | None = None  # email: addresses it was sent to


@dataclass(frozen=True)
class Reading:
    """What a provider reported about one publication at one time, e.g. {"likes": 3, "reposts": 1}."""

    figures: dict[str, int]
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class NotAvailable:
    """The provider cannot report on this publication (and asking again will not change that)."""

    reason: str


Engagement = Reading | NotAvailable


class ConnectorError(Exception):
    """A provider refused or failed a request. Carries the provider's response."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None,
                 provider: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = (body or "")[:2000]
        self.provider = provider


class RetryableError(ConnectorError):
    """Try again later; ``retry_after`` is the delay the provider asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """Retrying will not help; the message says what a person must change."""


class CredentialsError(PermanentError):
    """The provider refused the credentials or permissions (401/403), or none are configured.

    Every later request through the same connector would fail the same way: the caller stops the
    connector and tells the operators, instead of failing each publication in turn.
    """


def refused_credentials(exc: BaseException) -> bool:
    """True for a failure that stops the whole connector (credentials or permissions). Connectors raise
    ``CredentialsError`` for 401/403 unless the provider says the refusal is about the content."""
    return isinstance(exc, CredentialsError)


class OutcomeUnknownError(ConnectorError):
    """The request may or may not have taken effect: reconcile with ``find`` before any retry."""


class Connector(ABC):
    """Base of every connector. Subclasses set the class attributes and the three methods."""

    name: ClassVar[str]
    channels: ClassVar[tuple[str, ...]]
    # Class defaults that an instance may override (a configured rate limit, a webhook with no channel):
    requests_per_interval: int | None = None  # provider rate limit: this many requests …
    interval_seconds: float = 60.0  # … per this many seconds
    max_recipients: ClassVar[int | None] = None  # per message
    max_text_length: ClassVar[int | None] = None
    # A social network of practiceweek.textlimits: its limit is max_text_length, and each post is measured
    # the way validation measures it (X's weighted length, Bluesky's graphemes, ...), never with len().
    text_network: ClassVar[str | None] = None
    max_attachment_bytes: ClassVar[int | None] = None
    can_find: bool = True  # False: find() is always None (SMTP, webhooks); the ledger decides

    def refuse_long_posts(self, item: Rendered, provider: str) -> None:
        """Raise PermanentError, before any request, when a post of ``item`` is longer than the network
        allows, counted as ``practiceweek.textlimits`` (and so validation) counts it."""
        network, limit = self.text_network, self.max_text_length
        if network is None or limit is None:
            return
        posts = item.posts or (Post(item.text),)
        for i, post in enumerate(posts):
            size = textlimits.length(network, post.text)
            if size > limit:
                which = f"post {i + 1} of {item.id}" if len(posts) > 1 else item.id
                raise PermanentError(
                    f"{provider}: {which} is {size} {textlimits.UNITS[network]}; {provider} allows {limit}",
                    provider=provider,
                )

    @abstractmethod
    def publish(self, item: Rendered) -> Receipt:
        """Send ``item`` once. Raise RetryableError, PermanentError or OutcomeUnknownError on failure."""

    @abstractmethod
    def find(self, item: Rendered) -> Receipt | None:
        """Return the receipt of an earlier publication of ``item``, or None if it never arrived."""

    def url_for(self, pub: Publication) -> str | None:
        """The address ``pub`` will have once published, when this connector decides it (a folder, a
        web root); None when only the provider knows (a share link, a post's id). Lets publications that
        link to it be rendered ahead; a receipt with another address only means they render at send time."""
        return None

    def engagement(self, items: list[Sent]) -> dict[str, Engagement]:
        """How each of ``items`` did so far, by publication id, read from the provider (batched and paced
        like publishing). Raise RetryableError / PermanentError as ``publish`` does; never publishes."""
        reason = f"{self.name} does not report engagement"
        return {s.publication_id: NotAvailable(reason) for s in items}

    def cancel(self, item: Rendered) -> None:  # noqa: B027 - optional for most connectors
        """Withdraw a published item (Teams events). Default: nothing to withdraw."""

    def close(self) -> None:  # noqa: B027
        """Release clients and sessions."""

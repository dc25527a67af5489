"""Posts (and threads) on Mastodon with Mastodon.py.

Each status is posted with an ``Idempotency-Key`` derived from the publication id and the post's
index, so a retried ``POST /api/v1/statuses`` returns the first status instead of a second one (the
server keeps keys for an hour). Images go up first with ``media_post(description=alt)``. ``find``
reads the account's statuses and matches the thread's texts and reply chain.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any, ClassVar

import requests
from mastodon import Mastodon
from mastodon import errors as m_err

from practiceweek.artifacts import Post, Rendered
from practiceweek.textlimits import LIMITS

from .base import (
    Connector,
    ConnectorError,
    CredentialsError,
    Engagement,
    Reading,
    Receipt,
    RetryableError,
    Sent,
)
from .failures import classify_status, not_reached, unknown
from .ids import digest
from .pacing import paced, shared_bucket
from .redaction import redact
from .settings import MastodonSettings, reveal

HINTS = {
    401: "Mastodon refused the access token; check PRACTICEWEEK_MASTODON_ACCESS_TOKEN",
    403: "the access token lacks the write:statuses / write:media scopes",
    422: "Mastodon refused the status (too long, or invalid media)",
}
_TAGS = re.compile(r"<[^>]+>")


def _plain(content: str) -> str:
    text = _TAGS.sub(" ", content.replace("<br>", "\n").replace("<br />", "\n"))
    return " ".join(html.unescape(text).split())


class MastodonConnector(Connector):
    name: ClassVar[str] = "mastodon"
    channels: ClassVar[tuple[str, ...]] = ("mastodon",)
    requests_per_interval: int | None = 300  # 300 requests / 5 min per account
    interval_seconds: float = 300.0
    max_text_length: ClassVar[int | None] = LIMITS["mastodon"]
    text_network: ClassVar[str | None] = "mastodon"
    max_attachment_bytes: ClassVar[int | None] = 16 * 1024 * 1024  # images (instance-dependent)

    def __init__(self, settings: MastodonSettings | None = None, *, timeout: float = 30.0) -> None:
        self.settings = s = settings or MastodonSettings.from_env()
        if not (s.base_url and s.access_token):
            raise CredentialsError(
                "Mastodon needs PRACTICEWEEK_MASTODON_BASE_URL and PRACTICEWEEK_MASTODON_ACCESS_TOKEN",
                provider="Mastodon",
            )
        self.api = Mastodon(
            access_token=reveal(s.access_token),
            api_base_url=s.base_url,
            request_timeout=timeout,
            ratelimit_method="throw",
            version_check_mode="none",
            mastodon_version="4.3.0",
        )
        self._me: str | None = None

    def _call(self, fn: Any, what: str, *, write: bool = True) -> Any:
        try:
            return fn()
        except m_err.MastodonRatelimitError:
            reset = self.api.ratelimit_reset
            delay = max(1.0, float(reset) - time.time()) if reset else 60.0
            raise RetryableError(
                f"Mastodon 429 on {what}: rate limited", retry_after=delay, status=429, provider="Mastodon"
            ) from None
        except m_err.MastodonNetworkError as exc:
            cause = exc.__context__
            if (
                isinstance(cause, (requests.ConnectTimeout,))
                or "NewConnectionError" in repr(cause)
                or not write
            ):
                raise not_reached("Mastodon", what, exc) from None
            raise unknown("Mastodon", what, exc) from None
        except m_err.MastodonAPIError as exc:
            args = list(exc.args) + [None] * 4
            status = args[1] if isinstance(args[1], int) else 0
            raise classify_status(
                "Mastodon", status, redact(f"{args[2] or ''} {args[3] or ''}"), {}, HINTS, what
            ) from None

    def _account(self) -> str:
        if self._me is None:
            self._me = str(
                self._call(self.api.account_verify_credentials, "read the account", write=False)["id"]
            )
        return self._me

    def _existing(self, item: Rendered) -> list[Any]:
        statuses = self._call(
            lambda: self.api.account_statuses(self._account(), limit=40),
            f"search statuses for {item.id}",
            write=False,
        )
        found: list[Any] = []
        for i, post in enumerate(item.posts or (Post(item.text),)):
            want = " ".join(post.text.split())
            match = next(
                (
                    s
                    for s in statuses
                    if _plain(s["content"]) == want
                    and (
                        s.get("in_reply_to_id") is None
                        if i == 0
                        else str(s.get("in_reply_to_id")) == str(found[-1]["id"])
                    )
                ),
                None,
            )
            if match is None:
                break
            found.append(match)
        return found

    def publish(self, item: Rendered) -> Receipt:
        posts = list(item.posts or (Post(item.text),))
        self.refuse_long_posts(item, "Mastodon")
        done: list[Any] = self._existing(item) if len(posts) > 1 else []
        bucket = shared_bucket(
            ("mastodon", self.settings.base_url or "", digest(reveal(self.settings.access_token))),
            self.requests_per_interval,
            self.interval_seconds,
        )
        for i in range(len(done), len(posts)):
            post, what = posts[i], f"post {i + 1} of {item.id}"
            media = None
            if post.image is not None:
                image = post.image
                media = [
                    self._call(
                        lambda im=image: self.api.media_post(
                            im.data, mime_type=im.content_type, description=im.alt, file_name=im.filename
                        ),
                        f"upload the image of {what}",
                    )["id"]
                ]
            with paced(bucket):  # paced where the limit counts: the status itself
                status = self._call(
                    lambda p=post, m=media, parent=(done[-1]["id"] if done else None): self.api.status_post(
                        p.text,
                        in_reply_to_id=parent,
                        media_ids=m,
                        spoiler_text=p.warning,
                        idempotency_key=f"pw-{digest(item.id)}-{len(done)}",
                    ),
                    what,
                )
            done.append(status)
        return self._receipt(item, done)

    def _receipt(self, item: Rendered, statuses: list[Any]) -> Receipt:
        return Receipt(
            publication_id=item.id,
            remote_id=str(statuses[0]["id"]),
            url=statuses[0].get("url"),
            extra={"thread": [str(s["id"]) for s in statuses]},
        )

    def engagement(self, items: list[Sent]) -> dict[str, Engagement]:
        """Favourites, boosts and replies of each thread's first status (``GET /api/v1/statuses/:id``),
        paced by the account's limit (300 requests / 5 min covers reads as well as posts)."""
        bucket = shared_bucket(
            ("mastodon", self.settings.base_url or "", digest(reveal(self.settings.access_token))),
            self.requests_per_interval,
            self.interval_seconds,
        )
        out: dict[str, Engagement] = {}
        for sent in items:
            if bucket is not None:
                bucket.acquire()
            status = self._call(lambda sid=sent.remote_id: self.api.status(sid),
                                f"read status {sent.remote_id}", write=False)
            out[sent.publication_id] = Reading({"likes": int(status["favourites_count"]),
                                                "reposts": int(status["reblogs_count"]),
                                                "replies": int(status["replies_count"])})
        return out

    def find(self, item: Rendered) -> Receipt | None:
        found = self._existing(item)
        return self._receipt(item, found) if found and len(found) == max(1, len(item.posts)) else None

    def close(self) -> None:
        session = getattr(self.api, "session", None)
        if session is not None:
            session.close()


__all__ = ["MastodonConnector", "ConnectorError"]

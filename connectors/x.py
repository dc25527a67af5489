"""Posts (and threads) on X with tweepy's v2 Client and OAuth 1.0a user context.

Images go through the v2 media endpoints tweepy 4.17 lacks (``POST /2/media/upload``, then
``POST /2/media/metadata`` for alt text), signed with the same OAuth 1.0a credentials. A thread is
posted first to last with ``in_reply_to_tweet_id``. ``find`` reads the account's timeline and matches
the thread's texts (X shortens links, so URLs are ignored when comparing); ``publish`` resumes a
partly posted thread instead of repeating its head. Rate limits: ``x-rate-limit-reset`` gives the delay.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import requests
import tweepy
from requests_oauthlib import OAuth1

from practiceweek.artifacts import Post, Rendered
from practiceweek.textlimits import LIMITS

from .base import (
    Connector,
    ConnectorError,
    CredentialsError,
    Engagement,
    NotAvailable,
    PermanentError,
    Reading,
    Receipt,
    Sent,
)
from .failures import classify_status, not_reached, unknown
from .ids import digest
from .pacing import paced, shared_bucket
from .redaction import redact
from .settings import XSettings, reveal

HINTS = {
    401: "X refused the OAuth 1.0a signature; check PRACTICEWEEK_X_CONSUMER_KEY/SECRET and "
    "PRACTICEWEEK_X_ACCESS_TOKEN/SECRET",
    403: "X refused the post (the app needs Read and Write permission, or the text duplicates a post)",
    400: "X refused the request as invalid (text too long, or a bad media id)",
}
_URL = re.compile(r"https?://\S+")


def _norm(text: str) -> str:
    return " ".join(_URL.sub("", text).split())


class _Session(requests.Session):
    """Sends tweepy's ``https://api.twitter.com`` requests to ``base_url`` (tests) with a timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        url = str(url)
        for prefix in ("https://api.twitter.com", "https://api.x.com"):
            if url.startswith(prefix) and self.base_url != prefix:
                url = self.base_url + url[len(prefix) :]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


TIER_REFUSALS = ("client-not-enrolled", "client-forbidden")  # X's 403 reasons for an API tier too low


class XConnector(Connector):
    name: ClassVar[str] = "x"
    channels: ClassVar[tuple[str, ...]] = ("x",)
    requests_per_interval: int | None = 100  # POST /2/tweets: 100 per 15 min per user
    interval_seconds: float = 900.0
    max_text_length: ClassVar[int | None] = LIMITS["x"]
    text_network: ClassVar[str | None] = "x"
    max_attachment_bytes: ClassVar[int | None] = 5 * 1024 * 1024  # images

    def __init__(self, settings: XSettings | None = None, *, timeout: float = 30.0) -> None:
        self.settings = s = settings or XSettings.from_env()
        if not (s.consumer_key and s.consumer_secret and s.access_token and s.access_token_secret):
            raise CredentialsError(
                "X needs PRACTICEWEEK_X_CONSUMER_KEY, PRACTICEWEEK_X_CONSUMER_SECRET, "
                "PRACTICEWEEK_X_ACCESS_TOKEN and PRACTICEWEEK_X_ACCESS_TOKEN_SECRET",
                provider="X",
            )
        self.client = tweepy.Client(
            consumer_key=s.consumer_key,
            consumer_secret=reveal(s.consumer_secret),
            access_token=reveal(s.access_token),
            access_token_secret=reveal(s.access_token_secret),
            wait_on_rate_limit=False,
        )
        self.session = _Session(s.base_url, timeout)
        self.client.session = self.session
        self._auth = OAuth1(
            s.consumer_key, reveal(s.consumer_secret), reveal(s.access_token), reveal(s.access_token_secret)
        )
        self._me: str | None = None

    # ------------------------------------------------------------------ errors
    def _call(self, fn: Any, what: str, *, write: bool = True) -> Any:
        try:
            return fn()
        except tweepy.HTTPException as exc:
            r = exc.response
            error = classify_status("X", r.status_code, redact(r.text), r.headers, HINTS, what)
            if r.status_code == 403 and "duplicate" in error.body.lower():  # the text, not the credentials
                raise PermanentError(
                    f"X refused {what}: the account already has a post with exactly this text; "
                    "change the text",
                    status=403,
                    body=error.body,
                    provider="X",
                ) from None
            raise error from None
        except requests.ConnectTimeout as exc:
            raise not_reached("X", what, exc) from None
        except requests.ConnectionError as exc:
            if "NewConnectionError" in repr(exc) or not write:
                raise not_reached("X", what, exc) from None
            raise unknown("X", what, exc) from None
        except requests.Timeout as exc:
            if not write:
                raise not_reached("X", what, exc) from None
            raise unknown("X", what, exc) from None

    def _raw(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.settings.upload_url.rstrip('/')}{path}"

        def go() -> dict[str, Any]:
            response = self.session.request(method, url, auth=self._auth, **kwargs)
            if response.status_code >= 400:
                raise tweepy.HTTPException(response)
            return response.json() if response.content else {}

        return self._call(go, what)

    # ------------------------------------------------------------------ posting
    def _upload(self, post: Post, what: str) -> str:
        assert post.image is not None
        image = post.image
        body = self._raw(
            "POST",
            "/2/media/upload",
            f"upload the image of {what}",
            files={"media": (image.filename, image.data, image.content_type)},
            data={"media_category": "tweet_image", "media_type": image.content_type},
        )
        media_id = str((body.get("data") or {}).get("id") or body.get("media_id_string") or "")
        if not media_id:
            raise PermanentError("X: media upload returned no id", provider="X")
        if image.alt:
            self._raw(
                "POST",
                "/2/media/metadata",
                f"set the alt text of {what}",
                json={"id": media_id, "metadata": {"alt_text": {"text": image.alt[:1000]}}},
            )
        return media_id

    def _user_id(self) -> str:
        if self._me is None:
            me = self._call(lambda: self.client.get_me(user_auth=True), "read the account", write=False)
            self._me = str(me.data.id)
        return self._me

    def _existing(self, item: Rendered) -> list[str]:
        """Ids of the thread's posts already on the timeline, in order (a prefix of the thread)."""
        uid = self._user_id()
        resp = self._call(
            lambda: self.client.get_users_tweets(
                uid, max_results=100, user_auth=True, tweet_fields=["created_at", "referenced_tweets"]
            ),
            f"search the timeline for {item.id}",
            write=False,
        )
        tweets = list(resp.data or [])
        found: list[str] = []
        for i, post in enumerate(item.posts or (Post(item.text),)):
            match = None
            for tw in tweets:
                if _norm(tw.text) != _norm(post.text):
                    continue
                parents = [str(r.id) for r in (tw.referenced_tweets or []) if r.type == "replied_to"]
                if (i == 0 and not parents) or (i > 0 and parents == [found[-1]]):
                    match = str(tw.id)
                    break
            if match is None:
                break
            found.append(match)
        return found

    def _receipt(self, item: Rendered, ids: list[str]) -> Receipt:
        return Receipt(
            publication_id=item.id,
            remote_id=ids[0],
            url=f"https://x.com/i/web/status/{ids[0]}",
            extra={"thread": ids},
        )

    def publish(self, item: Rendered) -> Receipt:
        posts = list(item.posts or (Post(item.text),))
        self.refuse_long_posts(item, "X")
        ids: list[str] = self._existing(item) if len(posts) > 1 else []
        bucket = shared_bucket(
            ("x", self.settings.base_url, digest(reveal(self.settings.access_token))),
            self.requests_per_interval,
            self.interval_seconds,
        )
        for i in range(len(ids), len(posts)):
            post = posts[i]
            media = [self._upload(post, f"{item.id} post {i + 1}")] if post.image else None
            try:
                with paced(bucket):
                    resp = self._call(
                        lambda p=post, m=media, parent=(ids[-1] if ids else None): self.client.create_tweet(
                            text=p.text,
                            media_ids=m,
                            in_reply_to_tweet_id=parent,
                            user_auth=True,
                        ),
                        f"post {i + 1} of {item.id}",
                    )
            except ConnectorError as exc:
                if exc.status == 403 and "duplicate" in exc.body.lower():  # X refused a repeat: it is there
                    again = self._existing(item)
                    if len(again) > i:
                        ids = again[: i + 1]
                        continue
                raise
            ids.append(str(resp.data["id"]))
        return self._receipt(item, ids)

    lookup_limit: ClassVar[tuple[int, float]] = (15, 900.0)  # GET /2/tweets, per user (Basic tier)

    def engagement(self, items: list[Sent]) -> dict[str, Engagement]:
        """Likes, reposts, replies and quotes (``public_metrics``) from post lookup, 100 posts a request.
        A tier without post lookup (X answers 403 client-not-enrolled) is "not available on this tier"."""
        account = digest(reveal(self.settings.access_token))
        bucket = shared_bucket(("x", self.settings.base_url, account, "lookup"), *self.lookup_limit)
        out: dict[str, Engagement] = {}
        for start in range(0, len(items), 100):
            batch = items[start : start + 100]
            if bucket is not None:
                bucket.acquire()
            try:
                resp = self._call(lambda b=batch: self.client.get_tweets(
                    [s.remote_id for s in b], tweet_fields=["public_metrics"], user_auth=True),
                    f"look up {len(batch)} posts", write=False)
            except ConnectorError as exc:
                if exc.status == 403 and any(r in exc.body for r in TIER_REFUSALS):
                    return {s.publication_id: NotAvailable("not available on this tier") for s in items}
                raise
            found = {str(t.id): t for t in resp.data or []}
            for sent in batch:
                tweet = found.get(sent.remote_id)
                metrics = getattr(tweet, "public_metrics", None) if tweet is not None else None
                out[sent.publication_id] = (Reading(_metrics(metrics)) if metrics
                                            else NotAvailable("X did not return this post's metrics"))
        return out

    def find(self, item: Rendered) -> Receipt | None:
        ids = self._existing(item)
        return self._receipt(item, ids) if ids and len(ids) == len(item.posts or (1,)) else None

    def close(self) -> None:
        self.session.close()


def _metrics(m: dict[str, Any]) -> dict[str, int]:
    out = {"likes": m.get("like_count"), "reposts": m.get("retweet_count"), "replies": m.get("reply_count"),
           "quotes": m.get("quote_count"), "impressions": m.get("impression_count")}
    return {k: int(v) for k, v in out.items() if v is not None}

"""Posts (and threads) on Bluesky through the atproto SDK against any PDS (``base_url``).

Every post of a thread gets a deterministic record key: a valid TID derived from the publication's
time and id (plus the post's index). ``createRecord`` with that rkey can succeed only once - a repeat
is refused by the PDS - so ``find`` is an exact ``getRecord`` per rkey and ``publish`` resumes a
partly posted thread. Images carry alt text and their aspect ratio; links and hashtags become facets
(UTF-8 byte offsets).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any, ClassVar

import httpx
from atproto import Client, models
from atproto_client import exceptions as at_exc
from atproto_client.request import Request

from practiceweek.artifacts import Post, Rendered
from practiceweek.imagesize import dimensions
from practiceweek.textlimits import LIMITS

from .base import (
    Connector,
    ConnectorError,
    CredentialsError,
    Engagement,
    NotAvailable,
    Reading,
    Receipt,
    Sent,
)
from .failures import classify_status, not_reached, unknown
from .pacing import paced, shared_bucket
from .redaction import redact
from .settings import BlueskySettings, reveal

COLLECTION = "app.bsky.feed.post"
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_LINK = re.compile(r"https?://[^\s)\]]+")
_TAG = re.compile(r"(?<!\w)#(\w{1,64})")
HINTS = {
    401: "Bluesky refused the login; check PRACTICEWEEK_BLUESKY_HANDLE and PRACTICEWEEK_BLUESKY_APP_PASSWORD "
    "(use an app password)",
    400: "the PDS refused the request as invalid",
}


def record_key(publication: Any, index: int) -> str:
    """A TID (13 base32-sortable chars) that only this publication's post ``index`` ever gets."""
    h = int.from_bytes(hashlib.sha256(publication.id.encode()).digest()[:8], "big")
    micros = int(publication.at.timestamp()) * 1_000_000 + (h % 997) * 1000 + index
    value = (micros << 10) | ((h >> 20) & 0x3FF)
    out = ""
    for _ in range(13):
        out = _B32[value & 31] + out
        value >>= 5
    return out


def facets(text: str, links: tuple[tuple[str, str], ...] = ()) -> list[models.AppBskyRichtextFacet.Main]:
    """Link and tag facets; a link opens its target in ``links`` (address shown → address opened)."""
    targets = dict(links)
    out = []
    for pattern, make in (
        (_LINK, lambda m: models.AppBskyRichtextFacet.Link(uri=_target(m.group(0), targets))),
        (_TAG, lambda m: models.AppBskyRichtextFacet.Tag(tag=m.group(1))),
    ):
        for m in pattern.finditer(text):
            start = len(text[: m.start()].encode())
            end = start + len(m.group(0).encode())
            out.append(
                models.AppBskyRichtextFacet.Main(
                    index=models.AppBskyRichtextFacet.ByteSlice(byte_start=start, byte_end=end),
                    features=[make(m)],
                )
            )
    return out


def self_labels(values: tuple[str, ...]) -> models.ComAtprotoLabelDefs.SelfLabels | None:
    """A post's self-labels ("graphic-media"), or None when it has none."""
    if not values:
        return None
    return models.ComAtprotoLabelDefs.SelfLabels(
        values=[models.ComAtprotoLabelDefs.SelfLabel(val=v) for v in values]
    )


def _target(shown: str, targets: dict[str, str]) -> str:
    return targets.get(shown) or targets.get(shown.rstrip(".,;:!?'\"")) or shown


class BlueskyConnector(Connector):
    name: ClassVar[str] = "bluesky"
    channels: ClassVar[tuple[str, ...]] = ("bluesky",)
    requests_per_interval: int | None = 1666  # PDS: 1,666 record creations per hour
    interval_seconds: float = 3600.0
    max_text_length: ClassVar[int | None] = LIMITS["bluesky"]
    text_network: ClassVar[str | None] = "bluesky"
    max_attachment_bytes: ClassVar[int | None] = 2 * 1024 * 1024  # images (1 MB on older PDSes)

    def __init__(self, settings: BlueskySettings | None = None, *, timeout: float = 30.0) -> None:
        self.settings = s = settings or BlueskySettings.from_env()
        if not (s.handle and s.app_password):
            raise CredentialsError(
                "Bluesky needs PRACTICEWEEK_BLUESKY_HANDLE and PRACTICEWEEK_BLUESKY_APP_PASSWORD",
                provider="Bluesky",
            )
        self.client = Client(base_url=s.base_url, request=Request(timeout=timeout))
        self._did: str | None = None

    # ------------------------------------------------------------------ errors
    def _call(self, fn: Any, what: str, *, write: bool = True) -> Any:
        try:
            return fn()
        except at_exc.InvokeTimeoutError as exc:
            raise (unknown if write else not_reached)("Bluesky", what, exc) from None
        except at_exc.RequestErrorBase as exc:
            r = exc.response
            if r is None:  # NetworkError without a response: the connection broke
                cause = exc.__cause__
                if isinstance(cause, httpx.ConnectError) or not write:
                    raise not_reached("Bluesky", what, exc) from None
                raise unknown("Bluesky", what, exc) from None
            content = r.content
            text = (
                f"{getattr(content, 'error', '')}: {getattr(content, 'message', '')}"
                if not isinstance(content, (bytes, str, dict))
                else str(content)
            )
            raise classify_status("Bluesky", r.status_code, redact(text), r.headers, HINTS, what) from None
        except httpx.ConnectError as exc:
            raise not_reached("Bluesky", what, exc) from None
        except httpx.HTTPError as exc:
            raise (unknown if write else not_reached)("Bluesky", what, exc) from None

    def _login(self) -> str:
        if self._did is None:
            s = self.settings
            self._call(
                lambda: self.client.login(s.handle, reveal(s.app_password), fetch_bsky_profile=False),
                "log in",
                write=False,
            )
            self._did = self.client.me.did if self.client.me else self.client._session.did
        return str(self._did)

    def _get(self, did: str, rkey: str) -> Any | None:
        try:
            return self._call(
                lambda: self.client.com.atproto.repo.get_record(
                    models.ComAtprotoRepoGetRecord.Params(repo=did, collection=COLLECTION, rkey=rkey)
                ),
                f"read record {rkey}",
                write=False,
            )
        except ConnectorError as exc:
            if exc.status == 400 and "RecordNotFound" in exc.body or exc.status == 404:
                return None
            raise

    def _url(self, rkey: str) -> str:
        return f"https://bsky.app/profile/{self.settings.handle}/post/{rkey}"

    read_limit: ClassVar[tuple[int, float]] = (3000, 300.0)  # Bluesky API: 3,000 requests / 5 min

    def engagement(self, items: list[Sent]) -> dict[str, Engagement]:
        """Likes, reposts, replies and quotes of each thread's first post: ``app.bsky.feed.getPosts``,
        25 posts a request, paced by the account's read limit."""
        did = self._login()
        bucket = shared_bucket(("bluesky", self.settings.base_url, did, "read"), *self.read_limit)
        out: dict[str, Engagement] = {}
        for start in range(0, len(items), 25):
            batch = items[start : start + 25]
            if bucket is not None:
                bucket.acquire()
            params = models.AppBskyFeedGetPosts.Params(uris=[s.remote_id for s in batch])
            resp = self._call(lambda p=params: self.client.app.bsky.feed.get_posts(p),
                              f"read {len(batch)} posts", write=False)
            views = {v.uri: v for v in resp.posts}
            for sent in batch:
                view = views.get(sent.remote_id)
                out[sent.publication_id] = NotAvailable("Bluesky no longer has this post") if view is None \
                    else Reading({"likes": view.like_count or 0, "reposts": view.repost_count or 0,
                                  "replies": view.reply_count or 0, "quotes": view.quote_count or 0})
        return out

    # ------------------------------------------------------------------ contract
    def publish(self, item: Rendered) -> Receipt:
        self.refuse_long_posts(item, "Bluesky")
        did = self._login()
        posts = list(item.posts or (Post(item.text),))
        refs: list[models.ComAtprotoRepoStrongRef.Main] = []
        bucket = shared_bucket(
            ("bluesky", self.settings.base_url, did), self.requests_per_interval, self.interval_seconds
        )
        for i, post in enumerate(posts):
            rkey = record_key(item.publication, i)
            existing = self._get(did, rkey)
            if existing is None:
                existing = self._create(did, rkey, post, refs, f"post {i + 1} of {item.id}", bucket)
            refs.append(models.ComAtprotoRepoStrongRef.Main(uri=existing.uri, cid=existing.cid))
        return Receipt(
            publication_id=item.id,
            remote_id=refs[0].uri,
            url=self._url(record_key(item.publication, 0)),
            extra={"thread": [r.uri for r in refs]},
        )

    def _create(self, did: str, rkey: str, post: Post, refs: list[Any], what: str, bucket: Any = None) -> Any:
        embed = None
        if post.image is not None:
            blob = self._call(lambda: self.client.upload_blob(post.image.data), f"upload the image of {what}")
            size = dimensions(post.image.data)  # so the feed shows it uncropped at its own shape
            ratio = models.AppBskyEmbedDefs.AspectRatio(width=size[0], height=size[1]) if size else None
            embed = models.AppBskyEmbedImages.Main(
                images=[
                    models.AppBskyEmbedImages.Image(
                        alt=post.image.alt or "", image=blob.blob, aspect_ratio=ratio
                    )
                ]
            )
        reply = models.AppBskyFeedPost.ReplyRef(root=refs[0], parent=refs[-1]) if refs else None
        record = models.AppBskyFeedPost.Record(
            text=post.text,
            created_at=dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            facets=facets(post.text, post.links) or None,
            embed=embed,
            reply=reply,
            langs=["en"],
            labels=self_labels(post.labels),
        )
        data = models.ComAtprotoRepoCreateRecord.Data(
            repo=did, collection=COLLECTION, rkey=rkey, record=record
        )
        try:
            with paced(bucket):  # paced where the limit counts: the record itself, not the image upload
                return self._call(lambda: self.client.com.atproto.repo.create_record(data), what)
        except ConnectorError as exc:
            if exc.status in (400, 409):  # the rkey is taken: a previous attempt created it
                existing = self._get(did, rkey)
                if existing is not None:
                    return existing
            raise

    def find(self, item: Rendered) -> Receipt | None:
        did = self._login()
        uris = []
        for i in range(max(1, len(item.posts))):
            rec = self._get(did, record_key(item.publication, i))
            if rec is None:
                return None
            uris.append(rec.uri)
        return Receipt(
            publication_id=item.id,
            remote_id=uris[0],
            url=self._url(record_key(item.publication, 0)),
            extra={"thread": uris},
        )

    def close(self) -> None:
        self.client.request.close()

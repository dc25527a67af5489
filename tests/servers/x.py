"""X API v2: tweets, v2 media upload + metadata (alt text), users/me, user timeline, x-rate-limit-*.

Every request must carry an OAuth 1.0a ``Authorization`` header (checked field by field). Effects:
``tweets`` (posted), ``media``. ``reject_duplicates`` mimics X's 403 for a repeated text.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import time
from typing import Any

from .base import FakeServer, Request, Response

OAUTH_FIELDS = (
    "oauth_consumer_key",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_token",
    "oauth_version",
)


class XServer(FakeServer):
    user_id = "1500000000000000001"

    def __init__(self, reject_duplicates: bool = True) -> None:
        super().__init__()
        self.reject_duplicates = reject_duplicates
        self.echo_auth = False
        self.tweets: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.auth_headers: list[str] = []
        self._ids = itertools.count(1800000000000000001)
        self.route("POST", "/2/tweets", self.create_tweet)
        self.route("GET", "/2/users/me", self.me)
        self.route("GET", r"/2/users/(?P<uid>\d+)/tweets", self.timeline)
        self.route("POST", "/2/media/upload", self.upload)
        self.route("POST", "/2/media/metadata", self.metadata)
        self.route("GET", "/2/tweets", self.lookup)
        self.tier = "basic"  # "free": post lookup refused as X refuses it (403 client-not-enrolled)
        self.metrics: dict[str, dict[str, int]] = {}  # tweet id → public_metrics

    def rate_limit_headers(self, delay: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(time.time() + max(1, delay))),
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"title": message, "detail": message, "type": "about:blank", "status": status}

    def dispatch(self, req: Request) -> Response:
        auth = req.headers.get("authorization", "")
        self.auth_headers.append(auth)
        if self.echo_auth:  # a hostile or buggy server that reflects credentials in its errors
            return Response(401, {"title": "Unauthorized", "status": 401, "detail": f"Unauthorized: {auth}"})
        if not auth.startswith("OAuth ") or any(f'{f}="' not in auth for f in OAUTH_FIELDS):
            return Response(
                401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
            )
        response = super().dispatch(req)
        response.headers.update(
            {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "99",
                "x-rate-limit-reset": str(int(time.time() + 900)),
            }
        )
        return response

    def create_tweet(self, req: Request) -> Response:
        body = req.json()
        text = body.get("text", "")
        from twitter_text import parse_tweet  # X's own counting library, loaded only when a post arrives

        if parse_tweet(text).weightedLength > 280:  # X counts as twitter-text does (links 23, CJK 2)
            return Response(
                400,
                {
                    "errors": [{"message": "Text too long"}],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "status": 400,
                },
            )
        if self.reject_duplicates and any(t["text"] == text for t in self.tweets):
            return Response(
                403,
                {
                    "detail": "You are not allowed to create a Tweet with duplicate content.",
                    "type": "about:blank",
                    "title": "Forbidden",
                    "status": 403,
                },
            )
        media_ids = (body.get("media") or {}).get("media_ids") or []
        if any(m not in self.media for m in media_ids):
            return Response(400, {"title": "Invalid Request", "detail": "bad media id", "status": 400})
        tid = str(next(self._ids))
        tweet: dict[str, Any] = {
            "id": tid,
            "text": text,
            "edit_history_tweet_ids": [tid],
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
        parent = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if parent:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": str(parent)}]
        tweet["media"] = [
            {"media_key": self.media[m]["media_key"], "alt": self.media[m].get("alt")} for m in media_ids
        ]
        self.tweets.append(tweet)
        return Response(201, {"data": {"id": tid, "text": text, "edit_history_tweet_ids": [tid]}})

    def me(self, req: Request) -> Response:
        return Response(200, {"data": {"id": self.user_id, "name": "Safeguarding", "username": "spw"}})

    def timeline(self, req: Request) -> Response:
        data = [{k: v for k, v in t.items() if k != "media"} for t in reversed(self.tweets)]
        limit = int(req.query.get("max_results", 10))
        return Response(200, {"data": data[:limit], "meta": {"result_count": len(data[:limit])}})

    def upload(self, req: Request) -> Response:
        ctype = req.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            return Response(400, {"title": "Invalid Request", "detail": "multipart expected", "status": 400})
        msg = email.message_from_bytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + req.body, policy=email.policy.HTTP
        )
        parts = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()}
        if "media" not in parts:
            return Response(400, {"title": "Invalid Request", "detail": "media is required", "status": 400})
        data = parts["media"].get_payload(decode=True)
        mid = str(next(self._ids))
        self.media[mid] = {
            "size": len(data),
            "media_key": f"3_{mid}",
            "category": parts["media_category"].get_content().strip() if "media_category" in parts else None,
        }
        return Response(
            200,
            {
                "data": {
                    "id": mid,
                    "media_key": f"3_{mid}",
                    "size": len(data),
                    "expires_after_secs": 86400,
                    "image": {"image_type": "image/png"},
                }
            },
        )

    def metadata(self, req: Request) -> Response:
        body = req.json()
        m = self.media.get(str(body.get("id")))
        if m is None:
            return Response(400, {"title": "Invalid Request", "detail": "unknown media id", "status": 400})
        m["alt"] = body["metadata"]["alt_text"]["text"]
        return Response(200, {"data": {"associated_metadata": True}})

    def react(self, tid: str, *, likes: int = 0, reposts: int = 0, replies: int = 0, quotes: int = 0) -> None:
        """What people did with post ``tid`` (its ``public_metrics``)."""
        self.metrics[tid] = {"retweet_count": reposts, "reply_count": replies, "like_count": likes,
                             "quote_count": quotes, "bookmark_count": 0, "impression_count": 10 * likes}

    def lookup(self, req: Request) -> Response:
        if self.tier == "free":
            return Response(403, {
                "client_id": "29000001", "title": "Client Forbidden", "reason": "client-not-enrolled",
                "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys "
                "and tokens from a Twitter developer App that is attached to a Project. You can create a "
                "project via the developer portal.",
                "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
                "required_enrollment": "Appropriate Level of API Access",
                "type": "https://api.twitter.com/2/problems/client-forbidden"})
        ids = [i for i in req.query.get("ids", "").split(",") if i]
        fields = req.query.get("tweet.fields", "").split(",")
        by_id = {t["id"]: t for t in self.tweets}
        data = []
        for tid in (i for i in ids if i in by_id):
            tweet = {k: by_id[tid][k] for k in ("id", "text", "edit_history_tweet_ids")}
            if "public_metrics" in fields:
                tweet["public_metrics"] = self.metrics.get(tid) or {
                    "retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
                    "bookmark_count": 0, "impression_count": 0}
            data.append(tweet)
        errors = [{"value": i, "detail": f"Could not find tweet with ids: [{i}].", "title": "Not Found Error",
                   "resource_type": "tweet", "parameter": "ids", "resource_id": i,
                   "type": "https://api.twitter.com/2/problems/resource-not-found"}
                  for i in ids if i not in by_id]
        return Response(200, {"data": data, **({"errors": errors} if errors else {})})

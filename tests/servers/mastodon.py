"""Mastodon: statuses with Idempotency-Key, v2 media with description, verify_credentials,
account statuses. Effects: ``statuses``. Rate limits via ``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import itertools
import re
import time
from typing import Any

from .base import FakeServer, Request, Response, check_bearer

_URL = re.compile(r"https?://\S+")


class MastodonServer(FakeServer):
    account_id = "109000000000000001"

    def __init__(self, token: str = "masto-token-1234") -> None:
        super().__init__()
        self.token = token
        self.echo_auth = False
        self.statuses: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(110000000000000001)
        self.route("POST", "/api/v1/statuses", self.post_status)
        self.route("POST", "/api/v2/media", self.post_media)
        self.route("POST", "/api/v1/media", self.post_media)
        self.route("GET", "/api/v1/accounts/verify_credentials", self.verify)
        self.route("GET", r"/api/v1/accounts/(?P<aid>\d+)/statuses", self.account_statuses)
        self.route("GET", r"/api/v1/statuses/(?P<sid>\d+)", self.get_status)

    def rate_limit_headers(self, delay: float) -> dict[str, str]:
        reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=max(1, delay))
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    def dispatch(self, req: Request) -> Response:
        denied = check_bearer(req, self.token)
        if denied is not None or self.echo_auth:
            return Response(
                401, {"error": f"The access token is invalid ({req.headers.get('authorization')})"}
            )
        response = super().dispatch(req)
        response.headers.update(
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "299",
                "X-RateLimit-Reset": (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
            }
        )
        return response

    def _account(self) -> dict[str, Any]:
        return {
            "id": self.account_id,
            "username": "spw",
            "acct": "spw",
            "display_name": "Safeguarding",
            "url": "https://social.example/@spw",
            "created_at": "2024-01-01T00:00:00.000Z",
            "locked": False,
            "bot": False,
            "note": "",
            "avatar": "",
            "header": "",
            "followers_count": 1,
            "following_count": 1,
            "statuses_count": len(self.statuses),
            "fields": [],
            "emojis": [],
        }

    def _form(self, req: Request) -> dict[str, Any]:
        ctype = req.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            return req.json()
        if ctype.startswith("multipart/form-data"):
            msg = email.message_from_bytes(
                f"Content-Type: {ctype}\r\n\r\n".encode() + req.body, policy=email.policy.HTTP
            )
            out: dict[str, Any] = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                out[name] = part.get_payload(decode=True) if part.get_filename() else part.get_content()
            return out
        from urllib.parse import parse_qs

        parsed = parse_qs(req.body.decode(), keep_blank_values=True)
        return {k: (v if k.endswith("[]") else v[-1]) for k, v in parsed.items()}

    def post_status(self, req: Request) -> Response:
        key = req.headers.get("idempotency-key")
        if key and key in self.keys:  # Mastodon returns the status the key first created
            return Response(200, self.keys[key])
        form = self._form(req)
        text = str(form.get("status", ""))
        if len(_URL.sub("x" * 23, text)) > 500:  # Mastodon counts every link as 23 characters
            return Response(422, {"error": "Validation failed: Text character limit of 500 exceeded"})
        media_ids = form.get("media_ids[]") or form.get("media_ids") or []
        media_ids = [media_ids] if isinstance(media_ids, str) else list(media_ids)
        if any(m not in self.media for m in media_ids):
            return Response(422, {"error": "Validation failed: media not found"})
        sid = str(next(self._ids))
        status = {
            "id": sid,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "in_reply_to_id": form.get("in_reply_to_id") or None,
            "in_reply_to_account_id": None,
            "sensitive": bool(form.get("spoiler_text")),  # Mastodon marks a status with a warning sensitive
            "spoiler_text": str(form.get("spoiler_text") or ""),
            "visibility": form.get("visibility") or "public",
            "language": "en",
            "uri": f"https://social.example/users/spw/statuses/{sid}",
            "url": f"https://social.example/@spw/{sid}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "content": f"<p>{html.escape(text)}</p>",
            "reblog": None,
            "account": self._account(),
            "media_attachments": [self.media[m] for m in media_ids],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        self.statuses.append(status)
        if key:
            self.keys[key] = status
        return Response(200, status)

    def post_media(self, req: Request) -> Response:
        form = self._form(req)
        if not isinstance(form.get("file"), bytes):
            return Response(422, {"error": "Validation failed: File can't be blank"})
        mid = str(next(self._ids))
        self.media[mid] = {
            "id": mid,
            "type": "image",
            "url": f"https://files.social.example/{mid}.png",
            "preview_url": f"https://files.social.example/{mid}-small.png",
            "remote_url": None,
            "description": form.get("description"),
            "blurhash": None,
            "meta": {},
        }
        return Response(200, self.media[mid])

    def verify(self, req: Request) -> Response:
        return Response(200, self._account())

    def account_statuses(self, req: Request) -> Response:
        limit = int(req.query.get("limit", 20))
        return Response(200, list(reversed(self.statuses))[:limit])

    def react(self, sid: str, *, likes: int = 0, boosts: int = 0, replies: int = 0) -> None:
        """What people did with status ``sid`` (its counts as Mastodon reports them)."""
        status = next(s for s in self.statuses if s["id"] == sid)
        status.update(favourites_count=likes, reblogs_count=boosts, replies_count=replies)

    def get_status(self, req: Request) -> Response:
        found = next((s for s in self.statuses if s["id"] == req.match["sid"]), None)
        return Response(200, found) if found else Response(404, {"error": "Record not found"})

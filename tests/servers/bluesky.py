"""A Bluesky PDS over XRPC: createSession, uploadBlob, createRecord (rkey uniqueness), getRecord.

Effects: ``records`` (posts created). Rate limits use the ``ratelimit-*`` headers of the PDS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regex

from .base import FakeServer, Request, Response

X = "/xrpc/"


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _cid(data: bytes, codec: int) -> str:
    raw = bytes([1, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


class BlueskyServer(FakeServer):
    did = "did:plc:spwtestaccount0000000000"

    def __init__(self, handle: str = "spw.example.org", password: str = "app-pass-1234") -> None:
        super().__init__()
        self.handle, self.password = handle, password
        self.echo_auth = False
        self.records: dict[str, dict[str, Any]] = {}  # rkey → {uri, cid, value}
        self.blobs: dict[str, int] = {}
        self.tokens: set[str] = set()
        self.route("POST", X + "com.atproto.server.createSession", self.create_session)
        self.route("POST", X + "com.atproto.server.refreshSession", self.create_session)
        self.route("POST", X + "com.atproto.repo.uploadBlob", self.upload_blob)
        self.route("POST", X + "com.atproto.repo.createRecord", self.create_record)
        self.route("GET", X + "com.atproto.repo.getRecord", self.get_record)
        self.route("GET", X + "app.bsky.feed.getPosts", self.get_posts)  # the AppView, proxied by the PDS
        self.counts: dict[str, dict[str, int]] = {}  # post uri → likeCount, repostCount, ...

    def rate_limit_headers(self, delay: float) -> dict[str, str]:
        return {
            "ratelimit-limit": "1666",
            "ratelimit-remaining": "0",
            "ratelimit-policy": "1666;w=3600",
            "ratelimit-reset": str(int(time.time() + max(1, delay))),
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"error": "RateLimitExceeded" if status == 429 else "InternalServerError", "message": message}

    def _authed(self, req: Request) -> bool:
        auth = req.headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.tokens

    def _token(self, scope: str) -> str:
        tok = ".".join(
            (
                _b64({"typ": "at+jwt", "alg": "ES256K"}),
                _b64(
                    {
                        "scope": scope,
                        "sub": self.did,
                        "iat": int(time.time()),
                        "exp": int(time.time()) + 7200,
                        "aud": "did:web:pds.test",
                    }
                ),
                base64.urlsafe_b64encode(hashlib.sha256(str(time.time_ns()).encode()).digest())
                .decode()
                .rstrip("="),
            )
        )
        self.tokens.add(tok)
        return tok

    def create_session(self, req: Request) -> Response:
        if req.path.endswith("createSession"):
            body = req.json() or {}
            if (
                body.get("identifier") not in (self.handle, self.did)
                or body.get("password") != self.password
                or self.echo_auth
            ):
                return Response(
                    401,
                    {
                        "error": "AuthenticationRequired",
                        "message": f"Invalid identifier or password {body.get('password')}",
                    },
                )
        elif not self._authed(req):
            return Response(401, {"error": "ExpiredToken", "message": "Token has expired"})
        return Response(
            200,
            {
                "did": self.did,
                "handle": self.handle,
                "email": "comms@example.org",
                "accessJwt": self._token("com.atproto.appPass"),
                "refreshJwt": self._token("com.atproto.refresh"),
                "active": True,
            },
        )

    def upload_blob(self, req: Request) -> Response:
        if not self._authed(req):
            return Response(401, {"error": "AuthenticationRequired", "message": "Authentication Required"})
        cid = _cid(req.body, 0x55)
        self.blobs[cid] = len(req.body)
        return Response(
            200,
            {
                "blob": {
                    "$type": "blob",
                    "ref": {"$link": cid},
                    "mimeType": req.headers.get("content-type", "application/octet-stream"),
                    "size": len(req.body),
                }
            },
        )

    def create_record(self, req: Request) -> Response:
        if not self._authed(req):
            return Response(401, {"error": "AuthenticationRequired", "message": "Authentication Required"})
        body = req.json()
        if body.get("repo") not in (self.did, self.handle) or body.get("collection") != "app.bsky.feed.post":
            return Response(400, {"error": "InvalidRequest", "message": "bad repo or collection"})
        rkey = body.get("rkey") or f"auto{len(self.records)}"
        if rkey in self.records:
            return Response(
                400,
                {
                    "error": "InvalidRequest",
                    "message": f"Record already exists at at://{self.did}/app.bsky.feed.post/{rkey}",
                },
            )
        record = body["record"]
        text = record.get("text", "")  # the lexicon: at most 300 graphemes and 3000 UTF-8 bytes
        if len(regex.findall(r"\X", text)) > 300 or len(text.encode()) > 3000:
            return Response(
                400,
                {"error": "InvalidRequest", "message": "Record/text must not be longer than 300 graphemes"},
            )
        for image in (record.get("embed") or {}).get("images") or []:
            if image["image"]["ref"]["$link"] not in self.blobs:
                return Response(400, {"error": "InvalidRequest", "message": "Could not find blob"})
        uri = f"at://{self.did}/app.bsky.feed.post/{rkey}"
        cid = _cid(json.dumps(record, sort_keys=True).encode(), 0x71)
        self.records[rkey] = {"uri": uri, "cid": cid, "value": record}
        return Response(
            200,
            {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": cid, "rev": "3l" + rkey[:11]},
                "validationStatus": "valid",
            },
        )

    def get_record(self, req: Request) -> Response:
        rec = self.records.get(req.query.get("rkey", ""))
        if rec is None or req.query.get("repo") not in (self.did, self.handle):
            return Response(400, {"error": "RecordNotFound", "message": "Could not locate record"})
        return Response(200, rec)

    def react(self, uri: str, *, likes: int = 0, reposts: int = 0, replies: int = 0, quotes: int = 0) -> None:
        """What people did with post ``uri`` (its counts as the AppView reports them)."""
        self.counts[uri] = {"likeCount": likes, "repostCount": reposts, "replyCount": replies,
                            "quoteCount": quotes}

    def get_posts(self, req: Request) -> Response:
        if not self._authed(req):
            return Response(401, {"error": "AuthenticationRequired", "message": "Authentication Required"})
        uris = parse_qs(urlsplit(req.raw_path).query).get("uris", [])
        if len(uris) > 25:
            return Response(400, {"error": "InvalidRequest",
                                  "message": "uris must not have more than 25 elements"})
        by_uri = {r["uri"]: r for r in self.records.values()}
        posts = [{"uri": uri, "cid": by_uri[uri]["cid"], "record": by_uri[uri]["value"],
                  "author": {"did": self.did, "handle": self.handle},
                  "indexedAt": by_uri[uri]["value"].get("createdAt"),
                  "likeCount": 0, "repostCount": 0, "replyCount": 0, "quoteCount": 0,
                  **self.counts.get(uri, {})}
                 for uri in uris if uri in by_uri]
        return Response(200, {"posts": posts})

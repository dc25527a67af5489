"""Microsoft Graph v1.0, the calls practiceweek uses: mail drafts/send/sendMail/Sent Items query, large
attachment upload sessions, calendar events (onlineMeeting.joinUrl, transactionId de-duplication,
PATCH, cancel), drive uploads (simple PUT and upload sessions) and sharing links.

Effects counted: ``delivered`` (one entry per delivered message), ``events_created``, ``drive_uploads``.
``send_rate`` (messages/second) turns on Exchange-style throttling: 429 + Retry-After beyond it.
"""

from __future__ import annotations

import base64
import itertools
import math
import re
import time
import uuid
from typing import Any

from . import graph_reads
from .base import FakeServer, Request, Response, check_bearer

V = "/v1.0"
PROP_VALUE = re.compile(r"ep/value eq '((?:[^']|'')*)'")
PROP_ID = re.compile(r"ep/id eq '((?:[^']|'')*)'")
TXN = re.compile(r"transactionId eq '((?:[^']|'')*)'")


def _err(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}})


class GraphServer(FakeServer):
    def __init__(
        self, token: str | None = None, send_rate: float | None = None, max_recipients: int = 500
    ) -> None:
        super().__init__()
        self.token = token
        self.send_rate = send_rate
        self.max_recipients = max_recipients
        self.forbidden: set[str] = set()  # permission names to deny ("Mail.Send", ...)
        self.echo_auth_in_errors = False  # a nasty server that reflects the Authorization header
        self.mail: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self.delivered: list[dict[str, Any]] = []
        self.events: dict[str, dict[str, Any]] = {}
        self.events_created = 0
        self.drive: dict[tuple[str, str], dict[str, Any]] = {}
        self.drive_uploads: list[str] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._bucket_tokens = float(max(1.0, send_rate or 1.0))
        self._bucket_at = time.monotonic()
        self.throttled = 0
        u = V + r"/users/(?P<user>[^/]+)"
        self.route("POST", u + "/messages", self.create_draft)
        self.route("POST", u + r"/messages/(?P<mid>[^/]+)/attachments", self.add_attachment)
        self.route(
            "POST", u + r"/messages/(?P<mid>[^/]+)/attachments/createUploadSession", self.attachment_session
        )
        self.route("POST", u + r"/messages/(?P<mid>[^/]+)/send", self.send_draft)
        self.route("DELETE", u + r"/messages/(?P<mid>[^/]+)", self.delete_message)
        self.route("POST", u + "/sendMail", self.send_mail)
        self.route("GET", u + r"/mailFolders/(?P<folder>[^/]+)/messages", self.list_folder)
        self.route("POST", u + "/events", self.create_event)
        self.route("GET", u + "/events", self.list_events)
        self.route("GET", u + r"/events/(?P<eid>[^/]+)", self.get_event)
        self.route("PATCH", u + r"/events/(?P<eid>[^/]+)", self.patch_event)
        self.route("POST", u + r"/events/(?P<eid>[^/]+)/cancel", self.cancel_event)
        d = V + r"/drives/(?P<drive>[^/]+)"
        self.route("PUT", d + r"/(?:items/)?root:/(?P<path>.+):/content", self.put_content)
        self.route("POST", d + r"/(?:items/)?root:/(?P<path>.+):/createUploadSession", self.drive_session)
        self.route("GET", d + r"/(?:items/)?root:/(?P<path>.+?):?", self.get_item)
        self.route("POST", d + r"/items/(?P<iid>[^/]+)/createLink", self.create_link)
        self.route("PUT", r"/upload/(?P<token>[^/]+)", self.upload_chunk)
        self.route(
            "GET", V + r"/teams/(?P<team>[^/]+)/channels/(?P<channel>[^/]+)/messages", self.channel_messages
        )
        # the channel behind a Teams Workflows webhook: a callable returning the cards it received
        self.channel_cards: Any = None
        graph_reads.install(self)  # attendance reports and non-delivery reports (read after the fact)

    # ------------------------------------------------------------------ plumbing
    def rate_limit_headers(self, delay: float) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(delay)))}

    def error_body(self, status: int, message: str) -> Any:
        code = {429: "ApplicationThrottled", 503: "ServiceUnavailable"}.get(status, "generalException")
        return {"error": {"code": code, "message": message}}

    def dispatch(self, req: Request) -> Response:
        if not req.path.startswith("/upload/"):
            denied = check_bearer(req, self.token)
            if denied is not None:
                if self.echo_auth_in_errors:
                    denied.body = {
                        "error": {
                            "code": "InvalidAuthenticationToken",
                            "message": f"bad header {req.headers.get('authorization')}",
                        }
                    }
                return denied
        return super().dispatch(req)

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}" + base64.urlsafe_b64encode(uuid.uuid4().bytes[:6]).decode()

    def _box(self, user: str) -> dict[str, dict[str, dict[str, Any]]]:
        return self.mail.setdefault(user.lower(), {"drafts": {}, "sentitems": {}})

    def _deny(self, permission: str, req: Request) -> Response | None:
        if permission in self.forbidden:
            extra = f" ({req.headers.get('authorization')})" if self.echo_auth_in_errors else ""
            return _err(
                403, "ErrorAccessDenied", f"Access is denied. Check credentials and try again.{extra}"
            )
        return None

    def _throttle(self) -> Response | None:
        if not self.send_rate:
            return None
        now = time.monotonic()
        cap = max(1.0, self.send_rate)  # a one-second burst
        self._bucket_tokens = min(cap, self._bucket_tokens + (now - self._bucket_at) * self.send_rate)
        self._bucket_at = now
        if self._bucket_tokens >= 1.0:
            self._bucket_tokens -= 1.0
            return None
        self.throttled += 1
        delay = (1.0 - self._bucket_tokens) / self.send_rate
        return Response(
            429,
            self.error_body(429, "Application is over its MailboxConcurrency limit."),
            {"Retry-After": str(max(1, math.ceil(delay)))},
        )

    # ------------------------------------------------------------------ mail
    def create_draft(self, req: Request) -> Response:
        denied = self._deny("Mail.Send", req)
        if denied:
            return denied
        body = req.json()
        count = sum(len(body.get(k) or []) for k in ("toRecipients", "ccRecipients", "bccRecipients"))
        if count > self.max_recipients:
            return _err(
                400,
                "ErrorTooManyRecipients",
                f"A message can't have more than {self.max_recipients} recipients.",
            )
        mid = self._id("AAMk")
        inline = [
            {"name": a.get("name"), "size": len(base64.b64decode(a.get("contentBytes") or ""))}
            for a in body.pop("attachments", None) or []
        ]
        msg = {
            **body,
            "id": mid,
            "isDraft": True,
            "attachments": inline,
            "createdDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "webLink": f"https://outlook.office365.com/owa/?ItemID={mid}",
        }
        self._box(req.match["user"])["drafts"][mid] = msg
        return Response(201, _public(msg))

    def add_attachment(self, req: Request) -> Response:
        msg = self._box(req.match["user"])["drafts"].get(req.match["mid"])
        if msg is None:
            return _err(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        att = req.json()
        msg["attachments"].append(
            {"name": att.get("name"), "size": len(base64.b64decode(att["contentBytes"]))}
        )
        return Response(201, {**att, "id": self._id("att")})

    def attachment_session(self, req: Request) -> Response:
        msg = self._box(req.match["user"])["drafts"].get(req.match["mid"])
        if msg is None:
            return _err(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        item = req.json()["AttachmentItem"]
        return self._new_session(
            {"kind": "attachment", "msg": msg, "name": item["name"], "size": int(item["size"])}
        )

    def _new_session(self, info: dict[str, Any]) -> Response:
        token = uuid.uuid4().hex
        self.sessions[token] = {**info, "data": bytearray()}
        return Response(
            201 if info["kind"] == "drive" else 201,
            {
                "uploadUrl": f"{self.url}/upload/{token}",
                "expirationDateTime": "2099-01-01T00:00:00Z",
                "nextExpectedRanges": ["0-"],
            },
        )

    def upload_chunk(self, req: Request) -> Response:
        session = self.sessions.get(req.match["token"])
        if session is None:
            return _err(404, "itemNotFound", "The upload session was not found.")
        if "authorization" in req.headers:
            return _err(
                401, "InvalidAuthenticationToken", "Upload URLs are pre-authenticated: send no token."
            )
        m = re.match(r"bytes (\d+)-(\d+)/(\d+)", req.headers.get("content-range", ""))
        if not m or int(m[1]) != len(session["data"]) or int(m[2]) - int(m[1]) + 1 != len(req.body):
            return _err(416, "invalidRange", f"expected bytes from {len(session['data'])}")
        session["data"] += req.body
        session["size"] = int(m[3])  # the total announced in Content-Range
        if len(session["data"]) < session["size"]:
            return Response(
                200,
                {
                    "expirationDateTime": "2099-01-01T00:00:00Z",
                    "nextExpectedRanges": [f"{len(session['data'])}-"],
                },
            )
        del self.sessions[req.match["token"]]
        if session["kind"] == "attachment":
            session["msg"]["attachments"].append({"name": session["name"], "size": len(session["data"])})
            return Response(201, None, {"Location": f"{self.url}/attachments/{uuid.uuid4().hex}"})
        return Response(201, self._store_file(session["drive"], session["path"], bytes(session["data"])))

    def send_draft(self, req: Request) -> Response:
        denied = self._deny("Mail.Send", req)
        if denied:
            return denied
        throttled = self._throttle()
        if throttled:
            return throttled
        box = self._box(req.match["user"])
        msg = box["drafts"].pop(req.match["mid"], None)
        if msg is None:  # what Exchange answers for a draft that was already sent (it moved)
            return _err(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        sent = {
            **msg,
            "id": self._id("AAMkS"),
            "isDraft": False,
            "sentDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        box["sentitems"][sent["id"]] = sent
        self.delivered.append(sent)
        return Response(202)

    def send_mail(self, req: Request) -> Response:
        denied = self._deny("Mail.Send", req)
        if denied:
            return denied
        throttled = self._throttle()
        if throttled:
            return throttled
        body = req.json()
        msg = body.get("Message") or body.get("message")
        if not msg:
            return _err(400, "ErrorInvalidRequest", "Message is required.")
        sent = {**msg, "id": self._id("AAMkS"), "isDraft": False}
        if body.get("SaveToSentItems", body.get("saveToSentItems", True)) not in (False, "false"):
            self._box(req.match["user"])["sentitems"][sent["id"]] = sent
        self.delivered.append(sent)
        return Response(202)

    def delete_message(self, req: Request) -> Response:
        box = self._box(req.match["user"])
        for folder in box.values():
            if folder.pop(req.match["mid"], None) is not None:
                return Response(204)
        return _err(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def list_folder(self, req: Request) -> Response:
        folder = req.match["folder"].lower()
        folder = {"sentitems": "sentitems", "drafts": "drafts"}.get(folder, folder)
        items = list(self._box(req.match["user"]).get(folder, {}).values())
        return Response(200, {"value": [_public(m) for m in _filter(items, req.query.get("$filter", ""))]})

    # ------------------------------------------------------------------ events
    def create_event(self, req: Request) -> Response:
        denied = self._deny("Calendars.ReadWrite", req)
        if denied:
            return denied
        body = req.json()
        txn = body.get("transactionId")
        for event in self.events.values():  # transactionId makes a retried create return the same event
            if txn and event.get("transactionId") == txn and event["organiser"] == req.match["user"].lower():
                return Response(201, _public(event))
        eid = self._id("AAMkE")
        event = {
            **body,
            "id": eid,
            "organiser": req.match["user"].lower(),
            "isCancelled": False,
            "webLink": f"https://outlook.office365.com/owa/?itemid={eid}&exvsurl=1&path=/calendar/item",
        }
        if body.get("isOnlineMeeting"):
            event["onlineMeeting"] = {
                "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{eid}"
            }
        self.events[eid] = event
        self.events_created += 1
        return Response(201, _public(event))

    def list_events(self, req: Request) -> Response:
        items = [e for e in self.events.values() if e["organiser"] == req.match["user"].lower()]
        return Response(200, {"value": [_public(e) for e in _filter(items, req.query.get("$filter", ""))]})

    def get_event(self, req: Request) -> Response:
        event = self.events.get(req.match["eid"])
        return Response(200, _public(event)) if event else _err(404, "ErrorItemNotFound", "Not found.")

    def patch_event(self, req: Request) -> Response:
        event = self.events.get(req.match["eid"])
        if event is None:
            return _err(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        event.update(req.json())
        event["changes"] = event.get("changes", 0) + 1
        return Response(200, _public(event))

    def cancel_event(self, req: Request) -> Response:
        event = self.events.get(req.match["eid"])
        if event is None:
            return _err(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        event["isCancelled"] = True
        event["cancelComment"] = (req.json() or {}).get("Comment") or (req.json() or {}).get("comment")
        return Response(202)

    # ------------------------------------------------------------------ Teams channel messages
    def channel_messages(self, req: Request) -> Response:
        """Newest first, ``$top`` of them; a card posted by a Workflows webhook is an adaptive-card attachment
        whose ``content`` is the card's JSON as a string (as Graph returns it)."""
        denied = self._deny("ChannelMessage.Read.All", req)
        if denied is not None:
            return denied
        import json

        cards = list(self.channel_cards() if self.channel_cards else [])
        top = int(req.query.get("$top") or 20)
        value = [
            {
                "id": f"17{i:011d}",
                "messageType": "message",
                "webUrl": f"https://teams.microsoft.com/l/message/{req.match['channel']}/17{i:011d}",
                "body": {"contentType": "html", "content": f'<attachment id="att{i}"></attachment>'},
                "attachments": [
                    {
                        "id": f"att{i}",
                        "contentType": "application/vnd.microsoft.card.adaptive",
                        "content": json.dumps(card),
                    }
                ],
            }
            for i, card in reversed(list(enumerate(cards, 1)))
        ][:top]
        return Response(200, {"value": value})

    # ------------------------------------------------------------------ files
    def _store_file(self, drive: str, path: str, data: bytes) -> dict[str, Any]:
        key = (drive, path.strip("/"))
        item = self.drive.get(key) or {
            "id": self._id("01DRV"),
            "name": key[1].rsplit("/", 1)[-1],
            "webUrl": f"https://contoso.sharepoint.com/sites/pw/{key[1]}",
        }
        item.update(size=len(data), content=data, file={"mimeType": "application/octet-stream"})
        self.drive[key] = item
        self.drive_uploads.append(key[1])
        return _public(item)

    def put_content(self, req: Request) -> Response:
        denied = self._deny("Files.ReadWrite.All", req)
        if denied:
            return denied
        if len(req.body) > 250 * 1024 * 1024:
            return _err(413, "requestTooLarge", "Use an upload session above 250 MB.")
        return Response(201, self._store_file(req.match["drive"], req.match["path"], req.body))

    def drive_session(self, req: Request) -> Response:
        denied = self._deny("Files.ReadWrite.All", req)
        if denied:
            return denied
        size = int(
            ((req.json() or {}).get("item") or {}).get("fileSize") or req.headers.get("x-file-size", 0)
        )
        return self._new_session(
            {"kind": "drive", "drive": req.match["drive"], "path": req.match["path"], "size": size or 1}
        )

    def get_item(self, req: Request) -> Response:
        item = self.drive.get((req.match["drive"], req.match["path"].strip("/")))
        return (
            Response(200, _public(item))
            if item
            else _err(404, "itemNotFound", "The resource could not be found.")
        )

    def create_link(self, req: Request) -> Response:
        for item in self.drive.values():
            if item["id"] == req.match["iid"]:
                scope = (req.json() or {}).get("scope", "organization")
                link = item.setdefault(
                    "link",
                    {
                        "type": "view",
                        "scope": scope,
                        "webUrl": f"https://contoso.sharepoint.com/:b:/s/pw/{item['id']}",
                    },
                )
                return Response(201, {"id": "link-" + item["id"], "roles": ["read"], "link": link})
        return _err(404, "itemNotFound", "The resource could not be found.")


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("content", "organiser", "attachments", "link")}


def _filter(items: list[dict[str, Any]], flt: str) -> list[dict[str, Any]]:
    """The two filters practiceweek uses: an extended-property match and transactionId."""
    if not flt:
        return items
    m_val, m_id, m_txn = PROP_VALUE.search(flt), PROP_ID.search(flt), TXN.search(flt)
    out = []
    for item in items:
        if m_txn and item.get("transactionId") != m_txn[1].replace("''", "'"):
            continue
        if m_val:
            props = item.get("singleValueExtendedProperties") or []
            if not any(
                p.get("value") == m_val[1].replace("''", "'")
                and (not m_id or p.get("id", "").lower() == m_id[1].lower())
                for p in props
            ):
                continue
        out.append(item)
    return out

"""Email through Microsoft Graph: a draft in the sender's mailbox, then ``/send``.

The draft carries the publication id twice: as a single-value extended property (what ``find``
filters Sent Items and Drafts on) and as the ``x-practiceweek-id`` internet header (what recipients'
systems see). Sending a *draft* is what makes retries safe: ``POST /messages/{id}/send`` can deliver a
given draft only once, because the first success moves it to Sent Items and any retry (ours or the
SDK's RetryHandler) gets 404 - which we reconcile against Sent Items. Audiences above Exchange's 500
recipients per message go out as several messages (Bcc), each with its own part id ``<id>#<n>``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from typing import Any, ClassVar

from msgraph.generated.models.attachment_item import AttachmentItem
from msgraph.generated.models.attachment_type import AttachmentType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.file_attachment import FileAttachment
from msgraph.generated.models.internet_message_header import InternetMessageHeader
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)
from msgraph.generated.users.item.messages.item.attachments.create_upload_session.create_upload_session_post_request_body import (  # noqa: E501
    CreateUploadSessionPostRequestBody,
)

from practiceweek.artifacts import Attachment, Rendered

from . import graph_reads
from ._graph import PROPERTY_ID, GraphSession, property_filter, query, send_json
from .base import (
    Connector,
    Engagement,
    NotAvailable,
    OutcomeUnknownError,
    PermanentError,
    Reading,
    Receipt,
    Sent,
)
from .ids import chunks, digest
from .pacing import Bucket, paced, shared_bucket
from .settings import GraphSettings

INLINE_LIMIT = 3 * 1024 * 1024  # Graph: larger attachments need an upload session
HINTS = {
    403: "the app registration lacks Mail.Send (and Mail.ReadWrite, for drafts and Sent Items; application "
    "permissions with admin consent), or an application access policy excludes this mailbox",
    404: "the sender mailbox does not exist; check PRACTICEWEEK_GRAPH_SENDER",
    413: "the message is too large for Exchange (max 150 MB including attachments)",
}


class GraphMailConnector(Connector):
    """Sends email as ``sender`` (a mailbox the app may send as)."""

    name: ClassVar[str] = "graph_mail"
    channels: ClassVar[tuple[str, ...]] = ("email",)
    requests_per_interval: int | None = 30  # Exchange: 30 messages per minute per mailbox
    interval_seconds: float = 60.0
    max_recipients: ClassVar[int | None] = 500  # Exchange: recipients per message (To + Cc + Bcc)
    max_attachment_bytes: ClassVar[int | None] = 150 * 1024 * 1024

    def __init__(
        self,
        settings: GraphSettings | None = None,
        *,
        timeout: float = 30.0,
        sdk_retries: int = 0,
        requests_per_interval: int | None = None,
        interval_seconds: float | None = None,
    ) -> None:
        self.settings = settings or GraphSettings.from_env()
        self.graph = GraphSession(self.settings, timeout=timeout, sdk_retries=sdk_retries, hints=HINTS)
        self.requests_per_interval = requests_per_interval or type(self).requests_per_interval
        self.interval_seconds = interval_seconds or type(self).interval_seconds
        self._drafts: dict[str, str] = {}  # part id → unsent draft found by find(), reused by publish()

    # ------------------------------------------------------------------ helpers
    def _sender(self, item: Rendered) -> str:
        sender = self.settings.sender or item.sender
        if not sender:
            raise PermanentError(
                "Graph mail needs a sender mailbox: set PRACTICEWEEK_GRAPH_SENDER", provider="Graph"
            )
        return sender

    def _parts(self, item: Rendered) -> list[tuple[str, list[str]]]:
        recipients = list(dict.fromkeys(item.recipients))
        if not recipients:
            raise PermanentError(f"{item.id}: the email has no recipients", provider="Graph")
        if len(recipients) == 1:
            return [(item.id, recipients)]
        batches = chunks(recipients, (self.max_recipients or 500) - 1)  # To: the sender, Bcc: the batch
        if len(batches) == 1:
            return [(item.id, batches[0])]
        return [(f"{item.id}#{n}", batch) for n, batch in enumerate(batches, 1)]

    def _bucket(self, sender: str) -> Any:
        return shared_bucket(
            ("graph_mail", self.graph.base_url, sender.lower()),
            self.requests_per_interval,
            self.interval_seconds,
        )

    def _message(self, item: Rendered, part: str, sender: str, batch: list[str]) -> Message:
        def rcpt(addr: str) -> Recipient:
            return Recipient(email_address=EmailAddress(address=addr))

        msg = Message(
            subject=item.subject,
            body=ItemBody(
                content_type=BodyType.Html if item.html else BodyType.Text, content=item.html or item.text
            ),
            internet_message_id=f"<{digest(part)}@practiceweek>",
            single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=PROPERTY_ID, value=part)],
            internet_message_headers=[InternetMessageHeader(name="x-practiceweek-id", value=part)],
        )
        if len(batch) == 1 and len(self._parts(item)) == 1:
            msg.to_recipients = [rcpt(batch[0])]
        else:
            msg.to_recipients = [rcpt(sender)]
            msg.bcc_recipients = [rcpt(a) for a in batch]
        small = [a for a in self._attachments(item) if len(a.data) <= INLINE_LIMIT]
        if small:
            msg.attachments = [
                FileAttachment(
                    odata_type="#microsoft.graph.fileAttachment",
                    name=a.filename,
                    content_type=a.content_type,
                    content_bytes=a.data,
                )
                for a in small
            ]
        return msg

    @staticmethod
    def _attachments(item: Rendered) -> list[Attachment]:
        out = list(item.attachments)
        if item.ics is not None and not any(a.filename.endswith(".ics") for a in out):
            out.append(Attachment("invite.ics", "text/calendar", item.ics))
        return out

    def _lookup(self, sender: str, folder: str, part: str) -> Any | None:
        box = self.graph.client.users.by_user_id(sender).mail_folders.by_mail_folder_id(folder).messages
        config = query(
            MessagesRequestBuilder,
            filter=property_filter(part),
            top=5,
            select=["id", "internetMessageId", "sentDateTime", "createdDateTime", "webLink"],
        )
        page = send_json(
            self.graph, box.to_get_request_information(config), f"search {folder} for {part}", write=False
        )
        values = page.get("value") or []
        return values[0] if values else None

    def _receipt(self, item: Rendered, found: list[Any]) -> Receipt:
        first = found[0]
        when = first.get("sentDateTime") or first.get("createdDateTime")
        at = dt.datetime.fromisoformat(when.replace("Z", "+00:00")) if when else dt.datetime.now(dt.UTC)
        return Receipt(
            publication_id=item.id,
            remote_id=first.get("internetMessageId") or first["id"],
            url=first.get("webLink"),
            at=at,
            extra={"messages": [m.get("internetMessageId") or m["id"] for m in found]},
        )

    # ------------------------------------------------------------------ contract
    def publish(self, item: Rendered) -> Receipt:
        sender = self._sender(item)
        parts = self._parts(item)
        mailbox = self.graph.client.users.by_user_id(sender)
        ids: list[str] = []
        for part, batch in parts:
            if len(parts) > 1 and self._lookup(sender, "sentitems", part) is not None:
                ids.append(f"<{digest(part)}@practiceweek>")  # this part went out before
                continue
            draft_id = self._drafts.pop(part, None)
            if draft_id is None:
                info = mailbox.messages.to_post_request_information(self._message(item, part, sender, batch))
                draft = send_json(self.graph, info, f"create the draft of {part}")
                draft_id = str(draft["id"])
                for att in self._attachments(item):
                    if len(att.data) > INLINE_LIMIT:
                        self._upload_attachment(sender, draft_id, att)
            bucket = self._bucket(sender)
            try:
                with paced(bucket):
                    self.graph.call(mailbox.messages.by_message_id(draft_id).send.post(), f"send {part}")
            except PermanentError as exc:
                if exc.status != 404:
                    raise
                # The draft is gone: a previous (retried) send delivered it. Sent Items tells us.
                if self._lookup(sender, "sentitems", part) is None:
                    raise OutcomeUnknownError(
                        f"Graph: draft of {part} vanished but is not in Sent Items yet; call find() later",
                        provider="Graph",
                    ) from None
            ids.append(f"<{digest(part)}@practiceweek>")
        return Receipt(publication_id=item.id, remote_id=ids[0], extra={"messages": ids, "sender": sender})

    def find(self, item: Rendered) -> Receipt | None:
        sender = self._sender(item)
        found = []
        for part, _ in self._parts(item):
            sent = self._lookup(sender, "sentitems", part)
            if sent is None:
                draft = self._lookup(sender, "drafts", part)
                if draft is not None and draft.get("id"):
                    self._drafts[part] = draft["id"]  # publish() sends this draft instead of making another
                return None
            found.append(sent)
        return self._receipt(item, found)

    def engagement(self, items: list[Sent]) -> dict[str, Engagement]:
        """Recipients each email was sent to, and the non-delivery reports that came back to the sending
        mailbox for it (read paced by the mailbox's Graph limit, not its sending limit)."""
        out: dict[str, Engagement] = {}
        for sent in items:
            mailbox = self.settings.sender or sent.account
            if not mailbox:
                out[sent.publication_id] = NotAvailable("no sending mailbox to read reports from")
                continue
            bucket = shared_bucket(("graph", self.graph.base_url, mailbox.lower()), 10_000, 600.0)
            undelivered = graph_reads.bounces(self.graph, mailbox, sent.remote_id, sent.sent_at,
                                              functools.partial(_acquire, bucket))
            figures = {"recipients": sent.recipients or 0, "undelivered": undelivered}
            out[sent.publication_id] = Reading(figures)
        return out

    def close(self) -> None:
        self.graph.close()

    # ------------------------------------------------------------------ large attachments
    def _upload_attachment(self, sender: str, draft_id: str, att: Attachment) -> None:
        builder = self.graph.client.users.by_user_id(sender).messages.by_message_id(draft_id).attachments
        body = CreateUploadSessionPostRequestBody(
            attachment_item=AttachmentItem(
                attachment_type=AttachmentType.File,
                name=att.filename,
                size=len(att.data),
                content_type=att.content_type,
            )
        )
        session = self.graph.call(
            builder.create_upload_session.post(body), f"open an upload session for {att.filename}"
        )
        assert session is not None and session.upload_url
        self.graph.put_chunks(session.upload_url, att.data, f"upload {att.filename}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _acquire(bucket: Bucket | None) -> None:
    """Wait for a slot of ``bucket`` (no limit: no wait)."""
    if bucket is not None:
        bucket.acquire()

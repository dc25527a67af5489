"""Microsoft Graph connectors against the local Graph server, through the real msgraph-sdk."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from connectors.base import PermanentError
from connectors.graph_events import transaction_id
from connectors.registry import get_connector
from practiceweek.artifacts import Attachment
from tests.servers import items
from tests.servers.harness import SECRETS, TIMEOUT

if TYPE_CHECKING:
    from tests.servers.graph import GraphServer

pytestmark = pytest.mark.timeout(60)


def _conn(server: GraphServer, name: str = "graph_mail", **kw: object):
    return get_connector(
        name,
        access_token=SECRETS["graph_token"],
        base_url=server.url + "/v1.0",
        sender="comms@example.org",
        drive_id="b!drive-1",
        timeout=TIMEOUT,
        **kw,
    )


def _count(server: GraphServer, method: str, suffix: str) -> int:
    return sum(1 for r in server.requests if r.method == method and r.path.endswith(suffix))


def test_sdk_retry_of_send_cannot_deliver_twice(graph_server: GraphServer) -> None:
    """The SDK's RetryHandler re-POSTs /send after a 503 that came *after* delivery: the draft has moved
    to Sent Items, the retry gets 404, and the connector confirms delivery from Sent Items."""
    conn = _conn(graph_server, sdk_retries=3)
    graph_server.inject("applied_503", path=r"/send$", method="POST")
    receipt = conn.publish(items.email())
    assert len(graph_server.delivered) == 1
    assert _count(graph_server, "POST", "/send") == 2  # the SDK did retry
    assert receipt.publication_id == items.email().id
    conn.close()


def test_draft_carries_the_publication_id(graph_server: GraphServer) -> None:
    conn = _conn(graph_server)
    item = items.email()
    conn.publish(item)
    (sent,) = graph_server.delivered
    assert {"name": "x-practiceweek-id", "value": item.id} in sent["internetMessageHeaders"]
    assert sent["singleValueExtendedProperties"][0]["value"] == item.id
    assert sent["toRecipients"] == [{"emailAddress": {"address": "staff@example.org"}}]
    conn.close()


def test_unsent_draft_is_reused_after_an_ambiguous_send(graph_server: GraphServer) -> None:
    conn = _conn(graph_server)
    item = items.email()
    graph_server.inject("reset", path=r"/send$", method="POST")
    with pytest.raises(Exception, match="find"):
        conn.publish(item)
    assert conn.find(item) is None  # not in Sent Items; the draft is remembered
    conn.publish(item)
    assert len(graph_server.delivered) == 1
    assert _count(graph_server, "POST", "/messages") == 1  # one draft only
    conn.close()


def test_large_attachment_goes_through_an_upload_session(graph_server: GraphServer) -> None:
    conn = _conn(graph_server)
    big = Attachment("poster-print.pdf", "application/pdf", b"%PDF" + b"\0" * (4 * 1024 * 1024))
    small = Attachment("poster.png", "image/png", items.PNG, alt="Poster")
    conn.publish(items.email(attachments=(big, small)))
    (sent,) = graph_server.delivered
    assert {a["name"]: a["size"] for a in sent["attachments"]} == {
        "poster.png": len(items.PNG),
        "poster-print.pdf": len(big.data),
    }
    assert _count(graph_server, "POST", "/attachments/createUploadSession") == 1
    assert _count(graph_server, "PUT", "") >= 2  # ranged chunks
    conn.close()


def test_audience_above_500_goes_out_in_bcc_batches(graph_server: GraphServer) -> None:
    conn = _conn(graph_server)
    rcpts = tuple(f"u{i}@example.org" for i in range(1200))
    item = items.email(recipients=rcpts)
    receipt = conn.publish(item)
    assert len(graph_server.delivered) == 3
    for msg in graph_server.delivered:
        assert len(msg["bccRecipients"]) + len(msg["toRecipients"]) <= 500
        assert msg["toRecipients"] == [{"emailAddress": {"address": "comms@example.org"}}]
    got = [r["emailAddress"]["address"] for m in graph_server.delivered for r in m["bccRecipients"]]
    assert sorted(got) == sorted(rcpts)
    found = conn.find(item)
    assert found is not None and found.extra["messages"] == receipt.extra["messages"]
    conn.close()


def test_missing_permission_is_permanent_and_says_which(graph_server: GraphServer) -> None:
    graph_server.forbidden.add("Mail.Send")
    conn = _conn(graph_server)
    with pytest.raises(PermanentError, match=r"Graph 403.*lacks Mail\.Send"):
        conn.publish(items.email())
    conn.close()


def test_send_mail_wire_format(graph_server: GraphServer) -> None:
    """The server speaks sendMail as the SDK sends it (JSON key ``Message``)."""
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.message import Message
    from msgraph.generated.models.recipient import Recipient
    from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

    conn = _conn(graph_server)
    body = SendMailPostRequestBody(
        message=Message(
            subject="Hi",
            body=ItemBody(content="x"),
            to_recipients=[Recipient(email_address=EmailAddress(address="a@example.org"))],
        ),
        save_to_sent_items=True,
    )
    conn.graph.call(conn.graph.client.users.by_user_id("comms@example.org").send_mail.post(body), "sendMail")
    assert graph_server.delivered[0]["subject"] == "Hi"
    conn.close()


def test_event_is_a_teams_meeting_with_join_url(graph_server: GraphServer) -> None:
    conn = _conn(graph_server, "graph_events")
    item = items.event()
    receipt = conn.publish(item)
    (event,) = graph_server.events.values()
    assert event["isOnlineMeeting"] is True and event["onlineMeetingProvider"] == "teamsForBusiness"
    assert event["transactionId"] == transaction_id(item.id)
    assert receipt.extra["join_url"] == event["onlineMeeting"]["joinUrl"]
    assert conn.find(item).extra["join_url"] == receipt.extra["join_url"]
    conn.close()


def test_server_deduplicates_creates_by_transaction_id(graph_server: GraphServer) -> None:
    body = {"subject": "x", "transactionId": "7E163156-7762-4BEB-A1C6-729EA81755A7", "isOnlineMeeting": True}
    headers = {"Authorization": f"Bearer {SECRETS['graph_token']}"}
    ids = {
        httpx.post(
            f"{graph_server.url}/v1.0/users/comms@example.org/events", json=body, headers=headers
        ).json()["id"]
        for _ in range(2)
    }
    assert len(ids) == 1 and graph_server.events_created == 1


def test_changed_event_is_patched_and_cancel_cancels(graph_server: GraphServer) -> None:
    conn = _conn(graph_server, "graph_events")
    first = conn.publish(items.event())
    changed = items.event(subject="Lunch and learn (moved)", fingerprint="beef")
    assert conn.find(changed) is None  # different content: not the same publication yet
    second = conn.publish(changed)
    assert second.remote_id == first.remote_id and graph_server.events_created == 1
    (event,) = graph_server.events.values()
    assert event["subject"] == "Lunch and learn (moved)" and event["changes"] == 1
    conn.cancel(changed)
    assert event["isCancelled"] is True
    assert conn.find(changed) is None
    conn.close()


def test_files_small_and_large_with_sharing_link(graph_server: GraphServer) -> None:
    conn = _conn(graph_server, "graph_files")
    item = items.files(big=True)
    receipt = conn.publish(item)
    assert receipt.url and receipt.url.startswith("https://contoso.sharepoint.com/:b:/")
    assert len(graph_server.drive) == 3
    assert _count(graph_server, "POST", ":/createUploadSession") == 1
    assert _count(graph_server, "PUT", ":/content") == 2
    assert conn.find(item).remote_id == receipt.remote_id
    conn.close()


def test_files_403_names_the_permission(graph_server: GraphServer) -> None:
    graph_server.forbidden.add("Files.ReadWrite.All")
    conn = _conn(graph_server, "graph_files")
    with pytest.raises(PermanentError, match="Files.ReadWrite.All"):
        conn.publish(items.files())
    conn.close()

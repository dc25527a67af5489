"""SMTP against a real aiosmtpd server: STARTTLS with a self-signed certificate, AUTH LOGIN, batching."""

from __future__ import annotations

import smtplib
import ssl
from typing import TYPE_CHECKING

import pytest

from connectors.base import PermanentError
from connectors.registry import get_connector
from connectors.smtp_mail import message_id
from tests.servers import items
from tests.servers.harness import SECRETS, TIMEOUT

if TYPE_CHECKING:
    from tests.servers.smtp import SmtpServer

pytestmark = pytest.mark.timeout(60)


def _connector(server: SmtpServer, **kw: object):
    return get_connector(
        "smtp_mail",
        host="127.0.0.1",
        port=server.port,
        username=server.username,
        password=SECRETS["smtp_password"],
        ca_file=str(server.cert),
        sender="comms@example.org",
        timeout=TIMEOUT,
        **kw,
    )


def test_message_goes_over_starttls_with_login_and_stable_message_id(smtp_server: SmtpServer) -> None:
    conn = _connector(smtp_server)
    item = items.email("smtp_mail")
    receipt = conn.publish(item)
    (msg,) = smtp_server.messages
    assert msg["tls"] and msg["auth"]
    assert msg["rcpt"] == ["staff@example.org"]
    assert msg["message_id"] == message_id(item.id) == receipt.remote_id
    assert b"X-PracticeWeek-Id: " + item.id.encode() in msg["raw"]
    assert conn.find(item) is None  # documented: SMTP cannot be queried


def test_eml_is_sent_as_rendered_with_bcc_stripped(smtp_server: SmtpServer) -> None:
    eml = (
        b"From: Comms <comms@example.org>\r\nTo: staff@example.org\r\nBcc: secret-list@example.org\r\n"
        b"Subject: Monday\r\nMessage-ID: <old@x>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain\r\n\r\nHello\r\n"
    )
    item = items.email("smtp_mail", recipients=("a@example.org", "b@example.org"), eml=eml)
    _connector(smtp_server).publish(item)
    (msg,) = smtp_server.messages
    assert sorted(msg["rcpt"]) == ["a@example.org", "b@example.org"]
    assert b"secret-list" not in msg["raw"] and b"<old@x>" not in msg["raw"]
    assert msg["message_id"] == message_id(item.id)


def test_recipients_are_batched_to_the_servers_limit(smtp_server: SmtpServer) -> None:
    smtp_server.max_recipients = 3  # the relay answers 452 beyond three recipients per transaction
    rcpts = tuple(f"u{i}@example.org" for i in range(8))
    receipt = _connector(smtp_server).publish(items.email("smtp_mail", recipients=rcpts))
    assert [len(m["rcpt"]) for m in smtp_server.messages] == [3, 3, 2]
    assert sorted(r for m in smtp_server.messages for r in m["rcpt"]) == sorted(rcpts)
    assert len({m["message_id"] for m in smtp_server.messages}) == 1  # one message, several envelopes
    assert receipt.extra["recipients"] == 8


def test_configured_batch_size(smtp_server: SmtpServer) -> None:
    rcpts = tuple(f"u{i}@example.org" for i in range(5))
    _connector(smtp_server, max_recipients=2).publish(items.email("smtp_mail", recipients=rcpts))
    assert [len(m["rcpt"]) for m in smtp_server.messages] == [2, 2, 1]


def test_wrong_password_is_permanent_and_names_the_setting(smtp_server: SmtpServer) -> None:
    conn = get_connector(
        "smtp_mail",
        host="127.0.0.1",
        port=smtp_server.port,
        username=smtp_server.username,
        password="wrong-password-123",
        ca_file=str(smtp_server.cert),
        timeout=TIMEOUT,
    )
    with pytest.raises(PermanentError, match="PRACTICEWEEK_SMTP_USERNAME") as caught:
        conn.publish(items.email("smtp_mail"))
    assert "wrong-password-123" not in str(caught.value)
    assert smtp_server.messages == []


def test_untrusted_certificate_is_refused(smtp_server: SmtpServer) -> None:
    conn = get_connector(
        "smtp_mail",
        host="127.0.0.1",
        port=smtp_server.port,
        username=smtp_server.username,
        password=SECRETS["smtp_password"],
        timeout=TIMEOUT,
    )  # no CA file: system store
    with pytest.raises(PermanentError, match="TLS"):
        conn.publish(items.email("smtp_mail"))


def test_server_refuses_plain_auth_without_tls(smtp_server: SmtpServer) -> None:
    """The test server really enforces STARTTLS (so the tests above prove TLS was used)."""
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        code, _ = smtp.mail("comms@example.org")
        assert code == 530
        smtp.starttls(context=ssl.create_default_context(cafile=str(smtp_server.cert)))

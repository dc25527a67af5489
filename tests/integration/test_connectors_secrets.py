"""Known secret values go in; none comes out in logs, receipts, outbox files or error messages -
not even when a server reflects the credentials it received in its error bodies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.base import ConnectorError
from connectors.registry import NAMES, get_connector
from tests.servers import items
from tests.servers.harness import SECRETS, Harness

pytestmark = pytest.mark.timeout(60)
NETWORKED = [n for n in NAMES if n not in ("outbox", "web_page")]


@pytest.fixture(params=NETWORKED)
def net(request: pytest.FixtureRequest, harness_for: Callable[[str], Harness]) -> Harness:
    return harness_for(request.param)


def _leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def _make_it_fail_loudly(h: Harness) -> None:
    """Arrange a refusal whose raw response carries the secret the connector sent."""
    server = h.server
    if h.name.startswith("graph"):
        server.echo_auth_in_errors = True
        server.forbidden.update({"Mail.Send", "Calendars.ReadWrite", "Files.ReadWrite.All"})
    elif h.name == "teams_channel":
        server.sig = "rotated"  # the URL we hold is now refused; the server echoes the request path
    elif h.name in ("x", "mastodon", "bluesky"):
        server.echo_auth = True
        if h.name == "bluesky":  # force a new login, which the server now refuses, echoing the password
            server.tokens.clear()
            h.connector._did = None
    elif h.name == "smtp_mail":
        server.password = "rotated"


def test_no_secret_in_logs_receipts_or_errors(net: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    item = net.item("daily")
    assert net.connector.find(item) is None
    receipt = net.connector.publish(item)
    texts = [repr(receipt), repr(net.connector.__dict__.get("settings"))]
    _make_it_fail_loudly(net)
    with pytest.raises(ConnectorError) as caught:
        net.connector.publish(net.item("second"))
    error = caught.value
    texts += [str(error), repr(error), error.body, repr(error.args)]
    texts.append(caplog.text)
    for text in texts:
        assert not _leaks(text), text
    # the secrets really were sent: the servers saw them, so the test is not vacuous
    seen = " ".join(
        str(r.headers) + r.raw_path + r.body.decode(errors="replace")
        for r in getattr(net.server, "requests", [])
    )
    if net.name != "smtp_mail":
        assert _leaks(seen)


def test_outbox_files_hold_no_secret(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    get_connector(
        "x",
        consumer_key="ck",
        consumer_secret=SECRETS["x_consumer_secret"],
        access_token=SECRETS["x_token"],
        access_token_secret=SECRETS["x_token_secret"],
    )
    outbox = get_connector("outbox", folder=tmp_path)
    for item in (items.email("outbox"), items.social("x"), items.card(), items.event(), items.page()):
        outbox.publish(item)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert not _leaks(path.read_bytes().decode(errors="replace")), path
    assert not _leaks(caplog.text)

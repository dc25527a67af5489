"""Known secret values go in; none comes out in logs, receipts, outbox files or error messages -
not even when a server reflects the credentials it received in its error bodies."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from connectors.base import ConnectorError
from connectors.credentials import BLOCKS
from connectors.registry import NAMES, SPECS, get_connector
from connectors.settings import reveal, secret_names
from tests.servers import items
from tests.servers.harness import SECRETS, TIMEOUT, Harness

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


def _sentinel_block(h: Harness, sentinel: str) -> Any:
    """The Prefect block of ``h``'s connector, as an operator would save it, every secret field holding
    ``sentinel`` (the Teams webhook: its signature), every other field the harness's own."""
    kind = SPECS[h.name][2]
    assert kind is not None
    block_cls = BLOCKS[kind]
    values: dict[str, Any] = dict(h.connector.settings)  # type: ignore[attr-defined]
    for name in secret_names(block_cls):
        values[name] = SecretStr(f"{sentinel}-{name}")
    if kind == "teams":
        values["webhook_url"] = SecretStr(reveal(h.connector.settings.webhook_url).replace(  # type: ignore[attr-defined]
            SECRETS["teams_sig"], sentinel))
    return block_cls(**values)


def _echo_credentials(h: Harness) -> None:
    """Servers that reflect the credentials they were sent in their refusals (the worst case)."""
    for flag in ("echo_auth", "echo_auth_in_errors"):
        if hasattr(h.server, flag):
            setattr(h.server, flag, True)


def test_a_block_with_a_sentinel_secret_never_shows_it(
    net: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Credentials built as each connector's Prefect block with a sentinel secret the provider refuses:
    the sentinel goes on the wire, yet never into the exception, a repr (block, settings, connector) or a
    log record, even when the server reflects it in its refusal."""
    caplog.set_level(logging.DEBUG)
    sentinel = f"SENTINEL{secrets.token_hex(6)}"
    block = _sentinel_block(net, sentinel)
    settings = block.settings()
    assert all(isinstance(getattr(settings, name), SecretStr) for name in secret_names(type(settings)))
    _echo_credentials(net)
    conn = get_connector(net.name, settings=settings, timeout=TIMEOUT)
    with pytest.raises(ConnectorError) as caught:
        conn.publish(net.item("sentinel"))
    error = caught.value
    texts = {
        "the exception": f"{error}\n{error!r}\n{error.body}\n{error.args!r}",
        "a repr": f"{block!r}\n{settings!r}\n{conn.__dict__!r}\n{block.model_dump_json()}",
        "the log records": "\n".join(
            f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
        ) + caplog.text,
    }
    for where, text in texts.items():
        assert sentinel not in text, f"the sentinel secret is in {where}: {text}"
    seen = " ".join(  # the sentinel really was sent (not vacuous): the server saw it
        str(r.headers) + r.raw_path + r.body.decode(errors="replace")
        for r in getattr(net.server, "requests", [])
    )
    if net.name != "smtp_mail":
        assert sentinel in seen or quote(sentinel) in seen

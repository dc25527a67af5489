"""The provider fakes as a pytest plugin (``pytest_plugins = ["tests.servers.plugin"]`` in tests/conftest.py).

Each fixture starts its server on a free local port with the test suite's secrets and stops it after the
test: ``graph_server``, ``teams_server``, ``x_server``, ``bluesky_server``, ``mastodon_server``,
``smtp_server``. ``fake_server(kind, **options)`` starts one with other constructor options, and
``harness_for(name)`` a connector wired to its server (see ``tests.servers.harness``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .base import FakeServer
from .bluesky import BlueskyServer
from .graph import GraphServer
from .harness import SECRETS, Harness, build
from .mastodon import MastodonServer
from .smtp import SmtpServer
from .teams import TeamsWebhookServer
from .x import XServer

# kind → (server class, the options every test gets unless it says otherwise)
KINDS: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "graph": (GraphServer, {"token": SECRETS["graph_token"]}),
    "teams": (TeamsWebhookServer, {"sig": SECRETS["teams_sig"]}),
    "x": (XServer, {}),
    "bluesky": (BlueskyServer, {"password": SECRETS["bluesky_password"]}),
    "mastodon": (MastodonServer, {"token": SECRETS["mastodon_token"]}),
    "smtp": (SmtpServer, {"password": SECRETS["smtp_password"]}),
}
FakeFactory = Callable[..., Any]


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[FakeFactory]:
    """``fake_server(kind, **options)``: a started provider server, stopped after the test."""
    started: list[FakeServer | SmtpServer] = []

    def start(kind: str, **options: Any) -> Any:
        cls, defaults = KINDS[kind]
        args = (tmp_path / f"{kind}-{len(started)}",) if cls is SmtpServer else ()
        if args:
            args[0].mkdir(parents=True, exist_ok=True)
        server = cls(*args, **{**defaults, **options}).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def graph_server(fake_server: FakeFactory) -> GraphServer:
    """Microsoft Graph (mail, events, drive, channel messages), bearer token ``SECRETS["graph_token"]``."""
    return fake_server("graph")


@pytest.fixture
def teams_server(fake_server: FakeFactory) -> TeamsWebhookServer:
    """A Teams Workflows webhook (Adaptive Cards); its URL carries ``SECRETS["teams_sig"]``."""
    return fake_server("teams")


@pytest.fixture
def x_server(fake_server: FakeFactory) -> XServer:
    """X API v2 (tweets, media), OAuth 1.0a; refuses a text the account already posted."""
    return fake_server("x")


@pytest.fixture
def bluesky_server(fake_server: FakeFactory) -> BlueskyServer:
    """A Bluesky PDS (XRPC), app password ``SECRETS["bluesky_password"]``."""
    return fake_server("bluesky")


@pytest.fixture
def mastodon_server(fake_server: FakeFactory) -> MastodonServer:
    """A Mastodon instance, access token ``SECRETS["mastodon_token"]``."""
    return fake_server("mastodon")


@pytest.fixture
def smtp_server(fake_server: FakeFactory) -> SmtpServer:
    """An SMTP relay (aiosmtpd) with STARTTLS and AUTH, password ``SECRETS["smtp_password"]``."""
    return fake_server("smtp")


@pytest.fixture
def harness_for(tmp_path: Path) -> Iterator[Callable[[str], Harness]]:
    """``harness_for(name)``: connector ``name`` wired to its own started server; closed after the test."""
    running: list[Iterator[Harness]] = []

    def make(name: str) -> Harness:
        folder = tmp_path / f"harness-{len(running)}"
        folder.mkdir()
        gen = build(name, folder)
        running.append(gen)
        return next(gen)

    yield make
    for gen in reversed(running):
        gen.close()

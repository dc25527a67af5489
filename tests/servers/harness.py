"""Per-connector harnesses: a server, a connector wired to it, test items, and a count of the remote
effects the server saw. Tests get them from the ``harness_for`` fixture (``tests.servers.plugin``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.base import Connector, OutcomeUnknownError, PermanentError, RetryableError
from connectors.registry import get_connector
from connectors.settings import GraphSettings
from practiceweek.artifacts import Rendered

from . import items
from .base import CLIENT_TIMEOUT_S
from .bluesky import BlueskyServer
from .graph import GraphServer
from .mastodon import MastodonServer
from .smtp import SmtpServer
from .teams import TeamsWebhookServer
from .x import XServer

TIMEOUT = CLIENT_TIMEOUT_S  # servers hang till the client gives up on an injected "timeout"

# Secrets every harness uses: the secrets test proves none of them leaks.
SECRETS = {
    "graph_token": "graph-token-SECRET-7f3a9c",
    "smtp_password": "smtp-pass-SECRET-41d2",
    "teams_sig": "teams-sig-SECRET-c0ffee",
    "x_consumer_secret": "x-consumer-SECRET-aa11",
    "x_token": "x-token-SECRET-bb22",
    "x_token_secret": "x-token-secret-SECRET-cc33",
    "bluesky_password": "bsky-app-SECRET-dd44",
    "mastodon_token": "masto-token-SECRET-ee55",
}
GENERIC = {
    "throttle": "429",
    "unavailable": "503",
    "server_error": "500",
    "timeout": "timeout",
    "reset": "reset",
    "permanent": "403",
}
EXPECT = {
    "throttle": RetryableError,
    "unavailable": RetryableError,
    "server_error": RetryableError,
    "timeout": OutcomeUnknownError,
    "reset": OutcomeUnknownError,
    "permanent": PermanentError,
}


@dataclass
class Harness:
    name: str
    connector: Connector
    server: Any
    item: Callable[[str], Rendered]
    effects: Callable[[], int]
    write_path: str = ".*"  # where injected faults hit
    write_method: str | None = "POST"
    expected_effects: int = 1  # per published item
    effects_of: Callable[[Rendered], int] = lambda rendered: 1  # per publication rendered from a campaign
    expect: dict[str, type[Exception]] = field(default_factory=lambda: dict(EXPECT))
    networked: bool = True
    others: list[Any] = field(default_factory=list)  # more servers to stop afterwards

    def inject(self, kind: str) -> None:
        if isinstance(self.server, SmtpServer):
            self.server.inject(kind)
        else:
            self.server.inject(GENERIC[kind], path=self.write_path, method=self.write_method)


def _graph(tmp: Path, name: str) -> Harness:
    server = GraphServer(token=SECRETS["graph_token"]).start()
    conn = get_connector(
        name,
        access_token=SECRETS["graph_token"],
        base_url=server.url + "/v1.0",
        sender="comms@example.org",
        organiser="comms@example.org",
        drive_id="b!drive-1",
        tenant_id=None,
        client_id=None,
        client_secret=None,
        timeout=TIMEOUT,
    )
    if name == "graph_mail":
        return Harness(
            name,
            conn,
            server,
            lambda slot: items.email(slot=slot),
            lambda: len(server.delivered),
            write_path=r"/send$",
        )
    if name == "graph_events":
        return Harness(
            name,
            conn,
            server,
            lambda slot: items.event(slot=slot),
            lambda: server.events_created,
            write_path=r"/events$",
        )
    return Harness(
        name,
        conn,
        server,
        lambda slot: items.files(slot=slot),
        lambda: len({path.rsplit("/", 1)[0] for _, path in server.drive}),  # one folder per publication
        write_path=r"/content$",
        write_method="PUT",
    )


def _smtp(tmp: Path) -> Harness:
    server = SmtpServer(tmp, password=SECRETS["smtp_password"]).start()
    conn = get_connector(
        "smtp_mail",
        host="127.0.0.1",
        port=server.port,
        username=server.username,
        password=SECRETS["smtp_password"],
        starttls=True,
        ca_file=str(server.cert),
        sender="comms@example.org",
        timeout=TIMEOUT,
    )
    expect = {**EXPECT, "reset": RetryableError}
    return Harness(
        "smtp_mail",
        conn,
        server,
        lambda slot: items.email("smtp_mail", slot=slot),
        lambda: len(server.messages),
        expect=expect,
    )


def _teams(tmp: Path, with_graph: bool = False) -> Harness:
    """The Workflows webhook; ``with_graph``: plus Graph reading the channel it posts to, so ``find``
    reconciles ambiguous posts."""
    server = TeamsWebhookServer(sig=SECRETS["teams_sig"]).start()
    options: dict[str, Any] = {}
    others: list[Any] = []
    if with_graph:
        graph = GraphServer(token=SECRETS["graph_token"])
        graph.channel_cards = lambda: server.cards
        others.append(graph.start())
        options = {
            "team_id": "team-1",
            "channel_id": "19:channel-1@thread.tacv2",
            "graph_settings": GraphSettings(
                access_token=SECRETS["graph_token"], base_url=graph.url + "/v1.0"
            ),
        }
    conn = get_connector("teams_channel", webhook_url=server.webhook_url, timeout=TIMEOUT, **options)
    return Harness(
        "teams_channel",
        conn,
        server,
        lambda slot: items.card(slot),
        lambda: len(server.cards),
        write_path="/invoke$",
        others=others,
    )


def _x(tmp: Path) -> Harness:
    server = XServer(reject_duplicates=False).start()
    conn = get_connector(
        "x",
        consumer_key="ck-public",
        consumer_secret=SECRETS["x_consumer_secret"],
        access_token=SECRETS["x_token"],
        access_token_secret=SECRETS["x_token_secret"],
        base_url=server.url,
        upload_url=server.url,
        timeout=TIMEOUT,
    )
    return Harness(
        "x",
        conn,
        server,
        lambda slot: items.social("x", slot),
        lambda: len(server.tweets),
        write_path="^/2/tweets$",
        expected_effects=2,
        effects_of=lambda rendered: len(rendered.posts),
    )


def _bluesky(tmp: Path) -> Harness:
    server = BlueskyServer(password=SECRETS["bluesky_password"]).start()
    conn = get_connector(
        "bluesky",
        handle=server.handle,
        app_password=SECRETS["bluesky_password"],
        base_url=server.url,
        timeout=TIMEOUT,
    )
    return Harness(
        "bluesky",
        conn,
        server,
        lambda slot: items.social("bluesky", slot),
        lambda: len(server.records),
        write_path="createRecord$",
        expected_effects=2,
        effects_of=lambda rendered: len(rendered.posts),
    )


def _mastodon(tmp: Path) -> Harness:
    server = MastodonServer(token=SECRETS["mastodon_token"]).start()
    conn = get_connector(
        "mastodon", base_url=server.url, access_token=SECRETS["mastodon_token"], timeout=TIMEOUT
    )
    return Harness(
        "mastodon",
        conn,
        server,
        lambda slot: items.social("mastodon", slot),
        lambda: len(server.statuses),
        write_path="^/api/v1/statuses$",
        expected_effects=2,
        effects_of=lambda rendered: len(rendered.posts),
    )


def _outbox(tmp: Path) -> Harness:
    conn = get_connector("outbox", folder=tmp / "outbox")
    return Harness(
        "outbox",
        conn,
        None,
        lambda slot: items.email("outbox", slot=slot),
        lambda: len(list((tmp / "outbox").rglob("receipt.json"))),
        networked=False,
    )


def _web(tmp: Path) -> Harness:
    conn = get_connector("web_page", folder=tmp / "site", base_url="https://intranet.example/spw")
    return Harness(
        "web_page",
        conn,
        None,
        lambda slot: items.page(slot),
        lambda: len(list((tmp / "site").rglob("receipt.json"))),
        networked=False,
    )


BUILDERS: dict[str, Callable[[Path], Harness]] = {
    "outbox": _outbox,
    "smtp_mail": _smtp,
    "graph_mail": lambda t: _graph(t, "graph_mail"),
    "graph_events": lambda t: _graph(t, "graph_events"),
    "graph_files": lambda t: _graph(t, "graph_files"),
    "teams_channel": _teams,
    "teams_channel+graph": lambda t: _teams(t, with_graph=True),
    "web_page": _web,
    "x": _x,
    "bluesky": _bluesky,
    "mastodon": _mastodon,
}


def build(name: str, tmp: Path) -> Iterator[Harness]:
    harness = BUILDERS[name](tmp)
    try:
        yield harness
    finally:
        harness.connector.close()
        for server in [harness.server, *harness.others]:
            if server is not None:
                server.stop()

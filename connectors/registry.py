"""Build a connector by name from environment variables or a Prefect block.

``get_connector(name, **overrides)``; ``name`` is one of :data:`NAMES`. Credentials come from
``overrides['settings']``, else the Prefect block named by ``overrides['block']`` or
``PRACTICEWEEK_<KIND>_BLOCK``, else ``PRACTICEWEEK_*`` environment variables. Other overrides
replace settings fields (``base_url=...``, ``sender=...``) or go to the connector's constructor
(``timeout=...``, ``folder=...``, ``sdk_retries=...``, ``requests_per_interval=...``).
Prefect is imported only when a block is used.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from practiceweek.settings import settings

from .base import Connector, PermanentError
from .settings import (
    BlueskySettings,
    GraphSettings,
    MastodonSettings,
    SmtpSettings,
    TeamsSettings,
    XSettings,
    _Settings,
)

# name → (module, class, credentials kind, settings class)
SPECS: dict[str, tuple[str, str, str | None, type[_Settings] | None]] = {
    "outbox": ("connectors.outbox", "OutboxConnector", None, None),
    "web_page": ("connectors.web_page", "WebPageConnector", None, None),
    "smtp_mail": ("connectors.smtp_mail", "SmtpMailConnector", "smtp", SmtpSettings),
    "graph_mail": ("connectors.graph_mail", "GraphMailConnector", "graph", GraphSettings),
    "graph_events": ("connectors.graph_events", "GraphEventsConnector", "graph", GraphSettings),
    "graph_files": ("connectors.graph_files", "GraphFilesConnector", "graph", GraphSettings),
    "teams_channel": ("connectors.teams_channel", "TeamsChannelConnector", "teams", TeamsSettings),
    "x": ("connectors.x", "XConnector", "x", XSettings),
    "bluesky": ("connectors.bluesky", "BlueskyConnector", "bluesky", BlueskySettings),
    "mastodon": ("connectors.mastodon", "MastodonConnector", "mastodon", MastodonSettings),
}
NAMES = tuple(SPECS)


def connector_class(name: str) -> type[Connector]:
    if name not in SPECS:
        raise PermanentError(
            f"unknown connector {name!r}; choose one of {', '.join(NAMES)}", provider="registry"
        )
    module, cls, _, _ = SPECS[name]
    return getattr(importlib.import_module(module), cls)


def _settings(kind: str, settings_cls: type[_Settings], overrides: dict[str, Any]) -> Any:
    if overrides.get("settings") is not None:
        base = overrides.pop("settings")
    else:
        block = overrides.pop("block", None) or settings().block(kind)
        if block:
            from .credentials import BLOCKS

            # load() returns the block itself in sync code (a coroutine only under a running event loop)
            base = BLOCKS[kind].load(block).settings()  # type: ignore[union-attr]
        else:
            base = settings_cls.from_env()
    overrides.pop("block", None)
    known = set(type(base).model_fields)
    fields = {k: overrides.pop(k) for k in list(overrides) if k in known}
    return base.with_overrides(**fields)


def rate_limit(name: str) -> tuple[int | None, float]:
    """The provider limit a connector paces to: ``PRACTICEWEEK_RATE_LIMIT_<NAME>`` = ``N/SECONDS`` (e.g.
    ``PRACTICEWEEK_RATE_LIMIT_X=17/86400`` for X's free tier), else the connector's declared limit."""
    cls = connector_class(name)
    value = (settings().rate_limit(name) or "").strip()
    if not value:
        return cls.requests_per_interval, cls.interval_seconds
    try:
        count, _, seconds = value.partition("/")
        limit, per = int(count), float(seconds or "1")
        if limit < 1 or per <= 0:
            raise ValueError
    except ValueError:
        raise PermanentError(
            f"PRACTICEWEEK_RATE_LIMIT_{name.upper()}={value!r}: expected REQUESTS/SECONDS, e.g. 100/900",
            provider="registry",
        ) from None
    return limit, per


def get_connector(name: str, **overrides: Any) -> Connector:
    """A ready connector; see the module docstring for where credentials come from."""
    limit, per = rate_limit(name)
    conn = _build(name, **overrides)
    if (limit, per) != (type(conn).requests_per_interval, type(conn).interval_seconds):
        conn.requests_per_interval, conn.interval_seconds = limit, per
    return conn


def _build(name: str, **overrides: Any) -> Connector:
    cls = connector_class(name)
    _, _, kind, settings_cls = SPECS[name]
    kwargs = dict(overrides)
    args: list[Any] = []
    if kind is not None and settings_cls is not None:
        args.append(_settings(kind, settings_cls, kwargs))
    graph_block = getattr(args[0], "graph_block", None) if args else None
    if graph_block and "graph_settings" not in kwargs:  # the Teams channel's own tenant reads it back
        kwargs["graph_settings"] = _settings("graph", GraphSettings, {"block": graph_block})
    accepted = inspect.signature(cls.__init__).parameters
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        raise PermanentError(f"{name}: unknown option(s) {', '.join(sorted(unknown))}", provider="registry")
    return cls(*args, **kwargs)

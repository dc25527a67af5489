"""Plain credential settings for each backend, read from environment variables.

No Prefect here (``connectors.credentials`` holds the Prefect blocks that produce the same
settings). Every secret is registered for redaction as soon as it is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

from ._common import register_secret

GRAPH_URL = "https://graph.microsoft.com/v1.0"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"PRACTICEWEEK_{name}")
    return value if value not in (None, "") else default


@dataclass(frozen=True, repr=False)
class _Settings:
    _secret_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        register_secret(*(getattr(self, f) for f in self._secret_fields))

    def __repr__(self) -> str:  # never print a secret
        shown = {
            f.name: (
                "***" if f.name in self._secret_fields and getattr(self, f.name) else getattr(self, f.name)
            )
            for f in fields(self)
            if not f.name.startswith("_")
        }
        return f"{type(self).__name__}({shown})"

    def with_overrides(self, **overrides: Any) -> Any:
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in known and v is not None})


@dataclass(frozen=True, repr=False)
class GraphSettings(_Settings):
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    access_token: str | None = None  # static bearer token (tests, or a token minted elsewhere)
    base_url: str = GRAPH_URL
    sender: str | None = None  # mailbox (UPN or id) that sends mail
    organiser: str | None = None  # mailbox that owns Teams meetings
    drive_id: str | None = None
    folder: str = "practiceweek"
    _secret_fields: tuple[str, ...] = ("client_secret", "access_token")

    @classmethod
    def from_env(cls) -> GraphSettings:
        return cls(
            tenant_id=_env("GRAPH_TENANT_ID"),
            client_id=_env("GRAPH_CLIENT_ID"),
            client_secret=_env("GRAPH_CLIENT_SECRET"),
            access_token=_env("GRAPH_ACCESS_TOKEN"),
            base_url=_env("GRAPH_BASE_URL", GRAPH_URL) or GRAPH_URL,
            sender=_env("GRAPH_SENDER"),
            organiser=_env("GRAPH_ORGANISER", _env("GRAPH_SENDER")),
            drive_id=_env("GRAPH_DRIVE_ID"),
            folder=_env("GRAPH_FOLDER", "practiceweek") or "practiceweek",
        )


@dataclass(frozen=True, repr=False)
class SmtpSettings(_Settings):
    host: str = "localhost"
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    sender: str | None = None
    ca_file: str | None = None  # trust this CA (self-signed relay) instead of the system store
    _secret_fields: tuple[str, ...] = ("password",)

    @classmethod
    def from_env(cls) -> SmtpSettings:
        return cls(
            host=_env("SMTP_HOST", "localhost") or "localhost",
            port=int(_env("SMTP_PORT", "587") or 587),
            username=_env("SMTP_USERNAME"),
            password=_env("SMTP_PASSWORD"),
            starttls=(_env("SMTP_STARTTLS", "true") or "true").lower() not in ("0", "false", "no"),
            sender=_env("SMTP_SENDER"),
            ca_file=_env("SMTP_CA_FILE"),
        )


@dataclass(frozen=True, repr=False)
class TeamsSettings(_Settings):
    webhook_url: str | None = None
    team_id: str | None = None  # with channel_id and Graph credentials: cards can be found again
    channel_id: str | None = None
    _secret_fields: tuple[str, ...] = ("webhook_url",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.webhook_url:  # the signature alone grants posting: hide it wherever it shows up
            from urllib.parse import parse_qsl, urlsplit

            parts = urlsplit(self.webhook_url)
            register_secret(
                parts.query, *(v for k, v in parse_qsl(parts.query) if k.lower() in ("sig", "code"))
            )

    @classmethod
    def from_env(cls) -> TeamsSettings:
        return cls(
            webhook_url=_env("TEAMS_WEBHOOK_URL"),
            team_id=_env("TEAMS_TEAM_ID"),
            channel_id=_env("TEAMS_CHANNEL_ID"),
        )


@dataclass(frozen=True, repr=False)
class XSettings(_Settings):
    consumer_key: str | None = None
    consumer_secret: str | None = None
    access_token: str | None = None
    access_token_secret: str | None = None
    base_url: str = "https://api.twitter.com"
    upload_url: str = "https://api.x.com"
    _secret_fields: tuple[str, ...] = ("consumer_secret", "access_token", "access_token_secret")

    @classmethod
    def from_env(cls) -> XSettings:
        return cls(
            consumer_key=_env("X_CONSUMER_KEY"),
            consumer_secret=_env("X_CONSUMER_SECRET"),
            access_token=_env("X_ACCESS_TOKEN"),
            access_token_secret=_env("X_ACCESS_TOKEN_SECRET"),
            base_url=_env("X_BASE_URL", "https://api.twitter.com") or "https://api.twitter.com",
            upload_url=_env("X_UPLOAD_URL", _env("X_BASE_URL", "https://api.x.com")) or "https://api.x.com",
        )


@dataclass(frozen=True, repr=False)
class BlueskySettings(_Settings):
    handle: str | None = None
    app_password: str | None = None
    base_url: str = "https://bsky.social"
    _secret_fields: tuple[str, ...] = ("app_password",)

    @classmethod
    def from_env(cls) -> BlueskySettings:
        return cls(
            handle=_env("BLUESKY_HANDLE"),
            app_password=_env("BLUESKY_APP_PASSWORD"),
            base_url=_env("BLUESKY_BASE_URL", "https://bsky.social") or "https://bsky.social",
        )


@dataclass(frozen=True, repr=False)
class MastodonSettings(_Settings):
    base_url: str | None = None
    access_token: str | None = None
    _secret_fields: tuple[str, ...] = ("access_token",)

    @classmethod
    def from_env(cls) -> MastodonSettings:
        return cls(base_url=_env("MASTODON_BASE_URL"), access_token=_env("MASTODON_ACCESS_TOKEN"))

"""Plain credential settings for each backend, read from environment variables.

No Prefect here (``connectors.credentials`` holds the Prefect blocks that produce the same
settings). Every secret is registered for redaction as soon as it is read.

Each field is declared once, with its description: ``from_env()`` reads field ``x`` of a class whose
``env_prefix`` is ``"GRAPH_"`` from ``PRACTICEWEEK_GRAPH_X`` (empty counts as unset), and
``practiceweek.settings.markdown_table()`` documents it. ``env_fallbacks`` names the field whose
variable stands in for an unset one (``PRACTICEWEEK_GRAPH_ORGANISER`` defaults to ``..._SENDER``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from typing import Any, ClassVar

from .redaction import register_secret

GRAPH_URL = "https://graph.microsoft.com/v1.0"
_FALSE = ("0", "false", "no")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"PRACTICEWEEK_{name}")
    return value if value not in (None, "") else default


def setting(default: Any, doc: str) -> Any:
    """A settings field with its operator-facing description."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True, repr=False)
class _Settings:
    _secret_fields: tuple[str, ...] = ()

    # class attributes (not fields): set by each backend
    title: ClassVar[str] = ""
    env_prefix: ClassVar[str] = ""
    env_fallbacks: ClassVar[dict[str, str]] = {}

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

    @classmethod
    def setting_fields(cls) -> list[Field[Any]]:
        return [f for f in fields(cls) if not f.name.startswith("_")]

    @classmethod
    def env_name(cls, field: str) -> str:
        return f"PRACTICEWEEK_{cls.env_prefix}{field.upper()}"

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        default = next(f.default for f in fields(cls) if f.name == "_secret_fields")
        return tuple(default)  # type: ignore[arg-type]  # typed "default or MISSING"; this field has one

    @classmethod
    def _parse(cls, f: Field[Any], raw: str) -> Any:
        if isinstance(f.default, bool):
            return raw.strip().lower() not in _FALSE
        if isinstance(f.default, int):
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"{cls.env_name(f.name)}={raw!r}: expected a whole number") from None
        return raw

    @classmethod
    def from_env(cls) -> Any:
        raw = {f.name: _env(f"{cls.env_prefix}{f.name.upper()}") for f in cls.setting_fields()}
        for name, other in cls.env_fallbacks.items():
            if raw.get(name) is None:
                raw[name] = raw.get(other)
        by_name = {f.name: f for f in cls.setting_fields()}
        return cls(**{k: cls._parse(by_name[k], v) for k, v in raw.items() if v is not None})

    @classmethod
    def documentation(cls) -> Iterator[tuple[str, Any, str, bool]]:
        """(variable, default, description, secret) per field."""
        secrets = cls.secret_fields()
        for f in cls.setting_fields():
            default = None if f.default is MISSING else f.default
            yield cls.env_name(f.name), default, f.metadata.get("doc", ""), f.name in secrets


@dataclass(frozen=True, repr=False)
class GraphSettings(_Settings):
    title = "Microsoft Graph (graph_mail, graph_events, graph_files)"
    env_prefix = "GRAPH_"
    env_fallbacks = {"organiser": "sender"}

    tenant_id: str | None = setting(None, "Entra ID (Azure AD) tenant of the app registration.")
    client_id: str | None = setting(None, "Application (client) id of the app registration.")
    client_secret: str | None = setting(None, "Client secret of the app registration (app-only auth).")
    access_token: str | None = setting(
        None, "Static bearer token used instead of the client secret (tests, or a token minted elsewhere)."
    )
    base_url: str = setting(GRAPH_URL, "Graph API root (tests point it at a local server).")
    sender: str | None = setting(None, "Mailbox (UPN or id) that sends mail.")
    organiser: str | None = setting(
        None, "Mailbox that owns Teams meetings. Unset: PRACTICEWEEK_GRAPH_SENDER."
    )
    drive_id: str | None = setting(None, "OneDrive/SharePoint drive that graph_files uploads to.")
    folder: str = setting("practiceweek", "Folder in that drive the files go to.")
    _secret_fields: tuple[str, ...] = ("client_secret", "access_token")


@dataclass(frozen=True, repr=False)
class SmtpSettings(_Settings):
    title = "SMTP (smtp_mail)"
    env_prefix = "SMTP_"

    host: str = setting("localhost", "SMTP relay host name.")
    port: int = setting(587, "SMTP relay port (587 submission with STARTTLS).")
    username: str | None = setting(None, "Login user; unset: no AUTH.")
    password: str | None = setting(None, "Login password.")
    starttls: bool = setting(
        True, "Upgrade the connection with STARTTLS; `false`/`0`/`no` only for a trusted local relay."
    )
    sender: str | None = setting(None, "From address of the messages.")
    ca_file: str | None = setting(
        None, "PEM file of a CA to trust (self-signed relay) instead of the system store."
    )
    _secret_fields: tuple[str, ...] = ("password",)


@dataclass(frozen=True, repr=False)
class TeamsSettings(_Settings):
    title = "Teams (teams_channel)"
    env_prefix = "TEAMS_"

    webhook_url: str | None = setting(
        None, "Teams Workflows webhook URL the cards are POSTed to (its `sig` grants posting)."
    )
    team_id: str | None = setting(
        None, "Team of the channel the workflow posts to; with CHANNEL_ID and Graph credentials, "
        "ambiguous posts are found again through Graph."
    )
    channel_id: str | None = setting(None, "Channel the workflow posts to (see TEAM_ID).")
    graph_block: str | None = setting(
        None, "Prefect block (GraphCredentials) of the tenant the channel is in, read to find ambiguous "
        "posts again; unset: the deployment's default Graph credentials. A partnership with accounts of "
        "its own names its Graph block here, so its cards are never looked for in another tenant."
    )
    _secret_fields: tuple[str, ...] = ("webhook_url",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.webhook_url:  # the signature alone grants posting: hide it wherever it shows up
            from urllib.parse import parse_qsl, urlsplit

            parts = urlsplit(self.webhook_url)
            register_secret(
                parts.query, *(v for k, v in parse_qsl(parts.query) if k.lower() in ("sig", "code"))
            )


@dataclass(frozen=True, repr=False)
class XSettings(_Settings):
    title = "X (x)"
    env_prefix = "X_"
    env_fallbacks = {"upload_url": "base_url"}

    consumer_key: str | None = setting(None, "OAuth 1.0a consumer (API) key.")
    consumer_secret: str | None = setting(None, "OAuth 1.0a consumer (API) secret.")
    access_token: str | None = setting(None, "OAuth 1.0a access token of the posting account.")
    access_token_secret: str | None = setting(None, "OAuth 1.0a access token secret.")
    base_url: str = setting("https://api.twitter.com", "X API root (tests point it at a local server).")
    upload_url: str = setting(
        "https://api.x.com", "X media upload root. Unset: PRACTICEWEEK_X_BASE_URL if set."
    )
    _secret_fields: tuple[str, ...] = ("consumer_secret", "access_token", "access_token_secret")


@dataclass(frozen=True, repr=False)
class BlueskySettings(_Settings):
    title = "Bluesky (bluesky)"
    env_prefix = "BLUESKY_"

    handle: str | None = setting(None, "Account handle, e.g. `practiceweek.bsky.social`.")
    app_password: str | None = setting(None, "An app password of that account (not the main password).")
    base_url: str = setting("https://bsky.social", "PDS / XRPC service root.")
    _secret_fields: tuple[str, ...] = ("app_password",)


@dataclass(frozen=True, repr=False)
class MastodonSettings(_Settings):
    title = "Mastodon (mastodon)"
    env_prefix = "MASTODON_"

    base_url: str | None = setting(None, "Instance URL, e.g. `https://mastodon.social`.")
    access_token: str | None = setting(
        None, "Access token (scopes `write:statuses write:media read:accounts read:statuses`)."
    )
    _secret_fields: tuple[str, ...] = ("access_token",)


SETTINGS_CLASSES: tuple[type[_Settings], ...] = (
    GraphSettings,
    SmtpSettings,
    TeamsSettings,
    XSettings,
    BlueskySettings,
    MastodonSettings,
)

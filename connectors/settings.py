"""Each backend's credential settings, read from environment variables through pydantic-settings.

No Prefect here (``connectors.credentials`` holds the Prefect blocks that produce the same settings).
Every secret is registered for redaction as soon as a settings object holds it, and never shown in its
repr.

Each field is declared once, with its description: ``from_env()`` reads field ``x`` of a class whose
``env_prefix`` is ``"PRACTICEWEEK_GRAPH_"`` from ``PRACTICEWEEK_GRAPH_X`` (empty counts as unset;
pydantic-settings' environment source, as for ``practiceweek.settings``), and ``cli.settings_doc``
documents it. ``env_fallbacks`` names the field whose variable stands in for an unset one
(``PRACTICEWEEK_GRAPH_ORGANISER`` defaults to ``..._SENDER``). Built directly (from a block, or by a test),
a settings object reads no environment variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from practiceweek.settings import SettingsError

from .redaction import register_secret

GRAPH_URL = "https://graph.microsoft.com/v1.0"


def setting(default: Any, doc: str) -> Any:
    """A settings field with its operator-facing description."""
    return Field(default, description=doc)


class SettingField(NamedTuple):
    """One setting as the documentation and the blocks see it: its name and description."""

    name: str
    doc: str
    default: Any

    @property
    def metadata(self) -> dict[str, str]:
        return {"doc": self.doc}


class _Settings(BaseSettings):
    """A backend's settings: frozen, secrets (``secrets``) redacted from logs and hidden in the repr."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, case_sensitive=False
    )

    title: ClassVar[str] = ""
    env_fallbacks: ClassVar[dict[str, str]] = {}
    secrets: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the environment only through from_env()

    def model_post_init(self, context: Any, /) -> None:
        register_secret(*(getattr(self, name) for name in self.secrets))

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:  # never print a secret
        for name, value in super().__repr_args__():
            yield name, ("***" if name in self.secrets and value else value)

    def with_overrides(self, **overrides: Any) -> Any:
        """A copy with the known, non-None ``overrides`` (validated, and their secrets registered)."""
        known = {k: v for k, v in overrides.items() if k in type(self).model_fields and v is not None}
        return type(self)(**{**self.model_dump(), **known}) if known else self

    @classmethod
    def setting_fields(cls) -> list[SettingField]:
        fields = cls.model_fields.items()
        return [SettingField(name, info.description or "", info.default) for name, info in fields]

    @classmethod
    def env_name(cls, field: str) -> str:
        return f"{cls.model_config.get('env_prefix', '')}{field.upper()}"

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        return cls.secrets

    @classmethod
    def from_env(cls) -> Any:
        """The settings the environment holds now (``PRACTICEWEEK_<PREFIX><FIELD>``, then the fallbacks)."""
        raw = EnvSettingsSource(cls)()
        for name, other in cls.env_fallbacks.items():
            if raw.get(name) is None and raw.get(other) is not None:
                raw[name] = raw[other]
        try:
            return cls(**raw)
        except ValidationError as exc:
            problems = [
                f"{cls.env_name(str(err['loc'][0]))}={raw.get(str(err['loc'][0]))!r}: {err['msg']}"
                for err in exc.errors()
                if err["loc"]
            ]
            raise SettingsError("bad setting: " + "; ".join(problems)) from None

    @classmethod
    def documentation(cls) -> Iterator[tuple[str, Any, str, bool]]:
        """(variable, default, description, secret) per field."""
        for f in cls.setting_fields():
            yield cls.env_name(f.name), f.default, f.doc, f.name in cls.secrets


class GraphSettings(_Settings):
    title = "Microsoft Graph (graph_mail, graph_events, graph_files)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_GRAPH_")
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
    secrets = ("client_secret", "access_token")


class SmtpSettings(_Settings):
    title = "SMTP (smtp_mail)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_SMTP_")

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
    secrets = ("password",)


class TeamsSettings(_Settings):
    title = "Teams (teams_channel)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_TEAMS_")

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
    secrets = ("webhook_url",)

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        if self.webhook_url:  # the signature alone grants posting: hide it wherever it shows up
            from urllib.parse import parse_qsl, urlsplit

            parts = urlsplit(self.webhook_url)
            register_secret(
                parts.query, *(v for k, v in parse_qsl(parts.query) if k.lower() in ("sig", "code"))
            )


class XSettings(_Settings):
    title = "X (x)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_X_")
    env_fallbacks = {"upload_url": "base_url"}

    consumer_key: str | None = setting(None, "OAuth 1.0a consumer (API) key.")
    consumer_secret: str | None = setting(None, "OAuth 1.0a consumer (API) secret.")
    access_token: str | None = setting(None, "OAuth 1.0a access token of the posting account.")
    access_token_secret: str | None = setting(None, "OAuth 1.0a access token secret.")
    base_url: str = setting("https://api.twitter.com", "X API root (tests point it at a local server).")
    upload_url: str = setting(
        "https://api.x.com", "X media upload root. Unset: PRACTICEWEEK_X_BASE_URL if set."
    )
    secrets = ("consumer_secret", "access_token", "access_token_secret")


class BlueskySettings(_Settings):
    title = "Bluesky (bluesky)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_BLUESKY_")

    handle: str | None = setting(None, "Account handle, e.g. `practiceweek.bsky.social`.")
    app_password: str | None = setting(None, "An app password of that account (not the main password).")
    base_url: str = setting("https://bsky.social", "PDS / XRPC service root.")
    secrets = ("app_password",)


class MastodonSettings(_Settings):
    title = "Mastodon (mastodon)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_MASTODON_")

    base_url: str | None = setting(None, "Instance URL, e.g. `https://mastodon.social`.")
    access_token: str | None = setting(
        None, "Access token (scopes `write:statuses write:media read:accounts read:statuses`)."
    )
    secrets = ("access_token",)


SETTINGS_CLASSES: tuple[type[_Settings], ...] = (
    GraphSettings,
    SmtpSettings,
    TeamsSettings,
    XSettings,
    BlueskySettings,
    MastodonSettings,
)

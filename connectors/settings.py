"""Each backend's credentials, declared once, and read from environment variables through pydantic-settings.

One pydantic model per backend (``GraphFields``, ``SmtpFields``, …) declares every field once, with its
description; secrets are ``SecretStr``, revealed only where a connector hands them to the wire (its SDK
client, its login, its request). Two classes are made of each model: the settings class here
(``GraphSettings``: frozen, read from the environment by :meth:`_Settings.from_env`) and the Prefect block
in ``connectors.credentials`` (``GraphCredentials``), whose ``settings()`` hands its values over unrevealed.
No Prefect here. Every secret is registered for redaction as soon as a settings object holds it.

``from_env()`` reads field ``x`` of a class whose ``env_prefix`` is ``"PRACTICEWEEK_GRAPH_"`` from
``PRACTICEWEEK_GRAPH_X`` (empty counts as unset; pydantic-settings' environment source, as for
``practiceweek.settings``), and ``cli.settings_doc`` documents it. ``fallbacks`` names the field that stands
in for an unset one (``PRACTICEWEEK_GRAPH_ORGANISER`` defaults to ``..._SENDER``). Built directly (from a
block, or by a test), a settings object reads no environment variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from practiceweek.settings import SettingsError

from .redaction import register_secret

GRAPH_URL = "https://graph.microsoft.com/v1.0"


def setting(default: Any, doc: str) -> Any:
    """A settings field with its operator-facing description."""
    return Field(default, description=doc)


def secret_names(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` that hold a secret (annotated ``SecretStr``)."""
    return tuple(name for name, info in model.model_fields.items() if "SecretStr" in str(info.annotation))


def reveal(value: SecretStr | None) -> str:
    """The secret itself ('' when unset): only where it goes on the wire (an SDK client, a login, a
    request)."""
    return value.get_secret_value() if value is not None else ""


class SettingField(NamedTuple):
    """One setting as the documentation and the blocks see it: its name and description."""

    name: str
    doc: str
    default: Any

    @property
    def metadata(self) -> dict[str, str]:
        return {"doc": self.doc}


class _Settings(BaseSettings):
    """A backend's settings: frozen, secrets (``SecretStr``) redacted from logs and hidden in the repr."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, case_sensitive=False
    )

    title: ClassVar[str] = ""
    fallbacks: ClassVar[dict[str, str]] = {}  # field → the field whose value stands in when it is unset

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

    @model_validator(mode="before")
    @classmethod
    def _fall_back(cls, data: Any) -> Any:
        """An unset field takes the value of the field it falls back on (``fallbacks``)."""
        if isinstance(data, dict):
            data = dict(data)
            for name, other in cls.fallbacks.items():
                if data.get(name) is None and data.get(other) is not None:
                    data[name] = data[other]
        return data

    def model_post_init(self, context: Any, /) -> None:
        register_secret(*(value.get_secret_value() for value in self._secret_values()))

    def _secret_values(self) -> Iterator[SecretStr]:
        for name in self.secret_fields():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                yield value

    def with_overrides(self, **overrides: Any) -> Any:
        """A copy with the known, non-None ``overrides`` (validated, and their secrets registered)."""
        known = {k: v for k, v in overrides.items() if k in type(self).model_fields and v is not None}
        return type(self)(**{**dict(self), **known}) if known else self

    @classmethod
    def setting_fields(cls) -> list[SettingField]:
        fields = cls.model_fields.items()
        return [SettingField(name, info.description or "", info.default) for name, info in fields]

    @classmethod
    def env_name(cls, field: str) -> str:
        return f"{cls.model_config.get('env_prefix', '')}{field.upper()}"

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        return secret_names(cls)

    @classmethod
    def from_env(cls) -> Any:
        """The settings the environment holds now (``PRACTICEWEEK_<PREFIX><FIELD>``, then the fallbacks)."""
        raw = EnvSettingsSource(cls)()
        try:
            return cls(**raw)
        except ValidationError as exc:
            raise SettingsError("bad setting: " + "; ".join(cls._problems(exc, raw))) from None

    @classmethod
    def _problems(cls, exc: ValidationError, raw: dict[str, Any]) -> list[str]:
        """``VARIABLE='value': why`` per refused field (a secret's value never shown)."""
        problems = []
        for err in exc.errors():
            if err["loc"]:
                name = str(err["loc"][0])
                shown = "***" if name in cls.secret_fields() else repr(raw.get(name))
                problems.append(f"{cls.env_name(name)}={shown}: {err['msg']}")
        return problems

    @classmethod
    def documentation(cls) -> Iterator[tuple[str, Any, str, bool]]:
        """(variable, default, description, secret) per field."""
        for f in cls.setting_fields():
            yield cls.env_name(f.name), f.default, f.doc, f.name in cls.secret_fields()


class GraphFields(BaseModel):
    """The Graph credentials' fields, declared once (the settings class and the block are made of them)."""

    tenant_id: str | None = setting(None, "Entra ID (Azure AD) tenant of the app registration.")
    client_id: str | None = setting(None, "Application (client) id of the app registration.")
    client_secret: SecretStr | None = setting(None, "Client secret of the app registration (app-only auth).")
    access_token: SecretStr | None = setting(
        None, "Static bearer token used instead of the client secret (tests, or a token minted elsewhere)."
    )
    base_url: str = setting(GRAPH_URL, "Graph API root (tests point it at a local server).")
    sender: str | None = setting(None, "Mailbox (UPN or id) that sends mail.")
    organiser: str | None = setting(
        None, "Mailbox that owns Teams meetings. Unset: PRACTICEWEEK_GRAPH_SENDER."
    )
    drive_id: str | None = setting(None, "OneDrive/SharePoint drive that graph_files uploads to.")
    folder: str = setting("practiceweek", "Folder in that drive the files go to.")


class SmtpFields(BaseModel):
    """The SMTP credentials' fields, declared once (the settings class and the block are made of them)."""

    host: str = setting("localhost", "SMTP relay host name.")
    port: int = setting(587, "SMTP relay port (587 submission with STARTTLS).")
    username: str | None = setting(None, "Login user; unset: no AUTH.")
    password: SecretStr | None = setting(None, "Login password.")
    starttls: bool = setting(
        True, "Upgrade the connection with STARTTLS; `false`/`0`/`no` only for a trusted local relay."
    )
    sender: str | None = setting(None, "From address of the messages.")
    ca_file: str | None = setting(
        None, "PEM file of a CA to trust (self-signed relay) instead of the system store."
    )


class TeamsFields(BaseModel):
    """The Teams credentials' fields, declared once (the settings class and the block are made of them)."""

    webhook_url: SecretStr | None = setting(
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


class XFields(BaseModel):
    """The X credentials' fields, declared once (the settings class and the block are made of them)."""

    consumer_key: str | None = setting(None, "OAuth 1.0a consumer (API) key.")
    consumer_secret: SecretStr | None = setting(None, "OAuth 1.0a consumer (API) secret.")
    access_token: SecretStr | None = setting(None, "OAuth 1.0a access token of the posting account.")
    access_token_secret: SecretStr | None = setting(None, "OAuth 1.0a access token secret.")
    base_url: str = setting("https://api.twitter.com", "X API root (tests point it at a local server).")
    upload_url: str = setting(
        "https://api.x.com", "X media upload root. Unset: PRACTICEWEEK_X_BASE_URL if set."
    )


class BlueskyFields(BaseModel):
    """The Bluesky credentials' fields, declared once (the settings class and the block are made of them)."""

    handle: str | None = setting(None, "Account handle, e.g. `practiceweek.bsky.social`.")
    app_password: SecretStr | None = setting(None, "An app password of that account (not the main password).")
    base_url: str = setting("https://bsky.social", "PDS / XRPC service root.")


class MastodonFields(BaseModel):
    """The Mastodon credentials' fields, declared once (the settings class and the block are made of them)."""

    base_url: str | None = setting(None, "Instance URL, e.g. `https://mastodon.social`.")
    access_token: SecretStr | None = setting(
        None, "Access token (scopes `write:statuses write:media read:accounts read:statuses`)."
    )


class GraphSettings(GraphFields, _Settings):
    """Microsoft Graph settings, from ``PRACTICEWEEK_GRAPH_*`` or given."""

    title = "Microsoft Graph (graph_mail, graph_events, graph_files)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_GRAPH_")
    fallbacks = {"organiser": "sender"}


class SmtpSettings(SmtpFields, _Settings):
    """SMTP settings, from ``PRACTICEWEEK_SMTP_*`` or given."""

    title = "SMTP (smtp_mail)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_SMTP_")


class TeamsSettings(TeamsFields, _Settings):
    """Teams channel settings, from ``PRACTICEWEEK_TEAMS_*`` or given."""

    title = "Teams (teams_channel)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_TEAMS_")

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        if self.webhook_url:  # the signature alone grants posting: hide it wherever it shows up
            from urllib.parse import parse_qsl, urlsplit

            parts = urlsplit(self.webhook_url.get_secret_value())
            register_secret(
                parts.query, *(v for k, v in parse_qsl(parts.query) if k.lower() in ("sig", "code"))
            )


class XSettings(XFields, _Settings):
    """X settings, from ``PRACTICEWEEK_X_*`` or given."""

    title = "X (x)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_X_")
    fallbacks = {"upload_url": "base_url"}


class BlueskySettings(BlueskyFields, _Settings):
    """Bluesky settings, from ``PRACTICEWEEK_BLUESKY_*`` or given."""

    title = "Bluesky (bluesky)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_BLUESKY_")


class MastodonSettings(MastodonFields, _Settings):
    """Mastodon settings, from ``PRACTICEWEEK_MASTODON_*`` or given."""

    title = "Mastodon (mastodon)"
    model_config = SettingsConfigDict(env_prefix="PRACTICEWEEK_MASTODON_")


SETTINGS_CLASSES: tuple[type[_Settings], ...] = (
    GraphSettings,
    SmtpSettings,
    TeamsSettings,
    XSettings,
    BlueskySettings,
    MastodonSettings,
)

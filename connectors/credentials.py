"""Prefect blocks holding each backend's credentials (secrets as ``SecretStr``).

Register once with ``prefect block register -m connectors.credentials``, save with e.g.
``GraphCredentials(tenant_id=..., client_id=..., client_secret=...).save("practiceweek-graph")`` and
point practiceweek at it with ``PRACTICEWEEK_GRAPH_BLOCK=practiceweek-graph`` (see
``connectors.registry``). ``settings()`` turns a block into the plain settings a connector takes;
``get_client()`` returns the provider's own SDK client, ready to use.

Each block has exactly the fields of its settings class (``SETTINGS``; checked by
``tests/unit/test_settings.py``), secrets as ``SecretStr``; ``settings()`` copies them across.
"""

from __future__ import annotations

from typing import Any

from prefect.blocks.core import Block
from pydantic import SecretStr

from .settings import (
    GRAPH_URL,
    BlueskySettings,
    GraphSettings,
    MastodonSettings,
    SmtpSettings,
    TeamsSettings,
    XSettings,
    _Settings,
)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _to_settings(block: Block, settings_cls: type[_Settings], **extra: Any) -> Any:
    """The settings object holding the block's fields (secrets revealed), then ``extra``."""
    values = {}
    for f in settings_cls.setting_fields():
        value = getattr(block, f.name)
        values[f.name] = _secret(value) if isinstance(value, SecretStr) else value
    return settings_cls(**{**values, **extra})


class GraphCredentials(Block):
    """Microsoft Graph app-only credentials (client secret) and the mailboxes/drive to use."""

    _block_type_name = "PracticeWeek Graph Credentials"
    tenant_id: str
    client_id: str
    client_secret: SecretStr
    access_token: SecretStr | None = None  # static bearer token instead of the client secret (tests)
    sender: str | None = None
    organiser: str | None = None
    drive_id: str | None = None
    folder: str = "practiceweek"
    base_url: str = GRAPH_URL

    def settings(self) -> GraphSettings:
        return _to_settings(self, GraphSettings, organiser=self.organiser or self.sender)

    def get_client(self) -> Any:
        """A GraphServiceClient using azure-identity's ClientSecretCredential."""
        from azure.identity import ClientSecretCredential
        from msgraph import GraphServiceClient

        credential = ClientSecretCredential(self.tenant_id, self.client_id, _secret(self.client_secret) or "")
        return GraphServiceClient(credentials=credential, scopes=["https://graph.microsoft.com/.default"])


class SmtpCredentials(Block):
    _block_type_name = "PracticeWeek SMTP Credentials"
    host: str
    port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    sender: str | None = None
    ca_file: str | None = None  # PEM file of a CA to trust (self-signed relay)

    def settings(self) -> SmtpSettings:
        return _to_settings(self, SmtpSettings)

    def get_client(self) -> Any:
        """A connected, logged-in ``smtplib.SMTP``."""
        from .smtp_mail import SmtpMailConnector

        return SmtpMailConnector(self.settings())._connect()


class TeamsWebhook(Block):
    _block_type_name = "PracticeWeek Teams Webhook"
    webhook_url: SecretStr
    team_id: str | None = None  # with channel_id and Graph credentials: ambiguous posts can be found
    channel_id: str | None = None
    graph_block: str | None = None  # the GraphCredentials block of the channel's tenant (else the default)

    def settings(self) -> TeamsSettings:
        return _to_settings(self, TeamsSettings)

    def get_client(self) -> Any:
        from .teams_channel import TeamsChannelConnector

        return TeamsChannelConnector(self.settings())


class XCredentials(Block):
    _block_type_name = "PracticeWeek X Credentials"
    consumer_key: str
    consumer_secret: SecretStr
    access_token: SecretStr
    access_token_secret: SecretStr
    base_url: str = "https://api.twitter.com"
    upload_url: str = "https://api.x.com"

    def settings(self) -> XSettings:
        return _to_settings(self, XSettings)

    def get_client(self) -> Any:
        import tweepy

        s = self.settings()
        return tweepy.Client(
            consumer_key=s.consumer_key,
            consumer_secret=s.consumer_secret,
            access_token=s.access_token,
            access_token_secret=s.access_token_secret,
        )


class BlueskyCredentials(Block):
    _block_type_name = "PracticeWeek Bluesky Credentials"
    handle: str
    app_password: SecretStr
    base_url: str = "https://bsky.social"

    def settings(self) -> BlueskySettings:
        return _to_settings(self, BlueskySettings)

    def get_client(self) -> Any:
        from atproto import Client

        client = Client(base_url=self.base_url)
        client.login(self.handle, _secret(self.app_password), fetch_bsky_profile=False)
        return client


class MastodonCredentials(Block):
    _block_type_name = "PracticeWeek Mastodon Credentials"
    base_url: str
    access_token: SecretStr

    def settings(self) -> MastodonSettings:
        return _to_settings(self, MastodonSettings)

    def get_client(self) -> Any:
        from mastodon import Mastodon

        return Mastodon(access_token=_secret(self.access_token), api_base_url=self.base_url)


BLOCKS: dict[str, type[Block]] = {
    "graph": GraphCredentials,
    "smtp": SmtpCredentials,
    "teams": TeamsWebhook,
    "x": XCredentials,
    "bluesky": BlueskyCredentials,
    "mastodon": MastodonCredentials,
}
# the settings class each block produces (same field names)
SETTINGS: dict[str, type[_Settings]] = {
    "graph": GraphSettings,
    "smtp": SmtpSettings,
    "teams": TeamsSettings,
    "x": XSettings,
    "bluesky": BlueskySettings,
    "mastodon": MastodonSettings,
}


def missing_blocks(wanted: dict[str, str]) -> dict[str, str]:
    """Of ``wanted`` (credentials kind → block name), those the Prefect server at PREFECT_API_URL does not
    hold, kind → why. Reads no secret (``include_secrets=False``); raises if the server does not answer."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    missing = {}
    with get_client(sync_client=True) as client:
        for kind, name in wanted.items():
            block = BLOCKS[kind]
            try:
                client.read_block_document_by_name(name, block.get_block_type_slug(), include_secrets=False)
            except ObjectNotFound:
                missing[kind] = f"no {block.__name__} block named '{name}'"
    return missing

"""Prefect blocks holding each backend's credentials (secrets as ``SecretStr``).

Register once with ``prefect block register -m connectors.credentials``, save with e.g.
``GraphCredentials(tenant_id=..., client_id=..., client_secret=...).save("practiceweek-graph")`` and
point practiceweek at it with ``PRACTICEWEEK_GRAPH_BLOCK=practiceweek-graph`` (see
``connectors.registry``). ``settings()`` turns a block into the plain settings a connector takes;
``get_client()`` returns the provider's own SDK client, ready to use.
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
)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


class GraphCredentials(Block):
    """Microsoft Graph app-only credentials (client secret) and the mailboxes/drive to use."""

    _block_type_name = "PracticeWeek Graph Credentials"
    tenant_id: str
    client_id: str
    client_secret: SecretStr
    sender: str | None = None
    organiser: str | None = None
    drive_id: str | None = None
    folder: str = "practiceweek"
    base_url: str = GRAPH_URL

    def settings(self) -> GraphSettings:
        return GraphSettings(
            tenant_id=self.tenant_id,
            client_id=self.client_id,
            client_secret=_secret(self.client_secret),
            base_url=self.base_url,
            sender=self.sender,
            organiser=self.organiser or self.sender,
            drive_id=self.drive_id,
            folder=self.folder,
        )

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

    def settings(self) -> SmtpSettings:
        return SmtpSettings(
            host=self.host,
            port=self.port,
            username=self.username,
            password=_secret(self.password),
            starttls=self.starttls,
            sender=self.sender,
        )

    def get_client(self) -> Any:
        """A connected, logged-in ``smtplib.SMTP``."""
        from .smtp_mail import SmtpMailConnector

        return SmtpMailConnector(self.settings())._connect()


class TeamsWebhook(Block):
    _block_type_name = "PracticeWeek Teams Webhook"
    webhook_url: SecretStr

    def settings(self) -> TeamsSettings:
        return TeamsSettings(webhook_url=_secret(self.webhook_url))

    def get_client(self) -> Any:
        from .teams_channel import TeamsChannelConnector

        return TeamsChannelConnector(self.settings())


class XCredentials(Block):
    _block_type_name = "PracticeWeek X Credentials"
    consumer_key: str
    consumer_secret: SecretStr
    access_token: SecretStr
    access_token_secret: SecretStr

    def settings(self) -> XSettings:
        return XSettings(
            consumer_key=self.consumer_key,
            consumer_secret=_secret(self.consumer_secret),
            access_token=_secret(self.access_token),
            access_token_secret=_secret(self.access_token_secret),
        )

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
        return BlueskySettings(
            handle=self.handle, app_password=_secret(self.app_password), base_url=self.base_url
        )

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
        return MastodonSettings(base_url=self.base_url, access_token=_secret(self.access_token))

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

"""Prefect blocks holding each backend's credentials (secrets as ``SecretStr``).

Register once with ``prefect block register -m connectors.credentials``, save with e.g.
``GraphCredentials(tenant_id=..., client_id=..., client_secret=...).save("practiceweek-graph")`` and
point practiceweek at it with ``PRACTICEWEEK_GRAPH_BLOCK=practiceweek-graph`` (see
``connectors.registry``). ``settings()`` turns a block into the settings a connector takes (secrets still
``SecretStr``); ``get_client()`` returns the provider's own SDK client, ready to use.

A block declares no field of its own: it is made of the same model as its settings class
(``connectors.settings.GraphFields`` for both ``GraphCredentials`` and ``GraphSettings``), so the two cannot
drift apart.
"""

from __future__ import annotations

from typing import Any, TypeVar

from prefect.blocks.core import Block

from .settings import (
    BlueskyFields,
    BlueskySettings,
    GraphFields,
    GraphSettings,
    MastodonFields,
    MastodonSettings,
    SmtpFields,
    SmtpSettings,
    TeamsFields,
    TeamsSettings,
    XFields,
    XSettings,
    _Settings,
    reveal,
)

S = TypeVar("S", bound=_Settings)


def _to_settings(block: Block, settings_cls: type[S]) -> S:
    """The settings object holding the block's fields (secrets handed over as ``SecretStr``)."""
    return settings_cls(**{name: getattr(block, name) for name in settings_cls.model_fields})


class GraphCredentials(GraphFields, Block):
    """Microsoft Graph app-only credentials (client secret) and the mailboxes/drive to use."""

    _block_type_name = "PracticeWeek Graph Credentials"

    def settings(self) -> GraphSettings:
        return _to_settings(self, GraphSettings)

    def get_client(self) -> Any:
        """A GraphServiceClient using azure-identity's ClientSecretCredential."""
        from azure.identity import ClientSecretCredential
        from msgraph import GraphServiceClient

        secret = reveal(self.client_secret)
        credential = ClientSecretCredential(self.tenant_id or "", self.client_id or "", secret)
        return GraphServiceClient(credentials=credential, scopes=["https://graph.microsoft.com/.default"])


class SmtpCredentials(SmtpFields, Block):
    """An SMTP relay's address and login."""

    _block_type_name = "PracticeWeek SMTP Credentials"

    def settings(self) -> SmtpSettings:
        return _to_settings(self, SmtpSettings)

    def get_client(self) -> Any:
        """A connected, logged-in ``smtplib.SMTP``."""
        from .smtp_mail import SmtpMailConnector

        return SmtpMailConnector(self.settings())._connect()


class TeamsWebhook(TeamsFields, Block):
    """A Teams Workflows webhook (the whole URL is a secret) and the channel it posts to."""

    _block_type_name = "PracticeWeek Teams Webhook"

    def settings(self) -> TeamsSettings:
        return _to_settings(self, TeamsSettings)

    def get_client(self) -> Any:
        from .teams_channel import TeamsChannelConnector

        return TeamsChannelConnector(self.settings())


class XCredentials(XFields, Block):
    """An X account's OAuth 1.0a keys and tokens."""

    _block_type_name = "PracticeWeek X Credentials"

    def settings(self) -> XSettings:
        return _to_settings(self, XSettings)

    def get_client(self) -> Any:
        import tweepy

        return tweepy.Client(
            consumer_key=self.consumer_key,
            consumer_secret=reveal(self.consumer_secret),
            access_token=reveal(self.access_token),
            access_token_secret=reveal(self.access_token_secret),
        )


class BlueskyCredentials(BlueskyFields, Block):
    """A Bluesky account's handle and app password."""

    _block_type_name = "PracticeWeek Bluesky Credentials"

    def settings(self) -> BlueskySettings:
        return _to_settings(self, BlueskySettings)

    def get_client(self) -> Any:
        from atproto import Client

        client = Client(base_url=self.base_url)
        client.login(self.handle, reveal(self.app_password), fetch_bsky_profile=False)
        return client


class MastodonCredentials(MastodonFields, Block):
    """A Mastodon instance and an access token of the posting account."""

    _block_type_name = "PracticeWeek Mastodon Credentials"

    def settings(self) -> MastodonSettings:
        return _to_settings(self, MastodonSettings)

    def get_client(self) -> Any:
        from mastodon import Mastodon

        return Mastodon(access_token=reveal(self.access_token), api_base_url=self.base_url)


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

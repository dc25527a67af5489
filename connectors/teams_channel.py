"""Teams channel cards through a Teams Workflows webhook ("Post to a channel when a webhook request
is received"). App-only Graph cannot post channel messages, so this is the supported path.

The webhook URL is a secret (its ``sig`` grants posting): it never appears in errors or logs. The
webhook answers 202 Accepted and returns no message id. Each card carries an invisible marker element
(``pw-<digest of the publication id>``); with ``PRACTICEWEEK_TEAMS_TEAM_ID`` and
``PRACTICEWEEK_TEAMS_CHANNEL_ID`` set (and Graph credentials with ``ChannelMessage.Read.All``), ``find``
reads the channel's latest messages through Graph and recognises the card by its marker, so an ambiguous
post (a timeout after Teams took it) is reconciled instead of sent twice. Without them ``can_find`` is
False and ``find`` returns None: the caller's ledger is the only record.
"""

from __future__ import annotations

import copy
import json
from typing import Any, ClassVar

import httpx

from practiceweek.artifacts import Rendered

from ._graph import GraphSession
from .base import Connector, CredentialsError, PermanentError, Receipt
from .failures import classify_status, not_reached, unknown
from .ids import digest
from .pacing import paced, shared_bucket
from .redaction import redact
from .settings import GraphSettings, TeamsSettings, reveal

HINTS = {
    400: "Teams rejected the card: it is not a valid Adaptive Card (check its JSON and version)",
    401: "the Workflows webhook refused the request; update PRACTICEWEEK_TEAMS_WEBHOOK_URL",
    403: "the Workflows webhook refused the request; update PRACTICEWEEK_TEAMS_WEBHOOK_URL",
    404: "the Workflows webhook no longer exists (flow deleted or turned off); update "
    "PRACTICEWEEK_TEAMS_WEBHOOK_URL",
    413: "the card is larger than Teams accepts (28 KB)",
}


class TeamsChannelConnector(Connector):
    """Posts ``item.card`` (an Adaptive Card) to the channel behind the webhook."""

    name: ClassVar[str] = "teams_channel"
    channels: ClassVar[tuple[str, ...]] = ("teams_channel",)
    can_find: bool = False
    requests_per_interval: int | None = 4  # Teams connectors/webhooks: about 4 requests per second
    interval_seconds: float = 1.0
    max_text_length: ClassVar[int | None] = 28 * 1024  # card payload bytes

    def __init__(
        self,
        settings: TeamsSettings | None = None,
        *,
        timeout: float = 30.0,
        graph_settings: GraphSettings | None = None,
    ) -> None:
        self.settings = settings or TeamsSettings.from_env()
        if not self.settings.webhook_url:
            raise CredentialsError(
                "Teams channel posts need PRACTICEWEEK_TEAMS_WEBHOOK_URL (a Workflows webhook)",
                provider="Teams",
            )
        self._http = httpx.Client(timeout=timeout)
        self._timeout = timeout
        self._graph_settings = graph_settings
        self._graph: GraphSession | None = None
        self.can_find = bool(self.settings.team_id and self.settings.channel_id)

    @staticmethod
    def marker(item: Rendered) -> str:
        """The invisible element id that lets ``find`` recognise this publication's card in the channel."""
        return f"pw-{digest(item.id, 24)}"

    def payload(self, item: Rendered) -> dict[str, object]:
        if not item.card:
            raise PermanentError(f"{item.id}: no Adaptive Card was rendered", provider="Teams")
        if item.card.get("type") == "message":  # the renderer's output: already the Workflows envelope
            envelope = copy.deepcopy(dict(item.card))
        else:
            envelope = {
                "type": "message",
                "attachments": [
                    {
                        "contentType": "application/vnd.microsoft.card.adaptive",
                        "contentUrl": None,
                        "content": copy.deepcopy(item.card),
                    }
                ],
            }
        for att in envelope.get("attachments") or []:
            card = att.get("content") if isinstance(att, dict) else None
            if isinstance(card, dict) and card.get("type") == "AdaptiveCard":
                card.setdefault("body", []).append(
                    {"type": "TextBlock", "id": self.marker(item), "text": " ", "isVisible": False}
                )
                break
        return envelope

    def publish(self, item: Rendered) -> Receipt:
        body = json.dumps(self.payload(item)).encode()
        if self.max_text_length and len(body) > self.max_text_length:
            raise PermanentError(
                f"Teams: the card of {item.id} is {len(body)} bytes; Teams accepts {self.max_text_length}",
                provider="Teams",
            )
        bucket = shared_bucket(
            ("teams", digest(reveal(self.settings.webhook_url))),
            self.requests_per_interval,
            self.interval_seconds,
        )
        try:
            with paced(bucket):
                response = self._http.post(
                    reveal(self.settings.webhook_url), content=body,
                    headers={"Content-Type": "application/json"},
                )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise not_reached("Teams", f"post the card of {item.id}", exc) from None
        except httpx.HTTPError as exc:
            raise unknown("Teams", f"the card of {item.id}", exc) from None
        if response.status_code not in (200, 201, 202):
            raise classify_status(
                "Teams",
                response.status_code,
                redact(response.text),
                response.headers,
                HINTS,
                f"post the card of {item.id}",
            )
        return Receipt(  # the marker is the card's identity: ``find`` returns the same remote id
            publication_id=item.id,
            remote_id=self.marker(item),
            extra={"status": response.status_code, "run": response.headers.get("x-ms-workflow-run-id")},
        )

    def find(self, item: Rendered) -> Receipt | None:
        """The channel message carrying this publication's card (through Graph), else None. Always None
        when no team and channel are configured (``can_find`` is False)."""
        if not self.can_find:
            return None
        graph = self._graph_session()
        messages = self._recent_messages(graph, item)
        mark = self.marker(item)
        for message in messages:
            for att in message.attachments or []:
                if mark in (att.content or ""):
                    return Receipt(
                        publication_id=item.id,
                        remote_id=mark,
                        url=message.web_url,
                        extra={"message_id": str(message.id)},
                    )
        return None

    def _graph_session(self) -> GraphSession:
        if self._graph is None:
            self._graph = GraphSession(
                self._graph_settings or GraphSettings.from_env(),
                timeout=self._timeout,
                hints={403: "reading the channel needs ChannelMessage.Read.All (application permission)"},
            )
        return self._graph

    def _recent_messages(self, graph: GraphSession, item: Rendered) -> list[Any]:
        from msgraph.generated.teams.item.channels.item.messages.messages_request_builder import (
            MessagesRequestBuilder,
        )

        config = MessagesRequestBuilder.MessagesRequestBuilderGetRequestConfiguration(
            query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=50)
        )
        builder = (
            graph.client.teams.by_team_id(str(self.settings.team_id))
            .channels.by_channel_id(str(self.settings.channel_id))
            .messages
        )
        page = graph.call(
            builder.get(request_configuration=config), f"read the channel for {item.id}", write=False
        )
        return list(page.value or []) if page is not None else []

    def close(self) -> None:
        self._http.close()
        if self._graph is not None:
            self._graph.close()

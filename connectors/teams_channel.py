"""Teams channel cards through a Teams Workflows webhook ("Post to a channel when a webhook request
is received"). App-only Graph cannot post channel messages, so this is the supported path.

The webhook URL is a secret (its ``sig`` grants posting): it never appears in errors or logs. The
webhook answers 202 Accepted and returns no message id, and nothing can be queried afterwards, so
``find`` returns None and ``can_find`` is False: the caller's ledger is the only record.
"""

from __future__ import annotations

import json
from typing import ClassVar

import httpx

from practiceweek.artifacts import Rendered

from ._common import classify_status, digest, not_reached, redact, shared_bucket, unknown
from .base import Connector, PermanentError, Receipt
from .settings import TeamsSettings

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
    can_find: ClassVar[bool] = False
    requests_per_interval: ClassVar[int | None] = 4  # Teams connectors/webhooks: about 4 requests per second
    interval_seconds: ClassVar[float] = 1.0
    max_text_length: ClassVar[int | None] = 28 * 1024  # card payload bytes

    def __init__(self, settings: TeamsSettings | None = None, *, timeout: float = 30.0) -> None:
        self.settings = settings or TeamsSettings.from_env()
        if not self.settings.webhook_url:
            raise PermanentError(
                "Teams channel posts need PRACTICEWEEK_TEAMS_WEBHOOK_URL (a Workflows webhook)",
                provider="Teams",
            )
        self._http = httpx.Client(timeout=timeout)

    def payload(self, item: Rendered) -> dict[str, object]:
        if not item.card:
            raise PermanentError(f"{item.id}: no Adaptive Card was rendered", provider="Teams")
        if item.card.get("type") == "message":  # the renderer's output: already the Workflows envelope
            return dict(item.card)
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": item.card,
                }
            ],
        }

    def publish(self, item: Rendered) -> Receipt:
        body = json.dumps(self.payload(item)).encode()
        if self.max_text_length and len(body) > self.max_text_length:
            raise PermanentError(
                f"Teams: the card of {item.id} is {len(body)} bytes; Teams accepts {self.max_text_length}",
                provider="Teams",
            )
        bucket = shared_bucket(
            ("teams", digest(str(self.settings.webhook_url))),
            self.requests_per_interval,
            self.interval_seconds,
        )
        if bucket is not None:
            bucket.acquire()
        try:
            response = self._http.post(
                str(self.settings.webhook_url), content=body, headers={"Content-Type": "application/json"}
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
        return Receipt(
            publication_id=item.id,
            remote_id=response.headers.get("x-ms-workflow-run-id") or f"card-{digest(item.id, 16)}",
            extra={"status": response.status_code},
        )

    def find(self, item: Rendered) -> Receipt | None:
        """A webhook cannot be queried: always None (the caller's ledger is the record)."""
        return None

    def close(self) -> None:
        self._http.close()

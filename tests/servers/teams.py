"""A Teams Workflows webhook: POST an Adaptive Card message, get 202 Accepted."""

from __future__ import annotations

from typing import Any

from .base import FakeServer, Request, Response

SIG = "sig-0123456789abcdef"


class TeamsWebhookServer(FakeServer):
    def __init__(self, sig: str = SIG) -> None:
        super().__init__()
        self.sig = sig
        self.cards: list[dict[str, Any]] = []  # effect: cards posted to the channel
        self.route("POST", r"/workflows/(?P<flow>[^/]+)/triggers/manual/paths/invoke", self.invoke)

    @property
    def webhook_url(self) -> str:
        return (
            f"{self.url}/workflows/flow1/triggers/manual/paths/invoke?api-version=2016-06-01"
            f"&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.sig}"
        )

    def error_body(self, status: int, message: str) -> Any:
        return {
            "error": {
                "code": "TooManyRequests" if status == 429 else "ServiceUnavailable",
                "message": message,
            }
        }

    def invoke(self, req: Request) -> Response:
        if req.query.get("sig") != self.sig:
            return Response(
                401,
                {
                    "error": {
                        "code": "DirectApiAuthorizationRequired",
                        "message": f"The request must be authenticated ({req.raw_path}).",
                    }
                },
            )
        body = req.json() or {}
        atts = body.get("attachments") or []
        if (
            body.get("type") != "message"
            or not atts
            or atts[0].get("contentType") != "application/vnd.microsoft.card.adaptive"
            or (atts[0].get("content") or {}).get("type") != "AdaptiveCard"
        ):
            return Response(
                400, {"error": {"code": "InvalidRequestContent", "message": "Not an Adaptive Card."}}
            )
        self.cards.append(atts[0]["content"])
        return Response(202, None, {"x-ms-workflow-run-id": f"0858{len(self.cards):06d}"})

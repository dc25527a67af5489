"""Events operators and automations see: ``practiceweek.publication.<kind>`` with the campaign, day and
channel as related resources; ``practiceweek.campaign.approved|rejected`` for an approver's decision."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect.events import emit_event

from ledger import Decision, Row


def emit(kind: str, row: Row, **payload: Any) -> None:
    """Emit ``practiceweek.publication.<kind>`` for ``row``; never raises."""
    try:
        emit_event(
            event=f"practiceweek.publication.{kind}",
            resource={
                "prefect.resource.id": f"practiceweek.publication.{row.id}",
                "prefect.resource.name": row.title[:200],
                "practiceweek.campaign": row.campaign,
            },
            related=[
                {
                    "prefect.resource.id": f"practiceweek.campaign.{row.campaign}",
                    "prefect.resource.role": "campaign",
                },
                {
                    "prefect.resource.id": f"practiceweek.day.{row.campaign}.{row.day}",
                    "prefect.resource.role": "day",
                },
                {
                    "prefect.resource.id": f"practiceweek.channel.{row.channel}",
                    "prefect.resource.role": "channel",
                },
            ],
            payload={
                "publication": row.id,
                "campaign": row.campaign,
                "day": row.day,
                "channel": row.channel,
                "scheduled_at": dt.datetime.fromtimestamp(row.scheduled_at, dt.UTC).isoformat(),
                **payload,
            },
        )
    except Exception:  # noqa: BLE001 - events are for people; never block a publication on them
        pass


def emit_campaign(kind: str, cid: str, name: str, decision: Decision) -> None:
    """Emit ``practiceweek.campaign.<kind>`` (approved, rejected) with who, when and why; never raises."""
    try:
        emit_event(
            event=f"practiceweek.campaign.{kind}",
            resource={"prefect.resource.id": f"practiceweek.campaign.{cid}", "prefect.resource.name": name},
            payload={
                "campaign": cid,
                "approver": decision.approver,
                "comment": decision.comment,
                "decided_at": dt.datetime.fromtimestamp(decision.decided_at, dt.UTC).isoformat(),
                "flow_run_id": decision.flow_run_id,
            },
        )
    except Exception:  # noqa: BLE001 - events are for people; the ledger holds the decision
        pass

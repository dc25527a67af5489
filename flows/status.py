"""The operator's view of a week: the plan as a table with live status, and lateness figures."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from ledger import Row

from . import campaigns, names, process

STATE_ICONS = {
    "pending": "⏳ pending",
    "sending": "📤 sending",
    "sent": "✅ sent",
    "failed": "❌ failed",
    "unknown": "❔ unknown",
    "skipped": "⏭ skipped",
    "cancelled": "🚫 cancelled",
}


def plan_table(cid: str) -> list[dict[str, Any]]:
    """One line per publication of ``cid``: when, day, channel, what, status, link."""
    zone = campaigns.zone_of(cid)
    out = []
    for r in process.ledger().rows(cid):
        planned = dt.datetime.fromtimestamp(r.planned_at, zone or dt.UTC)
        effective = dt.datetime.fromtimestamp(r.scheduled_at, dt.UTC)
        out.append(
            {
                "when": planned.strftime("%a %d %b %H:%M %Z"),
                "runs at (UTC)": effective.strftime("%d %b %H:%M:%S"),
                "day": r.day,
                "channel": r.channel,
                "what": r.title,
                "status": STATE_ICONS.get(r.state, r.state),
                "attempts": r.attempts,
                "link": r.url or "",
                "id": r.id,
            }
        )
    return out


def publish_plan_tables(cids: set[str]) -> None:
    """Create a new version of each campaign's plan table (key ``plan-<campaign>``)."""
    from prefect.artifacts import create_table_artifact

    for cid in sorted(cids):
        if process.ledger().campaign(cid) is None:
            continue
        try:
            create_table_artifact(
                table=plan_table(cid),
                key=names.artifact_key(f"plan-{cid}"),
                description=f"The week's plan of {cid}, with live status",
            )
        except Exception:  # noqa: BLE001 - the view must never stop publishing
            pass


def lateness(rows: list[Row]) -> list[float]:
    return [r.sent_at - r.scheduled_at for r in rows if r.state == "sent" and r.sent_at is not None]


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return {"n": len(ordered), "p50": statistics.median(ordered), "p99": p99, "max": ordered[-1]}

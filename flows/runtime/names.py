"""What operators read in the Prefect UI: run and task names, tags, artifact keys."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ledger import Row

# The one table of deployment names: each flow has one deployment, named after its role (the flow's own
# name), so the Deployments page tells them apart. prefect.yaml and deploy/prefect.yaml spell the same
# names (a test compares them); deploy/ and bench/ import them from here.
ROLES = {
    "schedule": "schedule-campaign",
    "window": "publish-window",
    "alert": "alert-operators",
    "engagement": "collect-engagement",
}
DEPLOYMENTS = {role: f"{name}/{name}" for role, name in ROLES.items()}  # "<flow>/<deployment>"


def local_day(ts: float, zone: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(ts, zone).strftime("%a %d %b")


def run_name(row: Row, zone: ZoneInfo | None = None) -> str:
    """``hscp-lfr-2024 · Tue 25 Jun · email``."""
    day = local_day(row.planned_at, zone) if zone else row.day
    return f"{row.campaign} · {day} · {row.channel}"


def task_name(row: Row, zone: ZoneInfo | None = None) -> str:
    return f"{run_name(row, zone)} · {row.id.rsplit('/', 1)[-1]}"


def window_name(rows: list[Row], start: float, zone: ZoneInfo | None) -> str:
    """``Mon 25 Nov 09:00 · iowscp-da-2024 · 7 publications`` (``· 3 campaigns ·`` when it carries several),
    or the one publication's run name."""
    if len(rows) == 1:
        return run_name(rows[0], zone)
    when = dt.datetime.fromtimestamp(start, zone or dt.UTC).strftime("%a %d %b %H:%M")
    campaigns = sorted({r.campaign for r in rows})
    whose = campaigns[0] if len(campaigns) == 1 else f"{len(campaigns)} campaigns"
    return f"{when} · {whose} · {len(rows)} publications"


MANY_CAMPAIGNS = "campaigns:many"  # the tag of a run publishing more campaigns than its tags may list
# Prefect relates each event of a run to each of the run's tags, and refuses an event with more than 100
# related resources: a lane of 150 campaigns (300 partnerships) could not create its window run (500)
CAMPAIGN_TAGS_MAX = 80


def tags_for(rows: list[Row], limit: int = 30) -> list[str]:
    """A run's tags: ``practiceweek``, every campaign of ``rows`` (which commands sharing a ledger tell their
    runs apart by; more than ``CAMPAIGN_TAGS_MAX``: ``MANY_CAMPAIGNS`` instead), then their days and channels,
    ``limit`` tags in all besides ``practiceweek``."""
    campaigns = list(dict.fromkeys(f"campaign:{r.campaign}" for r in rows))
    if len(campaigns) > CAMPAIGN_TAGS_MAX:
        campaigns = [MANY_CAMPAIGNS]
    rest = list(dict.fromkeys(tag for r in rows for tag in (f"day:{r.day}", f"channel:{r.channel}")))
    return ["practiceweek", *campaigns, *rest[: max(0, limit - len(campaigns))]]


def artifact_key(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:100] or "x"

"""The durable ledger, the one place that talks to the database: one row per publication, moved between
states by compare-and-set, plus campaigns, window runs, operators' alerts, stopped connectors and shared
rate limits.

States: pending → sending → sent | failed | unknown | skipped | cancelled (unknown → sending after
reconciliation). A transition is ``UPDATE ... WHERE id=? AND state IN (...)``: exactly one caller can
win it, so two workers can never both take 'sending'. SQLite (stdlib, WAL) by default; PostgreSQL when
``PRACTICEWEEK_LEDGER_URL`` is ``postgresql://...``. Times are UTC epoch seconds.
"""

from __future__ import annotations

from .campaigns import CampaignsMixin
from .database import Database, default_url, unavailable
from .engagement import EngagementMixin, ReadingRow
from .pacers import PacersMixin
from .plans import PlansMixin
from .publications import DEFAULT_LEASE_S, PublicationsMixin, worker_id
from .records import Alert, CampaignRow, Decision, Diff, DueRef, Fence, Planned, Row, Stopped, Window
from .renderings import RenderingsMixin
from .states import ENDED, OPEN, TERMINAL, WAITING, ReadingState, State, Verdict, WindowState
from .stops import StopsMixin
from .windows import WindowsMixin

__all__ = [
    "DEFAULT_LEASE_S",
    "ENDED",
    "OPEN",
    "TERMINAL",
    "WAITING",
    "Alert",
    "CampaignRow",
    "Decision",
    "Diff",
    "DueRef",
    "Fence",
    "Ledger",
    "Planned",
    "ReadingRow",
    "ReadingState",
    "Row",
    "State",
    "Stopped",
    "Verdict",
    "Window",
    "WindowState",
    "default_url",
    "unavailable",
    "worker_id",
]


class Ledger(
    CampaignsMixin,
    PlansMixin,
    PublicationsMixin,
    StopsMixin,
    PacersMixin,
    WindowsMixin,
    RenderingsMixin,
    EngagementMixin,
    Database,
):
    """Publications, campaigns and window runs, shared by every process that schedules or publishes."""

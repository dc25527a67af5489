"""Operators' alerts: recorded in the transaction of the failure they report, sent by whoever sweeps."""

from __future__ import annotations

import time
from typing import Any

from .database import Database, columns_sql
from .records import ALERT_COLUMNS, Alert


class AlertsMixin(Database):
    def _add_alert(
        self,
        cur: Any,
        key: str,
        kind: str,
        subject: str,
        reason: str,
        now: float,
        publication: str | None = None,
        connector: str | None = None,
    ) -> None:
        cur.execute(
            self._q(
                "INSERT INTO alerts (key, kind, subject, publication, connector, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
            ),
            (key, kind, subject[:300], publication, connector, reason[:2000], now),
        )

    def record_alert(
        self, key: str, kind: str, subject: str, reason: str, publication: str | None = None
    ) -> bool:
        """Record an alert no failure transaction carries (lateness, an idle work pool), once per ``key``."""
        with self._tx() as cur:
            self._add_alert(cur, key, kind, subject, reason, time.time(), publication=publication)
            return bool(cur.rowcount == 1)

    def alerts(self, unsent_only: bool = False) -> list[Alert]:
        where = " WHERE sent_at IS NULL" if unsent_only else ""
        found = self._read(
            f"SELECT {columns_sql(ALERT_COLUMNS)} FROM alerts{where} ORDER BY created_at, key"
        )
        return [Alert(*r) for r in found]

    def claim_alert(self, key: str, lease_s: float = 60.0) -> bool:
        """Take an unsent alert for sending (another sweeper may take it again after ``lease_s``)."""
        now = time.time()
        return (
            self._write(
                "UPDATE alerts SET lease_until=? WHERE key=? AND sent_at IS NULL "
                "AND (lease_until IS NULL OR lease_until < ?)",
                (now + lease_s, key, now),
            )
            == 1
        )

    def alert_sent(self, key: str, receipt: str) -> None:
        self._write("UPDATE alerts SET sent_at=?, receipt=? WHERE key=?", (time.time(), receipt[:500], key))

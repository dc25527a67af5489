"""Connectors stopped because the provider refused their credentials or permissions, per account: a revoked
token of one partnership holds only that partnership's publications."""

from __future__ import annotations

import time

from practiceweek.accounts import route_label

from .alerts import AlertsMixin
from .database import columns_sql
from .records import STOPPED_COLUMNS, Stopped


class StopsMixin(AlertsMixin):  # it records the alert of what it changes
    def stop_connector(
        self, connector: str, reason: str, status: int | None = None, account: str = ""
    ) -> bool:
        """Stop a connector's account (once) and record the operators' alert. False if already stopped."""
        now = time.time()
        label = route_label(connector, account)
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO stopped_connectors (connector, account, reason, status, stopped_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (connector, account, reason[:2000], status, now),
            )
            if cur.rowcount != 1:
                return False
            subject = f"[practiceweek] connector stopped: {label}"
            self._add_alert(cur, f"stopped:{label}:{now:.6f}", "connector-stopped", subject, reason, now,
                            connector=label)
        return True

    def resume_connector(self, connector: str, account: str = "") -> bool:
        return self._write(
            "DELETE FROM stopped_connectors WHERE connector=? AND account=?", (connector, account)
        ) == 1

    def stopped(self) -> dict[tuple[str, str], Stopped]:
        """Every stopped (connector, account)."""
        found = self._read(f"SELECT {columns_sql(STOPPED_COLUMNS)} FROM stopped_connectors")
        return {(r[0], r[1]): Stopped(*r) for r in found}

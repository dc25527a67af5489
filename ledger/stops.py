"""Connectors stopped because the provider refused their credentials or permissions."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .database import Database, columns_sql
from .records import STOPPED_COLUMNS, Stopped


class StopsMixin(Database):
    if TYPE_CHECKING:  # from AlertsMixin

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
        ) -> None: ...

    def stop_connector(self, connector: str, reason: str, status: int | None = None) -> bool:
        """Stop a connector (once) and record the operators' alert. False if it was already stopped."""
        now = time.time()
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO stopped_connectors (connector, reason, status, stopped_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (connector, reason[:2000], status, now),
            )
            if cur.rowcount != 1:
                return False
            subject = f"[practiceweek] connector stopped: {connector}"
            self._add_alert(cur, f"stopped:{connector}:{now:.6f}", "connector-stopped", subject, reason, now,
                            connector=connector)
        return True

    def resume_connector(self, connector: str) -> bool:
        return self._write("DELETE FROM stopped_connectors WHERE connector=?", (connector,)) == 1

    def stopped(self) -> dict[str, Stopped]:
        found = self._read(f"SELECT {columns_sql(STOPPED_COLUMNS)} FROM stopped_connectors")
        return {r[0]: Stopped(*r) for r in found}

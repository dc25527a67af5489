"""Provider rate limits shared by every process using the ledger."""

from __future__ import annotations

import time

from .database import Database


class PacersMixin(Database):
    def reserve_slot(self, key: str, limit: int, window: float) -> float:
        """Reserve a request slot of pacer ``key``: at most ``limit`` slots in any ``window`` seconds,
        shared by every process using this ledger. Returns the wall-clock time the caller may send at.

        Slots are granted in time order: a new one goes at once while fewer than ``limit`` lie in the last
        window, else one ``window`` after the ``limit``-th latest, so a queue drains at the full rate."""
        with self._tx() as cur:
            now = time.time()
            cur.execute(
                self._q("INSERT INTO pacers (key, updated_at) VALUES (?, ?) ON CONFLICT DO NOTHING"),
                (key, now),
            )
            lock = " FOR UPDATE" if self.postgres else ""
            cur.execute(self._q(f"SELECT updated_at FROM pacers WHERE key=?{lock}"), (key,))
            cur.execute(
                self._q("SELECT at FROM pacer_slots WHERE key=? ORDER BY at DESC LIMIT 1 OFFSET ?"),
                (key, limit - 1),
            )
            nth = cur.fetchone()
            start = now if nth is None else max(now, float(nth[0]) + window)
            cur.execute(self._q("INSERT INTO pacer_slots (key, at) VALUES (?, ?)"), (key, start))
            cur.execute(self._q("DELETE FROM pacer_slots WHERE key=? AND at < ?"), (key, now - 2 * window))
            cur.execute(self._q("UPDATE pacers SET updated_at=? WHERE key=?"), (now, key))
        return start

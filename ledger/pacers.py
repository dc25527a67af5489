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

    def confirm_slot(self, key: str, slot: float, limit: int, window: float) -> tuple[bool, float]:
        """The caller of slot ``slot`` is about to send: restamp its slot with the time it really sends
        (a caller can wake late, on a loaded machine, and its request then counts from then, not from its
        slot). Returns (True, now) when at most ``limit`` slots, its own included, lie in the ``window``
        before now; else (False, new slot): its slot moves one ``window`` after the ``limit``-th latest.

        Every request is confirmed just before it goes, in one transaction each, so each one sees every
        earlier one's real time: never more than ``limit`` in any window, however late a caller woke."""
        with self._tx() as cur:
            now = time.time()
            lock = " FOR UPDATE" if self.postgres else ""
            cur.execute(self._q(f"SELECT updated_at FROM pacers WHERE key=?{lock}"), (key,))
            cur.execute(
                self._q("SELECT COUNT(*) FROM pacer_slots WHERE key=? AND at > ? AND at <= ? AND at <> ?"),
                (key, now - window, now, slot),
            )
            others = int(cur.fetchone()[0])
            at = now
            if others >= limit:  # the limit-th latest before now, then one window after it
                cur.execute(
                    self._q("SELECT at FROM pacer_slots WHERE key=? AND at <= ? AND at <> ? "
                            "ORDER BY at DESC LIMIT 1 OFFSET ?"),
                    (key, now, slot, limit - 1),
                )
                at = float(cur.fetchone()[0]) + window
            cur.execute(self._q("UPDATE pacer_slots SET at=? WHERE key=? AND at=?"), (at, key, slot))
        return at == now, at

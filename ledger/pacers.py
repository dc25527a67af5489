"""Provider rate limits shared by every process using the ledger.

A slot is a row of ``pacer_slots``, known by its ``id``. A provider counts a request when it arrives, which
is some time after the pacer let it go and before its answer came back; on a loaded machine that time
varies from one request to the next by more than any fixed margin. So a request held until its answer
(``hold``: ``connectors.pacing.paced``) occupies its slot from when it went until it ended (``ended_at``;
while it is in flight, a cap ``IN_FLIGHT_S`` after it went), and a new request goes only once fewer than
``limit`` requests *ended* in the window before it: then no ``limit + 1`` arrivals fit in any window, however
late each one arrived. A slot not yet confirmed (``ended_at`` NULL) counts at its time, as before: a caller
frozen before its request holds nobody up.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .database import Database

IN_FLIGHT_S = 30.0  # a held request that never said it ended (its process died or froze) counts this long


def _end(now: float) -> tuple[str, tuple[float, ...]]:
    """SQL for when a slot's request ended, at the earliest, with its parameters: a slot not yet confirmed
    at its time (``ended_at`` NULL: its caller is about to go), one in flight (``ended_at`` still ahead:
    the cap its ``confirm`` set) now, an ended one when it ended."""
    return "CASE WHEN ended_at > ? THEN ? ELSE COALESCE(ended_at, at) END", (now, now)


class PacersMixin(Database):
    def _lock_pacer(self, cur: Any, key: str, now: float) -> None:
        """Make and lock pacer ``key``'s row: its slots change one transaction at a time."""
        cur.execute(
            self._q("INSERT INTO pacers (key, updated_at) VALUES (?, ?) ON CONFLICT DO NOTHING"), (key, now)
        )
        lock = " FOR UPDATE" if self.postgres else ""
        cur.execute(self._q(f"SELECT updated_at FROM pacers WHERE key=?{lock}"), (key,))

    def reserve_slot(self, key: str, limit: int, window: float) -> tuple[str, float]:
        """Reserve a request slot of pacer ``key``: at most ``limit`` slots in any ``window`` seconds,
        shared by every process using this ledger. Returns the slot's id and the wall-clock time the caller
        may send at.

        Slots are granted in time order: a new one goes at once while fewer than ``limit`` requests ended
        in the last window, else one ``window`` after the ``limit``-th latest end, so a queue drains at the
        full rate."""
        slot = uuid.uuid4().hex
        with self._tx() as cur:
            now = time.time()
            self._lock_pacer(cur, key, now)
            end, args = _end(now)
            cur.execute(
                self._q(f"SELECT {end} AS e FROM pacer_slots WHERE key=? ORDER BY e DESC LIMIT 1 OFFSET ?"),
                (*args, key, limit - 1),
            )
            nth = cur.fetchone()
            start = now if nth is None else max(now, float(nth[0]) + window)
            cur.execute(self._q("INSERT INTO pacer_slots (key, at, id) VALUES (?, ?, ?)"), (key, start, slot))
            cur.execute(
                self._q("DELETE FROM pacer_slots WHERE key=? AND COALESCE(ended_at, at) < ?"),
                (key, now - 2 * window),
            )
            cur.execute(self._q("UPDATE pacers SET updated_at=? WHERE key=?"), (now, key))
        return slot, start

    def confirm_slot(
        self, key: str, slot: str, limit: int, window: float, hold: bool = False
    ) -> tuple[bool, float]:
        """The caller of slot ``slot`` is about to send: restamp it with the time it really sends (a caller
        can wake late, on a loaded machine, and its request then counts from then). Returns (True, now)
        when fewer than ``limit`` other requests went by now and ended in the ``window`` before now (one in
        flight has not ended); else (False, its new time): one ``window`` after the ``limit``-th latest end.
        With ``hold`` the slot stays in flight until :meth:`slot_ended`; else it ends as it goes.

        Every request is confirmed just before it goes, in one transaction each, so each one sees every
        earlier one: never more than ``limit`` in any window, however late a caller woke."""
        with self._tx() as cur:
            now = time.time()
            self._lock_pacer(cur, key, now)
            end, args = _end(now)
            cur.execute(
                self._q(f"SELECT {end} AS e, COALESCE(ended_at, at) FROM pacer_slots "
                        "WHERE key=? AND at <= ? AND COALESCE(id, '') <> ? ORDER BY e DESC"),
                (*args, key, now, slot),
            )
            found = cur.fetchall()
            busy = sum(1 for r in found if float(r[1]) > now - window)  # in flight: until its cap
            at = now if busy < limit else float(found[limit - 1][0]) + window
            ended = None if at != now else now + IN_FLIGHT_S if hold else now
            cur.execute(self._q("UPDATE pacer_slots SET at=?, ended_at=? WHERE key=? AND id=?"),
                        (at, ended, key, slot))
        return at == now, at

    def slot_ended(self, key: str, slot: str) -> None:
        """The request of held slot ``slot`` has its answer (or failed): it occupies the window until now."""
        now = time.time()
        self._write("UPDATE pacer_slots SET ended_at=? WHERE key=? AND id=? AND ended_at > ?",
                    (now, key, slot, now))

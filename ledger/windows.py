"""Window runs: one publishing flow run per time window and lane, re-armed when it is lost.

A crowded window has several lanes, each its own run (and process), sharing its publications by campaign.
A window run is 'scheduled', then 'running' while it beats, then 'done' (these are window states, not
publication states).
"""

from __future__ import annotations

import time

from .database import Database


class WindowsMixin(Database):
    def window_needed(
        self,
        start: float,
        now: float | None = None,
        stale_s: float = 6.0,
        lead_s: float = 20.0,
        lane: int = 0,
    ) -> int | None:
        """The generation of a new run for window ``start``'s ``lane``, or None when a live run covers it.

        A running run is live while it beats (every ~2 s); a scheduled one until ``stale_s + 20`` seconds
        after it should have started (``start - lead_s``). Anything else is presumed lost.
        """
        now = time.time() if now is None else now
        with self._tx() as cur:
            cur.execute(
                self._q("SELECT gen, state, heartbeat, updated_at FROM windows WHERE start=? AND lane=?"),
                (start, lane),
            )
            found = cur.fetchone()
            if found is None:
                # two schedulers may both find none (PostgreSQL reads committed rows): the second's insert
                # waits for the first's commit and does nothing, and its window is then covered
                cur.execute(
                    self._q(
                        "INSERT INTO windows (start, lane, gen, state, updated_at) "
                        "VALUES (?, ?, 1, 'scheduled', ?) ON CONFLICT DO NOTHING"
                    ),
                    (start, lane, now),
                )
                return 1 if cur.rowcount == 1 else None
            gen, state, heartbeat, updated = found
            alive = (state == "running" and (heartbeat or 0) > now - stale_s) or (
                state == "scheduled" and now < max(updated, start - lead_s) + stale_s + 20
            )
            if alive:
                return None
            cur.execute(
                self._q("UPDATE windows SET gen=?, state='scheduled', updated_at=? WHERE start=? AND lane=?"),
                (gen + 1, now, start, lane),
            )
            return int(gen + 1)

    def window_beat(
        self, start: float, flow_run_id: str | None = None, state: str = "running", lane: int = 0
    ) -> None:
        now = time.time()
        if (
            self._write(
                "UPDATE windows SET state=?, heartbeat=?, flow_run_id=COALESCE(?, flow_run_id), "
                "updated_at=? WHERE start=? AND lane=?",
                (state, now, flow_run_id, now, start, lane),
            )
            == 0
        ):
            self._write(
                "INSERT INTO windows (start, lane, gen, state, heartbeat, flow_run_id, updated_at) "
                "VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (start, lane, state, now, flow_run_id, now),
            )

    def window_run(self, start: float, lane: int = 0) -> str | None:
        rows = self._read("SELECT flow_run_id FROM windows WHERE start=? AND lane=?", (start, lane))
        return rows[0][0] if rows else None

    def window_lanes(self, start: float) -> int:
        """How many lanes window ``start`` has (1 until it is crowded)."""
        rows = self._read("SELECT MAX(lane) FROM windows WHERE start=?", (start,))
        return int(rows[0][0]) + 1 if rows and rows[0][0] is not None else 1

    def windows(self) -> list[tuple[float, int, str]]:
        return [
            (r[0], r[1], r[2])
            for r in self._read("SELECT start, gen, state FROM windows ORDER BY start, lane")
        ]

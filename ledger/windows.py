"""Window runs: one publishing flow run per time window and lane, re-armed when it is lost.

A crowded window has several lanes, each its own run (and process), sharing its publications by campaign.
A window run is scheduled, then running while it beats, then done (``WindowState``: window states, not
publication states).

On a production set-up a window's lane has two runs, ideally on different workers: the one that holds the
row's ``owner`` publishes and beats; the other stands by (``standby_at``) and takes the window over by a
compare-and-set on ``owner`` once the owner's beat is stale. The row is the only word on who publishes: an
owner whose beat finds another owner stops publishing.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from .database import Database
from .records import Window
from .states import WindowState

_WINDOW_COLUMNS = ("start, lane, gen, state, owner, heartbeat, queue, standby_gen, standby_at, fence, "
                   "standby_queue, lost_queue, lost_at")  # as ``Window`` has them
# the owner's queue and last beat, noted as lost when a takeover or healing replaces it (``lost_queues``)
_LOSS = ("lost_queue=CASE WHEN owner IS NOT NULL AND queue IS NOT NULL THEN queue ELSE lost_queue END, "
         "lost_at=CASE WHEN owner IS NOT NULL AND queue IS NOT NULL THEN heartbeat ELSE lost_at END")


class WindowsMixin(Database):
    def _new_window(self, cur: Any, start: float, lane: int, now: float) -> bool:
        """Make window ``start``'s lane row (generation 1, scheduled) in ``cur``'s transaction; False if
        it was there already (another scheduler made it first: its insert waits for that commit)."""
        cur.execute(
            self._q(
                "INSERT INTO windows (start, lane, gen, state, updated_at) "
                "VALUES (?, ?, 1, ?, ?) ON CONFLICT DO NOTHING"
            ),
            (start, lane, WindowState.SCHEDULED, now),
        )
        return int(cur.rowcount) == 1

    def window_needed(
        self,
        start: float,
        now: float | None = None,
        stale_s: float = 6.0,
        lead_s: float = 20.0,
        lane: int = 0,
        waiting_gen: int | None = None,
    ) -> int | None:
        """The generation of a new run for window ``start``'s ``lane``, or None when a live run covers it.

        A running run is live while it beats (every ~2 s); a scheduled one until ``stale_s + 20`` seconds
        after it should have started (``start - lead_s``), or for as long as it is generation
        ``waiting_gen``: a run the caller saw waiting for a worker that is alive (a busy machine starts it
        late; another run in its place would only wait beside it). Anything else is presumed lost.
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
                return 1 if self._new_window(cur, start, lane, now) else None
            gen, state, heartbeat, updated = found
            alive = (state == WindowState.RUNNING and (heartbeat or 0) > now - stale_s) or (
                state == WindowState.SCHEDULED
                and (gen == waiting_gen or not _overdue(updated, start, now, stale_s, lead_s))
            )
            if alive:
                return None
            cur.execute(  # the lost owner (if only slow) finds it no longer owns the window, and is fenced
                self._q(
                    f"UPDATE windows SET gen=?, state=?, owner=NULL, fence=fence+1, updated_at=?, {_LOSS} "
                    "WHERE start=? AND lane=?"
                ),
                (gen + 1, WindowState.SCHEDULED, now, start, lane),
            )
            return int(gen + 1)

    def window_overdue(
        self,
        start: float,
        now: float | None = None,
        stale_s: float = 6.0,
        lead_s: float = 20.0,
        lane: int = 0,
    ) -> int | None:
        """The generation of window ``start``'s lane whose run is scheduled but has not started in time
        (``window_needed`` presumes it lost unless told it is waiting), or None."""
        now = time.time() if now is None else now
        rows = self._read(
            "SELECT gen, state, updated_at FROM windows WHERE start=? AND lane=?", (start, lane)
        )
        if not rows:
            return None
        gen, state, updated = rows[0]
        late = state == WindowState.SCHEDULED and _overdue(updated, start, now, stale_s, lead_s)
        return int(gen) if late else None

    def window_beat(
        self,
        start: float,
        flow_run_id: str | None = None,
        state: WindowState = WindowState.RUNNING,
        lane: int = 0,
        owner: str | None = None,
    ) -> bool:
        """Say the window's run is alive (``state``). With ``owner``: only while it still owns the window;
        False once another run took it over (or a scheduler presumed it lost)."""
        now = time.time()
        mine = "" if owner is None else " AND owner=?"
        updated = self._write(
            "UPDATE windows SET state=?, heartbeat=?, flow_run_id=COALESCE(?, flow_run_id), "
            f"updated_at=? WHERE start=? AND lane=?{mine}",
            (state, now, flow_run_id, now, start, lane) + (() if owner is None else (owner,)),
        )
        if updated == 0 and owner is None:
            self._write(
                "INSERT INTO windows (start, lane, gen, state, heartbeat, flow_run_id, updated_at) "
                "VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (start, lane, state, now, flow_run_id, now),
            )
        return updated == 1 or owner is None

    def window_take(
        self,
        start: float,
        owner: str,
        lane: int = 0,
        stale_s: float = 5.0,
        unowned: bool = True,
        flow_run_id: str | None = None,
        queue: str | None = None,
    ) -> bool:
        """Compare-and-set: make ``owner`` the run that publishes window ``start``'s lane. It wins when it
        owns it already, when the owner's beat is older than ``stale_s`` (dead, or too slow to trust), or,
        with ``unowned``, when nobody has taken the window yet. Of racing callers exactly one wins; a
        finished window ('done') is never taken. A change of owner advances the window's fencing token
        (``ledger/fences.py``): from then on the old owner's claims and sends are refused."""
        now = time.time()
        free = " OR owner IS NULL" if unowned else ""
        with self._tx() as cur:
            self._new_window(cur, start, lane, now)
            cur.execute(
                self._q(
                    "UPDATE windows SET fence=CASE WHEN owner=? THEN fence ELSE fence+1 END, "
                    f"{_LOSS.replace('owner IS NOT NULL', 'owner IS NOT NULL AND owner<>?')}, "
                    "owner=?, state=?, heartbeat=?, "
                    "flow_run_id=COALESCE(?, flow_run_id), queue=?, updated_at=? "
                    "WHERE start=? AND lane=? AND state <> ? "
                    f"AND (owner=?{free} OR (owner IS NOT NULL AND COALESCE(heartbeat, 0) < ?))"
                ),
                (owner, owner, owner, owner, WindowState.RUNNING, now, flow_run_id, queue, now, start, lane,
                 WindowState.DONE, owner, now - stale_s),
            )
            return int(cur.rowcount) == 1

    def window_held(self, start: float, lane: int = 0) -> Window | None:
        """Who holds window ``start``'s lane, and how it stands (None: no run was ever made for it)."""
        rows = self._read(
            f"SELECT {_WINDOW_COLUMNS} "
            "FROM windows WHERE start=? AND lane=?",
            (start, lane),
        )
        return Window.from_db(rows[0]) if rows else None

    def windows_held(self) -> list[Window]:
        """Every window lane's row, as :meth:`window_held` reads one (who owns it, its beat, its token)."""
        rows = self._read(
            f"SELECT {_WINDOW_COLUMNS} "
            "FROM windows ORDER BY start, lane"
        )
        return [Window(*row) for row in rows]

    def spares_held(self) -> dict[tuple[float, int], list[tuple[str, int, float, float | None]]]:
        """Every window lane's spares, by (start, lane): each one's queue, number, until when it counts as
        alive and its last beat (None: it has not beaten), as :meth:`spares_needed` reads them."""
        held: dict[tuple[float, int], list[tuple[str, int, float, float | None]]] = {}
        for start, lane, queue, number, at, beat in self._read(
            "SELECT start, lane, queue, number, at, beat FROM window_spares ORDER BY start, lane, queue"
        ):
            held.setdefault((start, lane), []).append((queue, number, at, beat))
        return held

    def standby_beat(self, start: float, lane: int = 0, queue: str | None = None) -> None:
        """Say the window's standby run is alive (so no other standby is started for it), from ``queue``
        (then it is the lane's spare on that queue, :meth:`spares_needed`)."""
        now = time.time()
        self._write(
            "UPDATE windows SET standby_at=?, standby_queue=COALESCE(?, standby_queue) "
            "WHERE start=? AND lane=?",
            (now, queue, start, lane),
        )
        if queue:
            self._write(
                "INSERT INTO window_spares (start, lane, queue, number, at, beat) VALUES (?, ?, ?, 0, ?, ?) "
                "ON CONFLICT (start, lane, queue) DO UPDATE SET at=excluded.at, beat=excluded.beat",
                (start, lane, queue, now, now),
            )

    def spares_needed(
        self, start: float, lane: int, others: list[str], count: int, now: float | None = None,
        lead_s: float = 20.0, stale_s: float = 6.0, down: Collection[str] = (),
    ) -> list[tuple[str, int]]:
        """The spares (standby runs) to start for window ``start``'s lane so that ``count`` of them live,
        each on its own queue of ``others`` (the work queues other than its owner's, in order of preference),
        none on a queue ``down`` (:meth:`lost_queues`): (queue, number) of each. A spare lives while it beats,
        or until ``stale_s + 20`` s after it should have started, unless its queue went down before it beat.
        None for a window that is over."""
        now = time.time() if now is None else now
        with self._tx() as cur:
            cur.execute(self._q("SELECT state FROM windows WHERE start=? AND lane=?"), (start, lane))
            found = cur.fetchone()
            if found is None or found[0] == WindowState.DONE:
                return []
            cur.execute(
                self._q("SELECT queue, number, at FROM window_spares WHERE start=? AND lane=?"), (start, lane)
            )
            spares = {str(q): (int(n), float(at)) for q, n, at in cur.fetchall()}

            def lives(queue: str) -> bool:
                number, at = spares.get(queue, (0, 0.0))
                return at > now - stale_s and not (queue in down and at > now)  # one not started, host down

            need = count - sum(1 for q in others if lives(q))
            picked = [q for q in others if not lives(q) and q not in down][:max(need, 0)]
            out = []
            for queue in picked:  # racing healers: the one whose update finds the number it read wins
                number = spares.get(queue, (0, 0.0))[0]
                cur.execute(
                    self._q(
                        "INSERT INTO window_spares (start, lane, queue, number, at) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (start, lane, queue) DO UPDATE SET number=excluded.number, "
                        "at=excluded.at WHERE window_spares.number=?"
                    ),
                    (start, lane, queue, number + 1, max(now, start - lead_s) + 20, number),
                )
                if cur.rowcount == 1:
                    out.append((queue, number + 1))
            return out

    def window_placed(self, start: float, lane: int, queue: str | None) -> None:
        """Note the queue a new run of the lane was put in, while nobody owns it (its spares go elsewhere)."""
        self._write(
            "UPDATE windows SET queue=? WHERE start=? AND lane=? AND owner IS NULL", (queue, start, lane)
        )

    def standby_placed(self, start: float, lane: int, queue: str | None) -> None:
        """Note the work queue a new standby of the lane was put in (until it beats from there)."""
        self._write("UPDATE windows SET standby_queue=? WHERE start=? AND lane=?", (queue, start, lane))

    def lost_queues(self, now: float | None = None, stale_s: float = 6.0, within_s: float = 60.0) -> set[str]:
        """Work queues whose runs were lost (stopped beating: their worker, or its host, killed or frozen)
        in the last ``within_s`` seconds, and on which no window run has beaten since (within ``stale_s``,
        as owner or standby): a new run put there would wait for that host to come back."""
        now = time.time() if now is None else now
        rows = self._read(
            "SELECT state, owner, queue, heartbeat, lost_queue, lost_at FROM windows "
            "WHERE lost_at > ? OR heartbeat > ?",
            (now - within_s, now - within_s),
        )
        lost, alive = set(), set()
        for state, owner, queue, beat, lost_queue, lost_at in rows:
            if lost_queue and (lost_at or 0) > now - within_s:
                lost.add(lost_queue)
            quiet = beat is not None and now - within_s < beat <= now - stale_s
            if queue and owner and state == WindowState.RUNNING and quiet:
                lost.add(queue)  # an owner gone quiet, not yet taken over (one that finished beat 'done')
            if queue and owner and (beat or 0) > now - stale_s:
                alive.add(queue)
        spares = self._read(
            "SELECT s.queue, s.at, s.beat FROM window_spares s JOIN windows w ON w.start=s.start "
            "AND w.lane=s.lane WHERE w.state <> ? AND (s.at > ? OR s.beat > ?)",
            (WindowState.DONE, now - within_s, now - within_s),
        )
        for queue, at, beat in spares:
            if at <= now - stale_s:  # a spare gone quiet, or never started where it was put
                lost.add(queue)
            if (beat or 0) > now - stale_s:  # a beat, not the time a spare not yet started may take
                alive.add(queue)
        return lost - alive

    def standby_needed(
        self,
        start: float,
        now: float | None = None,
        stale_s: float = 6.0,
        lead_s: float = 20.0,
        lane: int = 0,
        down: Collection[str] = (),
    ) -> int | None:
        """The number of a new standby run for window ``start``'s lane, or None while one lives (beats, or
        was started less than ``stale_s + 20`` seconds before it should have started, unless it was put in a
        queue of ``down``: one whose runs were lost, see :meth:`lost_queues`) or the window is over. Call it
        after ``window_needed`` (which makes the row)."""
        now = time.time() if now is None else now
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "SELECT state, standby_gen, standby_at, standby_queue, queue FROM windows "
                    "WHERE start=? AND lane=?"
                ),
                (start, lane),
            )
            found = cur.fetchone()
            if found is None or found[0] == WindowState.DONE:
                return None
            unstarted_in_down = found[3] in down and (found[2] or 0) > now  # not beating yet: never will soon
            if (found[2] or 0) > now - stale_s and not unstarted_in_down:
                return None
            # until it beats, a new standby counts as alive as long as a scheduled run does; the one it
            # replaces (stopped beating, or never started) is lost, unless it took the window (its queue
            # is the owner's)
            lost = found[3] if found[3] and found[2] is not None and found[3] != found[4] else None
            noted = ", lost_queue=?, lost_at=?" if lost else ""
            cur.execute(
                self._q(f"UPDATE windows SET standby_gen=?, standby_at=?{noted} WHERE start=? AND lane=? "
                        "AND standby_gen=?"),
                (found[1] + 1, max(now, start - lead_s) + 20, *((lost, min(found[2], now)) if lost else ()),
                 start, lane, found[1]),
            )
            return int(found[1] + 1) if cur.rowcount == 1 else None

    def window_run(self, start: float, lane: int = 0) -> str | None:
        rows = self._read("SELECT flow_run_id FROM windows WHERE start=? AND lane=?", (start, lane))
        return rows[0][0] if rows else None

    def publication_runs(self, campaign: str) -> dict[str, str]:
        """Publication id → the flow run of the window that claimed it last (its current run: a takeover
        moves it), for the campaign's publications a window run claimed."""
        rows = self._read(
            "SELECT p.id, w.flow_run_id FROM publications p JOIN windows w "
            "ON w.start=p.fence_start AND w.lane=p.fence_lane "
            "WHERE p.campaign=? AND w.flow_run_id IS NOT NULL",
            (campaign,),
        )
        return {str(pid): str(run) for pid, run in rows if run}

    def window_lanes(self, start: float) -> int:
        """How many lanes window ``start`` has (1 until it is crowded)."""
        rows = self._read("SELECT MAX(lane) FROM windows WHERE start=?", (start,))
        return int(rows[0][0]) + 1 if rows and rows[0][0] is not None else 1

    def windows(self) -> list[tuple[float, int, WindowState]]:
        return [
            (r[0], r[1], WindowState(r[2]))
            for r in self._read("SELECT start, gen, state FROM windows ORDER BY start, lane")
        ]


def _overdue(updated: float, start: float, now: float, stale_s: float, lead_s: float) -> bool:
    """Whether a run scheduled (or re-armed) at ``updated`` for window ``start`` should have started by
    ``now``: ``stale_s + 20`` s after its due time (``start - lead_s``), or after it was made if later."""
    return now >= max(updated, start - lead_s) + stale_s + 20

"""Fencing: a token per window lane that every change of its owner advances, carried by each claim.

A standby takes a window over once its owner's beat is stale; but a stale beat does not prove the owner is
dead (a paused VM, a partition): it may wake and carry on. So the windows row holds ``fence``, advanced in the
same compare-and-set that changes the owner (``window_take``) or presumes the run lost (``window_needed``).
A publish task of a window run claims under its run's token (``claim(..., fence=...)``: the claim wins only
while that token is current) and asks ``fence_holds`` immediately before each provider request; a woken
owner's late claim or send is refused there, before it reaches the provider. A claim whose token is no
longer current is void: ``void_fenced`` turns it 'unknown' at once (reconciled with the provider before
anything is sent again) instead of waiting for its lease. Both checks are one statement on primary keys.
"""

from __future__ import annotations

import time

from .database import Database
from .records import Fence
from .states import State

FENCED = "its window was taken over (the run that claimed it stopped beating); reconciling"


class FencesMixin(Database):
    def window_fence(self, start: float, owner: str, lane: int = 0) -> Fence | None:
        """The token of window ``start``'s lane while ``owner`` holds it (None: another run does)."""
        rows = self._read(
            "SELECT fence FROM windows WHERE start=? AND lane=? AND owner=?", (start, lane, owner)
        )
        return Fence(start, lane, int(rows[0][0])) if rows else None

    def fence_current(self, fence: Fence) -> bool:
        """Whether ``fence`` is still its window's token (no takeover since it was handed out)."""
        return bool(
            self._read(
                "SELECT 1 FROM windows WHERE start=? AND lane=? AND fence=?",
                (fence.start, fence.lane, fence.token),
            )
        )

    def _fence_guard(self, fence: Fence) -> tuple[str, tuple[float, int, int]]:
        """The condition a fenced claim adds: the window's token is still ``fence``. On PostgreSQL it locks
        the windows row for share, so a takeover waits for a claim in flight and a claim that started before
        a takeover committed re-reads the row (and fails) instead of trusting its older snapshot."""
        lock = " FOR SHARE" if self.postgres else ""
        sql = f" AND EXISTS (SELECT 1 FROM windows WHERE start=? AND lane=? AND fence=?{lock})"
        return sql, (fence.start, fence.lane, fence.token)

    def fence_holds(self, pid: str, claimant: str, fence: Fence) -> bool:
        """The check immediately before a provider request: ``claimant`` still holds its claim on ``pid``,
        made under ``fence``, and ``fence`` is still its window's token. One read on two primary keys."""
        return bool(
            self._read(
                "SELECT 1 FROM publications p JOIN windows w ON w.start=? AND w.lane=? AND w.fence=? "
                "WHERE p.id=? AND p.state=? AND p.owner=? "
                "AND p.fence_start=? AND p.fence_lane=? AND p.fence=?",
                (fence.start, fence.lane, fence.token, pid, State.SENDING, claimant)
                + (fence.start, fence.lane, fence.token),
            )
        )

    def void_fenced(self) -> list[str]:
        """Claims made under a token that is no longer current (their window was taken over) become
        'unknown', at once: the new owner reconciles them with the provider before sending anything."""
        stale = self._read(
            "SELECT p.id, p.fence FROM publications p WHERE p.state=? AND p.fence IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM windows w "
            "WHERE w.start=p.fence_start AND w.lane=p.fence_lane AND w.fence=p.fence)",
            (State.SENDING,),
        )
        now, out = time.time(), []
        for pid, token in stale:
            if self._write(
                "UPDATE publications SET state=?, error=?, lease_until=NULL, updated_at=? "
                "WHERE id=? AND state=? AND fence=?",
                (State.UNKNOWN, FENCED, now, pid, State.SENDING, token),
            ):
                out.append(str(pid))
        return out

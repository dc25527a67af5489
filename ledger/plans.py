"""Applying a new plan of a campaign to its publications (one transaction), and cancelling a campaign."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from .database import Database, columns_sql, insert_sql
from .records import PUBLICATION_COLUMNS, Diff, Planned, Row, new_publication
from .states import State

# not out yet: a re-plan moves or updates them in place, and a campaign cancels them
_NOT_OUT = frozenset({State.PENDING, State.UNKNOWN, State.FAILED, State.SKIPPED})


def _withdrawable(row: Row) -> bool:
    """Not out yet, or a sent Teams event (which can still be withdrawn)."""
    return row.state in _NOT_OUT or (row.state == State.SENT and row.channel == "teams_event")


class PlansMixin(Database):
    if TYPE_CHECKING:  # from PublicationsMixin

        def rows(self, cid: str | None = None) -> list[Row]: ...

        def _cas(
            self, pid: str, from_states: tuple[str, ...], to: str, claimant: str | None = None, **fields: Any
        ) -> bool: ...

    def apply(self, cid: str, planned: list[Planned], now: float | None = None) -> Diff:
        """Make the ledger hold ``planned`` for campaign ``cid``; return the difference. Atomic."""
        now = time.time() if now is None else now
        diff = Diff()
        wanted = {p.id: p for p in planned}
        with self._tx() as cur:
            if self.postgres:  # two re-plans of one campaign (a worker, the flow) apply one after the other
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"plan:{cid}",))
            cur.execute(
                self._q(f"SELECT {columns_sql(PUBLICATION_COLUMNS)} FROM publications WHERE campaign=?"),
                (cid,),
            )
            have = {r.id: r for r in (Row.from_db(v) for v in cur.fetchall())}
            cur.execute(self._q("SELECT revision FROM campaigns WHERE id=?"), (cid,))
            found = cur.fetchone()
            revision = (found[0] if found else 0) + 1
            for pid, p in wanted.items():
                self._apply_one(cur, p, have.get(pid), revision, now, diff)
            for pid, old in have.items():
                if pid not in wanted and old.state != State.CANCELLED:
                    self._withdraw(cur, old, revision, now, diff)
            if not diff.empty:
                cur.execute(
                    self._q("UPDATE campaigns SET revision=?, updated_at=? WHERE id=?"), (revision, now, cid)
                )
        return diff

    def _apply_one(
        self, cur: Any, p: Planned, old: Row | None, revision: int, now: float, diff: Diff
    ) -> None:
        """Add, move or update one wanted publication (left alone once it is out)."""
        if old is None or old.state == State.CANCELLED:
            if old is not None:
                cur.execute(self._q("DELETE FROM publications WHERE id=?"), (p.id,))
            record = new_publication(p, revision, now)
            cur.execute(self._q(insert_sql("publications", record)), tuple(record.values()))
            diff.added.append(p.id)
            return
        same_time = abs(old.scheduled_at - p.scheduled_at) < 1e-3
        same_content = old.fingerprint == p.fingerprint and old.route == (p.connector, p.account)
        if same_time and same_content and abs(old.missed_window_s - p.missed_window_s) < 1e-3:
            diff.unchanged += 1
            return
        if old.state not in _NOT_OUT:  # sending or sent: it is out (or going out); the file moved on
            diff.changed_sent.append(p.id)
            return
        state = State.PENDING if old.state in (State.FAILED, State.SKIPPED) else old.state
        cur.execute(
            self._q(
                "UPDATE publications SET scheduled_at=?, planned_at=?, missed_window_s=?, "
                "fingerprint=?, connector=?, account=?, title=?, depends_on=?, revision=?, state=?, "
                "updated_at=?, snapshot=? "
                "WHERE id=? AND state=?"
            ),
            (
                p.scheduled_at,
                p.planned_at,
                p.missed_window_s,
                p.fingerprint,
                p.connector,
                p.account,
                p.title,
                json.dumps(list(p.depends_on)),
                revision,
                state,
                now,
                p.snapshot,
                p.id,
                old.state,
            ),
        )
        if not same_time:
            diff.moved.append((p.id, old.scheduled_at, p.scheduled_at))
        else:
            diff.updated.append(p.id)

    def _withdraw(self, cur: Any, old: Row, revision: int, now: float, diff: Diff) -> None:
        """A publication that left the plan: cancelled if not out yet, else left alone."""
        if not _withdrawable(old):
            diff.removed_sent.append(old.id)
            return
        cur.execute(
            self._q(
                f"UPDATE publications SET state='{State.CANCELLED.value}', revision=?, updated_at=? "
                "WHERE id=? AND state=?"
            ),
            (revision, now, old.id, old.state),
        )
        diff.cancelled.append(old)

    def cancel_campaign(self, cid: str) -> list[Row]:
        """Cancel everything of ``cid`` not yet out; return what was cancelled (plus sent Teams events)."""
        done = []
        for r in [r for r in self.rows(cid) if _withdrawable(r)]:
            if self._cas(r.id, (r.state,), State.CANCELLED):
                done.append(r)
        return done

"""Publications: reading them, and moving them between states by compare-and-set.

A transition is ``UPDATE ... WHERE id=? AND state IN (...)``: exactly one caller can win it, so two
workers can never both take 'sending'.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from practiceweek.accounts import route_label
from practiceweek.planner import partner_of

from .alerts import AlertsMixin
from .database import columns_sql
from .fences import FencesMixin
from .records import PUBLICATION_COLUMNS, DueRef, Fence, Row
from .states import State, sql_list

DEFAULT_LEASE_S = 120.0

_SELECT = f"SELECT {columns_sql(PUBLICATION_COLUMNS)} FROM publications"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class PublicationsMixin(AlertsMixin, FencesMixin):  # it records the alert of what it changes
    # --- reading ----------------------------------------------------------------------------------------
    def snapshot(self, pid: str) -> str | None:
        rows = self._read("SELECT snapshot FROM publications WHERE id=?", (pid,))
        return rows[0][0] if rows else None

    def get(self, pid: str) -> Row | None:
        rows = self._read(f"{_SELECT} WHERE id=?", (pid,))
        return Row.from_db(rows[0]) if rows else None

    def rows(self, cid: str | None = None) -> list[Row]:
        if cid is None:
            found = self._read(f"{_SELECT} ORDER BY scheduled_at, id")
        else:
            found = self._read(f"{_SELECT} WHERE campaign=? ORDER BY scheduled_at, id", (cid,))
        return [Row.from_db(v) for v in found]

    def due(self, until: float, states: tuple[str, ...] = (State.PENDING, State.UNKNOWN)) -> list[Row]:
        """Open publications scheduled at or before ``until``, earliest first."""
        marks = ", ".join("?" * len(states))
        found = self._read(
            f"{_SELECT} WHERE state IN ({marks}) AND scheduled_at <= ? ORDER BY scheduled_at, id",
            (*states, until),
        )
        return [Row.from_db(v) for v in found]

    def due_refs(
        self, until: float, states: tuple[str, ...] = (State.PENDING, State.UNKNOWN)
    ) -> list[DueRef]:
        """``due``, as id, campaign, time and fingerprint only: a window run looks every half second."""
        marks = ", ".join("?" * len(states))
        found = self._read(
            f"SELECT id, campaign, scheduled_at, fingerprint FROM publications WHERE state IN ({marks}) "
            "AND scheduled_at <= ? ORDER BY scheduled_at, id",
            (*states, until),
        )
        return [DueRef(*v) for v in found]

    def get_many(self, ids: list[str]) -> list[Row]:
        """The rows of ``ids`` that exist, earliest first."""
        rows: list[Row] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            found = self._read(f"{_SELECT} WHERE id IN ({', '.join('?' * len(chunk))})", tuple(chunk))
            rows += [Row.from_db(v) for v in found]
        return sorted(rows, key=lambda r: (r.scheduled_at, r.id))

    def earlier_open(self, row: Row) -> list[Row]:
        """Publications of the same campaign, channel and (in a joint week) partner planned before ``row``
        that are not out yet: one partner's held posts never hold another's.

        "Before" is the channel's planned order: by time, and by id between two due at the same moment.
        """
        found = self._read(
            f"{_SELECT} WHERE campaign=? AND channel=? AND (scheduled_at < ? OR scheduled_at = ? AND id < ?) "
            f"AND state IN ({sql_list((State.PENDING, State.UNKNOWN, State.SENDING))}) "
            "ORDER BY scheduled_at, id",
            (row.campaign, row.channel, row.scheduled_at, row.scheduled_at, row.id),
        )
        partner = partner_of(row.id)
        return [r for r in (Row.from_db(v) for v in found) if partner_of(r.id) == partner]

    def next_open(self, after: float) -> float | None:
        found = self._read(
            f"SELECT MIN(scheduled_at) FROM publications WHERE state IN "
            f"({sql_list((State.PENDING, State.UNKNOWN))}) AND scheduled_at > ?",
            (after,),
        )
        return found[0][0] if found and found[0][0] is not None else None

    def counts(self, cid: str | None = None) -> dict[str, int]:
        out = dict.fromkeys([s.value for s in State], 0)
        for r in self.rows(cid):
            out[r.state] += 1
        return out

    # --- transitions (compare-and-set) ------------------------------------------------------------------
    def _cas(
        self, pid: str, from_states: tuple[str, ...], to: str, claimant: str | None = None, **fields: Any
    ) -> bool:
        """Move ``pid`` from one of ``from_states`` to ``to``; with ``claimant``, only while it holds the
        claim (a run fenced out must not undo its successor's claim)."""
        now = time.time()
        sets = ["state=?", "updated_at=?"] + [f"{k}=?" for k in fields]
        marks = ", ".join("?" * len(from_states))
        mine = "" if claimant is None else " AND owner=?"
        return (
            self._write(
                f"UPDATE publications SET {', '.join(sets)} WHERE id=? AND state IN ({marks}){mine}",
                (to, now, *fields.values(), pid, *from_states) + (() if claimant is None else (claimant,)),
            )
            == 1
        )

    def claim(
        self,
        pid: str,
        owner: str | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        from_states: tuple[str, ...] = (State.PENDING,),
        revision: int | None = None,
        fence: Fence | None = None,
    ) -> bool:
        """Take the publication for sending. Exactly one caller wins. With ``revision``, only if no re-plan
        changed it since it was read (the caller rendered that version); with ``fence`` (a window run's
        token), only while no takeover advanced it, and the claim carries it (``ledger/fences.py``)."""
        now = time.time()
        marks = ", ".join("?" * len(from_states))
        same_plan = "" if revision is None else " AND revision=?"
        fenced, guard = self._fence_guard(fence) if fence is not None else ("", ())
        return (
            self._write(
                f"UPDATE publications SET state='{State.SENDING.value}', attempts=attempts+1, owner=?, "
                "lease_until=?, sending_at=?, updated_at=?, fence_start=?, fence_lane=?, fence=? "
                f"WHERE id=? AND state IN ({marks}){same_plan}{fenced}",
                (owner or worker_id(), now + lease_s, now, now, *(fence or (None, None, None)), pid)
                + from_states
                + (() if revision is None else (revision,))
                + guard,
            )
            == 1
        )

    def mark_sent(
        self,
        pid: str,
        remote_id: str,
        url: str | None = None,
        join_url: str | None = None,
        from_states: tuple[str, ...] = (State.SENDING,),
    ) -> bool:
        return self._cas(
            pid,
            from_states,
            State.SENT,
            remote_id=remote_id,
            url=url,
            join_url=join_url,
            sent_at=time.time(),
            lease_until=None,
            error=None,
        )

    def mark_failed(self, pid: str, error: str) -> bool:
        """Give up on a publication; its alert to the operators is recorded in the same transaction."""
        return self._end(pid, (State.SENDING, State.PENDING, State.UNKNOWN), State.FAILED, error)

    def mark_unknown(self, pid: str, error: str = "", claimant: str | None = None) -> bool:
        """sending → unknown (reconciled before it is sent again); with ``claimant``, only its own claim."""
        return self._cas(pid, (State.SENDING,), State.UNKNOWN, claimant, error=error[:2000], lease_until=None)

    def release(self, pid: str, error: str = "", claimant: str | None = None) -> bool:
        """Give a publication back (a retryable failure): sending → pending; with ``claimant``, only its
        own claim."""
        return self._cas(pid, (State.SENDING,), State.PENDING, claimant, error=error[:2000], lease_until=None)

    def mark_skipped(self, pid: str, reason: str) -> bool:
        """Skip a publication that missed its window; its alert is recorded in the same transaction."""
        return self._end(pid, (State.PENDING, State.UNKNOWN), State.SKIPPED, reason)

    def _end(self, pid: str, from_states: tuple[str, ...], to: State, reason: str) -> bool:
        now = time.time()
        marks = ", ".join("?" * len(from_states))
        with self._tx() as cur:
            cur.execute(
                self._q(
                    f"UPDATE publications SET state=?, error=?, lease_until=NULL, updated_at=? "
                    f"WHERE id=? AND state IN ({marks})"
                ),
                (to, reason[:2000], now, pid, *from_states),
            )
            if cur.rowcount != 1:
                return False
            cur.execute(self._q("SELECT connector, account FROM publications WHERE id=?"), (pid,))
            connector = route_label(*cur.fetchone())
            self._add_alert(
                cur, f"{to}:{pid}:{now:.6f}", to, f"[practiceweek] {to}: {pid}", reason, now, pid, connector
            )
        return True

    def recover(self, now: float | None = None, everything: bool = False) -> list[str]:
        """'sending' rows whose worker died (lease over, or ``everything``), or whose claim a takeover
        voided (``void_fenced``: at once, whatever the lease), become 'unknown'."""
        now = time.time() if now is None else now
        out = self.void_fenced()
        rows = self._read("SELECT id, lease_until FROM publications WHERE state=?", (State.SENDING,))
        for pid, lease in rows:
            if (everything or lease is None or lease < now) and self._cas(
                pid, (State.SENDING,), State.UNKNOWN, error="worker stopped while sending; reconciling"
            ):
                out.append(pid)
        return out

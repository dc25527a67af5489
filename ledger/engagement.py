"""Engagement readings: what each provider reported about a sent publication, and when.

Every sent publication gets one row per reading mark (``1h``, ``1d``, ``7d`` after it went out, or after
its meeting ended), due at that time. A reading fills the row with the provider's figures (or the reason
it has none); a refusal or timeout leaves it due, to be tried again at ``retry_at``. Publications are
never touched here, so collection cannot affect publishing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .database import Database
from .states import ReadingState, State

DUE, READ, UNAVAILABLE = ReadingState.DUE, ReadingState.READ, ReadingState.UNAVAILABLE


@dataclass(frozen=True)
class ReadingRow:
    """One reading of one publication: due, read (``figures``) or unavailable (``reason``)."""

    publication: str
    mark: str
    due_at: float
    state: ReadingState
    attempts: int
    retry_at: float | None
    figures: dict[str, int] | None
    reason: str | None
    read_at: float | None
    error: str | None


_COLUMNS = "publication, mark, due_at, state, attempts, retry_at, figures, reason, read_at, error"


def _row(values: tuple[Any, ...]) -> ReadingRow:
    data = dict(zip(_COLUMNS.split(", "), values, strict=True))
    data["figures"] = json.loads(data["figures"]) if data["figures"] else None
    data["state"] = ReadingState(data["state"])
    return ReadingRow(**data)


class EngagementMixin(Database):
    def add_readings(self, publication: str, due: dict[str, float]) -> int:
        """Plan the readings of ``publication`` (mark → due time), once; returns how many were new."""
        added = 0
        with self._tx() as cur:
            for mark, at in due.items():
                cur.execute(self._q("INSERT INTO readings (publication, mark, due_at, state, attempts) "
                                    "VALUES (?, ?, ?, ?, 0) ON CONFLICT DO NOTHING"),
                            (publication, mark, at, DUE))
                added += max(0, cur.rowcount)
        return added

    def unplanned_sent(self) -> list[str]:
        """Ids of sent publications that have no readings planned yet."""
        rows = self._read("SELECT p.id FROM publications p WHERE p.state=? AND p.remote_id IS NOT NULL "
                          "AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.publication = p.id) "
                          "ORDER BY p.id", (State.SENT,))
        return [r[0] for r in rows]

    def due_readings(self, now: float | None = None) -> list[ReadingRow]:
        """Readings due by ``now`` and not waiting for a retry, earliest first."""
        now = time.time() if now is None else now
        rows = self._read(f"SELECT {_COLUMNS} FROM readings WHERE state=? AND due_at <= ? "
                          "AND (retry_at IS NULL OR retry_at <= ?) ORDER BY due_at, publication, mark",
                          (DUE, now, now))
        return [_row(r) for r in rows]

    def next_reading_times(self, after: float) -> list[float]:
        """When readings still to be taken are due (or retried), after ``after``, earliest first."""
        rows = self._read("SELECT DISTINCT COALESCE(retry_at, due_at) AS at FROM readings WHERE state=? "
                          "AND COALESCE(retry_at, due_at) > ? ORDER BY at", (DUE, after))
        return [float(r[0]) for r in rows]

    def record_reading(self, publication: str, mark: str, figures: dict[str, int] | None,
                       reason: str | None = None, at: float | None = None) -> None:
        """Store what the provider reported (``figures``), or why it cannot (``reason``), taken at ``at``."""
        state = READ if figures is not None else UNAVAILABLE
        self._write("UPDATE readings SET state=?, figures=?, reason=?, read_at=?, attempts=attempts+1, "
                    "retry_at=NULL, error=NULL WHERE publication=? AND mark=?",
                    (state, json.dumps(figures) if figures is not None else None, reason,
                     time.time() if at is None else at, publication, mark))

    def reading_failed(self, publication: str, mark: str, error: str, retry_at: float) -> None:
        """The provider refused or did not answer: try again at ``retry_at``."""
        self._write("UPDATE readings SET attempts=attempts+1, error=?, retry_at=? "
                    "WHERE publication=? AND mark=? AND state=?",
                    (error[:2000], retry_at, publication, mark, DUE))

    def readings(self, campaign: str | None = None) -> list[ReadingRow]:
        """Every reading (of one campaign's publications), by publication and due time."""
        where, args = ("", ()) if campaign is None else (
            " WHERE publication IN (SELECT id FROM publications WHERE campaign=?)", (campaign,))
        rows = self._read(f"SELECT {_COLUMNS} FROM readings{where} ORDER BY publication, due_at", args)
        return [_row(r) for r in rows]

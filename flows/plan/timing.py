"""How window runs are timed (the tunable parts are settings: ``PRACTICEWEEK_WINDOW_S`` and others), and in
which order a window submits what is due at one moment."""

from __future__ import annotations

import time
import zlib

from ledger import Row

REHEARSAL_S = 60.0  # a rehearsed week plays out in about this long
REHEARSAL_FLOOR_S = 120.0  # smallest missed window in a rehearsal (covers a restart)


def window_of(ts: float, window_s: float) -> float:
    """The start of the window of ``window_s`` seconds that ``ts`` falls in."""
    return ts - ts % window_s


def lane_of(campaign: str, lanes: int) -> int:
    """Which of a window's ``lanes`` publishes ``campaign`` (a campaign stays in one lane: what its
    publications link to goes out in the same run)."""
    return zlib.crc32(campaign.encode()) % max(1, lanes)


def lanes_for(count: int, most: int, size: int) -> int:
    """Lanes for a window of ``count`` publications: one per ``size``, at least 1, at most ``most``."""
    return max(1, min(most, -(-count // max(1, size))))


def wait_before_retry(seconds: float) -> None:
    """Wait the delay the provider asked for (or the back-off) before a publication's next attempt."""
    time.sleep(max(0.0, seconds))


def dependencies_first(rows: list[Row]) -> list[Row]:
    """``rows`` in time order, and at the same moment what others link to first (a week page before the
    posts that link to it, a poster before the email that carries it)."""
    by_id = {r.id: r for r in rows}
    depth: dict[str, int] = {}

    def depth_of(row: Row, seen: frozenset[str]) -> int:
        if row.id not in depth:
            deps = [by_id[d] for d in row.depends_on if d in by_id and d not in seen]
            depth[row.id] = 1 + max((depth_of(d, seen | {row.id}) for d in deps), default=-1)
        return depth[row.id]

    return sorted(rows, key=lambda r: (r.scheduled_at, depth_of(r, frozenset()), r.id))

"""How window runs are timed (the tunable parts are settings: ``PRACTICEWEEK_WINDOW_S`` and others)."""

from __future__ import annotations

import time
import zlib

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

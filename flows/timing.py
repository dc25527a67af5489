"""How window runs are timed (the tunable parts are settings: ``PRACTICEWEEK_WINDOW_S`` and others)."""

from __future__ import annotations

import time

REHEARSAL_S = 60.0  # a rehearsed week plays out in about this long
REHEARSAL_FLOOR_S = 120.0  # smallest missed window in a rehearsal (covers a restart)


def window_of(ts: float, window_s: float) -> float:
    """The start of the window of ``window_s`` seconds that ``ts`` falls in."""
    return ts - ts % window_s


def wait_before_retry(seconds: float) -> None:
    """Wait the delay the provider asked for (or the back-off) before a publication's next attempt."""
    time.sleep(max(0.0, seconds))

"""How window runs are timed. Read from the environment when this module is first imported."""

from __future__ import annotations

import os

WINDOW_S = float(os.environ.get("PRACTICEWEEK_WINDOW_S", "60"))  # one publish_window run per window
LEAD_S = float(os.environ.get("PRACTICEWEEK_LEAD_S", "20"))  # window runs are scheduled this much earlier
PREPARE_S = float(os.environ.get("PRACTICEWEEK_PREPARE_S", "60"))  # render this far ahead of the due time
# a run takes over an earlier window's publication once it is this late (its own run is lost or crashed)
HEAL_S = float(os.environ.get("PRACTICEWEEK_HEAL_S", "5"))
SUBMIT_AHEAD_S = float(os.environ.get("PRACTICEWEEK_SUBMIT_AHEAD_S", "2"))  # tasks start early, send on time
RECORD_LIMIT = int(os.environ.get("PRACTICEWEEK_RECORD_LIMIT", "100"))  # per-item artifacts up to this many
MAX_ATTEMPTS = int(os.environ.get("PRACTICEWEEK_MAX_ATTEMPTS", "8"))
REHEARSAL_S = 60.0  # a rehearsed week plays out in about this long
REHEARSAL_FLOOR_S = 120.0  # smallest missed window in a rehearsal (covers a restart)


def window_of(ts: float) -> float:
    """The start of the window ``ts`` falls in."""
    return ts - ts % WINDOW_S

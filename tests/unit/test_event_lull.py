"""In a burst, a window run's events wait for a lull in its sends, never longer than ``HOLD_S`` (issue 28):
the sends get the interpreter first; the events follow with the time they happened."""

from __future__ import annotations

import pytest

from flows.runtime.events import HOLD_S, LULL_S, hold_for

pytestmark = pytest.mark.unit

T = 1000.0  # the moment an event was emitted


@pytest.mark.parametrize(
    ("now", "last_emitted", "wait"),
    [
        (T, T, LULL_S),  # just emitted, the only one: it waits one lull
        (T + LULL_S, T, 0.0),  # a lull: handed over now
        (T + 1.0, T + 0.9, LULL_S - 0.1),  # others still being emitted (a burst): it waits
        (T + HOLD_S - 0.05, T + HOLD_S - 0.01, 0.05),  # a long burst: it waits only to HOLD_S …
        (T + HOLD_S, T + HOLD_S, 0.0),  # … and then goes, burst or not
        (T + 60.0, T + 1.0, 0.0),  # long after: at once
    ],
)
def test_an_event_waits_for_a_lull_at_most_hold_s(now: float, last_emitted: float, wait: float) -> None:
    assert hold_for(now, last_emitted, T) == pytest.approx(wait)

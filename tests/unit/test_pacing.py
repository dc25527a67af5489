"""Pacing to a provider's limit: never above it in any window, bursts up to it, limits set per connector."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.base import PermanentError
from connectors.pacing import TokenBucket, margin
from connectors.registry import get_connector, rate_limit


def _most_in(stamps: list[float], width: float) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_the_in_process_pacer_allows_a_burst_then_never_exceeds_the_limit_in_any_window() -> None:
    bucket = TokenBucket(5, 0.4)
    stamps: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        for _ in range(4):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    assert len(stamps) == 20
    assert stamps[4] - stamps[0] < 0.2  # the first five at once
    assert _most_in(stamps, 0.4) == 5  # then never more than five in any 0.4 s
    assert stamps[-1] - stamps[0] < 4 * (0.4 + margin(0.4)) + 0.3  # and no slower than the limit needs


def test_a_connectors_limit_can_be_lowered_and_a_bad_setting_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("PRACTICEWEEK_RATE_LIMIT_OUTBOX", "17/86400")
    assert rate_limit("outbox") == (17, 86400.0)
    conn = get_connector("outbox", folder=str(tmp_path))
    assert (conn.requests_per_interval, conn.interval_seconds) == (17, 86400.0)
    assert type(conn).requests_per_interval is None  # the class keeps the provider's declared limit
    monkeypatch.setenv("PRACTICEWEEK_RATE_LIMIT_OUTBOX", "lots")
    with pytest.raises(PermanentError, match=r"RATE_LIMIT_OUTBOX='lots': expected REQUESTS/SECONDS"):
        rate_limit("outbox")

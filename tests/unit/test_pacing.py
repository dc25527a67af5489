"""Pacing to a provider's limit: never above it in any window, bursts up to it, limits set per connector."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from connectors.base import PermanentError
from connectors.pacing import TokenBucket, margin, paced
from connectors.registry import get_connector, rate_limit
from flows.runtime.ratelimit import LedgerPacer
from ledger import Ledger, pacers


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


def test_a_write_that_arrives_late_holds_its_slot_until_its_answer(tmp_path: Path) -> None:
    """The provider counts a request when it arrives. On a loaded machine one request can arrive seconds
    after its slot (its process descheduled) and the next at once: counted from their slots, the limit
    held; counted where the provider counts, there was one too many (4 Bluesky posts in 5 s at load 20-70).
    A held slot counts until its request's answer, so the next one waits for that."""
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    pacer = LedgerPacer("bluesky:acct", 3, 1.0, ledger_of=lambda: led)
    arrived: list[float] = []
    lock = threading.Lock()

    def post(late_s: float) -> None:
        with paced(pacer):
            time.sleep(late_s)  # between the slot and its arrival: a loaded machine
            with lock:
                arrived.append(time.time())  # the provider counts it here

    threads = []
    for late_s in (0.6, 0.0, 0.0, 0.0):  # the first one arrives late; the fourth waits for a slot
        threads.append(threading.Thread(target=post, args=(late_s,)))
        threads[-1].start()
        time.sleep(0.15)
    for t in threads:
        t.join(timeout=30)
    assert len(arrived) == 4
    assert _most_in(arrived, 1.0) == 3, sorted(b - arrived[0] for b in arrived)  # never 4 in any 1 s


def test_a_caller_frozen_before_or_during_its_request_holds_the_pacer_no_longer_than_its_slot_or_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slot reserved and never confirmed (its caller froze before going) counts at its time only; one
    confirmed and held whose request never said it ended (its process died mid-request) counts until
    ``IN_FLIGHT_S`` after it went, not for ever."""
    in_flight_s = 2.5  # longer than this machine's stalls under a loaded suite (over 1 s seen)
    monkeypatch.setattr(pacers, "IN_FLIGHT_S", in_flight_s)
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    led.reserve_slot("x:acct", 1, 0.3)  # its caller froze: never confirmed
    time.sleep(0.35)
    going, at = led.reserve_slot("x:acct", 1, 0.3)
    assert at <= time.time() and led.confirm_slot("x:acct", going, 1, 0.3, hold=True)[0]  # and never ends
    went = time.time()
    stuck, at = led.reserve_slot("x:acct", 1, 0.3)
    time.sleep(max(0.0, at - time.time()))
    assert not led.confirm_slot("x:acct", stuck, 1, 0.3)[0]  # the one in flight may not have arrived yet
    time.sleep(max(0.0, went + in_flight_s + 0.3 + 0.1 - time.time()))  # its cap, then one window
    assert led.confirm_slot("x:acct", stuck, 1, 0.3)[0]  # its cap has passed

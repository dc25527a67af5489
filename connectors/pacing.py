"""Client-side pacing of provider requests: a token bucket per (connector, endpoint, account) and limit,
or a factory shared by every worker (the flows install the ledger's)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from .ids import digest


def margin(per: float) -> float:
    """Added to a provider's window: absorbs the jitter between a request's slot and its arrival."""
    return max(0.02 * per, 0.1)


class TokenBucket:
    """Thread-safe sliding-window pacing within one process: at most ``rate`` requests in any ``per``
    seconds (plus a small margin), bursts allowed up to the limit, queued requests released as the oldest
    leave the window - so a backlog drains at the provider's full rate and is never above it."""

    def __init__(self, rate: int, per: float) -> None:
        self.rate = rate
        self.window = per + margin(per)
        self._lock = threading.Lock()
        self._slots: deque[float] = deque(maxlen=rate)  # monotonic times of the last ``rate`` slots

    def acquire(self, hold: bool = False) -> float:
        """Block until this caller's slot; return how long it waited. (``hold`` is for the shared pacer,
        which keeps a write request's slot until its answer; within one process slots count from their
        start.)"""
        with self._lock:
            now = time.monotonic()
            start = now if len(self._slots) < self.rate else max(now, self._slots[0] + self.window)
            self._slots.append(start)
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)

    def done(self) -> None:
        """Nothing to do within one process (see :meth:`acquire`)."""


class Bucket(Protocol):
    def acquire(self, hold: bool = False) -> float: ...

    def done(self) -> None: ...


@contextmanager
def paced(bucket: Bucket | None) -> Iterator[None]:
    """Send one write request inside: wait for ``bucket``'s slot (no limit: no wait), and hold the slot
    until the request has its answer or failed. The provider counts the request when it arrives, at some
    point between the two: on a loaded machine that can be seconds after the slot, so the shared pacer
    counts the next one from this one's end (``ledger/pacers.py``)."""
    if bucket is None:
        yield
        return
    bucket.acquire(hold=True)
    try:
        yield
    finally:
        bucket.done()


BucketFactory = Callable[[str, int, float], Bucket]
_BUCKETS: dict[tuple[str, ...], Bucket] = {}
_BUCKETS_LOCK = threading.Lock()
_factory: BucketFactory | None = None


def use_shared_pacing(factory: BucketFactory | None) -> None:
    """Pace through ``factory(key, rate, per)`` from now on, e.g. one shared by every worker (the flows
    install the ledger's); None goes back to pacing within this process."""
    global _factory
    with _BUCKETS_LOCK:
        _factory = factory
        _BUCKETS.clear()


def shared_bucket(key: tuple[str, ...], rate: int | None, per: float) -> Bucket | None:
    """The pacer of one (connector, endpoint, account) and limit: shared by every connector instance in
    the process, and by every process when a shared factory is installed."""
    if not rate:
        return None
    full_key = (*key, str(rate), str(per))
    with _BUCKETS_LOCK:
        if full_key not in _BUCKETS:
            name = f"{key[0]}:{digest('|'.join(full_key), 24)}"
            _BUCKETS[full_key] = _factory(name, rate, per) if _factory else TokenBucket(rate, per)
        return _BUCKETS[full_key]

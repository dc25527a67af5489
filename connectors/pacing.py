"""Client-side pacing of provider requests: a token bucket per (connector, endpoint, account) and limit,
or a factory shared by every worker (the flows install the ledger's)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
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

    def acquire(self) -> float:
        """Block until this caller's slot; return how long it waited."""
        with self._lock:
            now = time.monotonic()
            start = now if len(self._slots) < self.rate else max(now, self._slots[0] + self.window)
            self._slots.append(start)
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)


class Bucket(Protocol):
    def acquire(self) -> float: ...


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

"""Provider rate limits shared by every worker, through Prefect global concurrency limits.

Acquiring one slot per call polls the server and reaches only a third of the allowed rate, so each
process takes a *batch* of slots per acquisition (``rate_limit(name, occupy=batch, strict=True)``) and
hands them out locally, spaced at the provider's rate. The global limit holds two batches and decays at
the provider's rate: across all workers at most ``2 × batch + rate × t`` calls happen in ``t`` seconds,
and a single busy worker runs at the full rate because the next batch is free by the time it needs it.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    name: str
    rate: float  # calls per second
    batch: int  # slots taken per acquisition

    @property
    def slots(self) -> int:
        return 2 * self.batch


def limit_for(
    connector_name: str, requests_per_interval: int | None, interval_seconds: float
) -> Limit | None:
    """The global limit of a provider, or None when it has no rate limit."""
    if not requests_per_interval:
        return None
    rate = requests_per_interval / max(interval_seconds, 1e-3)
    batch = max(1, min(math.ceil(rate), max(1, requests_per_interval // 2)))
    return Limit(f"practiceweek-rate-{connector_name}", rate, batch)


def ensure_limits(limits: list[Limit]) -> None:
    """Create (or correct) the global concurrency limits on the Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        for lim in limits:
            try:
                have = client.read_global_concurrency_limit_by_name(lim.name)
            except ObjectNotFound:
                have = None
            if have is None:
                try:
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(
                            name=lim.name, limit=lim.slots, slot_decay_per_second=lim.rate
                        )
                    )
                except ObjectAlreadyExists:  # another schedule run created it first: same values
                    pass
            elif have.limit != lim.slots or abs((have.slot_decay_per_second or 0) - lim.rate) > 1e-9:
                client.update_global_concurrency_limit(
                    lim.name, GlobalConcurrencyLimitUpdate(limit=lim.slots, slot_decay_per_second=lim.rate)
                )


class Pacer:
    """Hands out one call at a time at ``limit.rate``, taking slots from the global limit in batches."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._tokens = 0
        self._next = 0.0

    def acquire(self) -> float:
        """Block until this caller may make one call; return how long it waited."""
        from prefect.concurrency.sync import rate_limit

        start = time.monotonic()
        with self._lock:
            if self._tokens == 0:
                rate_limit(self.limit.name, occupy=self.limit.batch, strict=True)
                self._tokens = self.limit.batch
            self._tokens -= 1
            at = max(time.monotonic(), self._next)
            self._next = at + 1.0 / self.limit.rate
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return time.monotonic() - start


_pacers: dict[str, Pacer] = {}
_pacers_lock = threading.Lock()


def pacer(limit: Limit) -> Pacer:
    with _pacers_lock:
        if limit.name not in _pacers:
            _pacers[limit.name] = Pacer(limit)
        return _pacers[limit.name]

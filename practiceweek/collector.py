"""Cyclic garbage collection on a thread of its own, never on an event loop's thread.

Prefect's server on SQLite runs its event loop in the main thread and each aiosqlite connection in a
worker thread. A garbage collection finalizes the SQLite statements that only a reference cycle still
held, and finalizing one waits for its connection's mutex. When that connection's worker is meanwhile
waiting (``PRAGMA busy_timeout``: 60 s in Prefect) for the write lock of a transaction that only the event
loop can finish, a collection run by the event loop's thread stops the whole server until the timeout runs
out (``bench/sqlite_gc_stall.py`` shows it). Run on a thread of its own, the collection waits alone: the
loop carries on, finishes that transaction, and the wait ends.

``collect_on_own_thread`` switches automatic collection off for the process and collects every
``INTERVAL_S`` instead: the young generation each time, the middle one every ``OLDER_EVERY``-th time and all
three every ``OLDER_EVERY ** 2``-th (as CPython's own thresholds step up). Only cyclic garbage waits for it;
everything else is still freed the moment nothing refers to it.
"""

from __future__ import annotations

import gc
import threading
import time

INTERVAL_S = 1.0
OLDER_EVERY = 10
THREAD_NAME = "gc-collector"


def collect_on_own_thread(interval_s: float = INTERVAL_S) -> threading.Thread:
    """Switch automatic collection off and collect on a daemon thread (``THREAD_NAME``) from now on."""
    gc.disable()
    thread = threading.Thread(target=_collect_forever, args=(interval_s,), name=THREAD_NAME, daemon=True)
    thread.start()
    return thread


def _collect_forever(interval_s: float) -> None:
    collections = 0
    while True:
        time.sleep(interval_s)
        collections += 1
        gc.collect(generation_for(collections))


def generation_for(collections: int) -> int:
    """The oldest generation the ``collections``-th collection takes (0, 1 or 2)."""
    if collections % OLDER_EVERY**2 == 0:
        return 2
    return 1 if collections % OLDER_EVERY == 0 else 0

"""Garbage collected on a thread of its own (``practiceweek.collector``) leaves the event loop's thread free
when a collection waits for a SQLite connection: the stall of ``bench/sqlite_gc_stall.py``, in a fresh
Python process (collection is switched off for the whole process), with real ``sqlite3`` connections.

Connection A (held by the main thread, as the event loop holds Prefect's transactions) has the write lock
(set up by the bench's ``locked``); B's worker thread waits for it; a statement of B's is held by a
reference cycle alone. Collected in the main thread, the collection waits for B, so A is never committed and
B gives up: the failure this prevents.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from practiceweek import collector
from tests.helpers import ROOT

SCENARIO = r"""
import gc, json, sqlite3, sys, threading, time, weakref
from practiceweek.collector import collect_on_own_thread
sys.path.insert(0, "bench")
from sqlite_gc_stall import locked

where, busy_ms = sys.argv[1], int(sys.argv[2])
gc.disable()  # no automatic collection before the one each case makes
a, b = locked(busy_ms / 1000)  # A holds the write lock

class Marker:
    pass

seen = []  # what happened, in order, and on which thread
marker = Marker()
weakref.finalize(marker, lambda: seen.append(("collected B's cycle", threading.current_thread().name)))
cycle = [b.execute("SELECT 1"), marker]
cycle.append(cycle)
del marker

waited_from = []  # when B began to wait for A's write lock (time.monotonic)

def insert():
    try:
        waited_from.append(time.monotonic())
        b.execute("INSERT INTO t VALUES (2)")
        seen.append(("B inserted", threading.current_thread().name))
    except sqlite3.OperationalError as exc:
        seen.append((f"B: {exc}", threading.current_thread().name))

worker = threading.Thread(target=insert, name="B's worker")
worker.start()
time.sleep(0.3)  # B waits for A's write lock
collecting = threading.Event()
gc.callbacks.append(lambda phase, info: collecting.set() if phase == "start" else None)
del cycle
if where == "own-thread":
    collect_on_own_thread(interval_s=0.01)
    collecting.wait(30)
    time.sleep(0.2)  # the collection is waiting for B by now
else:
    gc.collect()  # what automatic collection does on whatever thread allocates
    # the collection ended this long after B began to wait: B gives up only once its busy timeout has run
    # out, and its record of that may follow A's below (B's thread needs the GIL back to write it)
    seen.append(("collection ended after B waited (s)", round(time.monotonic() - waited_from[0], 3)))
seen.append(("A committed", threading.current_thread().name))
a.execute("COMMIT")
worker.join()
deadline = time.time() + 30
while not any(what == "collected B's cycle" for what, _ in seen) and time.time() < deadline:
    time.sleep(0.01)
print(json.dumps(seen))
"""


def _run(where: str, busy_ms: int) -> list[list[str]]:
    done = subprocess.run([sys.executable, "-c", SCENARIO, where, str(busy_ms)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_collection_on_its_own_thread_leaves_the_loops_thread_free_to_commit() -> None:
    seen = _run("own-thread", busy_ms=60_000)  # Prefect's busy timeout: a stuck main thread would show
    assert ["A committed", "MainThread"] in seen, seen
    assert ["B inserted", "B's worker"] in seen, seen  # A committed while the collection waited for B
    assert ["collected B's cycle", collector.THREAD_NAME] in seen, seen
    assert seen.index(["A committed", "MainThread"]) < seen.index(["B inserted", "B's worker"]), seen


def test_the_same_collection_on_the_loops_thread_holds_it_until_b_gives_up() -> None:
    """What the collector's thread prevents (a collection in the main thread, as Prefect's server had)."""
    seen = _run("main-thread", busy_ms=1_000)
    assert ["collected B's cycle", "MainThread"] in seen, seen
    assert ["B: database is locked", "B's worker"] in seen, seen
    assert ["A committed", "MainThread"] in seen, seen
    (waited,) = [s for what, s in seen if what == "collection ended after B waited (s)"]
    assert waited >= 1.0 - 0.05, seen  # the collection held the main thread, so A, until B gave up


@pytest.mark.parametrize(("collections", "generation"), [(1, 0), (9, 0), (10, 1), (20, 1), (99, 0), (100, 2),
                                                         (200, 2), (210, 1)])
def test_older_generations_are_collected_less_often(collections: int, generation: int) -> None:
    assert collector.generation_for(collections) == generation

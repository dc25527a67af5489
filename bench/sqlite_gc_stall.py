"""Why practiceweek's Prefect servers on SQLite collect garbage on a thread of their own
(``practiceweek.collector``; the tests' servers collect none, ``tests/server_zygote.py``).

Prefect's server on SQLite runs each aiosqlite connection in a worker thread and its event loop in the
main thread. A statement of connection B that only a reference cycle still holds is finalized by whichever
thread the garbage collector runs in, and finalizing it waits for B's mutex. If B's worker thread is
meanwhile inside a statement waiting (``PRAGMA busy_timeout``) for the write lock that connection A holds,
the collecting thread waits with it. In the server the collecting thread is the event loop's, and only the
event loop can finish A's transaction: the server answers nothing until B's busy timeout (60 s) runs out.

This script shows the wait with plain ``sqlite3`` and threads, A's transaction held open meanwhile, the
collection run by the thread that must finish A (as automatic collection does in the server), then by a
thread of its own (as ``collect_on_own_thread`` does): there the first thread commits A at once and B's
insert goes through.

    .venv/bin/python bench/sqlite_gc_stall.py [--busy-timeout 4]
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import tempfile
import threading
import time
from pathlib import Path


def locked(busy_timeout_s: float) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    """Connections A and B to a new database (WAL, as Prefect's), A holding the write lock in a transaction
    it has written to, B waiting for a lock at most ``busy_timeout_s`` (tests/integration/test_collector.py
    sets the stall up with this too)."""
    path = Path(tempfile.mkdtemp()) / "stall.sqlite3"
    holder = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("CREATE TABLE t (x)")
    waiter = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=0)
    waiter.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    return holder, waiter


def stall(busy_timeout_s: float, own_thread: bool) -> tuple[float, float, str]:
    """A garbage collection finalizes a statement of B's while B waits for A's write lock, run in this
    thread (A's: the event loop's) or (``own_thread``) on another: seconds until this thread committed A,
    seconds until the collection ended, and how B's insert ended."""
    holder, waiter = locked(busy_timeout_s)
    cycle: list[object] = [waiter.execute("SELECT 1")]  # a statement of B's, soon held by a cycle alone
    cycle.append(cycle)
    ended: list[str] = []

    def insert() -> None:  # B's worker: waits for A's write lock
        try:
            waiter.execute("INSERT INTO t VALUES (2)")
            ended.append("inserted")
        except sqlite3.OperationalError as exc:
            ended.append(str(exc))

    worker = threading.Thread(target=insert)
    worker.start()
    time.sleep(0.3)  # B is inside its insert, waiting
    del cycle
    collected: list[float] = []

    def collect() -> None:
        gc.collect()
        collected.append(time.monotonic() - started)

    started = time.monotonic()
    if own_thread:
        threading.Thread(target=collect).start()
        time.sleep(0.05)  # the other thread's collection is under way, waiting for B's statement
    else:
        collect()  # as the server's event loop does, at any allocation
    holder.execute("COMMIT")
    committed = time.monotonic() - started
    worker.join()
    while not collected:
        time.sleep(0.01)
    return committed, collected[0], ended[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy-timeout", type=float, default=4.0, help="B's busy timeout, seconds")
    args = parser.parse_args()
    for own_thread, where in ((False, "in the thread holding A"), (True, "on a thread of its own")):
        committed, collected, ended = stall(args.busy_timeout, own_thread)
        print(f"busy timeout {args.busy_timeout:.1f} s, collected {where}: A committed after "
              f"{committed:.2f} s, the collection ended after {collected:.2f} s (B's insert: {ended})")
    print(f"reproduce: .venv/bin/python bench/sqlite_gc_stall.py --busy-timeout {args.busy_timeout:g}")


if __name__ == "__main__":
    main()

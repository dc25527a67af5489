"""Why the tests' Prefect servers run without cyclic garbage collection (tests/server_zygote.py).

Prefect's server on SQLite runs each aiosqlite connection in a worker thread and its event loop in the
main thread. A statement of connection B that only a reference cycle still holds is finalized by whichever
thread the garbage collector runs in, and finalizing it waits for B's mutex. If B's worker thread is
meanwhile inside a statement waiting (``PRAGMA busy_timeout``) for the write lock that connection A holds,
the collecting thread waits with it. In the server the collecting thread is the event loop's, and only the
event loop can finish A's transaction: the server answers nothing until B's busy timeout (60 s) runs out.

This script shows the wait with plain ``sqlite3`` and threads, A's transaction held open meanwhile:

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


def stall(busy_timeout_s: float) -> tuple[float, str]:
    """Seconds a garbage collection in this thread waits for B's cursor, and how B's insert ended."""
    path = Path(tempfile.mkdtemp()) / "stall.sqlite3"
    holder = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("CREATE TABLE t (x)")
    waiter = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=0)
    waiter.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    cycle: list[object] = [waiter.execute("SELECT 1")]  # a statement of B's, soon held by a cycle alone
    cycle.append(cycle)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")  # A holds the write lock
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
    started = time.monotonic()
    gc.collect()  # as the server's event loop would, at any allocation
    waited = time.monotonic() - started
    worker.join()
    holder.execute("COMMIT")
    return waited, ended[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy-timeout", type=float, default=4.0, help="B's busy timeout, seconds")
    args = parser.parse_args()
    waited, ended = stall(args.busy_timeout)
    print(f"busy timeout {args.busy_timeout:.1f} s: the garbage collection waited {waited:.1f} s "
          f"(B's insert: {ended})")
    print(f"reproduce: .venv/bin/python bench/sqlite_gc_stall.py --busy-timeout {args.busy_timeout:g}")


if __name__ == "__main__":
    main()

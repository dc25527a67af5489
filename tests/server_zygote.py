"""Start Prefect servers by forking one process that has already imported the server.

``prefect server start`` spends most of its start importing Prefect's server (about 6 CPU seconds of 7,
with a migrated database); a test suite that gives every test a server of its own pays that ~90 times on
2 cores. This process imports it once, then, for each line ``HOME`` read on stdin, binds a listening
socket on a free port of 127.0.0.1 and forks a child that becomes the server on that socket, as
``prefect server start --host 127.0.0.1 --port PORT`` would run with ``server_env(HOME, PORT)`` in its
environment, and answers ``PID PORT`` on stdout. The port is held from the moment it is chosen, so no other
process can take it between its choice and the server's start (two servers on one port would be one
server answering two tests). The child is a session leader (so its whole group can be stopped at once)
writing to ``HOME/server.log``, and is killed when the zygote ends, which it does when its stdin closes (so
a pytest killed mid-run leaves no server behind, paused or not). Ended children are reaped at once.

    python tests/server_zygote.py      # then write "/tmp/home" lines to it
"""

from __future__ import annotations

import asyncio
import ctypes
import faulthandler
import gc
import os
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1  # prctl: the signal a process gets when its parent ends
STALL_S = 5.0  # how long the event loop may take to run a dump of its tasks
# a server started on a copy of a database that a server already migrated and filled with Prefect's built-in
# block types skips redoing both (0.6 of the 1.6-2.0 CPU s a server took to start)
ALREADY_SET_UP = {"PREFECT_API_DATABASE_MIGRATE_ON_START": "false",
                  "PREFECT_API_BLOCKS_REGISTER_ON_START": "false"}


def become_server(home: Path, listening: socket.socket) -> None:
    """In a fresh child: take the server's environment and settings, then serve on ``listening`` until
    stopped (what ``prefect server start`` runs: Prefect's ``_run_in_foreground`` with one worker, given a
    socket rather than a port to bind)."""
    import prefect.context
    import uvicorn
    from prefect.server.api.server import create_app
    from prefect.settings import temporary_settings

    from flows.runtime.embedded import server_env

    # ends with the zygote, so with pytest; SIGKILL, as a paused spare (tests/prefect_servers.py) would
    # only act on SIGTERM once continued
    ctypes.CDLL("libc.so.6").prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setsid()
    os.chdir(home)
    log = os.open(home / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    stacks = open(home / "stacks.txt", "a")  # open while the server lives
    faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=True)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # No cyclic garbage collection in a test server. Run on the event loop's thread, it finalizes SQLite
    # statements of Prefect's aiosqlite connections there, and finalizing one waits for its connection's
    # mutex. When that connection's worker thread is meanwhile waiting (PRAGMA busy_timeout: 60 s) for the
    # write lock held by a transaction only the event loop can finish, the server answers nothing for 60 s:
    # about once in 500 servers, its stacks showing the main thread "Garbage-collecting" and an aiosqlite
    # worker inside a statement. A test server lives for one test: what it would collect waits till then.
    gc.disable()
    os.environ.update(server_env(home, listening.getsockname()[1]))
    if (home / "prefect.db").exists():  # a copy of the first server's database (tests/prefect_servers.py)
        os.environ.update(ALREADY_SET_UP)
    prefect.context.refresh_global_settings_context()  # the settings read at import were the zygote's
    settings = prefect.context.get_settings_context().settings.server
    with temporary_settings(server_settings(settings)):
        config = uvicorn.Config(
            app=create_app(final=True, webserver_only=False),
            timeout_keep_alive=settings.api.keepalive_timeout,
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            log_level="warning",
        )
        asyncio.run(serve_watched(uvicorn.Server(config), listening, home))


async def serve_watched(server: Any, listening: socket.socket, home: Path) -> None:
    """Serve on ``listening`` with a thread watching this event loop (``watch_loop``)."""
    loop = asyncio.get_running_loop()
    threading.Thread(target=watch_loop, args=(loop, home), name="loop-watch", daemon=True).start()
    await server.serve(sockets=[listening])


def watch_loop(loop: asyncio.AbstractEventLoop, home: Path) -> None:
    """Each time the file ``HOME/dump-stacks`` appears (the tests ask so when a server did not answer),
    write the loop's tasks and where each waits to ``HOME/stacks.txt``. (Every thread's stack is written
    there on SIGUSR1, by ``faulthandler``, even when no thread can run Python.)"""
    request = home / "dump-stacks"
    with open(home / "stacks.txt", "a") as out:
        while not loop.is_closed():
            if request.exists():
                _dump(out, "asked", loop)
                request.unlink()
            time.sleep(1.0)


def _dump(out: TextIO, why: str, loop: asyncio.AbstractEventLoop) -> None:
    out.write(f"\n=== {time.strftime('%H:%M:%S')} {why}: the event loop's tasks ===\n")
    out.flush()
    done = threading.Event()
    loop.call_soon_threadsafe(_dump_tasks, out, done)
    if not done.wait(STALL_S):
        out.write(f"(the event loop did not run the dump of its tasks within {STALL_S:.0f} s)\n")
    out.flush()


def _dump_tasks(out: TextIO, done: threading.Event) -> None:
    """On the loop: each task and where it waits."""
    for task in asyncio.all_tasks():
        out.write(f"--- {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=12, file=out)
    done.set()


def server_settings(server: Any) -> dict[Any, str]:
    """The settings ``prefect server start`` applies while it serves (``prefect/cli/server.py``), from
    ``server``: Prefect's server settings."""
    import prefect.settings

    values = {
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": str(server.services.scheduler.enabled),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "False",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": str(server.services.late_runs.enabled),
        "PREFECT_SERVER_UI_ENABLED": str(server.ui.enabled),
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    }
    return {getattr(prefect.settings, key): value for key, value in values.items()}


def listening_socket() -> socket.socket:
    """A socket listening on a free port of 127.0.0.1 (the port is ours from this moment)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import prefect.server.api.server  # noqa: F401 - the costly part: imported once, shared by every fork
    import uvicorn  # noqa: F401

    assert threading.active_count() == 1, "forking is only safe with no other thread running"
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # ended servers are reaped by the kernel
    print("ready", flush=True)
    for line in sys.stdin:
        listening = listening_socket()
        pid = os.fork()
        if pid == 0:
            try:
                become_server(Path(line.strip()), listening)
            except Exception:  # noqa: BLE001 - whatever stopped it is written to its log
                traceback.print_exc()  # into the server's log, for wait_ready's message
                os._exit(1)
            os._exit(0)
        print(pid, listening.getsockname()[1], flush=True)
        listening.close()  # the child holds it now


if __name__ == "__main__":
    main()

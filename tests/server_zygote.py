"""Start Prefect servers by forking one process that has already imported the server.

``prefect server start`` spends most of its start importing Prefect's server (about 6 CPU seconds of 7,
with a migrated database); a test suite that gives every test a server of its own pays that ~90 times on
2 cores. This process imports it once, then, for each line ``HOME PORT`` read on stdin, forks a child that
becomes that server, exactly as ``prefect server start --host 127.0.0.1 --port PORT`` would run with
``server_env(HOME, PORT)`` in its environment, and answers the child's pid on stdout. The child is a
session leader (so its whole group can be stopped at once) writing to ``HOME/server.log``. Ended children
are reaped at once; the process exits when stdin closes.

    python tests/server_zygote.py      # then write "/tmp/home 4321" lines to it
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def become_server(home: Path, port: int) -> None:
    """In a fresh child: take the server's environment and settings, then serve until stopped."""
    import prefect.context
    from prefect.cli._server_utils import _run_in_foreground
    from rich.console import Console

    from flows.runtime.embedded import server_env

    os.setsid()
    os.chdir(home)
    log = os.open(home / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.update(server_env(home, port))
    prefect.context.refresh_global_settings_context()  # the settings read at import were the zygote's
    settings = prefect.context.get_settings_context().settings.server
    server_settings = {
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": str(settings.services.scheduler.enabled),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "False",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": str(settings.services.late_runs.enabled),
        "PREFECT_SERVER_UI_ENABLED": str(settings.ui.enabled),
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    }
    _run_in_foreground(Console(file=sys.stdout), server_settings, "127.0.0.1", port,
                       keep_alive_timeout=settings.api.keepalive_timeout, no_services=False, workers=1)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import prefect.cli._server_utils  # the costly part: imported once, shared by every fork
    import prefect.server.api.server  # noqa: F401
    import uvicorn  # noqa: F401

    assert threading.active_count() == 1, "forking is only safe with no other thread running"
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # ended servers are reaped by the kernel
    print("ready", flush=True)
    for line in sys.stdin:
        home, port = line.split()
        pid = os.fork()
        if pid == 0:
            try:
                become_server(Path(home), int(port))
            finally:
                os._exit(0)
        print(pid, flush=True)


if __name__ == "__main__":
    main()

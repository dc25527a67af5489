"""Prefect servers for tests: one of its own for every test that schedules, serves or reads runs.

A test's server is a real ``prefect server start`` (SQLite, telemetry off, its own port and home), so no
test can see another's flow runs, deployments, work pools, events or automations, and a late run of one
test can never be taken by another test's serving process.

Starting a server costs seconds, so each pytest process (each xdist worker) keeps one spare starting in
the background while a test runs: a test takes the spare (ready, or nearly) and the next one starts. Every
server after the first starts from a copy of the first's freshly migrated database, which skips the
migrations (about half of a cold start).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flows.embedded import free_port, healthy, server_env

READY_WITHIN_S = 120.0  # a cold start on a busy 2-core machine, migrations included, takes up to ~40 s


@dataclass
class TestServer:
    """One Prefect server process and where it lives."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    home: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def as_dict(self) -> dict[str, str]:
        return {"api_url": self.api_url, "ui_url": self.ui_url, "home": str(self.home)}

    def wait_ready(self, timeout: float = READY_WITHIN_S) -> None:
        """Return once /api/health answers; fail with the end of the server's log if it never does."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if healthy(self.api_url, 1.0):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"prefect server on port {self.port} exited ({self.process.returncode}):\n"
                                   + self.log_tail())
            time.sleep(0.2)
        raise RuntimeError(f"prefect server on port {self.port} not healthy after {timeout:.0f} s:\n"
                           + self.log_tail())

    def log_tail(self, lines: int = 30) -> str:
        log = self.home / "server.log"
        if not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """End the server's whole process group and remove its home."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        shutil.rmtree(self.home, ignore_errors=True)


def launch(home: Path, database: Path | None = None) -> TestServer:
    """Start a server in ``home`` (from a copy of ``database`` if given) without waiting for it."""
    home.mkdir(parents=True, exist_ok=True)
    if database is not None:
        shutil.copyfile(database, home / "prefect.db")
    port = free_port()
    prefect = Path(sys.executable).with_name("prefect")
    cmd = [str(prefect)] if prefect.exists() else [sys.executable, "-m", "prefect"]
    with open(home / "server.log", "ab") as log:
        process = subprocess.Popen(
            [*cmd, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env(home, port), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=str(home),
        )
    return TestServer(home, port, process)


class ServerPool:
    """Fresh servers on demand for one pytest process, with one spare always starting."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template: Path | None = None  # the first server's database, just migrated
        self.spare: TestServer | None = None

    def take(self) -> TestServer:
        """A ready server nobody else has used; the next spare starts at once."""
        server = self.spare or self._launch()
        self.spare = None
        server.wait_ready()
        if self.template is None:
            self.template = self._snapshot(server)
        self.spare = self._launch()
        return server

    @contextlib.contextmanager
    def borrowed(self) -> Iterator[TestServer]:
        """A server of one's own (see ``take``), stopped when the block ends."""
        server = self.take()
        try:
            yield server
        finally:
            server.stop()

    def close(self) -> None:
        if self.spare is not None:
            self.spare.stop()
            self.spare = None

    def _launch(self) -> TestServer:
        home = Path(tempfile.mkdtemp(prefix="prefect-", dir=self.root))
        return launch(home, self.template)

    def _snapshot(self, server: TestServer) -> Path:
        """A consistent copy of a freshly started server's database (migrated, no runs yet)."""
        template = self.root / "template.db"
        with sqlite3.connect(server.home / "prefect.db") as db:
            db.execute("VACUUM INTO ?", (str(template),))
        return template

"""Prefect servers for tests: one of its own for every test that schedules, serves or reads runs.

A test's server is a real ``prefect server start`` (SQLite, telemetry off, its own port and home), so no
test can see another's flow runs, deployments, work pools, events or automations, and a late run of one
test can never be taken by another test's serving process.

Starting a server costs seconds, so each pytest process (each xdist worker) keeps one spare starting in
the background while a test runs: a test takes the spare (ready, or nearly) and the next one starts. A
spare that is ready is stopped (SIGSTOP) until a test takes it: an idle server's services poll on their own
(about 1.5 CPU seconds a minute), and a spare can wait through a whole 2-minute test. Every
server after the first starts from a copy of the first's freshly migrated database, which skips the
migrations (about half of a cold start) and Prefect's registration of its block types, and is forked from a
process that imported Prefect's server once (``tests/server_zygote.py``), which skips most of the rest:
1.0-1.4 CPU seconds a server instead of 7.
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
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flows.runtime.embedded import healthy, serves_from

READY_WITHIN_S = 120.0  # a cold start on a busy 2-core machine, migrations included, takes up to ~40 s


@dataclass
class TestServer:
    """One Prefect server process and where it lives."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    home: Path
    port: int
    pid: int  # the server's process, leader of its own process group

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def as_dict(self) -> dict[str, str]:
        return {"api_url": self.api_url, "ui_url": self.ui_url, "home": str(self.home), "pid": str(self.pid)}

    def wait_ready(self, timeout: float = READY_WITHIN_S) -> None:
        """Return once this server answers /api/health; fail with the end of its log if it never does (or
        died: what answers on its port then is not this server)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.alive():
                raise RuntimeError(f"prefect server on port {self.port} exited:\n" + self.log_tail())
            if healthy(self.api_url, 1.0) and serves_from(self.api_url, self.home):
                return
            time.sleep(0.2)
        raise RuntimeError(f"prefect server on port {self.port} not healthy after {timeout:.0f} s:\n"
                           + self.log_tail())

    def log_tail(self, lines: int = 30) -> str:
        log = self.home / "server.log"
        if not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def pause(self) -> None:
        """Stop the server's processes where they are (SIGSTOP), till ``resume``."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (a running one is not affected); return once it answers."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGCONT)
        self.wait_ready()

    def stop(self) -> None:
        """End the server's whole process group and remove its home."""
        for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)
                os.killpg(self.pid, signal.SIGCONT)  # a paused server only acts on SIGTERM once continued
            deadline = time.time() + grace
            while self.alive() and time.time() < deadline:
                time.sleep(0.05)
            if not self.alive():
                break
        shutil.rmtree(self.home, ignore_errors=True)


class Zygote:
    """``tests/server_zygote.py``: forks servers from one process that imported Prefect's server once."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("server_zygote.py"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
        )
        self.ready = False

    def launch(self, home: Path, database: Path | None = None) -> TestServer:
        """Start a server in ``home`` (from a copy of ``database`` if given) without waiting for it."""
        assert self.process.stdin and self.process.stdout
        if not self.ready:
            greeting = self.process.stdout.readline().strip()
            if greeting != "ready":
                raise RuntimeError(f"the server zygote did not start ({self.process.wait()}): {greeting!r}")
            self.ready = True
        home.mkdir(parents=True, exist_ok=True)
        if database is not None:
            shutil.copyfile(database, home / "prefect.db")
        self.process.stdin.write(f"{home}\n")
        self.process.stdin.flush()
        pid, port = self.process.stdout.readline().split()
        return TestServer(home, int(port), int(pid))

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(15)


class Spare:
    """A server starting in the background, paused as soon as it is ready (``TestServer.pause``)."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.failure: Exception | None = None
        self._parking = threading.Thread(target=self._park, name=f"park-{server.port}", daemon=True)
        self._parking.start()

    def _park(self) -> None:
        try:
            self.server.wait_ready()
        except Exception as exc:  # noqa: BLE001 - raised again when a test takes this spare
            self.failure = exc
            return
        self.server.pause()

    def take(self) -> TestServer:
        """The server, running and ready (or the reason it never became ready)."""
        self._parking.join()
        if self.failure is not None:
            raise self.failure
        self.server.resume()
        return self.server

    def stop(self) -> None:
        self._parking.join()
        self.server.stop()


class ServerPool:
    """Fresh servers on demand for one pytest process, with one spare always starting (or paused, ready)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template: Path | None = None  # the first server's database, just migrated
        self.zygote = Zygote()
        self.spare: Spare | None = None

    def take(self) -> TestServer:
        """A ready server nobody else has used; the next spare starts at once."""
        spare, self.spare = self.spare, None  # a spare that failed is not offered again
        if spare is None:
            server = self._launch()
            server.wait_ready()
        else:
            server = spare.take()
        if self.template is None:
            self.template = self._snapshot(server)
        self.spare = Spare(self._launch())
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
        self.zygote.close()

    def _launch(self) -> TestServer:
        home = Path(tempfile.mkdtemp(prefix="prefect-", dir=self.root))
        return self.zygote.launch(home, self.template)

    def _snapshot(self, server: TestServer) -> Path:
        """A consistent copy of a freshly started server's database (migrated, no runs yet)."""
        template = self.root / "template.db"
        with sqlite3.connect(server.home / "prefect.db") as db:
            db.execute("VACUUM INTO ?", (str(template),))
        return template

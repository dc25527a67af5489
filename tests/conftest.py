"""Shared fixtures.

``prefect_server``: ONE real ``prefect server start`` per test session (SQLite in a temporary
PREFECT_HOME, telemetry off, a free port, PREFECT_UI_API_URL set), healthy before the first test uses it."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[dict[str, str]]:
    """A running Prefect server: {"api_url", "ui_url", "home"}. Use ``prefect_env`` to point a test at it."""
    from flows.embedded import start_server

    home = Path(tempfile.mkdtemp(prefix="practiceweek-prefect-"))
    server = start_server(home)
    try:
        yield {"api_url": server.api_url, "ui_url": server.ui_url, "home": str(home)}
    finally:
        if server.pid:
            try:
                os.killpg(server.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


@pytest.fixture()
def prefect_env(
    prefect_server: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """Environment for one test: the session's server, and a ledger, outbox and state folder of its own."""
    env = {
        "PREFECT_API_URL": prefect_server["api_url"],
        "PREFECT_UI_API_URL": prefect_server["api_url"],
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(tmp_path / "prefect-client"),
        "PRACTICEWEEK_STATE": str(tmp_path / "state"),
        "PRACTICEWEEK_LEDGER_URL": f"sqlite:///{tmp_path / 'state' / 'ledger.sqlite3'}",
        "PRACTICEWEEK_OUTBOX": str(tmp_path / "outbox"),
        "PYTHONPATH": str(ROOT),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {**os.environ, **env}


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), children first found first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal ``pid`` and everything it started (flow-run processes live in their own process groups)."""
    for p in [pid, *descendants(pid)]:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


@pytest.fixture()
def serving(prefect_env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    """A process serving the practiceweek deployments for this test's ledger and outbox."""
    from flows.embedded import start_serving, wait_served

    proc = start_serving(prefect_env["PREFECT_API_URL"], env=prefect_env, log=tmp_path / "serve.log")
    assert wait_served(prefect_env["PREFECT_API_URL"])
    try:
        yield proc
    finally:
        kill_tree(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except Exception:  # noqa: BLE001 - still running: kill it harder
            kill_tree(proc.pid)

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

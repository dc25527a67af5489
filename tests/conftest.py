"""Shared fixtures, and each test marked by its layer, the folder it lives in (``-m unit``,
``-m integration``, ``-m e2e``).

``prefect_server``: ONE real ``prefect server start`` per test session (SQLite in a temporary
PREFECT_HOME, telemetry off, a free port, PREFECT_UI_API_URL set), healthy before the first test uses it.
The provider fakes' fixtures (``graph_server``, ``x_server``, ...) come from the plugin
``tests.servers.plugin``.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers import delete_open_flow_runs, kill_tree  # noqa: E402 - once the repository is importable

pytest_plugins = ["tests.servers.plugin"]
LAYERS = ("unit", "integration", "e2e")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its layer: the folder under tests/ it lives in."""
    tests = ROOT / "tests"
    for item in items:
        parts = item.path.relative_to(tests).parts if item.path.is_relative_to(tests) else ()
        if parts and parts[0] in LAYERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(scope="session", autouse=True)
def no_outbox_file_servers_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``run``/``demo`` leave the outbox's file server running for the operator (``practiceweek stop`` ends
    it); the tests' ones are ended with the session, as ``practiceweek stop`` does, by the process ids their
    state folders recorded."""
    yield
    from flows.embedded import stop_server

    for record in tmp_path_factory.getbasetemp().rglob("outbox-http.json"):
        stop_server(record.parent)


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
) -> Iterator[dict[str, str]]:
    """Environment for one test: the session's server, and a ledger, outbox and state folder of its own.

    At the end the test's flow runs still open on the shared server are deleted: otherwise the next test's
    serving process takes them (a late schedule run would apply an earlier test's campaign to its ledger)."""
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
    yield {**os.environ, **env}
    delete_open_flow_runs(prefect_server["api_url"])


@pytest.fixture()
def serving(prefect_env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    """A process serving the practiceweek deployments for this test's ledger and outbox."""
    from flows.embedded import start_serving, wait_served

    started = time.time()
    proc = start_serving(prefect_env["PREFECT_API_URL"], env=prefect_env, log=tmp_path / "serve.log")
    assert wait_served(prefect_env["PREFECT_API_URL"], since=started), (tmp_path / "serve.log").read_text()
    try:
        yield proc
    finally:
        kill_tree(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except Exception:  # noqa: BLE001 - still running: kill it harder
            kill_tree(proc.pid)

"""Shared fixtures, and each test marked by its layer, the folder it lives in (``-m unit``,
``-m integration``, ``-m e2e``).

``own_prefect_server``: a real ``prefect server start`` for ONE test (tests/prefect_servers.py), so no
test sees another's flow runs, deployments, pools, events or automations; ``prefect_env`` points a test at
its own. ``events_server``: one server per pytest process that only receives the events of publishing in
this process (tests/integration's ``publishing``), paused between the tests that use it; no test reads
it. The suite runs in parallel with pytest-xdist: every worker has its own servers, ports, temporary
folders and PREFECT_HOME.
The provider fakes' fixtures (``graph_server``, ``x_server``, ...) come from the plugin
``tests.servers.plugin``.
"""

from __future__ import annotations

import contextlib
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
# this pytest process's Prefect client settings and profiles: its own, never another worker's
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="practiceweek-prefect-client-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"

from tests.helpers import kill_tree, serve_here  # noqa: E402 - once the repository is importable
from tests.prefect_servers import ServerPool, TestServer  # noqa: E402

pytest_plugins = ["tests.servers.plugin", "tests.ordering"]
LAYERS = ("unit", "integration", "e2e")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark each test as it is collected (before ``-m`` selects and xdist groups): with its layer, the
    folder under tests/ it lives in; and, when it shares a module-scoped fixture, with its module as its
    xdist group (``--dist loadgroup``), so a production stack or a rendered week is built once on one
    worker, not once per worker that happens to get one of its tests."""
    tests = ROOT / "tests"
    parts = item.path.relative_to(tests).parts if item.path.is_relative_to(tests) else ()
    if parts and parts[0] in LAYERS:
        item.add_marker(getattr(pytest.mark, parts[0]))
    if _shares_a_module_fixture(item):
        item.add_marker(pytest.mark.xdist_group(name=item.path.stem))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that had a Prefect server of its own shows, below its traceback, what that server
    held (each flow run and its state) and the tails of its serving process's and server's logs: what a
    failure on CI, which cannot be re-run by hand, needs to be understood."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and report.when == "call":
        report.sections.extend(_what_the_servers_saw(getattr(item, "funcargs", {})))


def _what_the_servers_saw(funcargs: dict[str, object]) -> list[tuple[str, str]]:
    server = funcargs.get("own_prefect_server")
    tmp_path = funcargs.get("tmp_path")
    if not isinstance(server, dict):
        return []
    home = Path(server["home"])
    runs = _flow_runs(server["api_url"])
    sections = [("flow runs on the test's server", runs)]
    if runs.startswith("(the server did not answer"):
        _ask_for_stacks(home, int(server["pid"]))
    logs = {"serving process (serve.log)": tmp_path / "serve.log" if isinstance(tmp_path, Path) else None,
            "Prefect server (server.log)": home / "server.log",
            "Prefect server's stacks (stacks.txt)": home / "stacks.txt"}
    for name, log in logs.items():
        if log is not None and log.exists() and log.stat().st_size:
            sections.append((name, "\n".join(log.read_text(errors="replace").splitlines()[-300:])))
    return sections


def _ask_for_stacks(home: Path, pid: int, wait_s: float = 10.0) -> None:
    """Have a server that does not answer write where its threads are (tests/server_zygote.py)."""
    with contextlib.suppress(ProcessLookupError):  # every thread's stack, by faulthandler
        os.kill(pid, signal.SIGUSR1)
    request = home / "dump-stacks"
    request.touch()
    deadline = time.monotonic() + wait_s
    while request.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def _flow_runs(api_url: str) -> str:
    import httpx

    try:
        query = {"limit": 100, "sort": "EXPECTED_START_TIME_ASC"}
        runs = httpx.post(f"{api_url}/flow_runs/filter", json=query, timeout=10).json()
    except Exception as exc:  # noqa: BLE001 - the server itself is what failed
        return f"(the server did not answer: {exc})"
    return "\n".join(
        f"{fr['name']}: {fr['state_name']} (expected {fr['expected_start_time']}, "
        f"started {fr['start_time']}, parameters {fr['parameters']})" for fr in runs
    ) or "(none)"


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs[-1].scope == "module" for defs in info.name2fixturedefs.values() if defs)


@pytest.fixture(scope="session", autouse=True)
def no_outbox_file_servers_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``run``/``demo`` leave the outbox's file server running for the operator (``practiceweek stop`` ends
    it); the tests' ones are ended with the session, as ``practiceweek stop`` does, by the process ids their
    state folders recorded."""
    yield
    from flows.runtime.embedded import stop_server

    for record in tmp_path_factory.getbasetemp().rglob("outbox-http.json"):
        stop_server(record.parent)


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    """This pytest process's supply of fresh Prefect servers (one spare always starting)."""
    pool = ServerPool(tmp_path_factory.mktemp("prefect-servers"))
    yield pool
    pool.close()


@pytest.fixture()
def own_prefect_server(server_pool: ServerPool) -> Iterator[dict[str, str]]:
    """A Prefect server for this test alone: {"api_url", "ui_url", "home", "pid"}; stopped when the test
    ends."""
    with server_pool.borrowed() as server:
        yield server.as_dict()


@pytest.fixture(scope="session")
def events_host(server_pool: ServerPool) -> Iterator[TestServer]:
    """The server behind ``events_server``: one per pytest process, paused while no test uses it (an idle
    server's services cost about 1.5 CPU s a minute, for the whole session)."""
    with server_pool.borrowed() as server:
        server.pause()
        yield server


@pytest.fixture()
def events_server(events_host: TestServer) -> Iterator[dict[str, str]]:
    """A Prefect server that only receives the events of publishing in this pytest process, running while
    this test runs."""
    events_host.resume()
    try:
        yield events_host.as_dict()
    finally:
        events_host.pause()


@pytest.fixture()
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """This test's own ledger, outbox, state folder and Prefect client home, set in the environment."""
    env = {
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


@pytest.fixture()
def prefect_env(
    own_prefect_server: dict[str, str], local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Environment for one test: its own Prefect server, ledger, outbox and state folder."""
    api_url = own_prefect_server["api_url"]
    urls = {"PREFECT_API_URL": api_url, "PREFECT_UI_API_URL": api_url}
    for key, value in urls.items():
        monkeypatch.setenv(key, value)
    return {**local_env, **urls}


@pytest.fixture()
def serving(prefect_env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    """A process serving the practiceweek deployments for this test's ledger and outbox."""
    proc = serve_here(prefect_env, tmp_path / "serve.log")
    try:
        yield proc
    finally:
        kill_tree(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except Exception:  # noqa: BLE001 - still running: kill it harder
            kill_tree(proc.pid)

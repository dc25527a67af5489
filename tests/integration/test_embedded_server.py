"""The embedded Prefect server (``flows/runtime/embedded.py``) is the one it started: a port taken by
another process between its choice and the server's start (another server answering /api/health there) is
never mistaken for it; the server starts on another port."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.runtime import embedded
from tests.prefect_servers import ServerPool


class _Impostor(http.server.BaseHTTPRequestHandler):
    """Answers like a healthy Prefect server kept somewhere else."""

    def do_GET(self) -> None:
        body = json.dumps({"home": "/somewhere/else"} if self.path.endswith("/admin/settings") else True)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def impostor() -> Iterator[int]:
    """The port of a server that answers /api/health as Prefect's does, but is not this test's."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture()
def migrated_home(server_pool: ServerPool, own_prefect_server: dict[str, str], tmp_path: Path) -> Path:
    """A Prefect home holding a migrated database (the pool's template, made by its first server), so the
    server started here skips the migrations: seconds, not a minute, on a busy machine."""
    home = tmp_path / "prefect"
    home.mkdir()
    assert server_pool.template is not None
    shutil.copyfile(server_pool.template, home / "prefect.db")
    return home


def test_a_server_whose_port_was_taken_meanwhile_starts_on_another(
    impostor: int, migrated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = migrated_home
    api = f"http://127.0.0.1:{impostor}/api"
    assert embedded.healthy(api) and not embedded.serves_from(api, home)  # what fooled the old check
    chosen = iter([impostor])  # the first port chosen is taken by the time the server binds it
    real_free_port = embedded.free_port
    monkeypatch.setattr(embedded, "free_port", lambda preferred=None: next(chosen, None) or real_free_port())

    server = embedded.start_server(home)
    try:
        assert server.api_url != api
        assert embedded.serves_from(server.api_url, home)
        assert f"Port {impostor} is already in use" in (home / "server.log").read_text()
    finally:
        assert server.pid is not None
        os.killpg(server.pid, signal.SIGTERM)


def test_a_port_given_and_taken_is_an_error_not_another_server(impostor: int, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="port [0-9]+ is taken by another process"):
        embedded.start_server(tmp_path / "prefect", port=impostor)


def test_a_prefect_api_url_that_does_not_answer_is_an_error_not_a_server_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = embedded.free_port()  # nothing listens there
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{closed}/api")
    said = rf"PREFECT_API_URL \(http://127.0.0.1:{closed}/api\) did not answer in 1 s\. Start it, or unset"
    with pytest.raises(embedded.ServerUnreachable, match=said):
        embedded.ensure_server(tmp_path / "state", wait_s=1.0)
    assert not (tmp_path / "state").exists()  # no server started, none recorded

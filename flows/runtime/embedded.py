"""The embedded default: a local Prefect server (SQLite, telemetry off) and a process serving the deployments.

Imports no Prefect at module level: the server and the serving process are child processes.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .names import DEPLOYMENTS

ROOT = Path(__file__).resolve().parents[2]  # the folder holding flows/
PORT_ATTEMPTS = 3  # ports tried by a server that finds its chosen port taken meanwhile
API_WAIT_S = 30.0  # how long a command waits for the server at PREFECT_API_URL to answer


@dataclass(frozen=True)
class Server:
    api_url: str
    ui_url: str
    pid: int | None
    started: bool


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as resp:
            return resp.status == 200
    except Exception:  # noqa: BLE001 - any failure means not healthy
        return False


def free_port(preferred: int | None = None) -> int:
    """A port on 127.0.0.1 nothing listens on now: ``preferred`` if it is free, else one the kernel picks.
    The one port chooser (the production set-up in ``deploy/`` uses it too)."""
    if preferred:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(home: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
            "PREFECT_LOGGING_LEVEL": env.get("PREFECT_LOGGING_LEVEL", "WARNING"),
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def serves_from(api_url: str, home: Path, timeout: float = 2.0) -> bool:
    """Whether the server answering at ``api_url`` is the one kept in ``home`` (its PREFECT_HOME), not
    another process that took the port between its choice and this server's start."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/admin/settings", timeout=timeout) as resp:
            return Path(json.load(resp)["home"]).resolve() == home.resolve()
    except Exception:  # noqa: BLE001 - no answer, or not a Prefect server: not ours
        return False


def start_server(home: Path, port: int | None = None, wait_s: float = 90.0, preferred: int | None = None
                 ) -> Server:
    """Start ``prefect server start`` in its own session; wait until it answers /api/health. On a port of
    its choosing (``port`` None: ``preferred`` if free), a server that lost its port to another process
    meanwhile starts on another."""
    home.mkdir(parents=True, exist_ok=True)
    for _attempt in range(PORT_ATTEMPTS):
        server = _start_on(home, port or free_port(preferred), wait_s)
        if server is not None or port:
            break
    if server is None:
        taken = f"port {port} is" if port else f"{PORT_ATTEMPTS} free ports in a row were"
        raise RuntimeError(f"prefect server could not start: {taken} taken by another process meanwhile; "
                           f"see {home / 'server.log'}")
    return server


def _start_on(home: Path, port: int, wait_s: float) -> Server | None:
    """The server started on ``port``; None when another process holds that port."""
    log = open(home / "server.log", "ab")  # handed to the child
    proc = subprocess.Popen(  # `prefect server start`, its garbage collected off its event loop's thread
        [sys.executable, "-m", "flows.runtime.prefect_cli", "server", "start", "--host", "127.0.0.1",
         "--port", str(port)],
        env=server_env(home, port),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=str(home),
    )
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if healthy(api, 1.0) and serves_from(api, home):
            return Server(api, f"http://127.0.0.1:{port}", proc.pid, True)
        if proc.poll() is not None:
            if _port_taken(home):
                return None
            raise RuntimeError(f"prefect server exited ({proc.returncode}); see {home / 'server.log'}")
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"prefect server did not become healthy in {wait_s:.0f} s; see {home / 'server.log'}")


def _port_taken(home: Path) -> bool:
    """Whether the server's log ends saying its port was in use (Prefect's or uvicorn's words)."""
    tail = (home / "server.log").read_text(errors="replace")[-2000:]
    return "already in use" in tail


class ServerUnreachable(RuntimeError):
    """PREFECT_API_URL names a server that does not answer (practiceweek never starts another instead)."""


def ensure_server(state: Path, wait_s: float = API_WAIT_S) -> Server:
    """The server at PREFECT_API_URL, once it answers (``ServerUnreachable`` if it does not within
    ``wait_s``: the week must not be scheduled on a server nobody watches); unset, the server recorded
    in the state folder; else a new one."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        deadline = time.time() + wait_s
        while not healthy(url):
            if time.time() > deadline:
                raise ServerUnreachable(
                    f"the Prefect server at PREFECT_API_URL ({url}) did not answer in {wait_s:.0f} s. "
                    "Start it, or unset PREFECT_API_URL and practiceweek starts a server of its own."
                )
            time.sleep(0.5)
        return Server(url, url.rstrip("/").removesuffix("/api"), None, False)
    record = state / "server.json"
    if record.exists():
        with contextlib.suppress(ValueError, KeyError, OSError):
            data = json.loads(record.read_text())
            if healthy(data["api_url"]) and serves_from(data["api_url"], state / "prefect"):
                return Server(data["api_url"], data["ui_url"], data.get("pid"), False)
    server = start_server((state / "prefect").resolve(), preferred=4200)
    record.write_text(json.dumps({"api_url": server.api_url, "ui_url": server.ui_url, "pid": server.pid}))
    return server


def stop_server(state: Path) -> None:
    """Stop the embedded Prefect server and the outbox's file server by their recorded process ids."""
    for name in ("server.json", "outbox-http.json"):
        record = state / name
        if record.exists():
            with contextlib.suppress(ValueError, KeyError, OSError, ProcessLookupError):
                os.killpg(json.loads(record.read_text())["pid"], signal.SIGTERM)
            record.unlink(missing_ok=True)


def serve_folder(folder: Path, state: Path) -> str:
    """Serve ``folder`` over HTTP on 127.0.0.1 (the outbox, so operators' links open in a browser).

    The file server outlives the command, like the Prefect server, and is recorded in the state folder
    (``outbox-http.json``): reused while it serves this folder, replaced when another folder is served.
    Returns its base URL."""
    record = state / "outbox-http.json"
    folder = folder.resolve()
    with contextlib.suppress(ValueError, KeyError, OSError):
        data = json.loads(record.read_text())
        if data["folder"] == str(folder) and _answers(data["url"]):
            return str(data["url"])
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(data["pid"]), signal.SIGTERM)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(folder), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 10
    while time.time() < deadline and not _answers(url):
        time.sleep(0.1)
    record.write_text(json.dumps({"folder": str(folder), "url": url, "pid": proc.pid}))
    return url


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=1) as resp:
            return resp.status == 200
    except Exception:  # noqa: BLE001 - anything but an answer means no
        return False


def _die_with_parent() -> None:  # runs in the child before exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


RUN_LOGGERS = (  # the loggers of get_run_logger() in flow and task runs: what their Logs tab shows
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL",
)
CONSOLE_LEVEL = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"  # what Prefect prints (a terminal, serve.log)


def run_logging(env: dict[str, str]) -> dict[str, str]:
    """How the served flow runs log: their run loggers at INFO whatever ``PREFECT_LOGGING_LEVEL`` says (a
    quiet terminal's WARNING), so each run's Logs tab in the Prefect UI gets a line per publication; the
    console (serve.log) from WARNING. Either may still be set in ``env``."""
    out = {name: env.get(name) or "INFO" for name in RUN_LOGGERS}
    out[CONSOLE_LEVEL] = env.get(CONSOLE_LEVEL) or "WARNING"
    return out


def start_serving(
    api_url: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``python -m flows.serving.serve`` against ``api_url``; it dies with this process. Its runs log to the
    Prefect API from INFO (``run_logging``)."""
    child_env = dict(env or os.environ)
    child_env.update(
        {"PREFECT_API_URL": api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **run_logging(child_env)}
    )
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "flows.serving.serve"],
        env=child_env,
        cwd=str(ROOT),
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )


def child_processes(pid: int) -> list[int]:
    """The processes ``pid`` started that are still alive (a serving process's flow runs), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
                if int(fields[1]) == pid and fields[0] != "Z":
                    found.append(int(entry.name))
    return found


def _server(api_url: str) -> Any:
    """An HTTP client for the server that, as Prefect's own, asks again while the server answers 503 (a
    SQLite-backed server does when another write took its database first) or 429."""
    from prefect.client.base import PrefectHttpxSyncClient

    return PrefectHttpxSyncClient(base_url=api_url.rstrip("/"), timeout=10, raise_on_all_errors=False)


def _deployment(api_url: str, role: str) -> dict[str, Any] | None:
    """The practiceweek deployment of ``role`` (``DEPLOYMENTS``) as the server has it (None: it has none)."""
    with _server(api_url) as server:
        r = server.get(f"/deployments/name/{DEPLOYMENTS[role]}")
    if r.status_code == 404:
        return None
    r.raise_for_status()
    found: dict[str, Any] = r.json()
    return found


def wait_served(
    api_url: str, timeout: float = 60.0, since: float | None = None, role: str = "window"
) -> bool:
    """Wait until the deployment of ``role`` is served: it exists and, with ``since`` (a ``time.time()``), a
    serving process has polled it for runs after that moment (so a process started then is taking runs,
    not one that served it before)."""
    import datetime as dt

    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(Exception):
            deployment = _deployment(api_url, role)
            polled = (deployment or {}).get("last_polled")
            if deployment is not None and (
                since is None or (polled and dt.datetime.fromisoformat(polled).timestamp() >= since)
            ):
                return True
        time.sleep(0.5)
    return False


def pause_unserved_safety_net(api_url: str, stopped_at: float, wait_s: float) -> bool:
    """Once a command's serving process has stopped (at ``stopped_at``, a ``time.time()``): pause
    collect-engagement's interval schedule, the engagement safety net, unless another serving process polls
    it within ``wait_s`` (two commands can share one server). Prefect then deletes its Scheduled runs, which
    nothing would start: they would only turn Late and alert the operators. Serving or registering the
    deployments again resumes it (Prefect applies a deployment unpaused). True if it was paused."""
    if wait_served(api_url, wait_s, since=stopped_at, role="engagement"):
        return False  # another serving process takes its runs
    deployment = _deployment(api_url, "engagement")
    if deployment is None:
        return False  # never registered: nothing to pause
    with _server(api_url) as server:
        server.post(f"/deployments/{deployment['id']}/pause_deployment").raise_for_status()
    return True


def post_event(api_url: str, event: str, resource: dict[str, str], payload: dict[str, object] | None = None,
               related: list[dict[str, str]] | None = None) -> None:
    """Post one event to the server's /api/events (synchronous: it has arrived when this returns)."""
    import datetime as dt
    import uuid

    import httpx

    body = [{"id": str(uuid.uuid4()), "occurred": dt.datetime.now(dt.UTC).isoformat(), "event": event,
             "resource": resource, "related": related or [], "payload": payload or {}}]
    response = httpx.post(f"{api_url.rstrip('/')}/events", json=body, timeout=30)
    response.raise_for_status()

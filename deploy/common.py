"""Helpers shared by the production set-up's parts: settings, waiting, processes, OS users (a free port:
``flows.runtime.embedded.free_port``, the one port chooser)."""

from __future__ import annotations

import os
import pwd
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from practiceweek.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Process:
    """One long-running part of the stack, as the supervisor spawns it and a systemd unit runs it
    (deploy/units.py): the one description both read, so the two cannot drift apart."""

    name: str  # its log, pid file and unit: ``<dir>/logs/<name>.log``, ``practiceweek-<name>.service``
    argv: list[str]
    settings: dict[str, str]  # what the stack sets for it, secrets included; never the caller's environment
    inherit: bool = True  # also the caller's environment (connector credentials): not for Redis or HAProxy
    requires: tuple[str, ...] = ()  # parts it cannot start without
    after: tuple[str, ...] = ()  # parts started before it when both start, which it does not need running
    writes: tuple[Path, ...] = ()  # the folders it writes in; everything else is read-only to its unit
    clears: tuple[Path, ...] = ()  # files a killed run leaves behind that would stop the next start
    ready: str = ""  # a URL answering 200 once it serves: what a part started after it waits for


def deploy_settings() -> Settings:
    """practiceweek's settings (``PRACTICEWEEK_*`` variables), read now. Imported late, and from this
    checkout when practiceweek is not installed (``python deploy/production.py``)."""
    try:
        from practiceweek.settings import settings
    except ModuleNotFoundError:
        sys.path.insert(0, str(ROOT))
        from practiceweek.settings import settings
    return settings()


def pg_bin() -> Path:
    """PostgreSQL's binaries (``PRACTICEWEEK_PG_BIN``)."""
    return deploy_settings().pg_bin


def as_user(user: str | None, cmd: list[str]) -> list[str]:
    """Run ``cmd`` as ``user`` when we are root (initdb and postgres refuse to run as root)."""
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def os_user() -> str | None:
    if os.geteuid() != 0:
        return None
    return deploy_settings().pg_os_user


def chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 within 2 s."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent counts as gone)."""
    try:
        return not Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False

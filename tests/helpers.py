"""Helpers shared by tests in every layer: where things are, polling, and ending process trees.

Import them as ``from tests.helpers import ...`` (``conftest`` is not importable from subfolders)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent  # the repository
FIXTURES = ROOT / "tests" / "fixtures"
CAMPAIGNS = ROOT / "campaigns"


def wait_until(cond: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``cond`` every 0.3 s until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


OPEN_STATES = ["SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"]


def delete_open_flow_runs(api_url: str, attempts: int = 5) -> int:
    """Delete every flow run not yet finished on the Prefect server at ``api_url``; the number deleted.
    A server that drops the connection or answers 5xx while busy is asked again; after ``attempts`` the
    runs are left (the next test may then see them), never failing the test that ends."""
    deleted = 0
    for attempt in range(attempts):
        try:
            with httpx.Client(base_url=api_url, timeout=30) as client:
                while True:
                    body = {"flow_runs": {"state": {"type": {"any_": OPEN_STATES}}}, "limit": 200}
                    found = client.post("/flow_runs/filter", json=body)
                    found.raise_for_status()
                    if not found.json():
                        return deleted
                    answers = [client.delete(f"/flow_runs/{run['id']}") for run in found.json()]
                    gone = sum(answer.status_code < 300 for answer in answers)
                    if not gone:  # the server refuses to delete them: leave them
                        return deleted
                    deleted += gone
        except httpx.HTTPError:
            time.sleep(0.5 * (attempt + 1))
    return deleted


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

"""Helpers shared by tests in every layer: where things are, polling, and ending process trees.

Import them as ``from tests.helpers import ...`` (``conftest`` is not importable from subfolders)."""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the repository
FIXTURES = ROOT / "tests" / "fixtures"
CAMPAIGNS = ROOT / "campaigns"


def wait_until(cond: Callable[[], object], timeout: float, what: str,
               seen: Callable[[], object] | None = None) -> None:
    """Poll ``cond`` every 0.3 s until it is true; fail the test after ``timeout`` seconds, saying what was
    last seen: ``seen()`` if given, else the condition's last answer."""
    deadline = time.time() + timeout
    last: object = None
    while time.time() < deadline:
        last = cond()
        if last:
            return
        time.sleep(0.3)
    last_seen = seen() if seen is not None else last
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {last_seen!r}")


def api_call(method: str, url: str, **body: Any) -> Any:
    """One request to a test's Prefect server, asked again while the server answers 503, as Prefect's own
    client does: the SQLite-backed server answers 503 ("Service Unavailable") when another of its writes
    took the database first (for instance an automation answering the event the last request caused).
    Any other answer is returned as it is; 503 for 20 s fails the test, saying so."""
    import httpx

    answers: list[httpx.Response] = []

    def answered() -> bool:
        answers.append(httpx.request(method, url, timeout=30, **body))
        return answers[-1].status_code != 503

    wait_until(answered, 20, f"{method} {url} to be answered other than 503",
               seen=lambda: (answers[-1].status_code, answers[-1].text[:300]))
    return answers[-1]


def states(led: Any) -> dict[str, int]:
    """How many of a ledger's publications are in each state, for a timeout's message."""
    return dict(collections.Counter(row.state for row in led.rows()))


@contextlib.contextmanager
def prefect_in_this_process(api_url: str) -> Iterator[None]:
    """Point this process's Prefect client and its events at ``api_url`` (a test's own server) while the
    block runs; then hand over what was emitted and logged and forget that server, so no later test's
    events, logs or calls reach it (Prefect's events worker otherwise keeps the first server it was given,
    and the events server is paused between tests)."""
    from prefect.events.clients import PrefectEventsClient
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.runtime import events

    EventsWorker.set_client_override(PrefectEventsClient, api_url=api_url)
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield
            events.flush(30)
            EventsWorker.drain_all(timeout=30)
            APILogWorker.drain_all(timeout=30)  # the run logs, sent in batches in the background
    finally:
        EventsWorker.set_client_override(None)


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


@contextlib.contextmanager
def paused(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """``proc`` stopped (SIGSTOP) while the block runs, continued (SIGCONT) after it."""
    proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGCONT)


def serve_here(
    env: dict[str, str], log: Path, alongside: subprocess.Popen[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """A process serving the practiceweek deployments with ``env``, once it is taking runs (it has polled the
    server since it started: not a process that served them before); ended if it never does. A process
    already serving them (``alongside``) is paused meanwhile, or its polls would pass for this one's."""
    from flows.runtime.embedded import start_serving, wait_served

    started = time.time()
    proc = start_serving(env["PREFECT_API_URL"], env=env, log=log)
    if alongside is None:
        served = wait_served(env["PREFECT_API_URL"], since=started)
    else:
        with paused(alongside):  # two polls from now: the paused process may have had one on its way, not two
            served = all(wait_served(env["PREFECT_API_URL"], since=time.time()) for _ in range(2))
    if not served:
        kill_tree(proc.pid)
        raise AssertionError(f"the serving process never took runs; its log:\n{log.read_text()}")
    return proc


class Running:
    """A command started by :func:`running`: ``ended`` waits for it and checks how it ended."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.out = self.err = ""

    def ended(self, timeout: float, code: int = 0) -> str:
        """Wait (at most ``timeout`` seconds) for the command to end with exit ``code``; its stderr."""
        self.out, self.err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == code, self.out + self.err
        return self.err


@contextlib.contextmanager
def running(cmd: list[str], env: dict[str, str], cwd: Path) -> Iterator[Running]:
    """Start ``cmd`` (text output captured); whatever happens in the block, it and everything it started
    are gone afterwards."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    try:
        yield Running(proc)
    finally:
        if proc.poll() is None:
            kill_tree(proc.pid)


def approval_week(folder: Path, seed: str, approval: str, at: str) -> Path:
    """The seed campaign ``seed`` (in campaigns/) asking for approval (``approval: required`` or
    ``per_partner``) and published on X alone at ``at``, written to ``folder``/week.yaml."""
    text = (CAMPAIGNS / seed).read_text(encoding="utf-8")
    assert "\ncampaign:\n" in text and "\n  approval:" not in text, seed
    text = text.replace("\ncampaign:\n", f"\ncampaign:\n  approval: {approval}\n", 1)
    text = re.sub(r"^channels:\n(?:  .*\n)+", f'channels:\n  x: {{ at: "{at}" }}\n', text, flags=re.M)
    path = folder / "week.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def paused_run(api: str, campaign_id: str, since: str) -> dict[str, Any] | None:
    """The campaign's run paused for approval that started after ``since`` (a test's own: the same week may
    be left paused by another test of the session), if there is one."""
    import httpx

    runs = {"state": {"name": {"any_": ["Paused"]}}, "tags": {"all_": [f"campaign:{campaign_id}"]},
            "start_time": {"after_": since}}
    query = {"flow_runs": runs}
    found = httpx.post(f"{api}/flow_runs/filter", json=query).json()
    return found[0] if found else None


def resume_run(api: str, run_id: str, run_input: dict[str, str]) -> dict[str, Any]:
    """Answer a paused run as the Prefect UI's Resume form does; the server's answer."""
    return dict(api_call("POST", f"{api}/flow_runs/{run_id}/resume", json={"run_input": run_input}).json())

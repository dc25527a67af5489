"""A window's standby run takes the window over when its publishing run's process is killed (SIGKILL)
mid-window, on the session's real Prefect server: what the dead run was sending is reconciled (it had gone
out: not sent again), the rest is published by the standby, each publication exactly once, none skipped.
And when the owner only froze (SIGSTOP, a paused VM) holding a claim: the standby voids the claim and
publishes it, and the woken owner's send is refused by the window's fence before it reaches the provider."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.publishing.publish import LostWindow, WindowRun
from ledger import Ledger, WindowState
from tests.helpers import ROOT, wait_until
from tests.publishing import timed_week
from tests.servers.base import Request, Response
from tests.servers.mastodon import MastodonServer

TOKEN = "masto-token-standby-77"
RUN = "import sys; from flows.publishing.publish import publish_window; " \
      "print(publish_window(float(sys.argv[1]), standby=sys.argv[2] == 'standby'))"


class HoldingMastodon(MastodonServer):
    """Mastodon that logs every status request's idempotency key (a repeat would be a second send) and holds
    the first one arriving after ``hold_after`` for ``hold_s`` seconds, saying so (``held``)."""

    def __init__(self, token: str) -> None:
        super().__init__(token=token)
        self.posted: list[str] = []
        self.hold_after = float("inf")
        self.hold_s = 3.0
        self.held = threading.Event()

    def post_status(self, req: Request) -> Response:
        with self.lock:
            self.posted.append(req.headers.get("idempotency-key") or "")
            hold = time.time() >= self.hold_after and not self.held.is_set()
            if hold:
                self.held.set()
        if hold:
            time.sleep(self.hold_s)  # the sender is killed meanwhile; the status is still created
        return super().post_status(req)


def _window_run(role: str, start: float, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-c", RUN, str(start), role], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_the_standby_takes_over_a_killed_window_run_and_publishes_the_rest_once(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    server = HoldingMastodon(TOKEN).start()
    env = {**prefect_env, "PRACTICEWEEK_MASTODON_BASE_URL": server.url,
           "PRACTICEWEEK_MASTODON_ACCESS_TOKEN": TOKEN, "PRACTICEWEEK_WINDOW_S": "22"}
    env.pop("PRACTICEWEEK_OPERATORS_CONNECTOR", None)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
        start = time.time() + 8
        rows = timed_week(led, tmp_path, "mastodon", [(start + at, 30) for at in (1, 5, 12)])
        server.hold_after = start + 3  # the second publication's request: its sender dies while it is held

        procs.append(_window_run("primary", start, env, tmp_path / "primary.log"))
        _wait(lambda: _owner(led, start) is not None, 60, "the primary to take its window", tmp_path)
        primary = _owner(led, start)
        procs.append(_window_run("standby", start, env, tmp_path / "standby.log"))
        assert server.held.wait(30), _logs(tmp_path)
        os.killpg(procs[0].pid, signal.SIGKILL)  # mid-send: its claim stays 'sending'
        procs[0].wait(10)

        assert procs[1].wait(90) == 0, _logs(tmp_path)
        standby = (tmp_path / "standby.log").read_text()
        assert "takes the window over" in standby and "stood by" not in standby
        held = led.window_held(start)
        assert held is not None and held.owner not in (None, primary) and held.state == "done"
        states = {r.id: (r.state, r.attempts) for r in (led.get(p.id) for p in rows) if r is not None}
        assert [s for s, _ in states.values()] == ["sent"] * 3, (states, _logs(tmp_path))
        assert states[rows[1].id][1] == 1, states  # reconciled: found at the provider, never sent again
        assert len(server.posted) == len(set(server.posted)) == len(server.statuses), server.posted
        dead = httpx.get(f"{env['PREFECT_API_URL']}/flow_runs/{primary}").json()["state"]
        assert dead["type"] == "CRASHED" and "its standby took the window over" in dead["message"]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        server.stop()


def test_a_frozen_owner_that_wakes_after_the_takeover_is_fenced_before_its_send(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    """Mastodon paced to 1 status per 8 s: the primary claims the second publication and waits ~6 s for its
    pacer slot (a point the ledger shows: 'sending' under its process). Frozen there, it stops beating; the
    standby takes the window, voids the claim at once (not after its 120 s lease), finds at the provider
    that it never arrived and sends it. Woken, the primary's pacer lets it go, and the fence refuses it."""
    server = HoldingMastodon(TOKEN).start()
    env = {**prefect_env, "PRACTICEWEEK_MASTODON_BASE_URL": server.url,
           "PRACTICEWEEK_MASTODON_ACCESS_TOKEN": TOKEN, "PRACTICEWEEK_WINDOW_S": "22",
           "PRACTICEWEEK_RATE_LIMIT_MASTODON": "1/8"}
    env.pop("PRACTICEWEEK_OPERATORS_CONNECTOR", None)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
        start = time.time() + 8
        rows = timed_week(led, tmp_path, "mastodon", [(start + at, 40) for at in (1, 3, 12)])
        frozen = rows[1].id

        procs.append(_window_run("primary", start, env, tmp_path / "primary.log"))
        _wait(lambda: _owner(led, start) is not None, 60, "the primary to take its window", tmp_path)
        procs.append(_window_run("standby", start, env, tmp_path / "standby.log"))
        claimant = f"{socket.gethostname()}:{procs[0].pid}:"
        _wait(lambda: (_state(led, frozen), _claimant(led, frozen)[:len(claimant)]) == ("sending", claimant),
              60, "the primary to claim the second publication", tmp_path)
        os.killpg(procs[0].pid, signal.SIGSTOP)  # holding the claim, asleep until its pacer slot
        assert len(server.posted) == 1, server.posted  # its request has not left

        _wait(lambda: _state(led, frozen) != "sending", 60,  # not the claim's 120 s lease
              "the standby to void the frozen owner's claim", tmp_path)
        _wait(lambda: all(_state(led, r.id) == "sent" for r in rows), 60, "the standby to publish", tmp_path)
        os.killpg(procs[0].pid, signal.SIGCONT)  # the paused VM resumes
        assert procs[1].wait(90) == 0, _logs(tmp_path)
        procs[0].wait(90)

        assert len(server.posted) == len(set(server.posted)) == len(server.statuses) == 3, server.posted
        primary = (tmp_path / "primary.log").read_text()
        assert f"{frozen}: this run's window was taken over; nothing was sent" in primary, _logs(tmp_path)
        assert "takes the window over" in (tmp_path / "standby.log").read_text()
        got = led.get(frozen)
        # two claims: the primary's (voided) and the standby's
        assert got is not None and (got.state, got.attempts) == ("sent", 2)
        assert got.remote_id in {str(s["id"]) for s in server.statuses}
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGCONT)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        server.stop()


def _state(led: Ledger, pid: str) -> str:
    row = led.get(pid)
    return str(row.state) if row is not None else ""


def _claimant(led: Ledger, pid: str) -> str:
    row = led.get(pid)
    return (row.owner or "") if row is not None else ""


def _owner(led: Ledger, start: float) -> str | None:
    held = led.window_held(start)
    return held.owner if held is not None else None


def _wait(ready: Any, timeout: float, what: str, logs: Path) -> None:
    deadline = time.time() + timeout
    while not ready():
        assert time.time() < deadline, f"waited for {what}\n{_logs(logs)}"
        time.sleep(0.2)


def _logs(folder: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(folder.glob("*.log")))


def test_a_standby_ends_once_the_window_is_done_and_a_slow_owner_stops_on_losing_it(tmp_path: Path) -> None:
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    slow = WindowRun(led, 600.0, "run-slow")
    assert slow.stand_by()  # nobody owned it: the primary takes it at once
    led._write("UPDATE windows SET heartbeat=? WHERE start=600.0", (time.time() - 6,))  # it stalled
    spare = WindowRun(led, 600.0, "run-spare", standby=True)
    assert spare.stand_by() and led.window_held(600.0).owner == "run-spare"  # type: ignore[union-attr]
    with pytest.raises(LostWindow):
        slow._beat(force=True)  # only slow: its next beat finds another owner, and it stops
    assert led.window_beat(600.0, "run-spare", state="done", owner="run-spare")
    assert not WindowRun(led, 600.0, "run-late", standby=True).stand_by()  # done: it stood by


def _standing_by(run: WindowRun, out: list[bool]) -> threading.Thread:
    thread = threading.Thread(target=lambda: out.append(run.stand_by()), daemon=True)
    thread.start()
    return thread


def test_a_waiting_run_on_its_owners_queue_is_no_spare_so_healing_starts_another(tmp_path: Path) -> None:
    """A run that found its window owned waits; on the owner's own work queue (its worker, its host) it dies
    with the owner when the host does. It used to beat as the lane's standby, so healing started no spare
    on another host, and a lost host's window waited for a new generation to be scheduled and started."""
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    start = time.time() + 60
    assert WindowRun(led, start, "run-owner", queue="worker-1").stand_by()
    ended: list[bool] = []
    twin = _standing_by(WindowRun(led, start, "run-gen-2", queue="worker-1"), ended)
    time.sleep(1.5)
    assert led.window_beat(start, "run-owner", owner="run-owner")  # the owner beats on
    assert led.window_held(start).standby_at is None  # type: ignore[union-attr]
    assert led.standby_needed(start, lead_s=20) == 1  # healing starts a spare (on another worker's queue)
    led._write("UPDATE windows SET standby_at=NULL WHERE start=?", (start,))
    spare = _standing_by(WindowRun(led, start, "run-spare", standby=True, queue="worker-2"), ended)

    def spare_beats() -> bool:  # while the owner beats on (a silent owner would be taken over)
        assert led.window_beat(start, "run-owner", owner="run-owner")
        return (led.window_held(start).standby_at or 0) > time.time() - 3  # type: ignore[union-attr]

    wait_until(spare_beats, 30, "the spare's beat as the window's standby",
               seen=lambda: led.window_held(start))
    assert led.window_beat(start, "run-owner", state=WindowState.DONE, owner="run-owner")
    twin.join(timeout=10)
    spare.join(timeout=10)
    assert ended == [False, False]  # both stood by; the owner finished


def test_a_standby_takes_a_window_healing_re_armed_before_it_opened(tmp_path: Path) -> None:
    """The owner died before its window opened and healing presumed it lost first (a new generation, no
    owner): the standby takes the window at once, not when it opens (it used to leave it to the new
    generation's run, which must be scheduled, picked up by a worker and started)."""
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    start = time.time() + 60
    assert WindowRun(led, start, "run-dead", queue="worker-1").stand_by()
    led._write("UPDATE windows SET heartbeat=? WHERE start=?", (time.time() - 7, start))  # it died 7 s ago
    assert led.window_needed(start, lead_s=20) == 2  # healing presumed it lost before the standby looked
    took: list[bool] = []
    spare = _standing_by(WindowRun(led, start, "run-spare", standby=True, queue="worker-2"), took)
    spare.join(timeout=10)
    held = led.window_held(start)
    led.window_beat(start, state=WindowState.DONE)  # ends the spare's wait, should it still be waiting
    assert took == [True] and held is not None and held.owner == "run-spare"

"""Hosts for ``bench/chaos.py --ha --hosts N``: host ``i`` is API server ``api-i`` and worker ``worker-i``
(with the window runs that worker starts, on its own work queue ``worker-i``); PostgreSQL, Redis, HAProxy,
Prefect's services process and the heal loop are shared, as separate machines would be.

Two blows strike a whole host at once, one host at a time, at times planned ahead (``plan_blows``):

- ``host-kill``: SIGKILL to every process of the host (each process group found in its process trees); the
  supervisor leaves its parts down for ``DOWN_S`` seconds, then restarts them (the machine came back).
- ``host-freeze``: SIGSTOP to every process of the host for 20 to 90 s, then SIGCONT (a paused VM, a
  partition): its processes carry on as if nothing happened, and the fence must refuse their late sends.

:class:`TakeoverWatch` reads the ledger's windows table every half second and notes each change of a window
lane's owner: the old owner's last beat, when the new owner took it (its first beat, which the takeover
writes). A takeover is charged to a host blow when the old owner was one of the flow runs on that host
(``PREFECT__FLOW_RUN_ID`` in their environment, read at the blow).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger import WindowState

DOWN_S = 30.0  # a killed host comes back after this long
FREEZE_S = (20.0, 90.0)  # a frozen host sleeps this long (uniform)
POLL_S = 0.5  # how often the takeover watch reads the windows table
FRESH_S = 6.0  # a beat younger than this is alive: healing's measure (the ledger's stale_s)
KINDS = ("host-kill", "host-freeze")
GAP_S = 5.0  # at least this long between a host's return and the next host blow
BEAT_SLACK_S = 5.0  # an owner's last beat before a blow that stopped it: its beat period, and then some


def host_parts(index: int) -> tuple[str, str]:
    """The supervisor's parts that make up host ``index``."""
    return (f"api-{index}", f"worker-{index}")


def _children() -> dict[int, list[int]]:
    """Every process's children (from /proc)."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            out.setdefault(ppid, []).append(int(entry.name))
    return out


def tree(roots: list[int]) -> list[int]:
    """``roots`` and all their descendants."""
    children, seen, todo = _children(), [], list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo.extend(children.get(pid, []))
    return seen


def flow_runs(pids: list[int]) -> set[str]:
    """The Prefect flow runs these processes execute (their ``PREFECT__FLOW_RUN_ID``)."""
    out = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                if item.startswith(b"PREFECT__FLOW_RUN_ID="):
                    out.add(item.split(b"=", 1)[1].decode())
    return out


def signal_all(pids: list[int], sig: int) -> None:
    """``sig`` to each process group of ``pids``, then to each of ``pids`` (one in a session of its own)."""
    groups = set()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(pid))
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def plan_blows(
    counts: dict[str, int], begin: float, end: float, rng: random.Random
) -> list[tuple[float, str, float]]:
    """When each host blow falls, of what kind and for how long: ``counts`` blows by kind (``KINDS``), in a
    random order, one host at a time, spread over ``begin``..``end`` (the week still to come) with equal
    free time after each (at least ``GAP_S``: the struck host's runs start again elsewhere). A blow waits for
    nothing else (not for every part to be up again after the process kills): with 20 kills each of the
    workers, API servers and services, every part was rarely up at once, and blows put off so fell after
    the week or not at all. (at, kind, seconds) each, in time order."""
    blows = [(kind, DOWN_S if kind == "host-kill" else rng.uniform(*FREEZE_S))
             for kind in KINDS for _ in range(counts.get(kind, 0))]
    rng.shuffle(blows)
    if not blows:
        return []
    gap = max(GAP_S, (end - begin - sum(seconds for _, seconds in blows)) / len(blows))
    out, at = [], begin + gap / 2
    for kind, seconds in blows:
        out.append((at, kind, seconds))
        at += seconds + gap
    return out


def busiest(runs_of: dict[int, set[str]], rng: random.Random) -> int:
    """The host running the most flow runs; one of them at random when several run as many."""
    most = max(len(runs) for runs in runs_of.values())
    return rng.choice(sorted(i for i, runs in runs_of.items() if len(runs) == most))


def _at_the_blow(last_beat: float, at: float) -> bool:
    """Whether an owner whose last beat was ``last_beat`` stopped with the blow at ``at``: it beats every
    2 s (later on a loaded host), and a frozen one that woke and beat again, or died later of another blow
    (a worker kill), stopped for another cause than this blow."""
    return at - BEAT_SLACK_S <= last_beat <= at + 1.0


@dataclass
class Hosts:
    """The hosts of a rig's stack, and the blows struck at them."""

    stack: Any
    count: int
    rng: random.Random
    struck: dict[int, dict[str, Any]] = field(default_factory=dict)  # host → its blow, while it lasts
    blows: list[dict[str, Any]] = field(default_factory=list)

    def _pids(self, index: int) -> list[int]:
        roots = []
        for name in host_parts(index):
            proc = self.stack.procs.get(name)
            if proc is not None and proc.poll() is None:
                roots.append(proc.pid)
        return tree(roots)

    def strike(self, kind: str, running: Callable[[str], bool], lasts: float | None = None) -> str | None:
        """Kill or freeze, for ``lasts`` seconds (default: ``DOWN_S``, or a random freeze), the host running
        the most flow runs (the window runs' owners and standbys: the loss that needs a takeover; ties at
        random) of those whose parts run (a part just restarted after a process kill may still be starting);
        None (a moment later) while a host is still struck or none runs whole."""
        up = [i for i in range(1, self.count + 1) if all(running(name) for name in host_parts(i))]
        if self.struck or not up:
            return None
        pids_of = {i: self._pids(i) for i in up}
        runs_of = {i: flow_runs(pids) for i, pids in pids_of.items()}
        index = busiest(runs_of, self.rng)
        now = time.time()
        pids, runs = pids_of[index], runs_of[index]
        self.stack.held.update(host_parts(index))  # the supervisor leaves the host down
        signal_all(pids, signal.SIGKILL if kind == "host-kill" else signal.SIGSTOP)
        if lasts is None:
            lasts = DOWN_S if kind == "host-kill" else self.rng.uniform(*FREEZE_S)
        blow = {"host": index, "kind": kind, "at": now, "back": now + lasts, "processes": len(pids),
                "pids": pids, "runs": sorted(runs)}
        self.struck[index] = blow
        self.blows.append(blow)
        return f"{kind} host-{index}: {len(pids)} processes, {len(runs)} flow runs, {lasts:.0f} s"

    def bring_back(self, force: bool = False) -> list[str]:
        """Hosts whose time is up (every one, with ``force``): a frozen one woken (SIGCONT), a killed one
        left to the supervisor to restart."""
        now = time.time()
        back = []
        for index, blow in sorted(self.struck.items()):
            if force or now >= blow["back"]:
                if blow["kind"] == "host-freeze":
                    signal_all(blow["pids"], signal.SIGCONT)
                self.stack.held.difference_update(host_parts(index))
                del self.struck[index]
                back.append(f"host-{index} back")
        return back

    def summary(self, takeovers: list[dict[str, Any]], t0: float) -> dict[str, Any]:
        """Each blow with the takeovers it caused, and the slowest per kind."""
        out: dict[str, Any] = {"host_kills": 0, "host_freezes": 0, "host_blows": []}
        slowest: dict[str, float | None] = dict.fromkeys(KINDS)
        for blow in self.blows:
            out["host_kills" if blow["kind"] == "host-kill" else "host_freezes"] += 1
            mine = [t for t in takeovers
                    if t["from"] in blow["runs"] and _at_the_blow(t["last_beat"], blow["at"])]
            seconds = [t["seconds"] for t in mine]
            if seconds:
                slowest[blow["kind"]] = max(seconds + [slowest[blow["kind"]] or 0.0])
            out["host_blows"].append({
                "t": round(blow["at"] - t0, 1), "host": blow["host"], "kind": blow["kind"],
                "lasted_s": round(blow["back"] - blow["at"], 1), "processes": blow["processes"],
                "flow_runs": len(blow["runs"]), "takeovers_s": seconds,
            })
        out["slowest_takeover_after_host_kill_s"] = slowest["host-kill"]
        out["slowest_takeover_after_host_freeze_s"] = slowest["host-freeze"]
        found = [s for s in slowest.values() if s is not None]
        out["slowest_takeover_after_host_loss_s"] = max(found) if found else None
        return out


class TakeoverWatch(threading.Thread):
    """Reads the ledger's windows table every ``POLL_S`` s and records each change of a lane's owner."""

    def __init__(self, led: Any, trace: Path | None = None) -> None:
        super().__init__(daemon=True, name="takeover-watch")
        self.led, self.stop, self.trace = led, threading.Event(), trace
        # lane → (its last owner, that owner's last beat seen, the lane's state then)
        self.last: dict[tuple[float, int], tuple[str, float, WindowState]] = {}
        self.takeovers: list[dict[str, Any]] = []
        self.rearmed: list[dict[str, Any]] = []  # a done window's new run (work that arrived after it)
        self.seen: dict[tuple[float, int], tuple[Any, ...]] = {}  # lane → what the trace last wrote of it

    def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(Exception):  # the ledger's PostgreSQL restarting: next look
                rows = self.led.windows_held()
                self.look(rows)
                self.write_trace(rows, time.time(), self.led.spares_held())
            self.stop.wait(POLL_S)

    def look(self, rows: list[Any]) -> None:
        """Note the owners and beats of ``rows``: a new owner after another is a takeover, unless the other
        had finished the window ('done': the new run is healing's, for work that arrived after it)."""
        for w in rows:
            if not w.owner or w.heartbeat is None:
                continue
            key = (w.start, w.lane)
            before = self.last.get(key)
            if before is not None and before[0] != w.owner:
                change = {"window": w.start, "lane": w.lane, "from": before[0], "to": w.owner,
                          "queue": w.queue, "last_beat": before[1], "taken": w.heartbeat,
                          "seconds": round(w.heartbeat - before[1], 1)}
                (self.rearmed if before[2] == WindowState.DONE else self.takeovers).append(change)
            if before is None or before[0] != w.owner or w.heartbeat > before[1] or w.state != before[2]:
                self.last[key] = (w.owner, float(w.heartbeat), WindowState(w.state))

    def write_trace(self, rows: list[Any], now: float,
                    spares: dict[tuple[float, int], list[tuple[str, int, float, float | None]]]) -> None:
        """With ``trace``: one line for each lane whose generation, state, owner, queue, standby number or
        token changed, whose owner's or standby's beat went stale or fresh again (``FRESH_S``),
        or whose spares (``Ledger.spares_held``: each one's queue, number and whether it beats) changed: the
        timeline of each takeover, beside the blows' ``events`` and the workers' logs."""
        if self.trace is None:
            return
        lines = []
        for w in rows:
            fresh = (w.heartbeat is not None and w.heartbeat > now - FRESH_S,
                     w.standby_at is not None and w.standby_at > now - FRESH_S)
            lane_spares = [[queue, number, beat is not None and beat > now - FRESH_S]
                           for queue, number, _, beat in spares.get((w.start, w.lane), [])]
            what = (w.gen, str(w.state), w.owner, w.queue, w.standby_gen, w.fence, *fresh, lane_spares)
            if self.seen.get((w.start, w.lane)) != what:
                self.seen[(w.start, w.lane)] = what
                lines.append(json.dumps({
                    "t": round(now, 2), "window": w.start, "lane": w.lane, "gen": w.gen,
                    "state": str(w.state),
                    "owner": w.owner, "queue": w.queue, "beat": w.heartbeat, "owner_fresh": fresh[0],
                    "standby_gen": w.standby_gen, "standby_at": w.standby_at, "standby_fresh": fresh[1],
                    "fence": w.fence, "spares": lane_spares}))
        if lines:
            with open(self.trace, "a") as fh:
                fh.write("\n".join(lines) + "\n")

"""Where the suite's CPU goes: every process it starts, by kind, from the kernel's process accounting.

    .venv/bin/python bench/suite_cpu.py                     # make test's pytest command, in this checkout
    .venv/bin/python bench/suite_cpu.py -- tests/e2e -n 2   # other pytest arguments

The suite is bound by CPU on a 2-core machine (bench/RESULTS.md, suite_stability): its wall time cannot
fall below its CPU seconds over 2. This measures that CPU exactly: it turns on BSD process accounting
(``accton``, Debian's ``acct``; needs root), which records the user and system CPU of every process when
it ends, however short it lived, while a sampler of /proc notes each process's command line as it
appears. A process counts if its parent chain leads to the pytest started here. Prints CPU seconds by
kind of process (a Prefect test server, Chromium, a worker's flow run, ...), their share and how many
there were, the total, pytest's wall time and the cores that total kept busy; ``--out FILE`` also writes
them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AHZ = 100  # dump-acct prints CPU times in ticks of 1/100 s

# (what the command line contains, the kind), first match wins; a Chromium process is told by its name
KINDS = [
    ("server_zygote", "Prefect test server (forked from the zygote)"),
    ("_workspace_supervisor", "flow run under a process worker"),
    ("prefect.engine", "flow run of a serving process"),
    ("multiprocessing.spawn", "render-ahead pool process"),  # before the forkserver (runs until 2026-12-07)
    ("multiprocessing.forkserver", "render-ahead pool process"),
    ("worker start", "Prefect process worker"),
    ("prefect_cli server start", "Prefect server a practiceweek command started (run, demo)"),
    ("server start", "Prefect server of a production set-up"),
    ("server services start", "Prefect server of a production set-up"),
    ("-m prefect ", "prefect CLI command"),
    ("bin/prefect ", "prefect CLI command"),
    ("flows.serving.serve", "serving process"),
    (" -m cli ", "practiceweek command"),
    ("bin/practiceweek", "practiceweek command"),
    ("bench/", "bench script (chaos rig)"),
    ("exec(eval(sys.stdin", "pytest-xdist worker (the tests themselves)"),
    ("-m pytest", "pytest"),
]
# else by the program's own name (the command line's first word, or the kernel's name for the process)
BY_NAME = [("chrom", "Chromium"), ("headless", "Chromium"),
           ("node", "node (ical.js, adaptivecards, twitter-text)"), ("postgres", "PostgreSQL"),
           ("redis", "Redis"), ("haproxy", "HAProxy"), ("git", "git"),
           ("pdftotext", "poppler (pdftotext)")]


@dataclass
class Process:
    pid: int
    parent: int
    name: str  # the kernel's 16-character command name
    cpu_s: float
    started: float = 0.0  # when it began (epoch seconds; the accounting's resolution is 1 s)


def sample_command_lines(seen: dict[int, tuple[int, str]], stop: threading.Event) -> None:
    """pid → (parent, command line) of every process that appears, until ``stop`` is set."""
    while not stop.is_set():
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in seen:
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    raw = Path(f"/proc/{entry}/cmdline").read_bytes()
                    cmd = raw.replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                seen[int(entry)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmd)
        stop.wait(0.15)


def accounted(pacct: Path) -> list[Process]:
    """Every process that ended while accounting was on, from ``dump-acct``."""
    out = subprocess.run(["dump-acct", str(pacct)], capture_output=True, text=True, check=True).stdout
    procs = []
    for line in out.splitlines():
        f = [x.strip() for x in line.split("|")]
        started = time.mktime(time.strptime(f[-1], "%a %b %d %H:%M:%S %Y"))
        procs.append(Process(int(f[9]), int(f[10]), f[0], (float(f[2]) + float(f[3])) / AHZ, started))
    return procs


def kind(proc: Process, cmd: str, parent_cmd: str) -> str:
    if "server_zygote" in cmd and "server_zygote" not in parent_cmd:
        return "the server zygote (imports Prefect's server once)"
    for part, name in KINDS:
        if part in cmd:
            return name
    program = Path(cmd.split(" ", 1)[0]).name.lower()
    for part, name in BY_NAME:
        if part in program or part in proc.name.lower():
            return name
    return f"other ({proc.name})"


def parents(procs: list[Process], seen: dict[int, tuple[int, str]]) -> dict[int, int]:
    """pid → its parent: as first seen, else as accounted (a process too short-lived for the sampler)."""
    return {p.pid: p.parent for p in procs} | {pid: pp for pid, (pp, _) in seen.items()}


def descendants(procs: list[Process], seen: dict[int, tuple[int, str]], root: int) -> list[Process]:
    """The processes whose parent chain (see :func:`parents`) leads to ``root``."""
    parent = parents(procs, seen)
    mine: dict[int, bool] = {root: True}

    def belongs(pid: int) -> bool:
        chain: list[int] = []
        while pid not in mine and pid in parent and pid > 1 and len(chain) < 64:
            chain.append(pid)
            pid = parent[pid]
        answer = mine.get(pid, False)
        for p in chain:
            mine[p] = answer
        return answer

    return [p for p in procs if belongs(p.pid)]


class Accounting:
    """Process accounting and the command-line sampler while a ``with`` block runs; afterwards
    :meth:`by_kind` of the processes under any pid started inside it."""

    def __init__(self) -> None:
        if os.geteuid() != 0 or not shutil.which("accton") or not shutil.which("dump-acct"):
            raise SystemExit("needs root and Debian's process accounting: apt-get install acct")
        self.pacct = Path(tempfile.mkdtemp(prefix="suite-cpu-")) / "pacct"
        self.seen: dict[int, tuple[int, str]] = {}
        self._accounted: list[Process] | None = None  # read once, after the block
        self.stop = threading.Event()
        self.sampler = threading.Thread(target=sample_command_lines, args=(self.seen, self.stop), daemon=True)

    def __enter__(self) -> Accounting:
        self.pacct.touch()
        self.sampler.start()
        subprocess.run(["accton", str(self.pacct)], check=True, capture_output=True)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["accton", "off"], check=False, capture_output=True)
        self.stop.set()
        self.sampler.join()

    def accounted(self) -> list[Process]:
        """Every process that ended while accounting was on (read from the accounting file once)."""
        if self._accounted is None:
            self._accounted = accounted(self.pacct)
        return self._accounted

    def by_kind(self, root: int) -> dict[str, tuple[int, float]]:
        """Kind of process → (how many, CPU seconds), for the processes under ``root``, most CPU first."""
        found: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for p in descendants(self.accounted(), self.seen, root):
            cmd = self.seen.get(p.pid, (0, ""))[1]
            parent_cmd = self.seen.get(self.seen.get(p.pid, (p.parent, ""))[0], (0, ""))[1]
            row = found[kind(p, cmd, parent_cmd)]
            row[0] += 1
            row[1] += p.cpu_s
        return {k: (int(n), round(c, 1)) for k, (n, c) in sorted(found.items(), key=lambda kv: -kv[1][1])}

    def by_test_file(self, root: int, timeline: list[dict]) -> dict[str, float]:
        """Test file → CPU seconds of the processes its tests started (pytest ``--timeline`` records): a
        process counts for the test its xdist worker was running (setup, call or teardown) when the process
        began. A process that outlives its test (a module's production set-up, a spare Prefect server)
        counts for the test that started it; the workers' own CPU is "(the pytest processes themselves)".
        The timeline's records say which process ran each test (``pid``, tests/ordering.py)."""
        found: dict[str, float] = defaultdict(float)
        phases: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
        workers: dict[int, str] = {}
        for record in timeline:
            test_file = record["nodeid"].split("::")[0]
            phases[record["worker"]].append((record["start"], record["stop"], test_file))
            if "pid" in record:
                workers[record["pid"]] = record["worker"]
        procs = self.accounted()
        parent = parents(procs, self.seen)
        for p in descendants(procs, self.seen, root):
            found[_test_file(p, parent, workers, phases)] += p.cpu_s
        return {k: round(v, 1) for k, v in sorted(found.items(), key=lambda kv: -kv[1])}


def _test_file(p: Process, parent: dict[int, int], workers: dict[int, str],
               phases: dict[str, list[tuple[float, float, str]]]) -> str:
    """The test file whose test started ``p`` (see :meth:`Accounting.by_test_file`), its ancestors followed
    through ``parent`` (see :func:`parents`) up to an xdist worker."""
    if p.pid in workers:
        return "(the pytest processes themselves)"
    pid = parent.get(p.pid, p.parent)
    while pid not in workers and pid in parent and pid > 1:
        pid = parent[pid]
    running = phases.get(workers.get(pid, ""), [])
    # the phase under way when it began (1 s resolution: the latest phase begun by then)
    begun = [phase for phase in running if phase[0] <= p.started + 1.0]
    return max(begun)[2] if begun else "(not started by a test)"


def table(by_kind: dict[str, tuple[int, float]]) -> list[str]:
    """CPU seconds, share and count by kind of process, as lines to print."""
    total = sum(cpu for _, cpu in by_kind.values()) or 1.0
    lines = [f"{'CPU s':>8} {'share':>6} {'count':>6}  kind of process"]
    for name, (count, cpu) in by_kind.items():
        lines.append(f"{cpu:8.1f} {100 * cpu / total:5.1f}% {count:6d}  {name}")
    return lines


def make_test_args() -> list[str]:
    """pytest's arguments as ``make test`` gives them, the workers from the Makefile's ``TEST_WORKERS``."""
    workers = re.search(r"^TEST_WORKERS \?= (\d+)$", (ROOT / "Makefile").read_text(), re.M)
    if workers is None:
        raise SystemExit("the Makefile no longer sets TEST_WORKERS: give pytest's arguments after --")
    return ["-q", "-n", workers.group(1), "--dist", "loadgroup", "--no-loadscope-reorder"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    parser.add_argument("pytest_args", nargs="*", help="pytest's arguments (default: make test's)")
    args = parser.parse_args()
    pytest_args = args.pytest_args or make_test_args()
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    started = time.time()
    with Accounting() as accounting:
        pytest = subprocess.Popen([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env)
        code = pytest.wait()
    wall = time.time() - started
    by_kind = accounting.by_kind(pytest.pid)
    total = sum(cpu for _, cpu in by_kind.values())
    print(f"\npytest {' '.join(pytest_args)}: exit {code}, {wall:.0f} s wall, {total:.0f} CPU s in "
          f"{sum(n for n, _ in by_kind.values())} processes ({total / wall:.2f} cores busy on average)")
    print("\n".join(table(by_kind)))
    given = f" -- {' '.join(args.pytest_args)}" if args.pytest_args else ""
    print(f"reproduce: .venv/bin/python bench/suite_cpu.py{given}")
    if args.out:
        args.out.write_text(json.dumps({"pytest_args": pytest_args, "exit": code, "wall_s": round(wall, 1),
                                        "cpu_s": round(total, 1), "by_kind": by_kind}, indent=2))
    sys.exit(code)


if __name__ == "__main__":
    main()

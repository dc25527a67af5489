"""How often a clean clone's `make test` passes, and how long it takes: N runs, each in a fresh clone.

    .venv/bin/python bench/suite_stability.py --runs 5                  # the whole `make test`, as CI runs it
    .venv/bin/python bench/suite_stability.py --runs 5 --pytest-only    # integration + e2e on this .venv
    .venv/bin/python bench/suite_stability.py --runs 3 --workers 2 --pytest-only   # another -n
    .venv/bin/python bench/suite_stability.py --runs 5 --cpu            # and each run's CPU by process kind

Each run clones this repository's HEAD (committed work only, as CI sees it) into a new temporary folder
and runs there; the clone is removed afterwards unless it failed. ``--pytest-only`` skips the installs
(it runs the integration and e2e layers with this checkout's .venv, the part of the suite that waits on
servers) so more runs fit in an hour. Prints each run's wall time, pytest's own time, its counts and
every failed test, then the pass rate; ``--out FILE`` writes the same as JSON, and each run's
whole output is kept in bench/out/suite_stability/run-N.log. ``--cpu`` (root, Debian's ``acct``) also
gives each run's CPU seconds by kind of process, from the kernel's process accounting (bench/suite_cpu.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other bench modules, run as scripts
import suite_cpu
import suite_timeline

ROOT = Path(__file__).resolve().parent.parent
# pytest's last line: "650 passed, 218 warnings in 667.96s (0:11:07)" (-q: no "=" bars around it)
SUMMARY = re.compile(r"^=*\s*(?P<counts>\d+ (?:passed|failed|error)[^\n]*?) in (?P<seconds>[\d.]+)s", re.M)
LOGS = ROOT / "bench" / "out" / "suite_stability"  # run-N.log: each run's output
FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


@dataclass
class Run:
    """One clean-clone run of the suite."""

    number: int
    commit: str
    passed: bool
    wall_s: float
    pytest_s: float | None
    counts: str
    failures: list[str] = field(default_factory=list)
    kept: str = ""  # the clone, kept when the run failed
    cores_busy: float | None = None  # mean cores in use over the run (all processes on the machine)
    timeline: list[str] = field(default_factory=list)  # bench/suite_timeline.py's summary of the run
    cpu: dict[str, tuple[int, float]] = field(default_factory=dict)  # kind of process → (count, CPU s)
    cpu_by_file: dict[str, float] = field(default_factory=dict)  # test file → CPU s of what its tests started


def head(repo: Path = ROOT) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout.strip()


def command(clone: Path, pytest_only: bool, workers: int | None) -> list[str]:
    """What runs in the clone: `make test` as CI runs it, or only the waiting layers."""
    if not pytest_only:
        return ["make", "-C", str(clone), "test", *([f"TEST_WORKERS={workers}"] if workers else [])]
    python = ROOT / ".venv" / "bin" / "python"
    return [str(python), "-m", "pytest", "-q", "-m", "integration or e2e", "-n", str(workers or "auto"),
            "--dist", "loadgroup", "--no-loadscope-reorder", "--timeline=.pytest-timeline.jsonl"]


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cores_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Mean number of cores in use between two cpu_ticks() readings."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return round(busy / total * (os.cpu_count() or 1), 2) if total else 0.0


def timeline_summary(clone: Path, number: int) -> list[str]:
    """Keep the run's pytest timeline beside its log and summarise it (workers' busy time and tails)."""
    timeline = clone / ".pytest-timeline.jsonl"
    if not timeline.exists() or not timeline.stat().st_size:
        return []
    kept = LOGS / f"run-{number}.timeline.jsonl"
    shutil.copyfile(timeline, kept)
    return suite_timeline.summary(suite_timeline.read(kept), top=8)


def one_run(number: int, pytest_only: bool, workers: int | None, timeout: float, cpu: bool) -> Run:
    clone = Path(tempfile.mkdtemp(prefix=f"suite-run-{number}-")) / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PRACTICEWEEK_"))}
    start, ticks = time.time(), cpu_ticks()
    log = clone.parent / "make-test.log"
    accounting = suite_cpu.Accounting() if cpu else None
    with open(log, "w") as out, accounting or contextlib.nullcontext():
        make = subprocess.Popen(command(clone, pytest_only, workers), cwd=clone, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            code = make.wait(timeout)
        except subprocess.TimeoutExpired:
            make.kill()
            code = -1
    wall, busy = time.time() - start, cores_busy(ticks, cpu_ticks())
    text = log.read_text(errors="replace")
    summaries = list(SUMMARY.finditer(text))
    last = summaries[-1] if summaries else None
    run = Run(number=number, commit=head(clone), passed=code == 0, wall_s=round(wall, 1),
              pytest_s=float(last["seconds"]) if last else None,
              counts=last["counts"] if last else f"no pytest summary (exit {code})",
              failures=sorted(set(FAILED.findall(text))), cores_busy=busy)
    LOGS.mkdir(parents=True, exist_ok=True)
    run.timeline = timeline_summary(clone, number)
    run.cpu = accounting.by_kind(make.pid) if accounting else {}
    timeline = LOGS / f"run-{number}.timeline.jsonl"
    if accounting and timeline.exists():
        run.cpu_by_file = accounting.by_test_file(make.pid, suite_timeline.read(timeline))
    shutil.copyfile(log, LOGS / f"run-{number}.log")  # every run's whole output, kept
    if run.passed:
        shutil.rmtree(clone.parent, ignore_errors=True)
    else:
        run.kept = str(clone.parent)
    return run


def report(runs: list[Run], argv: list[str]) -> str:
    lines = ["| run | commit | result | wall | pytest | cores busy | counts | failed tests |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        pytest_s = f"{r.pytest_s:.0f} s" if r.pytest_s is not None else "–"
        lines.append(f"| {r.number} | {r.commit} | {'pass' if r.passed else 'FAIL'} | {r.wall_s:.0f} s | "
                     f"{pytest_s} | {r.cores_busy} | {r.counts} | {', '.join(r.failures) or '–'} |")
    passed = sum(r.passed for r in runs)
    walls = sorted(r.wall_s for r in runs)
    lines += ["", f"pass rate: {passed}/{len(runs)}; wall time min {walls[0]:.0f} s, "
              f"median {walls[len(walls) // 2]:.0f} s, max {walls[-1]:.0f} s",
              f"reproduce: .venv/bin/python bench/suite_stability.py {' '.join(argv)}"]
    for r in runs:
        lines += ["", f"run {r.number}'s timeline:", *r.timeline] if r.timeline else []
        total = sum(cpu for _, cpu in r.cpu.values())
        lines += ["", f"run {r.number}'s CPU: {total:.0f} s", *suite_cpu.table(r.cpu)] if r.cpu else []
        top_files = list(r.cpu_by_file.items())[:20]
        lines += ["", f"run {r.number}'s CPU by the test file that started each process (top 20):",
                  *(f"{cpu:8.1f}  {name}" for name, cpu in top_files)] if top_files else []
    kept = [r.kept for r in runs if r.kept]
    if kept:
        lines.append("failed runs' clones (make-test.log beside each): " + ", ".join(kept))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5,
                        help="how many clean clones to test, one after another")
    parser.add_argument("--pytest-only", action="store_true",
                        help="only the integration and e2e layers, with this checkout's .venv")
    parser.add_argument("--workers", type=int, default=None, help="pytest-xdist workers (default: make's)")
    parser.add_argument("--timeout", type=float, default=5400.0, help="seconds allowed per run (CI: 90 min)")
    parser.add_argument("--out", type=Path, default=None, help="also write the runs as JSON here")
    parser.add_argument("--cpu", action="store_true",
                        help="each run's CPU by kind of process (process accounting: root, Debian's acct)")
    args = parser.parse_args(argv)
    runs: list[Run] = []
    for number in range(1, args.runs + 1):
        runs.append(one_run(number, args.pytest_only, args.workers, args.timeout, args.cpu))
        r = runs[-1]
        print(f"run {number}: {'pass' if r.passed else 'FAIL'} in {r.wall_s:.0f} s ({r.counts})", flush=True)
    print(report(runs, argv))
    if args.out:
        args.out.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    return 0 if all(r.passed for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

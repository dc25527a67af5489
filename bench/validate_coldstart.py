"""Cold start of `practiceweek validate <seed>` against `python -c "import yaml, pydantic"`.

Each command runs in a fresh interpreter, alternately, after one untimed warm-up run of each
(so .pyc files exist, as they do for anyone who has run the tool once). Prints the median
wall time of each, their ratio (target: <= 1.5), the median CPU time (user + system: steadier
than wall time when other work shares the machine), and the command that reproduces the figures.

    .venv/bin/python bench/validate_coldstart.py [--runs 15] [CAMPAIGN.yaml ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``cmd``."""
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return took, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command (at least 10)")
    parser.add_argument("campaigns", nargs="*", help="campaign files (default: each file in campaigns/)")
    args = parser.parse_args()
    runs = max(10, args.runs)
    seeds = args.campaigns or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "campaigns").glob("*.yaml"))
    py = sys.executable
    env_note = f"Python {sys.version.split()[0]}, {os.cpu_count()} cores"
    baseline = [py, "-c", "import yaml, pydantic"]
    commands = {"baseline: python -c 'import yaml, pydantic'": baseline}
    for seed in seeds:
        commands[f"practiceweek validate {seed}"] = [py, "-m", "cli", "validate", seed]
    for cmd in commands.values():  # warm-up: compile .pyc, fill the OS cache
        wall(cmd)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    first = next(iter(commands))
    base = statistics.median(w for w, _ in times[first])
    base_cpu = statistics.median(c for _, c in times[first])
    print(f"cold start, median of {runs} runs each ({env_note}, load average {os.getloadavg()[0]:.1f})")
    print("   wall   ratio     cpu   ratio  command")
    for name, samples in times.items():
        median = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        ratio = median / base
        verdict = "" if name == first else ("  ok" if ratio <= TARGET else f"  above target {TARGET}")
        figures = f"{median * 1000:4.0f} ms  x{ratio:4.2f}  {cpu * 1000:4.0f} ms  x{cpu / base_cpu:4.2f}"
        print(f"  {figures}  {name}{verdict}")
    print(
        f"reproduce: {Path(py).relative_to(ROOT) if Path(py).is_relative_to(ROOT) else py} "
        f"bench/validate_coldstart.py --runs {runs} {' '.join(args.campaigns)}".rstrip()
    )


if __name__ == "__main__":
    main()

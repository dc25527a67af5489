"""Where the suite's wall time goes: read a pytest ``--timeline`` file (tests/ordering.py) and print each
worker's busy time and idle tail, the longest scopes, and the order they ran in; ``--write-costs`` turns
the measured durations into ``tests/costs.json``, which puts the longest work first in the next runs.

    .venv/bin/python -m pytest -q -n 2 --dist loadgroup --no-loadscope-reorder --timeline /tmp/timeline.jsonl
    .venv/bin/python bench/suite_timeline.py /tmp/timeline.jsonl [--write-costs tests/costs.json]

``make test`` writes its timeline to ``.pytest-timeline.jsonl``; bench/suite_stability.py keeps each run's.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

MIN_COST_S = 0.5  # tests quicker than this keep their layer's default cost


@dataclass
class Worker:
    """What one worker did: its phases' total, its first start and its last end."""

    busy_s: float = 0.0
    first: float = float("inf")
    last: float = 0.0
    tests: set[str] = field(default_factory=set)


def read(path: Path) -> list[dict]:
    """The timeline's records, one per test phase."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def per_test(records: list[dict]) -> dict[str, float]:
    """nodeid → seconds of setup, call and teardown together."""
    seconds: dict[str, float] = defaultdict(float)
    for record in records:
        seconds[record["nodeid"]] += record["stop"] - record["start"]
    return dict(seconds)


def per_worker(records: list[dict]) -> dict[str, Worker]:
    """worker → its busy time, span and tests."""
    workers: dict[str, Worker] = defaultdict(Worker)
    for record in records:
        worker = workers[record["worker"]]
        worker.busy_s += record["stop"] - record["start"]
        worker.first = min(worker.first, record["start"])
        worker.last = max(worker.last, record["stop"])
        worker.tests.add(record["nodeid"])
    return dict(workers)


def summary(records: list[dict], top: int = 15) -> list[str]:
    """The lines to print: workers, the tail, and the longest tests with when they started."""
    workers = per_worker(records)
    start = min(worker.first for worker in workers.values())
    end = max(worker.last for worker in workers.values())
    lines = [f"tests: {len(per_test(records))}, span {end - start:.0f} s (first setup to last teardown)"]
    for name, worker in sorted(workers.items()):
        lines.append(f"  {name}: {len(worker.tests)} tests, busy {worker.busy_s:.0f} s, "
                     f"done at +{worker.last - start:.0f} s, idle tail {end - worker.last:.0f} s")
    starts = {record["nodeid"]: record["start"] for record in records if record["when"] == "setup"}
    lines.append(f"longest {top} tests (seconds, started at +s):")
    for nodeid, seconds in sorted(per_test(records).items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {seconds:7.1f}  +{starts.get(nodeid, start) - start:5.0f}  {nodeid}")
    return lines


def costs(records: list[dict]) -> dict[str, float]:
    """tests/costs.json's content: every test that took at least MIN_COST_S, rounded to 0.1 s."""
    return {nodeid: round(seconds, 1) for nodeid, seconds in sorted(per_test(records).items())
            if seconds >= MIN_COST_S}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("timeline", type=Path)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--write-costs", type=Path, metavar="FILE")
    args = parser.parse_args()
    records = read(args.timeline)
    print("\n".join(summary(records, args.top)))
    if args.write_costs:
        args.write_costs.write_text(json.dumps(costs(records), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.write_costs}")


if __name__ == "__main__":
    main()

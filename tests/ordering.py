"""The suite's order and timeline: longest work first, and a record of when each test ran on which worker.

pytest-xdist hands each worker a scope (an ``xdist_group`` or a single test) as it becomes free, in the
order of collection. Collected at random (pytest-randomly), a 2-minute end-to-end test may start last
and keep one worker busy while the other idles: the suite's wall time is then its tail. So, after
pytest-randomly has shuffled, the scopes are put longest first (their cost from ``tests/costs.json``, a
default by layer for a test not in it), the many short ones filling the gaps at the end. Scopes of equal
cost keep their shuffled order, so the order still differs from run to run.

``--timeline FILE`` writes one JSON line per test phase as the controller hears of it: the test, its
worker, its phase, when it started and ended. ``bench/suite_timeline.py`` reads it: how busy each worker
was, the tail, the longest scopes, and new costs for ``tests/costs.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

COSTS = Path(__file__).with_name("costs.json")
T = TypeVar("T")
DEFAULT_COST_S = {"e2e": 30.0, "integration": 8.0, "unit": 0.3}  # a test not yet in costs.json


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("practiceweek").addoption(
        "--timeline", metavar="FILE", default=None,
        help="write each test phase's worker, start and end as JSON lines (bench/suite_timeline.py reads it)",
    )


def scope_of(item: pytest.Item) -> str:
    """The unit pytest-xdist schedules with ``--dist loadgroup``: the test's group, else the test."""
    groups = sorted(str(mark.kwargs.get("name", mark.args[0] if mark.args else "default"))
                    for mark in item.iter_markers("xdist_group"))
    return "@" + "_".join(groups) if groups else base_nodeid(item.nodeid)


def base_nodeid(nodeid: str) -> str:
    """A nodeid without the ``@group`` suffix pytest-xdist adds on its workers."""
    return nodeid.split("@", 1)[0]


def item_cost(item: pytest.Item, costs: dict[str, float]) -> float:
    """Seconds this test took when last measured, else its layer's default."""
    known = costs.get(base_nodeid(item.nodeid))
    if known is not None:
        return known
    layer = next((name for name in DEFAULT_COST_S if item.get_closest_marker(name)), "unit")
    return DEFAULT_COST_S[layer]


def load_costs(path: Path = COSTS) -> dict[str, float]:
    """tests/costs.json: nodeid → seconds (setup, call and teardown); {} when there is none."""
    if not path.exists():
        return {}
    return {str(key): float(value) for key, value in json.loads(path.read_text()).items()}


def longest_first(items: list[T], scope: Callable[[T], str], cost: Callable[[T], float]) -> list[T]:
    """``items`` with their scopes in descending total cost; scopes of equal cost keep their (shuffled)
    order, and a scope's items stay together in their order."""
    scope_cost: dict[str, float] = {}
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        name = scope(item)
        scope_cost[name] = scope_cost.get(name, 0.0) + cost(item)
        first_seen.setdefault(name, index)
    return sorted(items, key=lambda item: (-scope_cost[scope(item)], first_seen[scope(item)]))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest scopes first (after pytest-randomly's shuffle, which runs before this hook)."""
    costs = load_costs()
    items[:] = longest_first(items, scope_of, lambda item: item_cost(item, costs))


class Timeline:
    """Writes one JSON line per test phase as the controller hears of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("", encoding="utf-8")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        node = getattr(report, "node", None)  # the xdist worker that ran it; none without workers
        record: dict[str, Any] = {
            "nodeid": base_nodeid(report.nodeid),
            "worker": getattr(getattr(node, "gateway", None), "id", "main"),
            "when": report.when,
            "start": round(report.start, 3),
            "stop": round(report.stop, 3),
            "outcome": report.outcome,
        }
        pid = dict(report.user_properties).get("worker_pid")
        if pid is not None:  # the process that ran it (bench/suite_cpu.py charges its children to the test)
            record["pid"] = pid
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """With ``--timeline``, each test's report carries the pid of the process that ran it."""
    if item.config.getoption("timeline") and not any(k == "worker_pid" for k, _ in item.user_properties):
        item.user_properties.append(("worker_pid", os.getpid()))


def pytest_configure(config: pytest.Config) -> None:
    """With ``--timeline``, the controller (never an xdist worker) records the timeline."""
    timeline = config.getoption("timeline")
    if timeline and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Timeline(Path(timeline)), "practiceweek-timeline")

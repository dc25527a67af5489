"""bench/suite_cpu.py charges each process the suite started to the test file whose test its xdist worker was
running when the process began (the suite's CPU by test file: where to look to make the suite cheaper)."""

from __future__ import annotations

import sys

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import suite_cpu  # bench/ is not a package: found on the path set above
from suite_cpu import Process

# gw0 ran a.py's test from 100 to 110 s and b.py's from 110 to 150 s; gw1 ran c.py's from 100 to 200 s
PHASES = {
    "gw0": [(100.0, 101.0, "tests/a.py"), (101.0, 110.0, "tests/a.py"), (110.0, 150.0, "tests/b.py")],
    "gw1": [(100.0, 200.0, "tests/c.py")],
}
WORKERS = {10: "gw0", 20: "gw1"}
# 11 (a zygote under gw0) → 12 (a server it forked); 21 (a command under gw1) → 22 (its child); 23, a
# child of 22 too short-lived for the sampler, known only from its accounting record (parent 22)
SEEN = {10: 1, 20: 1, 11: 10, 12: 11, 21: 20, 22: 21}
ACCOUNTED = {23: 22, 99: 1}


def charged(pid: int, started: float) -> str:
    proc = Process(pid, SEEN.get(pid) or ACCOUNTED.get(pid, 1), "python3", 1.0, started)
    parent = suite_cpu.parents([proc], {k: (v, "") for k, v in SEEN.items()})
    return suite_cpu._test_file(proc, parent, WORKERS, PHASES)


def test_a_process_counts_for_the_test_its_worker_was_running_when_it_began() -> None:
    assert charged(12, 105.0) == "tests/a.py"  # two levels below gw0, begun in a.py's call
    assert charged(12, 130.0) == "tests/b.py"
    assert charged(22, 130.0) == "tests/c.py"  # the other worker's test at the same moment
    assert charged(23, 130.0) == "tests/c.py"  # never seen: followed through its accounted parent


def test_the_workers_themselves_and_strangers_are_told_apart() -> None:
    assert charged(10, 105.0) == "(the pytest processes themselves)"
    assert charged(99, 105.0) == "(not started by a test)"  # never seen, and its parent is no worker's
    assert charged(11, 50.0) == "(not started by a test)"  # before the worker's first test


def test_the_default_pytest_arguments_are_make_tests() -> None:
    args = suite_cpu.make_test_args()
    makefile = (ROOT / "Makefile").read_text()
    assert f"TEST_WORKERS ?= {args[2]}\n" in makefile
    assert f"-n $(TEST_WORKERS) {' '.join(args[3:])}" in makefile


def test_a_commands_own_server_is_told_from_a_production_set_ups() -> None:
    proc = Process(1, 0, "python3", 1.0)
    embedded = "/c/.venv/bin/python -m flows.runtime.prefect_cli server start --host 127.0.0.1 --port 4321"
    production = "/c/.venv/bin/python -m prefect server start --host 127.0.0.1 --port 4200"
    assert suite_cpu.kind(proc, embedded, "") == "Prefect server a practiceweek command started (run, demo)"
    assert suite_cpu.kind(proc, production, "") == "Prefect server of a production set-up"

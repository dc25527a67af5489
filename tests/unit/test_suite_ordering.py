"""The suite's order (tests/ordering.py) and the timeline's reading (bench/suite_timeline.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.helpers import ROOT
from tests.ordering import base_nodeid, longest_first

sys.path.insert(0, str(ROOT / "bench"))
import suite_timeline

COST = {"a": 1.0, "b1": 20.0, "b2": 30.0, "c": 40.0, "d": 1.0, "e": 0.1}
SCOPE = {"a": "a", "b1": "@b", "b2": "@b", "c": "c", "d": "d", "e": "e"}


def test_scopes_run_longest_first_and_ties_keep_the_shuffled_order() -> None:
    shuffled = ["d", "b1", "e", "a", "c", "b2"]
    ordered = longest_first(shuffled, SCOPE.__getitem__, COST.__getitem__)
    # group b (50 s in all) before c (40 s); a and d tie at 1 s and keep their shuffled order (d first)
    assert ordered == ["b1", "b2", "c", "d", "a", "e"]


def test_a_group_suffix_is_not_part_of_the_test_cost_key() -> None:
    assert base_nodeid("tests/e2e/test_x.py::test_y[1]@test_x") == "tests/e2e/test_x.py::test_y[1]"


def _record(nodeid: str, worker: str, when: str, start: float, stop: float) -> dict:
    return {"nodeid": nodeid, "worker": worker, "when": when, "start": start, "stop": stop,
            "outcome": "passed"}


def test_the_timeline_shows_each_workers_idle_tail_and_writes_costs(tmp_path: Path) -> None:
    timeline = tmp_path / "timeline.jsonl"
    records = [_record("t::long", "gw0", "setup", 100, 110), _record("t::long", "gw0", "call", 110, 190),
               _record("t::short", "gw1", "call", 100, 100.2), _record("t::mid", "gw1", "call", 101, 131)]
    timeline.write_text("".join(json.dumps(r) + "\n" for r in records))
    lines = suite_timeline.summary(suite_timeline.read(timeline))
    assert lines[0].startswith("tests: 3, span 90 s")
    assert any("gw1: 2 tests, busy 30 s, done at +31 s, idle tail 59 s" in line for line in lines), lines
    assert suite_timeline.costs(records) == {"t::long": 90.0, "t::mid": 30.0}  # t::short under MIN_COST_S

"""Where a window lane's runs go: its standby never on its owner's worker, a replaced standby or a new
generation never back on the queue of the run it replaces (that run's host may be the one that is down)."""

from __future__ import annotations

from flows.plan.windows import place, standby_queue

QUEUES = ["worker-1", "worker-2", "worker-3"]


def test_each_new_standby_of_a_lane_goes_to_the_next_worker_other_than_its_owners() -> None:
    picked = [standby_queue(QUEUES, "worker-1", n) for n in (1, 2, 3, 4)]
    assert picked == ["worker-2", "worker-3", "worker-2", "worker-3"]  # #2 not where #1 died
    assert standby_queue(QUEUES, "worker-3", 1) == "worker-1"
    assert standby_queue(QUEUES[:2], "worker-2", 2) == "worker-1"  # two workers: always the other one
    assert standby_queue(QUEUES, None, 1) == "worker-1"  # owner unknown: the first queue
    assert standby_queue([], "worker-1", 1) is None  # no placement


def test_a_new_generation_avoids_the_queue_of_the_run_presumed_lost() -> None:
    turns = [place(QUEUES, i) for i in range(3)]
    assert turns == QUEUES  # the window's turn
    assert {place(QUEUES, i, avoid="worker-2") for i in range(6)} == {"worker-1", "worker-3"}
    assert place(["worker-1"], 0, avoid="worker-1") == "worker-1"  # nowhere else to go
    assert place([], 4) is None

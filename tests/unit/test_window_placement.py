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


def test_no_new_run_goes_to_a_queue_that_is_down_while_another_is_left() -> None:
    """A host down (``Ledger.lost_queues``): a new standby or generation put in its queue would wait for
    it to come back; a standby that replaces one goes neither there nor where its predecessor died."""
    # the standby of a lane whose owner (worker-3) took it over from worker-2, the host just lost: the turn
    # after the owner's would be worker-2
    assert standby_queue(QUEUES, "worker-3", 2) == "worker-2"
    assert standby_queue(QUEUES, "worker-3", 2, down={"worker-2"}) == "worker-1"
    assert standby_queue(QUEUES, "worker-1", 3, down={"worker-3"}) == "worker-2"  # its predecessor died there
    assert standby_queue(QUEUES, "worker-1", 1, down={"worker-2", "worker-3"}) == "worker-2"  # none left
    assert {place(QUEUES, i, down={"worker-2"}) for i in range(6)} == {"worker-1", "worker-3"}
    assert {place(QUEUES, i, avoid="worker-1", down={"worker-2"}) for i in range(6)} == {"worker-3"}
    assert place(QUEUES, 1, avoid="worker-1", down={"worker-2", "worker-3"}) in {"worker-2", "worker-3"}


def test_the_production_set_up_keeps_two_spares_per_lane_from_three_workers_on() -> None:
    """Every client and worker of the set-up gets the standby settings: with three workers or more a spare
    on each of two other workers' queues, so a host lost while the lane's other spare is lost or still
    starting leaves one running (bench/RESULTS.md, chaos-hosts)."""
    from pathlib import Path

    from deploy.stack import Stack
    from practiceweek.settings import Settings

    def settings_of(workers: int) -> Settings:
        stack = Stack(root=Path("/nonexistent"), api_port=0, auth_string="",
                      pg=None, ledger=None, workers=workers)  # type: ignore[arg-type]
        env = stack.standby_env()
        return Settings(**{key.removeprefix("PRACTICEWEEK_").lower(): value for key, value in env.items()})

    assert (settings_of(2).window_spares, settings_of(2).window_queues) == (1, "worker-1,worker-2")
    three = settings_of(3)
    assert three.window_standby and three.window_spares == 2
    assert three.window_queues == "worker-1,worker-2,worker-3"

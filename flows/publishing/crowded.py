"""A crowded window's publications, each on a thread of its window run, without a Prefect task run each.

In a crowded window (more than ``PRACTICEWEEK_RECORD_LIMIT`` publications) the window run already records
one summary instead of an artifact each; a Prefect task run per publication cost more CPU than anything
else on the send path (its run made, its states, their events, and the server's work on each: bench/
RESULTS.md, issue 28). So there each publication runs the same ``publish`` code (guard, content,
reconcile, attempt, record: every guarantee is in it and the ledger) on the window run's own threads,
tried again as the task is (``TryAgain``, up to ``PRACTICEWEEK_MAX_ATTEMPTS``). What went out is still in
the run's logs (one line a publication), in its events and in the plan tables.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ledger import Fence
from practiceweek.settings import settings

from .outcomes import Outcome
from .publish_one import TryAgain, publish


class Direct:
    """A publication running on a window run's own thread: what the loop reads of a Prefect future."""

    def __init__(self, future: Future[Outcome]) -> None:
        self.wrapped_future = future

    def result(self, raise_on_failure: bool = False) -> Any:
        """Its outcome; what it raised (``raise_on_failure``) or None once it failed."""
        try:
            return self.wrapped_future.result()
        except Exception:
            if raise_on_failure:
                raise
            return None


class Threads:
    """The window run's own threads (as many as its task runner's) for its crowded window."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=settings().task_threads, thread_name_prefix="publish")

    def submit(self, publication_id: str, fence: Fence | None) -> Direct:
        """Publish ``publication_id`` on a thread, in this run's context (its logger, its events)."""
        context = contextvars.copy_context()
        return Direct(self.pool.submit(context.run, run_publication, publication_id, fence))

    def close(self) -> None:
        self.pool.shutdown(wait=False)


def run_publication(publication_id: str, fence: Fence | None) -> Outcome:
    """``publish``'s code, tried again on ``TryAgain`` as its task is (the last time, it fails)."""
    attempts = settings().max_attempts
    for attempt in range(1, attempts + 1):
        try:
            return publish.fn(publication_id, record=False, fence=fence)
        except TryAgain:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")  # pragma: no cover

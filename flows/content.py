"""What a publication sends: rendered ahead of its time where possible, from the plan the ledger holds.

A window run renders what is coming (``prepare``) into a cache of this process; the task takes it from
there or renders then. If the campaign file was edited since the publication was scheduled, the task
waits a little for the re-plan; if none comes, the ledger's plan stands and the publication is rendered
from the version of the file that planned it.
"""

from __future__ import annotations

import threading
import time

from ledger import TERMINAL, Row
from practiceweek.artifacts import Rendered

from . import campaigns, process
from .outcomes import Outcome, fail, outcome_of

REPLAN_WAIT_S = 20.0  # how long past its time a publication waits for the re-plan of an edited file

_prepared: dict[tuple[str, str], Rendered] = {}
_prepared_lock = threading.Lock()


def is_prepared(row: Row) -> bool:
    with _prepared_lock:
        return (row.id, row.fingerprint) in _prepared


def prepare(row: Row) -> Rendered | None:
    """Render a publication ahead of its time (only once what it depends on is out)."""
    led = process.ledger()
    for dep in row.depends_on:
        d = led.get(dep)
        if d is not None and d.state not in TERMINAL:
            return None
    found = campaigns.publication_of(row)
    if found is None:
        return None
    rendered = campaigns.render(found[0], found[1], campaigns.context_for(row))
    with _prepared_lock:
        _prepared[(row.id, row.fingerprint)] = rendered
    return rendered


def _rendered_from_file(row: Row) -> Rendered | None:
    """Prepared ahead, or rendered now from the campaign file if it still plans ``row`` as scheduled."""
    with _prepared_lock:
        ready = _prepared.pop((row.id, row.fingerprint), None)
    if ready is not None:
        return ready
    found = campaigns.publication_of(row)
    if found is None or found[1].fingerprint != row.fingerprint:
        return None
    return campaigns.render(found[0], found[1], campaigns.context_for(row))


def _rendered_as_scheduled(row: Row) -> Rendered | None:
    """Rendered from the version of the file the ledger scheduled ``row`` from."""
    found = campaigns.scheduled_publication_of(row)
    if found is None:
        return None
    return campaigns.render(found[0], found[1], campaigns.context_for(row))


def _replanned(row: Row, wait_s: float = REPLAN_WAIT_S) -> Row | None:
    """Wait (at most ``wait_s`` past the publication's time, never past its deadline) for the re-plan of
    an edited file. Returns the row as re-planned, the row unchanged if no re-plan came, or None if the
    publication is no longer open."""
    led = process.ledger()
    until = min(row.deadline, max(row.scheduled_at, time.time()) + wait_s)
    while time.time() < until:
        now_row = led.get(row.id)
        if now_row is None or now_row.state not in ("pending", "unknown"):
            return None
        if now_row.revision != row.revision:
            return now_row
        time.sleep(0.25)
    return row


def content_for(row: Row) -> tuple[Row, Rendered] | Outcome:
    """The publication as it should go out now, with its rendered content; or why it does not go now."""
    rendered = _rendered_from_file(row)
    if rendered is not None:
        return row, rendered
    fresh = _replanned(row)  # the file was edited since this was scheduled
    if fresh is None:
        return outcome_of((process.ledger().get(row.id) or row).state)  # cancelled (or taken) by it
    if fresh is not row and fresh.scheduled_at > time.time() + 1:
        return Outcome.MOVED  # a later window run publishes it at its new time
    rendered = _rendered_from_file(fresh) or _rendered_as_scheduled(fresh)  # no re-plan: the ledger's plan
    if rendered is None:
        return fail(
            fresh, "the campaign file no longer plans this publication as scheduled, or cannot be read"
        )
    return fresh, rendered

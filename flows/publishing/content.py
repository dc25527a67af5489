"""What a publication sends: rendered ahead of its time where possible, from the plan the ledger holds.

Scheduling stores every publication rendered in the context it will be sent in
(``flows.planning.prerender``); the task reads that back. What was not rendered ahead (a join link made
since, a crash before the pre-render finished) a window run renders while nothing is due (``prepare``) into
a cache of this process, or the task renders it then and logs what that cost. If the campaign file was
edited since the publication was scheduled, the task re-plans the file itself (``flows.plan.apply``, which
imports nothing of approval or scheduling; see ``content_for``).
"""

from __future__ import annotations

import threading
import time

from ledger import TERMINAL, WAITING, DueRef, Row
from practiceweek.artifacts import RenderContext, Rendered, rendered_from_bytes

from ..plan.apply import replan_edited
from ..runtime import campaigns, process
from ..runtime.campaigns import rendering_keys
from ..runtime.logs import run_logger
from .outcomes import Ended, Outcome, fail, outcome_of

_prepared: dict[tuple[str, str], Rendered] = {}
_in_store: set[tuple[str, str]] = set()  # found stored in the context it goes out in: nothing to render
_prepared_lock = threading.Lock()


def is_prepared(row: Row | DueRef) -> bool:
    """Rendered ahead for the version of it that is planned (stored, or in this process's cache)."""
    with _prepared_lock:
        return (row.id, row.fingerprint) in _prepared or (row.id, row.fingerprint) in _in_store


def _stored(row: Row, ctx: RenderContext) -> Rendered | None:
    """The rendering stored ahead for ``row`` in context ``ctx``, if any."""
    led = process.ledger()
    for key in rendering_keys(row.id, row.fingerprint, ctx):
        data = led.rendering(key)
        if data is not None:
            return rendered_from_bytes(data)
    return None


def stored_rendering(row: Row) -> Rendered | None:
    """What scheduling stored for ``row`` in the context it goes out in now (None: it renders then)."""
    return _stored(row, campaigns.context_for(row))


def prepare(row: Row) -> bool:
    """Make sure a publication is rendered ahead of its time: stored, or rendered now into this process's
    cache (only once what it depends on is out). False: not yet, or it cannot be."""
    led = process.ledger()
    for dep in row.depends_on:
        d = led.get(dep)
        if d is not None and d.state not in TERMINAL:
            return False
    ctx = campaigns.context_for(row)
    if led.has_renderings(list(rendering_keys(row.id, row.fingerprint, ctx))):
        with _prepared_lock:
            _in_store.add((row.id, row.fingerprint))
        return True
    found = campaigns.publication_of(row)
    if found is None:
        return False
    rendered = campaigns.render(found[0], found[1], ctx)
    with _prepared_lock:
        _prepared[(row.id, row.fingerprint)] = rendered
    return True


def _rendered_from_file(row: Row) -> Rendered | None:
    """Rendered ahead (stored in the ledger in the context it goes out in, or prepared by this window
    run), or rendered now from the campaign file if it still plans ``row`` as scheduled (and the
    lateness that costs is logged)."""
    ctx = campaigns.context_for(row)
    stored = _stored(row, ctx)
    if stored is not None:
        return stored
    with _prepared_lock:
        ready = _prepared.pop((row.id, row.fingerprint), None)
    if ready is not None:
        return ready
    found = campaigns.publication_of(row)
    if found is None or found[1].fingerprint != row.fingerprint:
        return None
    started = time.perf_counter()
    rendered = campaigns.render(found[0], found[1], ctx)
    run_logger().info("%s was not rendered ahead: rendering it cost %.2f s", row.id,
                      time.perf_counter() - started)
    return rendered


def _rendered_as_scheduled(row: Row) -> Rendered | None:
    """Rendered from the version of the file the ledger scheduled ``row`` from."""
    found = campaigns.scheduled_publication_of(row)
    if found is None:
        return None
    return campaigns.render(found[0], found[1], campaigns.context_for(row))


def _replan(row: Row) -> None:
    """The file changed under a due publication: re-plan it here rather than wait for the trigger."""
    camp = process.ledger().campaign(row.campaign)
    if camp is None:
        return
    try:
        replan_edited(camp.path)
    except Exception as exc:  # noqa: BLE001 - the ledger's plan stands; the trigger re-plans later
        run_logger().warning("could not re-plan %s here: %s", row.campaign, exc)


def content_for(row: Row) -> tuple[Row, Rendered]:
    """The publication as it should go out now, with its rendered content (``Ended``: it does not go now).

    If the campaign file changed since ``row`` was planned, the file is re-planned here first (the same
    difference the trigger's re-plan applies), so no publication waits on, or fails for, a re-plan's
    timing. A file that no longer loads leaves the ledger's plan standing: the publication goes out as
    scheduled, rendered from the version of the file that planned it.
    """
    rendered = _rendered_from_file(row)
    if rendered is not None:
        return row, rendered
    _replan(row)
    fresh = process.ledger().get(row.id)
    if fresh is None or fresh.state not in WAITING:
        raise Ended(outcome_of((fresh or row).state))  # cancelled (or taken) by the re-plan
    if fresh.revision != row.revision and fresh.scheduled_at > time.time() + 1:
        raise Ended(Outcome.MOVED)  # a later window run publishes it at its new time
    rendered = _rendered_from_file(fresh) or _rendered_as_scheduled(fresh)
    if rendered is None:
        raise Ended(fail(
            fresh, "the campaign file no longer plans this publication as scheduled, or cannot be read"
        ))
    return fresh, rendered

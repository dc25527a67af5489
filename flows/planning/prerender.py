"""Render ahead: when campaigns are scheduled or re-planned, render their publications in a process pool
(every core) and keep the renderings in the ledger, where every worker reads them at send time.

Every publication is stored whole, keyed by its id, fingerprint and the digest of the context it was
rendered with (``RenderContext.digest``). A publication that links to another one's result (the week
page's URL) is rendered with the URL its dependency will have: the one already recorded if it went out,
else the one its connector decides (``Connector.url_for``). At its time the publication is rendered
with what its dependencies really returned only if that differs (a join link made since, a provider's
own URL). A re-plan renders only what it changed: unchanged publications keep their keys.

Work is cut into units that share their assets (a campaign's day: its poster, its social card; a
campaign's pages: the posters they show), largest first, so a batch of campaigns keeps every core busy
and each process renders a shared asset once.
"""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger import OPEN, Ledger, Row, State
from practiceweek.artifacts import RenderContext, rendered_to_bytes
from practiceweek.loader import Loaded, load
from practiceweek.planner import Publication, plan
from practiceweek.render import render

from ..runtime import campaigns, process
from ..runtime.campaigns import rendering_keys, stored_key

Wanted = dict[str, tuple[str, dict[str, Any]]]  # publication id → (fingerprint, its context as a dict)
Todo = list[tuple[Row, RenderContext]]  # open publications with the context they will go out in


@dataclass
class Prerendered:
    """What one pre-render did."""

    stored: int = 0  # renderings written to the ledger
    rendered: int = 0  # publications rendered
    skipped: int = 0  # already stored, or no longer planned as the ledger holds them
    cpu_s_by_channel: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # CPU time the pool's processes spent on the work (loading, rendering, storing)

    @property
    def cores_used(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s else 0.0

    def add(self, stored: int, rendered: int, cpu: dict[str, float], unit_cpu_s: float) -> None:
        self.stored += stored
        self.rendered += rendered
        self.cpu_s += unit_cpu_s
        for channel, seconds in cpu.items():
            self.cpu_s_by_channel[channel] = self.cpu_s_by_channel.get(channel, 0.0) + seconds


# --- in a pool process ----------------------------------------------------------------------------------
_unit_ledgers: dict[str, Ledger] = {}
_unit_campaigns: dict[str, tuple[float, Loaded, dict[str, Publication]]] = {}


def _campaign(path: str) -> tuple[Loaded, dict[str, Publication]]:
    """The campaign file loaded and planned once per version in this pool process."""
    mtime = Path(path).stat().st_mtime
    cached = _unit_campaigns.get(path)
    if cached is None or cached[0] != mtime:
        loaded = load(path)
        cached = (mtime, loaded, {p.id: p for p in plan(loaded.model)})
        _unit_campaigns[path] = cached
    return cached[1], cached[2]


def _render_unit(path: str, ledger_url: str, wanted: Wanted) -> tuple[int, int, dict[str, float], float]:
    """Render the publications ``wanted`` of the file at ``path``, each in its context, and store them.
    Returns (stored, rendered, CPU s rendering by channel, CPU s of the whole unit)."""
    unit_started = time.process_time()
    loaded, pubs = _campaign(path)
    led = _unit_ledgers.get(ledger_url) or _unit_ledgers.setdefault(ledger_url, Ledger(ledger_url))
    stored = rendered = 0
    cpu: dict[str, float] = {}
    for pid, (fingerprint, context) in wanted.items():
        pub = pubs.get(pid)
        if pub is None or pub.fingerprint != fingerprint:
            continue  # the file moved on since: its re-plan renders the new version
        ctx = RenderContext(**context)
        started = time.process_time()
        result = render(loaded, pub, ctx)
        data = rendered_to_bytes(result)
        cpu[pub.channel] = cpu.get(pub.channel, 0.0) + time.process_time() - started
        rendered += 1
        led.put_rendering(stored_key(result, ctx), data, pub.campaign)
        stored += 1
    return stored, rendered, cpu, time.process_time() - unit_started


# --- in the scheduling process --------------------------------------------------------------------------
CODE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding flows/, ledger/, practiceweek/
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ProcessPoolExecutor:
    """One pool per process, its workers started once. They are forked from a fresh process that imported
    this module once (multiprocessing's forkserver, never this process: no forked Prefect threads), so the
    imports are paid once, not once per core. The fresh process starts with this process's ``sys.path``:
    the code root goes first so it imports the same ``flows`` as this process (a worker's fresh clone), not
    whatever copy is installed."""
    global _pool
    with _pool_lock:
        if _pool is None:
            if CODE_ROOT not in sys.path:
                sys.path.insert(0, CODE_ROOT)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            _pool = ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context)
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


class _Links:
    """The URL each dependency has (sent) or will have (its connector decides it), asked once each."""

    def __init__(self, led: Ledger, path: str) -> None:
        self.led = led
        self.path = path
        self.rows: dict[str, Row | None] = {}
        self.urls: dict[str, str | None] = {}

    def row(self, pid: str) -> Row | None:
        if pid not in self.rows:
            self.rows[pid] = self.led.get(pid)
        return self.rows[pid]

    def publication(self, pid: str) -> Publication | None:
        """The publication as the ledger planned it (its snapshot), else as the file plans it now."""
        text = self.led.snapshot(pid)
        if text:
            return Publication.from_snapshot(json.loads(text))
        try:
            return campaigns.campaign_of(self.path).pubs.get(pid)
        except Exception:  # noqa: BLE001 - a file that no longer loads: no URL to predict
            return None

    def predicted(self, dep: Row) -> str | None:
        if dep.id not in self.urls:
            pub = self.publication(dep.id)
            try:
                conn = process.connector(*dep.route)
                self.urls[dep.id] = conn.url_for(pub) if pub is not None else None
            except Exception:  # noqa: BLE001 - no credentials here, say: it renders at send time
                self.urls[dep.id] = None
        return self.urls[dep.id]


def context_ahead(row: Row, links: _Links) -> RenderContext:
    """The context ``row`` will be sent in, as far as it is known now (see ``campaigns.context_for``)."""
    join_urls: dict[str, str] = {}
    urls: dict[str, str] = {}
    for pid in row.depends_on:
        dep = links.row(pid)
        if dep is None:
            continue
        if dep.state == State.SENT:
            if dep.url:
                urls[dep.id] = dep.url
            if dep.join_url and dep.event_id:
                join_urls[dep.event_id] = dep.join_url
        elif dep.state in OPEN:
            url = links.predicted(dep)
            if url:
                urls[dep.id] = url
    return RenderContext(join_urls=join_urls, links=urls, sequence=row.revision)


def _as_dict(ctx: RenderContext) -> dict[str, Any]:
    return {"join_urls": ctx.join_urls, "links": ctx.links, "sequence": ctx.sequence}


def _todo(path: str, rows: list[Row], led: Ledger) -> tuple[Todo, int]:
    """The open publications of ``rows`` not yet stored in the context they will be sent in."""
    links = _Links(led, path)
    for r in rows:
        links.rows[r.id] = r
    open_rows = [(r, context_ahead(r, links)) for r in rows if r.state in OPEN]
    keys = {r.id: rendering_keys(r.id, r.fingerprint, ctx) for r, ctx in open_rows}
    stored = led.has_renderings([k for pair in keys.values() for k in pair])
    todo = [(r, ctx) for r, ctx in open_rows if not stored.intersection(keys[r.id])]
    return todo, len(rows) - len(todo)


def _units(items: Iterable[tuple[str, Todo]], workers: int) -> list[tuple[str, Wanted]]:
    """Work that shares its assets, largest first: whole campaigns when there are enough of them to keep
    every process busy, else each campaign's days (and its pages together: they show the same posters)."""
    items = [(path, todo) for path, todo in items if todo]
    whole = len(items) >= 2 * workers
    units: dict[tuple[str, str], Wanted] = {}
    for path, todo in items:
        for r, ctx in todo:
            part = "" if whole else "pages" if r.channel == "web_page" else r.day
            units.setdefault((path, part), {})[r.id] = (r.fingerprint, _as_dict(ctx))
    return sorted(((path, wanted) for (path, _), wanted in units.items()), key=lambda u: -len(u[1]))


def prerender_many(items: list[tuple[str, list[Row]]]) -> Prerendered:
    """Render ahead the open publications of several campaigns (file path, its ledger rows) in one batch
    on every core; returns when every rendering is stored."""
    led = process.ledger()
    done = Prerendered()
    todos = []
    for path, rows in items:
        todo, skipped = _todo(path, rows, led)
        done.skipped += skipped
        todos.append((path, todo))
    workers = os.cpu_count() or 1
    units = _units(todos, workers)
    if not units:
        return done
    pool = _shared_pool()
    started = time.time()
    futures: list[Future[tuple[int, int, dict[str, float], float]]] = [
        pool.submit(_render_unit, path, led.url, wanted) for path, wanted in units
    ]
    for future in futures:
        done.add(*future.result())
    done.wall_s = time.time() - started
    done.skipped += sum(len(w) for _, w in units) - done.rendered
    return done


SOON_S = 3600.0  # healing renders again what is due within this long, once its dependencies decided it
_again: threading.Thread | None = None


def render_soon_again(now: float | None = None) -> bool:
    """Start rendering, in the background, the publications due within the hour whose dependencies went
    out with results scheduling could not know (a Teams join link, a provider's own URL), so they too are
    only read back at their time. False if the previous round is still at it."""
    global _again
    now = time.time() if now is None else now
    if _again is not None and _again.is_alive():
        return False
    led = process.ledger()
    by_campaign: dict[str, list[Row]] = {}
    for row in led.due(now + SOON_S):
        if row.depends_on:
            by_campaign.setdefault(row.campaign, []).append(row)
    items = []
    for cid, rows in by_campaign.items():
        camp = led.campaign(cid)
        if camp is not None:
            items.append((camp.path, rows))
    if not items:
        return False
    _again = threading.Thread(target=_quietly, args=(items,), name="render-again", daemon=True)
    _again.start()
    return True


def wait_rendered_again(timeout: float | None = None) -> None:
    """Wait for the background rendering ``render_soon_again`` started (if any)."""
    if _again is not None:
        _again.join(timeout)


def _quietly(items: list[tuple[str, list[Row]]]) -> None:
    try:
        prerender_many(items)
    except Exception as exc:  # noqa: BLE001 - a ledger restarting, a file gone: they render at send time
        logging.getLogger(__name__).warning("could not render ahead again: %s", exc)


def prerender(path: str, rows: list[Row]) -> Prerendered:
    """Render ``rows`` (publications of the campaign file at ``path``) ahead, on every core."""
    return prerender_many([(path, rows)])

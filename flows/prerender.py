"""Render ahead: when a campaign is scheduled or re-planned, render its publications in a process pool
(every core) and keep the renderings in the ledger, where every worker reads them at send time.

A publication that does not depend on another (no join link, no published URL to carry) is stored whole,
keyed by its id and fingerprint: at its time it is only read and sent. The others need what their
dependencies return when they go out, so they are rendered at send time; rendering them ahead still
fills the shared asset store (posters, social cards), so at send time only their text is rendered.
A re-plan renders only what it changed: unchanged publications keep their keys.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from ledger import Ledger, Row
from practiceweek.artifacts import RenderContext, rendered_to_bytes
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render

from . import process


def rendering_key(publication_id: str, fingerprint: str) -> str:
    """Where a whole rendering of a publication is stored (only for those that depend on nothing)."""
    return f"publication:{publication_id}:{fingerprint}"


def _done_key(publication_id: str, fingerprint: str, depends_on: tuple[str, ...]) -> str:
    """What says a publication was rendered ahead: its whole rendering, or a marker that its assets were."""
    if depends_on:
        return f"assets-of:{publication_id}:{fingerprint}"
    return rendering_key(publication_id, fingerprint)


@dataclass
class Prerendered:
    """What one pre-render did."""

    stored: int = 0  # whole renderings written to the ledger
    rendered: int = 0  # publications rendered (stored or not)
    skipped: int = 0  # already stored, or no longer planned as the ledger holds them
    cpu_s_by_channel: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def cores_used(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


def _render_chunk(path: str, ledger_url: str, wanted: dict[str, str]) -> tuple[int, int, dict[str, float]]:
    """In a pool process: render the publications ``wanted`` (id → fingerprint) of the file at ``path``;
    store whole renderings of those that depend on nothing. Returns (stored, rendered, CPU s by channel)."""
    loaded = load(path)
    led = Ledger(ledger_url)
    stored = rendered = 0
    cpu: dict[str, float] = {}
    for pub in plan(loaded.model):
        if wanted.get(pub.id) != pub.fingerprint:
            continue
        started = time.process_time()
        result = render(loaded, pub, RenderContext())
        cpu[pub.channel] = cpu.get(pub.channel, 0.0) + time.process_time() - started
        rendered += 1
        data = b"" if pub.depends_on else rendered_to_bytes(result)  # dependent: only its assets are kept
        led.put_rendering(_done_key(pub.id, pub.fingerprint, pub.depends_on), data, pub.campaign)
        stored += not pub.depends_on
    led.close()
    return stored, rendered, cpu


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ProcessPoolExecutor:
    """One pool per process, its workers started once (spawned: no forked Prefect threads)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn"))
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def prerender(path: str, rows: list[Row]) -> Prerendered:
    """Render ``rows`` (open publications of the campaign file at ``path``) ahead, on every core."""
    led = process.ledger()
    todo = [r for r in rows if r.state in ("pending", "unknown")]
    stored = led.has_renderings([_done_key(r.id, r.fingerprint, r.depends_on) for r in todo])
    todo = [r for r in todo if _done_key(r.id, r.fingerprint, r.depends_on) not in stored]
    done = Prerendered(skipped=len(rows) - len(todo))
    if not todo:
        return done
    workers = os.cpu_count() or 1
    chunks = [todo[i::workers] for i in range(workers) if todo[i::workers]]
    started = time.time()
    futures = [
        _shared_pool().submit(_render_chunk, path, led.url, {r.id: r.fingerprint for r in chunk})
        for chunk in chunks
    ]
    for future in futures:
        n_stored, n_rendered, cpu = future.result()
        done.stored += n_stored
        done.rendered += n_rendered
        for channel, seconds in cpu.items():
            done.cpu_s_by_channel[channel] = done.cpu_s_by_channel.get(channel, 0.0) + seconds
    done.wall_s = time.time() - started
    done.cpu_s = sum(done.cpu_s_by_channel.values())
    done.skipped += len(todo) - done.rendered
    return done

"""CPU time of the send path, by part: what a window run's process spends per publication, and on what.

``part("ledger")`` around a step charges the calling thread's CPU time (``time.thread_time``) to that part,
exclusively: a part inside another is charged to the inner one only. Counting costs about a microsecond a
part, so it is always on; ``report`` (at a window run's end, when ``PRACTICEWEEK_SEND_CPU_REPORT`` is on)
writes the totals, the CPU of each of the process's threads (``/proc``) and the process's own total to
``<state>/cpu/`` for ``bench/lateness.py`` to add up. Wall time is not measured here: on a shared machine
it says how busy the others were; CPU time says what this process did.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from practiceweek.settings import settings

_lock = threading.Lock()
_threads: list[tuple[int, dict[str, float]]] = []  # (native thread id, part → CPU s) per thread that counted
_local = threading.local()
_api: dict[str, int] = {}  # "METHOD /route" → requests this process made to the Prefect API (the report on)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _mine() -> dict[str, float]:
    totals: dict[str, float] | None = getattr(_local, "totals", None)
    if totals is None:
        totals = _local.totals = {}
        _local.stack = []
        with _lock:
            _threads.append((threading.get_native_id(), totals))
    return totals


@contextmanager
def part(name: str) -> Iterator[None]:
    """Charge the calling thread's CPU time inside this block to ``name`` (not to an enclosing part)."""
    totals = _mine()
    stack: list[str] = _local.stack
    now = time.thread_time()
    if stack:
        totals[stack[-1]] = totals.get(stack[-1], 0.0) + now - _local.mark
    stack.append(name)
    _local.mark = now
    try:
        yield
    finally:
        now = time.thread_time()
        totals[name] = totals.get(name, 0.0) + now - _local.mark
        stack.pop()
        _local.mark = now


def count(name: str, n: int = 1) -> None:
    """Count ``n`` of something (publications submitted, sent) beside the CPU totals."""
    counts: dict[str, float] = _mine()
    key = f"#{name}"
    counts[key] = counts.get(key, 0.0) + n


def totals() -> dict[str, float]:
    """Every thread's parts added up (CPU seconds; ``#name`` keys are counts)."""
    out: dict[str, float] = {}
    with _lock:
        for _tid, parts in _threads:
            for name, value in list(parts.items()):
                out[name] = out.get(name, 0.0) + value
    return out


def thread_cpu() -> list[dict[str, Any]]:
    """CPU seconds of each live thread of this process (``/proc``), with its name, what it counted, and
    whether it ran publish tasks."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    with _lock:
        counted = {tid: sum(v for k, v in parts.items() if not k.startswith("#")) for tid, parts in _threads}
        tasks = {tid for tid, parts in _threads if "task" in parts}
    out = []
    for entry in Path("/proc/self/task").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        tid = int(entry.name)
        out.append({"name": names.get(tid, "?"), "cpu_s": (int(fields[11]) + int(fields[12])) / tick,
                    "counted_s": counted.get(tid), "tasks": tid in tasks})
    return out


def watch_api() -> None:
    """Count this process's HTTP requests by method and route (ids as ``{id}``), with the report on: what
    the Prefect server is asked per publication. Events go by websocket and are counted where emitted."""
    if not settings().send_cpu_report or _api:
        return
    import httpx

    _api["#watching"] = 0
    for cls in (httpx.Client, httpx.AsyncClient):
        original = cls.send

        def send(self: Any, request: httpx.Request, *args: Any, _original: Any = original,
                 **kwargs: Any) -> Any:
            route = f"{request.method} {_UUID.sub('{id}', request.url.path)}"
            with _lock:
                _api[route] = _api.get(route, 0) + 1
            return _original(self, request, *args, **kwargs)

        cls.send = send  # type: ignore[method-assign]


def report(label: str) -> Path | None:
    """Write this process's figures to ``<state>/cpu/<label>.json`` (only with the setting on)."""
    cfg = settings()
    if not cfg.send_cpu_report:
        return None
    folder = Path(cfg.state) / "cpu"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{label}.json"
    with _lock:
        api = {k: v for k, v in _api.items() if not k.startswith("#")}
    figures = {"parts": totals(), "threads": thread_cpu(), "process_s": time.process_time(), "api": api}
    path.write_text(json.dumps(figures))
    return path

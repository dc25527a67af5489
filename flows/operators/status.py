"""The operator's view of a week: one live status table per campaign, and lateness figures.

The table (a Prefect table artifact under the stable key ``plan-<campaign>``) is rewritten from the
ledger at the end of every window and schedule run, and after publications (at most every few seconds
per campaign and process). Its description is the summary an operator reads first:
"105 sent · 0 failed · 0 late · next: Tue 26 Nov 08:00 poster".
"""

from __future__ import annotations

import contextvars
import datetime as dt
import statistics
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from prefect.artifacts import create_table_artifact

from ledger import ENDED, TERMINAL, Row, State
from practiceweek.settings import settings

from ..runtime import campaigns, names, process

_ICONS = {
    State.PENDING: "⏳",
    State.SENDING: "📤",
    State.SENT: "✅",
    State.FAILED: "❌",
    State.UNKNOWN: "❔",
    State.SKIPPED: "⏭",
    State.CANCELLED: "🚫",
}
STATE_ICONS = {state: f"{icon} {state}" for state, icon in _ICONS.items()}
REFRESH_S = 5.0  # after publications, a process rewrites the tables they touched this often

_refresh_lock = threading.Lock()


def late_by(row: Row) -> float | None:
    """How late a sent publication went out (seconds after its time), else None."""
    return row.sent_at - row.scheduled_at if row.state == State.SENT and row.sent_at is not None else None


def browsable(url: str | None) -> str:
    """An http(s) link an operator's browser opens: outbox files through the outbox's HTTP address."""
    if not url:
        return ""
    if url.startswith(("http://", "https://")):
        return url
    cfg = settings()
    if url.startswith("file://") and cfg.outbox_url and cfg.outbox:
        path = Path(unquote(urlsplit(url).path))
        try:
            rel = path.relative_to(Path(cfg.outbox).resolve())
        except ValueError:
            return ""
        return f"{cfg.outbox_url.rstrip('/')}/{quote(rel.as_posix())}/"
    return ""


def _local(ts: float | None, zone: ZoneInfo | None) -> str:
    return dt.datetime.fromtimestamp(ts, zone or dt.UTC).strftime("%a %d %b %H:%M:%S") if ts else ""


def status_table(rows: list[Row], zone: ZoneInfo | None) -> list[dict[str, Any]]:
    """One line per publication, status first; times in the campaign's own zone."""
    out = []
    for r in rows:
        late = late_by(r)
        out.append(
            {
                "status": STATE_ICONS.get(r.state, r.state),
                "due": _local(r.scheduled_at, zone),
                "sent at": _local(r.sent_at, zone) if r.state == State.SENT else "",
                "late by": f"{late:.1f} s" if late is not None else "",
                "attempts": r.attempts,
                "what": f"{r.channel} · {r.title}",
                "link": browsable(r.url),
                "id": r.id,
            }
        )
    return out


def summary(rows: list[Row], zone: ZoneInfo | None, now: float | None = None) -> str:
    """``105 sent · 0 failed · 0 late · next: Tue 26 Nov 08:00 poster``."""
    now = time.time() if now is None else now
    counts = {s: sum(r.state == s for r in rows) for s in ENDED}
    late = sum((late_by(r) or 0.0) > settings().late_after_s for r in rows)
    upcoming = [r for r in rows if r.state not in TERMINAL]
    parts = [f"{counts[State.SENT]} sent", f"{counts[State.FAILED]} failed", f"{late} late"]
    parts += [f"{counts[s]} {s}" for s in (State.SKIPPED, State.CANCELLED) if counts[s]]
    if upcoming:
        nxt = min(upcoming, key=lambda r: r.scheduled_at)
        when = dt.datetime.fromtimestamp(nxt.scheduled_at, zone or dt.UTC)
        overdue = " (overdue)" if nxt.scheduled_at < now else ""
        parts.append(f"next: {when:%a %d %b %H:%M} {nxt.channel}{overdue}")
    else:
        parts.append("nothing left to send")
    return " · ".join(parts)


def publish_plan_tables(cids: set[str]) -> None:
    """Rewrite each campaign's live status table (key ``plan-<campaign>``) from the ledger."""
    for cid in sorted(cids):
        if process.ledger().campaign(cid) is None:
            continue
        try:
            rows, zone = process.ledger().rows(cid), campaigns.zone_of(cid)  # read once for both
            create_table_artifact(
                table=status_table(rows, zone),
                key=names.artifact_key(f"plan-{cid}"),
                description=f"The week's plan of {cid}, with live status: {summary(rows, zone)}",
            )
        except Exception:  # noqa: BLE001 - the view must never stop publishing
            pass


def refresh_after_publication(cid: str) -> None:
    """Mark ``cid``'s table for rewriting; a background thread of this process rewrites the marked tables
    every few seconds, off the publications' critical path (the window run's end rewrites them too)."""
    global _flusher
    with _refresh_lock:
        _dirty.add(cid)
        if _flusher is None or not _flusher.is_alive():  # in this run's context: the versions it writes
            # are attached to the run (a plain thread starts with no Prefect context: attached to none)
            context = contextvars.copy_context()
            _flusher = threading.Thread(target=context.run, args=(_flush_forever,), name="status-tables",
                                        daemon=True)
            _flusher.start()


_dirty: set[str] = set()
_flusher: threading.Thread | None = None


def _flush_forever() -> None:
    while True:
        time.sleep(REFRESH_S)
        with _refresh_lock:
            due = set(_dirty)
            _dirty.clear()
        if due:
            publish_plan_tables(due)


def lateness(rows: list[Row]) -> list[float]:
    return [r.sent_at - r.scheduled_at for r in rows if r.state == State.SENT and r.sent_at is not None]


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return {"n": len(ordered), "p50": statistics.median(ordered), "p99": p99, "max": ordered[-1]}

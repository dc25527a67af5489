"""The operator's view of a week: one live status table per campaign, and lateness figures.

The table (a Prefect markdown artifact under the stable key ``plan-<campaign>``: both Prefect UIs draw its
links) is rewritten from the ledger at the end of every window and schedule run, and after publications (at
most every few seconds per campaign and process). Its description is the summary an operator reads first:
"105 sent · 0 failed · 0 late · next: Tue 26 Nov 08:00 poster". It stays narrow enough for a 1440 px
screen (the UI gives the table about 870 px of it): short column names, one form of time, the campaign left
out of each publication's id (the full id and the title show on its link's hover), and links instead of
addresses: a publication opens its day in the preview, its sent time what went out, its run the window run
that sent it.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import statistics
import threading
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from prefect.artifacts import create_markdown_artifact
from prefect.settings import PREFECT_UI_URL

from ledger import ENDED, TERMINAL, Row, State
from practiceweek.planner import partner_of
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
COLUMNS = ("status", "due", "sent", "late", "tries", "publication", "run")  # 1440 px: the UI gives ~870
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


def when(ts: float | None, zone: ZoneInfo | None) -> str:
    """A time in the table's one form, in the campaign's zone: ``Mon 25 Nov 08:30`` (the late column has
    the seconds)."""
    return dt.datetime.fromtimestamp(ts, zone or dt.UTC).strftime("%a %d %b %H:%M") if ts else ""


def ui_url() -> str:
    """The Prefect UI's address (PREFECT_UI_URL, else derived from PREFECT_API_URL; '' when neither)."""
    return str(PREFECT_UI_URL.value() or "").rstrip("/")


def preview_location(cid: str) -> tuple[Path, str]:
    """Where a week's preview site is written (its index) and the address a browser opens it at:
    PRACTICEWEEK_PREVIEW_URL, else the outbox's HTTP address when the preview is under the outbox, else ''."""
    cfg = settings()
    outbox = Path(cfg.outbox or "outbox").resolve()
    index = Path(cfg.preview_dir or outbox / "previews").resolve() / cid / "index.html"
    if cfg.preview_url:
        return index, f"{cfg.preview_url.rstrip('/')}/{cid}/index.html"
    if cfg.outbox_url and index.is_relative_to(outbox):
        return index, f"{cfg.outbox_url.rstrip('/')}/{index.relative_to(outbox).as_posix()}"
    return index, ""


def day_page(preview_index: str, pid: str, day: str) -> str:
    """The preview page of a publication's day (a joint week's partner has its own pages); '' without one."""
    if not preview_index:
        return ""
    partner = partner_of(pid)
    return f"{preview_index.rsplit('/', 1)[0]}/{partner + '/' if partner else ''}{day}.html"


def link(text: str, url: str, hover: str = "") -> str:
    """``[text](url "hover")`` (just the text without a url), safe inside a markdown table's cell."""
    text = cell(text)
    if not url:
        return text
    title = f' "{cell(hover).replace(chr(34), chr(39))}"' if hover else ""
    return f"[{text.replace('[', '(').replace(']', ')')}](<{url}>{title})"


def cell(value: object) -> str:
    """A value as one markdown table cell: on one line, its pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def run_link(run_id: str | None, ui: str) -> str:
    """A window run's first 8 characters, linked to the run in the Prefect UI (the full id on hover)."""
    if not run_id:
        return ""
    return link(run_id[:8], f"{ui}/runs/flow-run/{run_id}", f"flow run {run_id}")


def status_table(rows: list[Row], zone: ZoneInfo | None, runs: dict[str, str] | None = None,
                 preview_index: str = "", ui: str = "") -> list[dict[str, str]]:
    """One line per publication (markdown cells, in ``COLUMNS``), status first; times in the campaign's
    zone; ``runs`` maps a publication to the window run that sent it."""
    runs = runs or {}
    out = []
    for r in rows:
        late = late_by(r)
        sent = when(r.sent_at, zone) if r.state == State.SENT else ""
        out.append(
            {
                "status": STATE_ICONS.get(r.state, r.state),
                "due": when(r.scheduled_at, zone),
                "sent": link(sent, browsable(r.url), "what went out") if sent else "",
                "late": f"{late:.1f} s" if late is not None else "",
                "tries": str(r.attempts),
                "publication": link(r.id.split("/", 1)[-1], day_page(preview_index, r.id, r.day),
                                    f"{r.id}: {r.title}"),
                "run": run_link(runs.get(r.id), ui),
            }
        )
    return out


def markdown_table(lines: list[dict[str, str]], heading: str) -> str:
    """``heading``, then the lines as a markdown table in ``COLUMNS`` (cells already markdown)."""
    table = [f"| {' | '.join(COLUMNS)} |", f"|{'---|' * len(COLUMNS)}"]
    table += [f"| {' | '.join(line.get(c, '') for c in COLUMNS)} |" for line in lines]
    return "\n".join([heading, "", *table]) if lines else f"{heading}\n\nNo publications."


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
            led = process.ledger()
            rows, zone = led.rows(cid), campaigns.zone_of(cid)  # read once for both
            index, address = preview_location(cid)
            lines = status_table(rows, zone, led.publication_runs(cid), address if index.exists() else "",
                                 ui_url())
            description = f"The week's plan of {cid}, with live status: {summary(rows, zone)}"
            create_markdown_artifact(
                markdown=markdown_table(lines, f"**{cell(description)}**"),
                key=names.artifact_key(f"plan-{cid}"),
                description=description,
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

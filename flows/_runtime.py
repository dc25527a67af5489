"""What flows share: the ledger, campaigns cached by file, rendering and connectors, events, names.

The renderer (``practiceweek.render.render``) and the connector registry
(``connectors.registry.get_connector``) are used when present; until then a plain-text rendering and
the outbox connector stand in, so the orchestration works on its own.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ledger import Ledger, Row
from practiceweek.artifacts import RenderContext, Rendered
from practiceweek.loader import Loaded, load, load_text
from practiceweek.planner import Publication, plan

WINDOW_S = float(os.environ.get("PRACTICEWEEK_WINDOW_S", "60"))  # one publish_window run per window
LEAD_S = float(os.environ.get("PRACTICEWEEK_LEAD_S", "20"))  # window runs are scheduled this much earlier
PREPARE_S = float(os.environ.get("PRACTICEWEEK_PREPARE_S", "60"))  # render this far ahead of the due time
# a run takes over an earlier window's publication once it is this late (its own run is lost or crashed)
HEAL_S = float(os.environ.get("PRACTICEWEEK_HEAL_S", "5"))
SUBMIT_AHEAD_S = float(os.environ.get("PRACTICEWEEK_SUBMIT_AHEAD_S", "2"))  # tasks start early, send on time
RECORD_LIMIT = int(os.environ.get("PRACTICEWEEK_RECORD_LIMIT", "100"))  # per-item artifacts up to this many
MAX_ATTEMPTS = int(os.environ.get("PRACTICEWEEK_MAX_ATTEMPTS", "8"))
REHEARSAL_S = 60.0  # a rehearsed week plays out in about this long
REHEARSAL_FLOOR_S = 120.0  # smallest missed window in a rehearsal (covers a restart)

DEPLOYMENTS = {
    "schedule": "schedule-campaign/practiceweek",
    "window": "publish-window/practiceweek",
    "alert": "alert-operators/practiceweek",
}

_lock = threading.Lock()
_ledger: Ledger | None = None


def ledger() -> Ledger:
    """The process's ledger (PRACTICEWEEK_LEDGER_URL or .practiceweek/ledger.sqlite3)."""
    global _ledger
    with _lock:
        if _ledger is None:
            _ledger = Ledger()
        return _ledger


def reset_ledger() -> None:
    global _ledger
    with _lock:
        _ledger = None


# --- campaigns, cached by file and modification time ---------------------------------------------------
@dataclass(frozen=True)
class Planned:
    loaded: Loaded
    pubs: dict[str, Publication]
    zone: ZoneInfo


_campaigns: dict[str, tuple[float, Planned]] = {}


def _planned(loaded: Loaded) -> Planned:
    return Planned(loaded, {p.id: p for p in plan(loaded.model)}, ZoneInfo(loaded.model.campaign.timezone))


def campaign_of(path: str) -> Planned:
    """Load and plan a campaign file once per version of the file."""
    mtime = Path(path).stat().st_mtime
    with _lock:
        cached = _campaigns.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    loaded = load(path)
    planned = _planned(loaded)
    with _lock:
        _campaigns[path] = (mtime, planned)
    return planned


def publication_of(row: Row) -> tuple[Loaded, Publication] | None:
    """The campaign and publication behind a ledger row (None if the file no longer plans it)."""
    camp = ledger().campaign(row.campaign)
    if camp is None:
        return None
    try:
        planned = campaign_of(camp.path)
    except Exception:  # noqa: BLE001 - a file broken after scheduling: publish nothing from it
        return None
    pub = planned.pubs.get(row.id)
    return (planned.loaded, pub) if pub is not None else None


_versions: dict[str, Planned] = {}


def scheduled_publication_of(row: Row) -> tuple[Loaded, Publication] | None:
    """The publication as the ledger scheduled it: from the version of the campaign file that planned
    ``row``'s content (the file may have been edited since, its re-plan still on its way)."""
    led = ledger()
    for path, text in led.sources(row.campaign):
        key = f"{row.campaign}:{hash(text)}"
        with _lock:
            planned = _versions.get(key)
        if planned is None:
            try:
                loaded = load_text(text, path, base=Path(path))
            except Exception:  # noqa: BLE001 - a version that no longer loads (an image since removed)
                continue
            planned = _planned(loaded)
            with _lock:
                _versions[key] = planned
        pub = planned.pubs.get(row.id)
        if pub is not None and pub.fingerprint == row.fingerprint:
            return planned.loaded, pub
    return None


# --- rendering and connectors ---------------------------------------------------------------------------
def render(loaded: Loaded, pub: Publication, ctx: RenderContext | None = None) -> Rendered:
    try:
        from practiceweek.render import render as real_render  # type: ignore[attr-defined]
    except ImportError:
        real_render = None
    if real_render is not None:
        return real_render(loaded, pub, ctx)
    text = f"{pub.title}\n\n{pub.content.get('day', {}).get('summary') or ''}".strip()
    return Rendered(publication=pub, subject=pub.title, text=text)


def context_for(row: Row) -> RenderContext:
    """Join links and published URLs of what this publication depends on."""
    join_urls: dict[str, str] = {}
    links: dict[str, str] = {}
    led = ledger()
    for dep in row.depends_on:
        d = led.get(dep)
        if d is None or d.state != "sent":
            continue
        if d.url:
            links[d.id] = d.url
        if d.join_url and d.event_id:
            join_urls[d.event_id] = d.join_url
    return RenderContext(join_urls=join_urls, links=links)


_connectors: dict[str, Any] = {}


def connector(name: str) -> Any:
    """A connector instance per process and name."""
    with _lock:
        if name in _connectors:
            return _connectors[name]
    from .ratelimit import install

    install()  # provider rate limits shared with every other worker, through the ledger
    try:
        from connectors.registry import get_connector  # type: ignore[import-not-found]
    except ImportError:
        get_connector = None
    if get_connector is not None:
        conn = get_connector(name)
    else:
        from connectors.outbox import OutboxConnector

        conn = OutboxConnector()
    with _lock:
        _connectors.setdefault(name, conn)
        return _connectors[name]


# --- names, tags, keys ----------------------------------------------------------------------------------
def local_day(ts: float, zone: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(ts, zone).strftime("%a %d %b")


def run_name(row: Row, zone: ZoneInfo | None = None) -> str:
    """``hscp-lfr-2024 · Tue 25 Jun · email``."""
    day = local_day(row.planned_at, zone) if zone else row.day
    return f"{row.campaign} · {day} · {row.channel}"


def task_name(row: Row, zone: ZoneInfo | None = None) -> str:
    return f"{run_name(row, zone)} · {row.id.rsplit('/', 1)[-1]}"


def tags_for(rows: list[Row], limit: int = 30) -> list[str]:
    tags: list[str] = []
    for r in rows:
        for tag in (f"campaign:{r.campaign}", f"day:{r.day}", f"channel:{r.channel}"):
            if tag not in tags:
                tags.append(tag)
    return ["practiceweek", *tags[:limit]]


def artifact_key(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:100] or "x"


def zone_of(cid: str) -> ZoneInfo | None:
    camp = ledger().campaign(cid)
    if camp is None:
        return None
    try:
        return campaign_of(camp.path).zone
    except Exception:  # noqa: BLE001
        return None


def window_of(ts: float) -> float:
    return ts - ts % WINDOW_S


# --- liveness of the worker that took a publication -----------------------------------------------------
def owner_dead(owner: str | None) -> bool:
    """True when ``owner`` (host:pid:thread) ran on this machine and its process is gone."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return False
    try:
        pid = int(rest.split(":", 1)[0])
    except ValueError:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def recover_orphans() -> list[str]:
    """'sending' rows whose process died (here) or whose lease ran out become 'unknown' (reconciled later)."""
    led = ledger()
    out = led.recover()
    for r in led.rows():
        if (
            r.state == "sending"
            and owner_dead(r.owner)
            and led.mark_unknown(r.id, "worker stopped while sending; reconciling")
        ):
            out.append(r.id)
    return out


# --- events ---------------------------------------------------------------------------------------------
def emit(kind: str, row: Row, **payload: Any) -> None:
    """Emit ``practiceweek.publication.<kind>`` with the campaign, day and channel as related resources."""
    from prefect.events import emit_event

    try:
        emit_event(
            event=f"practiceweek.publication.{kind}",
            resource={
                "prefect.resource.id": f"practiceweek.publication.{row.id}",
                "prefect.resource.name": row.title[:200],
                "practiceweek.campaign": row.campaign,
            },
            related=[
                {
                    "prefect.resource.id": f"practiceweek.campaign.{row.campaign}",
                    "prefect.resource.role": "campaign",
                },
                {
                    "prefect.resource.id": f"practiceweek.day.{row.campaign}.{row.day}",
                    "prefect.resource.role": "day",
                },
                {
                    "prefect.resource.id": f"practiceweek.channel.{row.channel}",
                    "prefect.resource.role": "channel",
                },
            ],
            payload={
                "publication": row.id,
                "campaign": row.campaign,
                "day": row.day,
                "channel": row.channel,
                "scheduled_at": dt.datetime.fromtimestamp(row.scheduled_at, dt.UTC).isoformat(),
                **payload,
            },
        )
    except Exception:  # noqa: BLE001 - events are for people; never block a publication on them
        pass


def now() -> float:
    return time.time()

"""Campaign files as the flows see them: loaded and planned once per version, and rendered."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import Row, State
from practiceweek.artifacts import RenderContext, Rendered
from practiceweek.loader import Loaded, load, load_text
from practiceweek.planner import Publication, plan
from practiceweek.render import render as render_publication

from .process import ledger


@dataclass(frozen=True)
class Planned:
    """A loaded campaign, its publications by id, and its time zone."""

    loaded: Loaded
    pubs: dict[str, Publication]
    zone: ZoneInfo


_lock = threading.Lock()
_by_file: dict[str, tuple[float, Planned]] = {}
_by_text: dict[str, Planned] = {}


def _planned(loaded: Loaded) -> Planned:
    return Planned(loaded, {p.id: p for p in plan(loaded.model)}, ZoneInfo(loaded.model.campaign.timezone))


def campaign_of(path: str) -> Planned:
    """Load and plan a campaign file once per version of the file."""
    mtime = Path(path).stat().st_mtime
    with _lock:
        cached = _by_file.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    planned = _planned(load(path))
    with _lock:
        _by_file[path] = (mtime, planned)
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


def scheduled_publication_of(row: Row) -> tuple[Loaded, Publication] | None:
    """The publication as the ledger scheduled it: from the version of the campaign file that planned
    ``row``'s content (the file may have been edited since, its re-plan still on its way)."""
    for path, text in ledger().sources(row.campaign):
        key = f"{row.campaign}:{hash(text)}"
        with _lock:
            planned = _by_text.get(key)
        if planned is None:
            try:
                planned = _planned(load_text(text, path, base=Path(path)))
            except Exception:  # noqa: BLE001 - a version that no longer loads (an image since removed)
                continue
            with _lock:
                _by_text[key] = planned
        pub = planned.pubs.get(row.id)
        if pub is not None and pub.fingerprint == row.fingerprint:
            return planned.loaded, pub
    return None


def zone_of(cid: str) -> ZoneInfo | None:
    """The campaign's time zone, as the ledger keeps it (read from its file for a week scheduled by an
    older version; None if that cannot be read). Cheap: a window run names every task with it."""
    camp = ledger().campaign(cid)
    if camp is None:
        return None
    try:
        return ZoneInfo(camp.timezone) if camp.timezone else campaign_of(camp.path).zone
    except Exception:  # noqa: BLE001
        return None


def context_for(row: Row) -> RenderContext:
    """Join links and published URLs of what this publication depends on, and its plan revision as the
    SEQUENCE of any invitation it carries (a re-planned event's invitation replaces the earlier one)."""
    join_urls: dict[str, str] = {}
    links: dict[str, str] = {}
    led = ledger()
    for dep in row.depends_on:
        d = led.get(dep)
        if d is None or d.state != State.SENT:
            continue
        if d.url:
            links[d.id] = d.url
        if d.join_url and d.event_id:
            join_urls[d.event_id] = d.join_url
    return RenderContext(join_urls=join_urls, links=links, sequence=row.revision)


def render(loaded: Loaded, pub: Publication, ctx: RenderContext | None = None) -> Rendered:
    """Render one publication (see ``practiceweek.render``)."""
    return render_publication(loaded, pub, ctx)


def rendering_keys(publication_id: str, fingerprint: str, ctx: RenderContext) -> tuple[str, str]:
    """Where a rendering of a publication in context ``ctx`` is stored: the first key when it carries no
    invitation (its SEQUENCE does not show), the second when it does."""
    base = f"publication:{publication_id}:{fingerprint}"
    return f"{base}:{ctx.digest(sequence=False)}", f"{base}:{ctx.digest(sequence=True)}"


def stored_key(rendered: Rendered, ctx: RenderContext) -> str:
    pub = rendered.publication
    return rendering_keys(pub.id, pub.fingerprint, ctx)[1 if rendered.invites else 0]

"""What templates see: the campaign, the day, its events and brand colours, as plain data.

Campaign text is handed to templates as values only; nothing from a campaign is ever compiled
as a template.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import mimetypes
import re
from pathlib import Path
from typing import Any

from ..artifacts import PAGE_MARK, RenderContext
from ..channels import resolve
from ..dates import day_date, day_key, week_dates
from ..links import NO_TAGS, Tagger, tagger
from ..loader import Loaded
from ..model import Day, Event, Image, Resource
from ..planner import Publication
from ..timestyle import clock, time_range, zone_label
from . import colours

KIND_LABELS = {"toolkit": "Toolkit", "overview_pack": "Overview pack", "briefing": "Briefing",
               "training": "Training", "procedure": "Procedure", "guidance": "Guidance", "poster": "Poster",
               "report": "Report", "strategy": "Strategy", "webpage": "Web page",
               "survey": "Survey"}


def long_date(date: dt.date) -> str:
    return f"{date:%A} {date.day} {date:%B %Y}"


def _label(title: str, kind_label: str) -> str:
    """A resource's link text: its title, plus its kind only when the title does not already say it."""
    kind = kind_label.lower()
    if kind in title.lower():
        return title  # "Wednesday's poster (PDF)", not "Wednesday's poster (PDF) (Poster)"
    if title.endswith(")") and "(" in title:
        return f"{title[:-1]}, {kind})"  # "Review (PDF)" → "Review (PDF, report)"
    return f"{title} ({kind})"


@functools.lru_cache(maxsize=512)
def qr_svg(url: str) -> str:
    """A QR code for ``url`` as an SVG data URI (dark modules on white, quiet zone kept)."""
    import segno

    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


@functools.lru_cache(maxsize=64)
def _file_uri(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def image(loaded: Loaded, img: Image | None, *, offline: bool = False) -> dict[str, Any] | None:
    """An image as {src, alt}: local files become data URIs; remote ones stay URLs unless ``offline``."""
    if img is None:
        return None
    if img.src.startswith(("http://", "https://")):
        return None if offline else {"src": img.src, "alt": img.alt}
    uri = _file_uri((loaded.path.parent / img.src).resolve())
    return {"src": uri, "alt": img.alt} if uri else None


def image_bytes(loaded: Loaded, img: Image | None) -> tuple[str, str, bytes] | None:
    """(filename, content type, bytes) of a local image, or None."""
    if img is None or img.src.startswith(("http://", "https://")):
        return None
    path = (loaded.path.parent / img.src).resolve()
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return path.name, mimetypes.guess_type(path.name)[0] or "application/octet-stream", data


def brand(loaded: Loaded, *, offline: bool = False) -> dict[str, Any]:
    b = loaded.model.campaign.branding
    primary, accent = b.primary_colour.upper(), b.accent_colour.upper()
    return {"primary": primary, "accent": accent, "on_primary": colours.text_on(primary),
            "on_accent": colours.text_on(accent), "primary_ink": colours.ink(primary),
            "accent_ink": colours.ink(accent), "logo": image(loaded, b.logo, offline=offline)}


def resource(r: Resource, with_qr: bool, tag: Tagger = NO_TAGS) -> dict[str, Any]:
    """A resource as templates see it: ``url`` tagged for the organiser's analytics, ``label`` clean."""
    kind_label = KIND_LABELS[r.kind.value]
    url = tag(r.url) or r.url
    return {"title": r.title, "url": url, "kind": r.kind.value, "kind_label": kind_label,
            "label": _label(r.title, kind_label), "description": r.description,
            "qr": qr_svg(url) if with_qr else None}


def poster_on(loaded: Loaded, day: Day) -> bool:
    """Whether ``day`` has a poster: with the poster channel off, nothing attaches, links or pictures one."""
    return resolve(loaded.model.channels, day, "poster").enabled


def day_for(loaded: Loaded, pub: Publication, tag: Tagger = NO_TAGS) -> dict[str, Any]:
    """The day ``pub`` shows, narrowed to its slot's focus (one theme, one resource, the one-thing line)."""
    view = day_view(loaded, find_day(loaded, pub.date), tag=tag)
    focus = pub.content.get("focus") or {}
    themes = view["themes"]
    if focus.get("theme"):
        themes = [t for t in themes if t["title"] == focus["theme"]]
    if focus.get("resource"):
        themes = [{**t, "summary": None, "key_messages": [], "one_thing": None,
                   "resources": [r for r in t["resources"] if r["title"] == focus["resource"]]}
                  for t in themes if any(r["title"] == focus["resource"] for r in t["resources"])]
    if focus.get("one_thing"):
        themes = [{**t, "summary": None, "key_messages": [], "resources": []}
                  for t in themes if t["one_thing"]]
    kinds = [k for k in ("resource", "theme", "one_thing") if focus.get(k)]
    return {**view, **arrange(themes, view["said"]), "summary": focus.get("text") or view["summary"],
            "focus": kinds[0] if kinds else None}


def day_view(loaded: Loaded, day: Day, *, with_qr: bool = False, tag: Tagger = NO_TAGS) -> dict[str, Any]:
    date = day_date(loaded.model, day)
    assert date is not None
    themes: list[dict[str, Any]] = [
        {"title": t.title, "summary": t.summary, "key_messages": list(t.key_messages),
         "one_thing": t.one_thing, "resources": [resource(r, with_qr, tag) for r in t.resources]}
        for t in day.themes
    ]
    said = [day.title, *(e.title for e in loaded.model.events if day_date(loaded.model, e) == date)]
    return {"key": day_key(date), "date": date, "date_label": long_date(date), "weekday": f"{date:%A}",
            "title": day.title, "summary": day.summary, **arrange(themes, said),
            "poster_alt": day.poster.alt if day.poster else None, "poster": poster_on(loaded, day),
            "focus": None}


def said_already(title: str, said: list[str]) -> bool:
    """Whether a theme's title only repeats the day's title or an event's (case and punctuation aside)."""
    return _norm(title) in {_norm(s) for s in said}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def arrange(themes: list[dict[str, Any]], said: list[str]) -> dict[str, Any]:
    """Each theme's ``heading`` decided once for every carrier, and the day's resource lists.

    A heading is shown only over something: a theme with text (summary, key messages, one thing) heads
    that text; a theme whose only content is resources heads them (its ``links``, listed under it and
    not again in the day's ``listed_resources``); a theme with nothing is no heading at all (its name is
    in the day's title). A title that repeats the day's or an event's title is no heading either.
    ``resources`` stays every resource of the day (social posts, card buttons, alt text pick from it).
    """
    out = []
    for t in themes:
        text = bool(t["summary"] or t["key_messages"] or t["one_thing"])
        heading = None if said_already(t["title"], said) else t["title"]
        links = t["resources"] if heading and not text else []
        out.append({**t, "heading": heading if text or links else None, "links": links,
                    "shown": text or bool(t["resources"])})
    own = {id(r) for t in out for r in t["links"]}
    return {"themes": out, "said": said,
            "one_things": [t["one_thing"] for t in out if t["one_thing"]],
            "resources": [r for t in out for r in t["resources"]],
            "listed_resources": [r for t in out for r in t["resources"] if id(r) not in own]}


def event_view(loaded: Loaded, event: Event, ctx: RenderContext) -> dict[str, Any]:
    """An event as templates see it: ``time_label`` "1:30pm to 3pm", ``when`` "1:30pm to 3pm UK time"
    (GOV.UK style, ``timestyle``); ``start``/``end`` "13:30" are for machines (Graph, .ics) only."""
    date = day_date(loaded.model, event)
    assert date is not None
    zone = loaded.model.campaign.timezone
    return {"id": event.id, "kind": event.kind, "title": event.title, "description": event.description,
            "date": date, "date_label": long_date(date), "start": f"{event.start:%H:%M}",
            "end": f"{event.end:%H:%M}", "start_label": clock(event.start),
            "time_label": time_range(event.start, event.end), "zone_label": zone_label(zone),
            "when": f"{time_range(event.start, event.end)} {zone_label(zone)}", "organiser": event.organiser,
            "audience": event.audience,
            "join_url": ctx.join_urls.get(event.id) or event.join_url}


def restates_event(text: str | None, events: list[dict[str, Any]]) -> bool:
    """Whether ``text`` only restates an event: it names one's title or start time ("1:30pm", "13:30")."""
    said = _norm(text or "")
    return bool(said) and (any(_norm(e["title"]) in said for e in events) or any(
        re.search(rf"\b{re.escape(t)}\b", said) for e in events for t in (_norm(e["start_label"]),
                                                                            _norm(e["start"]))))


def leave_to_events(day: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """``day`` without the summaries that restate one of its events: the event's own block gives its title
    and time once (a day's own words for an extra slot stay)."""
    if not events:
        return day
    themes = [{**t, "summary": None if restates_event(t["summary"], events) else t["summary"]}
              for t in day["themes"]]
    summary = day["summary"] if day.get("focus") or not restates_event(day["summary"], events) else None
    return {**day, **arrange(themes, day["said"]), "summary": summary}


def for_reading(text: str | None) -> str | None:
    """Text written for a social post, as an email or card reads it: without the hashtags at its end (the
    email's footer and the card carry the week's hashtags once)."""
    if text is None:
        return None
    return re.sub(r"(?:\s+[#＃]\w+)+\s*$", "", text.strip()) or text


def find_day(loaded: Loaded, date: dt.date) -> Day:
    for day in loaded.model.days:
        if day_date(loaded.model, day) == date:
            return day
    raise LookupError(f"no day on {date} in {loaded.id}")


def find_event(loaded: Loaded, event_id: str) -> Event:
    for event in loaded.model.events:
        if event.id == event_id:
            return event
    raise LookupError(f"no event {event_id!r} in {loaded.id}")


def events_on(loaded: Loaded, date: dt.date, ctx: RenderContext) -> list[dict[str, Any]]:
    return [event_view(loaded, e, ctx) for e in loaded.model.events if day_date(loaded.model, e) == date]


def week_events(loaded: Loaded, ctx: RenderContext) -> list[dict[str, Any]]:
    """Every event of the week, in date and time order."""
    events = sorted(loaded.model.events, key=lambda e: (day_date(loaded.model, e), e.start, e.id))
    return [event_view(loaded, e, ctx) for e in events]


def week_page(loaded: Loaded, pub: Publication | None, ctx: RenderContext) -> str | None:
    """The published week page (known once the day's web page went out), else None."""
    key = f"{loaded.id}/{pub.day if pub else 'week'}/web_page/daily"
    if key in ctx.links:
        return ctx.links[key]
    pages = [url for pid, url in ctx.links.items() if PAGE_MARK in pid]
    return pages[-1] if pages else None


def page_link(loaded: Loaded, pub: Publication | None, ctx: RenderContext) -> str | None:
    """Where readers find more: the published week page, else the partnership's website."""
    return week_page(loaded, pub, ctx) or loaded.model.campaign.organiser.website


def base(loaded: Loaded, pub: Publication | None, ctx: RenderContext, *, offline: bool = False,
         tag: Tagger | None = None) -> dict[str, Any]:
    """What every template sees. ``link``, ``week_page`` and ``website`` are tagged with ``tag`` (by
    default the publication's own tagger) and so is ``tag`` handed on to ``day_view``; templates show
    an address as text through ``|clean``."""
    c = loaded.model.campaign
    dates = week_dates(loaded.model)
    if tag is None:
        tag = tagger(loaded.model, pub.channel, pub.day, pub.slot) if pub is not None else NO_TAGS
    return {"campaign": c, "organiser": c.organiser, "brand": brand(loaded, offline=offline), "pub": pub,
            "week_label": f"{long_date(dates[0])} to {long_date(dates[-1])}",
            "hashtags": [f"#{h.lstrip('#')}" for h in c.hashtags], "link": tag(page_link(loaded, pub, ctx)),
            "week_page": tag(week_page(loaded, pub, ctx)), "website": tag(c.organiser.website), "tag": tag}

"""The week preview: a static, offline site showing every publication exactly as it will go out.

Beside the pages, ``files/`` holds the exact artifacts: each email as .eml, each poster .pdf/.png,
each event .ics, each social thread and Teams card as .json, each day's web page as a folder.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .. import textlimits
from ..artifacts import RenderContext, Rendered, preview_context
from ..dates import day_date, day_key, outside_key, week_dates
from ..loader import Loaded
from ..planner import Publication, plan
from ..timestyle import time_range
from . import views
from .env import CHANNEL_NAMES, render_template
from .publication import render
from .social import post_json


def write_preview(loaded: Loaded, out: Path) -> Path:
    """Write the site; its calendar has every date something goes out, before, during and after the week.
    A joint week has one section per partner (``out/<partner>/``), each in the partner's own colours and
    showing exactly what the partner sends, and an index of the sections with each date's versions side
    by side (``side_by_side``)."""
    pubs = plan(loaded.model)
    makers = {p.id: p.event_id for p in pubs if p.channel == "teams_event" and p.event_id is not None}
    if not loaded.partners:
        return _write_site(loaded, pubs, makers, out)[0]
    sections, sites = [], {}
    for key in loaded.partners:
        own = [p for p in pubs if p.partner == key]
        mine = loaded.for_partner(key)
        _, sites[key] = _write_site(mine, own, makers, out / key)
        c = mine.model.campaign
        sections.append({"key": key, "href": f"{key}/index.html", "organiser": c.organiser, "count": len(own),
                         "brand": views.brand(mine, offline=True),
                         "channels": sorted({CHANNEL_NAMES[p.channel] for p in own}),
                         "recipients": sorted({r for a in c.audiences.values() for r in a.recipients}),
                         "accounts": c.accounts.model_dump(exclude_none=True)})
    context = {**views.base(loaded.for_partner(""), pubs[0] if pubs else None, RenderContext(), offline=True),
               "campaign": loaded.model.campaign, "organiser": loaded.model.campaign.organiser,
               "sections": sections, "count": len(pubs), "side_by_side": side_by_side(loaded, sites)}
    (out / "site.css").write_text(render_template(loaded, "site.css", **context), encoding="utf-8")
    (out / "contrast.js").write_text(render_template(loaded, "contrast.js"), encoding="utf-8")
    index = out / "index.html"
    index.write_text(render_template(loaded, "preview_partners.html", **context), encoding="utf-8")
    return index


def side_by_side(loaded: Loaded, sites: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """A joint week's dates, each with every partner's version of it (its day as its own site shows it,
    linked there; None where the partner sends nothing that date), in the file's order of partners."""
    dates = sorted({day["date"] for days in sites.values() for day in days})
    rows = []
    for date in dates:
        columns: list[dict[str, Any]] = []
        for key, days in sites.items():
            day = next((d for d in days if d["date"] == date), None)
            organiser = loaded.for_partner(key).model.campaign.organiser
            columns.append({"key": key, "organiser": organiser, "day": day,
                            "href": f"{key}/{day['page']}" if day else f"{key}/index.html"})
        first: dict[str, Any] = next(c["day"] for c in columns if c["day"] is not None)
        rows.append({"key": first["key"], "date_label": first["date_label"], "title": first["title"],
                     "columns": columns})
    return rows


def _write_site(loaded: Loaded, pubs: list[Publication], makers: dict[str, str],
                out: Path) -> tuple[Path, list[dict[str, Any]]]:
    """One partnership's preview site: its calendar, pages and exact artifacts; its index and its days."""
    out.mkdir(parents=True, exist_ok=True)
    ctx = RenderContext()
    entries = [_write_artifacts(out, pub, render(loaded, pub, preview_context(pub, makers)))
               for pub in pubs]  # in time order; join links are marked placeholders
    by_date: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for pub, entry in zip(pubs, entries, strict=True):
        by_date[pub.at.date()].append(entry)
    week = week_dates(loaded.model)
    days = [_calendar_day(loaded, date, week, by_date.get(date, [])) for date in sorted({*week, *by_date})]
    for day in days:
        for entry in day["entries"]:
            entry["page"] = day["page"]
    first = pubs[0] if pubs else None
    context = {**views.base(loaded, first, ctx, offline=True), "days": days, "entries": entries,
               "week_entries": [e for e in entries if e["day"] == "week"], "count": len(entries),
               "channel_name": CHANNEL_NAMES.get}
    (out / "site.css").write_text(render_template(loaded, "site.css", **context), encoding="utf-8")
    (out / "contrast.js").write_text(render_template(loaded, "contrast.js"), encoding="utf-8")
    for day in days:
        html = render_template(loaded, "preview_day.html", day=day, **_without(context, "day"))
        (out / day["page"]).write_text(html, encoding="utf-8")
    index = out / "index.html"
    index.write_text(render_template(loaded, "preview_index.html", **context), encoding="utf-8")
    return index, days


def _calendar_day(loaded: Loaded, date: dt.date, week: list[dt.date],
                  entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A date of the calendar: a day of the week (described or not), or a date before or after it."""
    if date in week:
        key = day_key(date)
        try:
            view = views.day_view(loaded, views.find_day(loaded, date))
        except LookupError:
            view = {"title": "No publications planned", "themes": []}
        nav = f"{date:%A}"
    else:
        key = outside_key(date)
        view = {"title": "Before the week" if date < week[0] else "After the week", "themes": []}
        nav = f"{date:%a} {date.day} {date:%b}"
    return {"key": key, "date": date, "date_label": views.long_date(date), "weekday": f"{date:%A}", **view,
            "nav": nav, "entries": entries, "page": f"{key}.html", "sessions": sessions_on(loaded, date)}


def sessions_on(loaded: Loaded, date: dt.date) -> list[dict[str, Any]]:
    """The Teams sessions that happen on ``date`` (not the day their meeting is created), in time order,
    each with its times on that date's clock: "1:30pm to 3pm GMT" (BST in summer)."""
    zone = ZoneInfo(loaded.model.campaign.timezone)
    out = []
    for event in sorted(loaded.model.events, key=lambda e: (e.start, e.id)):
        if day_date(loaded.model, event) != date:
            continue
        start = dt.datetime.combine(date, event.start, tzinfo=zone)
        out.append({"id": event.id, "title": event.title, "kind": event.kind.capitalize(),
                    "when": f"{time_range(event.start, event.end)} {start:%Z}"})
    return out


def _without(context: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in context.items() if k not in keys}


def _write(out: Path, rel: str, data: bytes | str) -> str:
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return rel


def _write_artifacts(out: Path, pub: Publication, r: Rendered) -> dict[str, Any]:
    """Write ``r``'s exact artifacts under files/<day>/ and describe them for the pages."""
    stem = f"files/{pub.day}/{pub.channel}-{pub.slot}"
    entry: dict[str, Any] = {"id": pub.id, "day": pub.day, "channel": pub.channel, "slot": pub.slot,
                             "channel_label": CHANNEL_NAMES[pub.channel], "title": pub.title,
                             "time": f"{pub.at:%H:%M} {pub.at:%Z}",  # under the date it goes out, GMT/BST
                             "when": f"{pub.at:%a %d %b %H:%M %Z}",
                             "connector": pub.connector, "anchor": f"{pub.channel}-{pub.slot}",
                             "subject": r.subject, "links": []}
    links = entry["links"]
    if pub.channel == "poster":
        for name, data in r.files.items():
            kind = name.rsplit(".", 1)[1].upper()
            links.append({"label": f"Poster {kind}", "href": _write(out, f"{stem}/{name}", data)})
        entry["pdf"] = next(f"{stem}/{n}" for n in r.files if n.endswith(".pdf"))
        entry["png"] = next(f"{stem}/{n}" for n in r.files if n.endswith(".png"))
        entry["alt"] = r.attachments[0].alt
    elif pub.channel == "email":
        assert r.eml is not None and r.html is not None
        links.append({"label": "Email (.eml)", "href": _write(out, f"{stem}.eml", r.eml)})
        entry["html_file"] = _write(out, f"{stem}.html", r.html)
        entry.update(recipients=list(r.recipients), sender=r.sender,
                     attachments=[{"filename": a.filename, "content_type": a.content_type,
                                   "size": len(a.data)} for a in r.attachments])
        for a in r.attachments:
            href = _write(out, f"{stem}/{a.filename}", a.data)
            links.append({"label": f"Attachment {a.filename}", "href": href})
    elif pub.channel == "teams_event":
        assert r.ics is not None
        links.append({"label": "Invitation (.ics)", "href": _write(out, f"{stem}.ics", r.ics)})
        links.append({"label": "Graph event (.json)", "href": _write(out, f"{stem}.json", _json(r.event))})
        entry.update(event_text=r.text, recipients=list(r.recipients))
    elif pub.channel == "teams_channel":
        links.append({"label": "Adaptive Card (.json)", "href": _write(out, f"{stem}.json", _json(r.card))})
        entry["card"] = _card_text(r.card or {})
    elif pub.channel == "web_page":
        for name, data in r.files.items():
            _write(out, f"{stem}/{name}", data)
        links.append({"label": "Web page as published", "href": f"{stem}/index.html"})
    else:
        total = len(r.posts)
        posts = [post_json(pub.channel, p, i, total) for i, p in enumerate(r.posts, 1)]
        links.append({"label": "Posts (.json)", "href": _write(out, f"{stem}.json", _json(posts))})
        for p in r.posts:
            if p.image is not None:
                entry["image"] = {"href": _write(out, f"{stem}/{p.image.filename}", p.image.data),
                                  "alt": p.image.alt}
        entry["posts"] = posts
        entry["limit"] = textlimits.LIMITS[pub.channel]
    return entry


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _card_text(card: dict[str, Any]) -> list[str]:
    """The text blocks of an Adaptive Card, in order (to show the card as a reader sees it)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                out.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return out

"""Posters for a wall, typeset with Typst: a tagged PDF (PDF/UA-1) per day and for the whole week, in A4
and A3, plus an A4 PNG rendition with alt text.

The day's title appears once and large; the key messages and the "If you do one thing" line fill the
centre; each event's date and time sit in a block readable from two metres; a QR code leads to the
week's page and every link is clickable. Text that only restates an event (a theme named after it, a
summary naming it) is left to the event's block.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

from .. import links
from ..artifacts import Attachment, RenderContext
from ..dates import known_date
from ..loader import Loaded
from ..planner import Publication
from . import views
from .env import render_template
from .typeset import typeset

PNG_PPI = 108  # 893 × 1263 px for A4


@dataclass(frozen=True)
class Poster:
    key: str  # day key ("mon" …) or "week"
    pdf: bytes  # A4
    png: bytes  # A4, first page
    alt: str
    a3: bytes = b""  # the same poster on A3

    def attachments(self) -> tuple[Attachment, ...]:
        out = (Attachment(f"{self.key}.pdf", "application/pdf", self.pdf, alt=self.alt),
               Attachment(f"{self.key}.png", "image/png", self.png, alt=self.alt))
        return out + ((Attachment(f"{self.key}-a3.pdf", "application/pdf", self.a3, alt=self.alt),)
                      if self.a3 else ())


_CACHE: dict[tuple[str, ...], Poster] = {}


def poster_for(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Poster:
    """The poster of ``pub``'s day (or the week's, for slot "week"); cached per campaign content and link."""
    key = "week" if pub.slot == "week" or pub.day == "week" else pub.day
    digest = hashlib.sha256(loaded.model.model_dump_json().encode()).hexdigest()
    link = views.page_link(loaded, pub, ctx) or ""
    cache_key = (str(loaded.path), digest, key if key == "week" else pub.date.isoformat(), link)
    if cache_key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[cache_key] = _make(loaded, pub, ctx, key)
    return _CACHE[cache_key]


def _make(loaded: Loaded, pub: Publication, ctx: RenderContext, key: str) -> Poster:
    data, files = poster_data(loaded, pub, ctx, key)
    pdf = typeset(loaded, "poster.typ", data, files, when=pub.at)[0]
    png = typeset(loaded, "poster.typ", data, files, fmt="png", ppi=PNG_PPI)[0]
    a3 = typeset(loaded, "poster.typ", {**data, "paper": "a3"}, files, when=pub.at)[0]
    return Poster(key, pdf, png, data["alt"], a3)


def poster_data(loaded: Loaded, pub: Publication, ctx: RenderContext,
                key: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What ``poster.typ`` shows (plain data) and the image files beside it."""
    poster_tag = links.tagger(loaded.model, "poster", key, "week" if key == "week" else "daily")
    context = views.base(loaded, pub, ctx, offline=True, tag=poster_tag)  # the same links in every carrier
    c = loaded.model.campaign
    files: dict[str, bytes] = {}
    data: dict[str, Any] = {
        "paper": "a4", "author": c.organiser.name, "organiser": c.organiser.name, "campaign": c.title,
        "week_label": context["week_label"], "brand": brand_colours(context["brand"]),
        "hashtags": " ".join(context["hashtags"]), "logo": logo_file(loaded, files), "ready": None,
        "qr": _qr(loaded, context, files), "themes": [], "summary": None, "days": [], "resources": []}
    if key == "week":
        days = [views.day_view(loaded, d, tag=poster_tag) for d in sorted(loaded.model.days,
                                                          key=lambda d: known_date(loaded.model, d))]
        events = views.week_events(loaded, ctx)
        context.update(days=days, day=None, events=events)
        data.update(kind="week", title=f"{c.title}: the week", kicker=context["week_label"], heading=c.title,
                    header_lines=[],
                    days=[_week_day(d) for d in days], events=[_event(e, week=True) for e in events])
    else:
        day = views.day_view(loaded, views.find_day(loaded, pub.date), tag=poster_tag)
        events = views.events_on(loaded, pub.date, ctx)
        context.update(day=day, events=events)
        data.update(kind="day", title=f"{day['weekday']}: {day['title']} · {c.title}",
                    kicker=day["date_label"], header_lines=[c.title, context["week_label"]],
                    heading=day["title"], events=[_event(e) for e in events],
                    resources=[{"label": r["label"], "url": r["url"]} for r in day["listed_resources"]],
                    **_centre(day, events))
        data["ready"] = _ready(loaded, pub, files)
    data["title_size"] = _title_size(data["heading"])
    data["alt"] = (data["ready"] or {}).get("alt") or _oneline(render_template(loaded, "poster_alt.txt",
                                                                               **context))
    return data, files


def brand_colours(brand: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in brand.items() if k != "logo"}


def logo_file(loaded: Loaded, files: dict[str, bytes]) -> dict[str, str] | None:
    logo = loaded.model.campaign.branding.logo
    found = views.image_bytes(loaded, logo)
    if not found or logo is None:
        return None
    name = "logo" + _suffix(found[0])
    files[name] = found[2]
    return {"file": name, "alt": logo.alt}


def _ready(loaded: Loaded, pub: Publication, files: dict[str, bytes]) -> dict[str, str] | None:
    """A ready-made poster image the campaign supplies for the day, shown full page."""
    img = views.find_day(loaded, pub.date).poster
    found = views.image_bytes(loaded, img)
    if not found or img is None:
        return None
    name = "ready" + _suffix(found[0])
    files[name] = found[2]
    return {"file": name, "alt": img.alt}


def _suffix(filename: str) -> str:
    match = re.search(r"\.[A-Za-z0-9]+$", filename)
    return match.group(0).lower() if match else ".png"


def _qr(loaded: Loaded, context: dict[str, Any], files: dict[str, bytes]) -> dict[str, str] | None:
    """A QR code to the week's page (or, until it is published, the partnership's website)."""
    import segno

    url = context["week_page"] or context["link"]
    if not url:
        return None
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", border=2, xmldecl=False)
    files["qr.svg"] = out.getvalue()
    short = context["organiser"].short_name
    where = "every day of the week" if context["week_page"] else f"the {short} website"
    label = links.clean(url)
    return {"file": "qr.svg", "url": url, "label": label, "caption": f"Scan for {where}",
            "alt": f"QR code linking to {label}"}


def _norm(text: str | None) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", (text or "").lower()).split())


def _centre(day: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """Themes and summary without what the title or an event block already says."""
    def names_event(text: str | None) -> bool:  # its title or start time ("1:30pm", "13:30")
        return views.restates_event(text, events)

    themes = []
    for t in day["themes"]:  # headings decided in views.arrange; a heading only over something
        summary = None if names_event(t["summary"]) else t["summary"]
        links = [{"label": r["label"], "url": r["url"]} for r in t["links"]]
        if summary or t["key_messages"] or t["one_thing"] or links:
            themes.append({"title": t["heading"], "summary": summary, "messages": t["key_messages"],
                           "one_thing": t["one_thing"], "links": links})
    summary = None if names_event(day["summary"]) else day["summary"]
    return {"themes": themes, "summary": summary}


def _event(e: dict[str, Any], *, week: bool = False) -> dict[str, Any]:
    when = f"{e['date']:%A} {e['date'].day} {e['date']:%B}"
    return {"kind_label": e["kind"].capitalize(), "title": e["title"], "when": when,
            "time_label": e["time_label"], "where": f"{e['zone_label']}, online on Microsoft Teams",
            "join_url": None if week else e["join_url"]}


def _week_day(day: dict[str, Any]) -> dict[str, Any]:
    """A day of the week poster: its date heads its title, themes and "one thing" (always something)."""
    return {"weekday": day["weekday"], "date": f"{day['weekday']} {day['date'].day} {day['date']:%B}",
            "title": day["title"],
            "themes": [t["title"] for t in day["themes"] if _norm(t["title"]) not in _norm(day["title"])],
            "one_things": day["one_things"]}


def _title_size(title: str) -> int:
    """The title's size in points on A4: as large as its length allows on two or three lines."""
    n = len(title)
    return 48 if n <= 32 else 40 if n <= 60 else 34 if n <= 90 else 28


def _oneline(text: str) -> str:
    return " ".join(text.split())

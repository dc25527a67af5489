"""The week's public page: index.html plus its assets, showing only the days already revealed.

Days run in date order behind an in-page list of links; each has its key messages and its resources
as separate lists and a thumbnail of its poster linking to the PDF.
"""

from __future__ import annotations

import dataclasses

from ..artifacts import RenderContext, Rendered
from ..dates import day_date
from ..loader import Loaded
from ..planner import Publication
from . import views
from .env import render_template
from .poster import poster_for


def render_page(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Rendered:
    cf = loaded.model
    shown = sorted((d for d in cf.days if (day_date(cf, d) or pub.date) <= pub.date),
                   key=lambda d: day_date(cf, d) or pub.date)
    context = views.base(loaded, pub, ctx)
    days = [views.day_view(loaded, d, tag=context["tag"]) for d in shown]
    context.update(days=days, events=views.week_events(loaded, ctx))
    files = {"index.html": render_template(loaded, "page.html", **context).encode(),
             "site.css": render_template(loaded, "site.css", **context).encode(),
             "contrast.js": render_template(loaded, "contrast.js").encode()}
    for d in (d for d in days if d["poster"]):  # poster channel off that day: no poster linked
        day_pub = dataclasses.replace(pub, day=d["key"], date=d["date"], slot="daily")
        poster = poster_for(loaded, day_pub, ctx)
        files[f"posters/{d['key']}.pdf"] = poster.pdf
        files[f"posters/{d['key']}.png"] = poster.png  # the thumbnail
    latest = days[-1] if days else None
    subject = f"{cf.campaign.title}: {latest['weekday']}" if latest else cf.campaign.title
    return Rendered(publication=pub, subject=subject, text=subject, html=files["index.html"].decode(),
                    files=files)

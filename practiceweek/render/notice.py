"""Announcements before the week and follow-ups after it, for each channel they go out on.

A poster notice is the whole-week poster; an email carries each invited event's .ics (a save-the-date)
and, for a round-up, every day's resources; posts and cards say the notice's own words or are generated
from ``notice_social.txt`` / ``notice_card.json``; the web page (``page.py``) shows the days revealed by then.
"""

from __future__ import annotations

import dataclasses
import json
from email.utils import formataddr
from typing import Any

from ..artifacts import Attachment, Post, RenderContext, Rendered
from ..channels import resolve
from ..dates import day_date
from ..loader import Loaded
from ..notices import Notice, notice_slot
from ..planner import Publication
from . import ics, views
from .env import render_template
from .mail import build_eml, meeting_invites, mjml_to_html
from .poster import Poster, poster_for
from .social import flags, thread
from .social_card import notice_card


def is_notice(pub: Publication) -> bool:
    return pub.content.get("kind") in ("announcement", "follow-up")


def find_notice(loaded: Loaded, pub: Publication) -> Notice:
    kind = pub.content.get("kind", "")
    notices = loaded.model.announcements if kind == "announcement" else loaded.model.follow_ups
    for notice in notices:
        if notice.date == pub.date and notice_slot(kind, notice) == pub.slot:
            return notice
    raise LookupError(f"no {kind} {pub.slot!r} on {pub.date} in {loaded.id}")


def render_notice(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Rendered:
    """Render an announcement or follow-up for its channel (web pages go through ``render_page``)."""
    notice = find_notice(loaded, pub)
    context = _context(loaded, pub, ctx, notice)
    if pub.channel == "poster":
        files = _week_poster(loaded, pub, ctx).attachments()
        return Rendered(publication=pub, subject=pub.title, text=files[0].alt or pub.title, attachments=files,
                        files={a.filename: a.data for a in files})
    if pub.channel == "email":
        return _email(loaded, pub, ctx, notice, context)
    if pub.channel == "teams_channel":
        card = json.loads(render_template(loaded, "notice_card.json", **context))
        text = views.for_reading(notice.text) or notice.title
        return Rendered(publication=pub, subject=notice.title, text=text, card=card)
    return _social(loaded, pub, ctx, notice, context)


def _context(loaded: Loaded, pub: Publication, ctx: RenderContext, notice: Notice) -> dict[str, Any]:
    cf = loaded.model
    days = sorted(cf.days, key=lambda d: day_date(cf, d))  # type: ignore[arg-type,return-value]
    events = [views.event_view(loaded, e, ctx) for e in cf.events if e.id in notice.events]
    return {**views.base(loaded, pub, ctx), "notice": notice, "kind": pub.content.get("kind"),
            "notice_text": views.for_reading(notice.text),
            "date_label": views.long_date(notice.date), "events": events,
            "days": [views.day_view(loaded, d) for d in days] if notice.round_up else [],
            "resources": [views.resource(r, with_qr=False) for r in notice.resources],
            "poster_attached": _week_poster_on(loaded), "invitation_attached": not meeting_invites(loaded)}


def _week_poster_on(loaded: Loaded) -> bool:
    return resolve(loaded.model.channels, None, "week_poster").enabled


def _week_poster(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Poster:
    return poster_for(loaded, dataclasses.replace(pub, day="week", slot="week"), ctx)


def _email(loaded: Loaded, pub: Publication, ctx: RenderContext, notice: Notice,
           context: dict[str, Any]) -> Rendered:
    c = loaded.model.campaign
    audience = pub.audience or pub.content.get("audience")
    recipients = tuple(c.audiences[audience].recipients) if audience in c.audiences else ()
    subject = f"[{c.organiser.short_name}] {notice.title}"
    context["subject"] = subject
    html = mjml_to_html(loaded, render_template(loaded, "notice_email.mjml", **context))
    text = render_template(loaded, "notice_email.txt", **context)
    attachments: list[Attachment] = []
    if context["poster_attached"]:
        attachments.append(_week_poster(loaded, pub, ctx).attachments()[0])
    ics_bytes = None
    for event in context["events"] if context["invitation_attached"] else ():  # one invitation a meeting
        description = render_template(loaded, "event.txt", **{**context, "event": event})
        data = ics.event_ics(loaded, event, description, sequence=ctx.sequence, recipients=recipients)
        ics_bytes = ics_bytes or data
        attachments.append(Attachment(f"{event['id']}.ics", "text/calendar", data))
    sender = c.organiser.email
    eml = build_eml(pub, subject, text, html, recipients, formataddr((c.organiser.name, sender)), attachments)
    return Rendered(publication=pub, subject=subject, text=text, html=html, recipients=recipients,
                    sender=sender, attachments=tuple(attachments), ics=ics_bytes, eml=eml)


def _social(loaded: Loaded, pub: Publication, ctx: RenderContext, notice: Notice,
            context: dict[str, Any]) -> Rendered:
    network = pub.channel
    own = getattr(notice, network) or notice.text
    text = own or render_template(loaded, "notice_social.txt", network=network, **context)
    text = "\n".join(" ".join(line.split()) for line in text.strip().splitlines())
    image = None
    found = views.image_bytes(loaded, notice.image)
    if found:
        image = Attachment(*found, alt=notice.image.alt if notice.image else None)
    else:  # a social card, sized for feeds (never the A4 poster)
        image = notice_card(loaded, pub, notice.title, notice.text)
    parts = thread(network, text)
    warning, labels = flags(network, notice.content_warning, loaded.model.campaign.content_warning)
    posts = tuple(Post(part, image if i == 0 else None, (), warning, labels) for i, part in enumerate(parts))
    return Rendered(publication=pub, subject=parts[0][:80], text=text, posts=posts,
                    attachments=(image,) if image else ())

"""Render any publication for its channel into the exact artifacts connectors send."""

from __future__ import annotations

from ..artifacts import RenderContext, Rendered
from ..loader import Loaded
from ..planner import Publication
from .mail import render_email
from .notice import is_notice, render_notice
from .page import render_page
from .poster import poster_for
from .social import render_social
from .teams import render_card, render_event


def render(loaded: Loaded, pub: Publication, ctx: RenderContext | None = None) -> Rendered:
    """Render ``pub`` for its channel. Raises CampaignError if a (campaign's own) template is broken."""
    ctx = ctx or RenderContext()
    loaded = loaded.for_partner(pub.partner)  # a joint week's publication shows its own partner only
    channel = pub.channel
    if is_notice(pub) and channel != "web_page":  # before or after the week (a page shows the days by then)
        return render_notice(loaded, pub, ctx)
    if channel == "poster":
        poster = poster_for(loaded, pub, ctx)
        attachments = poster.attachments()
        return Rendered(publication=pub, subject=pub.title, text=poster.alt, attachments=attachments,
                        files={a.filename: a.data for a in attachments})
    if channel == "email":
        return render_email(loaded, pub, ctx)
    if channel == "teams_event":
        return render_event(loaded, pub, ctx)
    if channel == "teams_channel":
        return render_card(loaded, pub, ctx)
    if channel == "web_page":
        return render_page(loaded, pub, ctx)
    if channel in ("x", "bluesky", "mastodon"):
        return render_social(loaded, pub, ctx)
    raise ValueError(f"no renderer for channel {channel!r}")

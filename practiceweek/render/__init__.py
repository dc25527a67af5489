"""Render publications into the exact artifacts connectors send, from the Jinja2 templates in ``templates/``.

``render(loaded, pub, ctx)`` renders any publication of any channel; ``preview(loaded, out_dir)`` writes
the whole week as a static site beside the exact artifacts. Heavy libraries (WeasyPrint, PDFium, segno,
css-inline, icalendar) are imported only when something is rendered.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..artifacts import RenderContext, Rendered

if TYPE_CHECKING:
    from ..loader import Loaded
    from ..planner import Publication

__all__ = ["render", "preview", "Rendered", "RenderContext"]


def render(loaded: Loaded, pub: Publication, ctx: RenderContext | None = None) -> Rendered:
    """Render ``pub`` for its channel. Raises CampaignError if a (campaign's own) template is broken."""
    ctx = ctx or RenderContext()
    channel = pub.channel
    if channel == "poster":
        from .poster import poster_for

        poster = poster_for(loaded, pub, ctx)
        return Rendered(publication=pub, subject=pub.title, text=poster.alt, attachments=poster.attachments(),
                        files={a.filename: a.data for a in poster.attachments()})
    if channel == "email":
        from .mail import render_email

        return render_email(loaded, pub, ctx)
    if channel == "teams_event":
        from .teams import render_event

        return render_event(loaded, pub, ctx)
    if channel == "teams_channel":
        from .teams import render_card

        return render_card(loaded, pub, ctx)
    if channel == "web_page":
        from .page import render_page

        return render_page(loaded, pub, ctx)
    if channel in ("x", "bluesky", "mastodon"):
        from .social import render_social

        return render_social(loaded, pub, ctx)
    raise ValueError(f"no renderer for channel {channel!r}")


def preview(loaded: Loaded, out_dir: Path) -> Path:
    """Write the week's preview site and every artifact into ``out_dir``; return the index.html path."""
    from .site import write_preview

    return write_preview(loaded, Path(out_dir))

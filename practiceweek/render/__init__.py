"""Render publications into the exact artifacts connectors send, from the Jinja2 templates in ``templates/``.

``render(loaded, pub, ctx)`` renders any publication of any channel (``publication.py``);
``preview(loaded, out_dir)`` writes the whole week as a static site beside the exact artifacts
(``site.py``). Heavy libraries (Typst, MJML, segno, icalendar) are imported only
when something is rendered.
"""

from __future__ import annotations

from ..artifacts import RenderContext, Rendered
from .publication import render
from .site import write_preview as preview

__all__ = ["render", "preview", "Rendered", "RenderContext"]

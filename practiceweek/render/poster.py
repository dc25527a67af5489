"""A4 posters: a tagged PDF (PDF/UA-1) per day and for the whole week, plus a PNG rendition with alt text."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from ..artifacts import Attachment, RenderContext
from ..dates import known_date
from ..loader import Loaded
from ..planner import Publication
from . import views
from .env import render_template

PNG_SCALE = 1.5  # 72 dpi × 1.5 = 108 dpi: 893 × 1263 px for A4


@dataclass(frozen=True)
class Poster:
    key: str  # day key ("mon" …) or "week"
    pdf: bytes
    png: bytes
    alt: str

    def attachments(self) -> tuple[Attachment, Attachment]:
        return (Attachment(f"{self.key}.pdf", "application/pdf", self.pdf, alt=self.alt),
                Attachment(f"{self.key}.png", "image/png", self.png, alt=self.alt))


_CACHE: dict[tuple[str, str, str], Poster] = {}


def poster_for(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Poster:
    """The poster of ``pub``'s day (or the week's, for slot "week"); cached per campaign content."""
    key = "week" if pub.slot == "week" or pub.day == "week" else pub.day
    digest = hashlib.sha256(loaded.model.model_dump_json().encode()).hexdigest()
    cache_key = (str(loaded.path), digest, key if key == "week" else pub.date.isoformat())
    if cache_key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[cache_key] = _make(loaded, pub, ctx, key)
    return _CACHE[cache_key]


def _make(loaded: Loaded, pub: Publication, ctx: RenderContext, key: str) -> Poster:
    context = views.base(loaded, pub, ctx, offline=True)
    if key == "week":
        days = [views.day_view(loaded, d) for d in sorted(loaded.model.days,
                                                          key=lambda d: known_date(loaded.model, d))]
        site = loaded.model.campaign.organiser.website
        context.update(days=days, day=None, website_qr=views.qr_svg(site) if site else None)
        alt = _oneline(render_template(loaded, "poster_alt.txt", **context))
        html = render_template(loaded, "poster_week.html", alt=alt, **context)
    else:
        day = views.find_day(loaded, pub.date)
        view = views.day_view(loaded, day, with_qr=True)
        context.update(day=view, events=views.events_on(loaded, pub.date, ctx))
        ready = views.image(loaded, day.poster, offline=True)
        alt = day.poster.alt if day.poster else _oneline(render_template(loaded, "poster_alt.txt", **context))
        name = "poster_image.html" if ready else "poster.html"
        html = render_template(loaded, name, alt=alt, image=ready, **context)
    pdf = pdf_from_html(html)
    return Poster(key, pdf, png_from_pdf(pdf), alt)


def _oneline(text: str) -> str:
    return " ".join(text.split())


def pdf_from_html(html: str) -> bytes:
    """A tagged PDF/UA-1 document; only data: URIs are fetched (nothing from the network or disk)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), timeout=2)
    return HTML(string=html, url_fetcher=fetcher).write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=False)


def png_from_pdf(pdf: bytes, scale: float = PNG_SCALE) -> bytes:
    """The first page as PNG, rasterised with PDFium."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        bitmap = doc[0].render(scale=scale)
        out = io.BytesIO()
        bitmap.to_pil().save(out, "PNG", optimize=False)
        return out.getvalue()
    finally:
        doc.close()

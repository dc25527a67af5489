"""Links to the organiser's own site carry UTM tags in every channel; other links and visible text do not.

Links are read back from the artifacts with tools nobody here wrote: html.parser for HTML, pypdf for the
posters' link annotations, zxing-cpp for their QR codes, json for cards, the Bluesky facets as sent.
"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from practiceweek import links
from practiceweek.artifacts import RenderContext, Rendered
from practiceweek.loader import load, load_text
from practiceweek.planner import plan
from practiceweek.render import render
from practiceweek.render.social import bluesky_facets
from tests.render_support import EVENTS_SEED

SITE = "www.iowscp.uk"
JOIN = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_test"
_URL = re.compile(r"https?://[^\s<>\"')\]]+")


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (href, visible text)
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open.append([dict(attrs).get("href") or ""])

    def handle_data(self, data: str) -> None:
        for anchor in self._open:
            anchor.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            href, *text = self._open.pop()
            self.found.append((href, "".join(text)))


def _anchors(html: str) -> list[tuple[str, str]]:
    parser = _Anchors()
    parser.feed(html)
    return [(h, t) for h, t in parser.found if h.startswith("http")]


def _card_links(card: object) -> list[str]:
    out: list[str] = []
    if isinstance(card, dict):
        if card.get("type") == "Action.OpenUrl":
            out.append(card["url"])
        if card.get("type") == "TextBlock":
            out += re.findall(r"\]\((https?://[^)\s]+)\)", card["text"])
        for value in card.values():
            out += _card_links(value)
    elif isinstance(card, list):
        for value in card:
            out += _card_links(value)
    return out


def _pdf_links(data: bytes) -> list[str]:
    out = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action and "/URI" in action:
                out.append(str(action["/URI"]))
    return out


def _qr_links(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def links_of(r: Rendered) -> tuple[list[str], list[str]]:
    """(every link the artifact opens, every piece of text a reader sees as a link's words)."""
    opened: list[str] = []
    shown: list[str] = []
    for html in [r.html or ""] + [v.decode() for k, v in r.files.items() if k.endswith(".html")]:
        for href, text in _anchors(html):
            opened.append(href)
            shown.append(text)
    channel = r.publication.channel
    if channel == "email":
        opened += _URL.findall(r.text)  # the plain-text part: the address is the link
    for post in r.posts:
        if channel == "bluesky":
            facets = bluesky_facets(post.text, post.links)
            opened += [f["features"][0]["uri"] for f in facets if "uri" in f["features"][0]]
            shown.append(post.text)
        else:
            opened += _URL.findall(post.text)
    if r.card:
        opened += _card_links(r.card)
    for name, data in r.files.items():
        if name.endswith(".pdf") and channel == "poster":
            opened += _pdf_links(data)
            shown += [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
        if name.endswith(".png") and channel == "poster":
            qr = _qr_links(data)
            assert qr, (r.id, name)  # every poster has its QR code
            opened += qr
    return opened, shown


def _context(loaded) -> RenderContext:
    pages = {f"{loaded.id}/{p.day}/web_page/daily": f"https://{SITE}/practice-week/"
             for p in plan(loaded.model) if p.channel == "web_page"}
    return RenderContext(join_urls={"da-impact-session": JOIN}, links=pages)


@pytest.fixture(scope="module")
def rendered() -> list[Rendered]:
    loaded = load(EVENTS_SEED)
    ctx = _context(loaded)
    return [render(loaded, p, ctx) for p in plan(loaded.model)]


def test_every_organiser_link_is_tagged_and_no_other_link_is(rendered: list[Rendered]) -> None:
    per_channel: dict[str, int] = {}
    third_party = 0
    for r in rendered:
        pub = r.publication
        opened, shown = links_of(r)
        for url in opened:
            query = parse_qs(urlsplit(url).query)
            if links.host(url) != links.host(f"https://{SITE}"):
                assert not any(k.startswith("utm_") for k in query), (pub.id, url)
                third_party += 1
                continue
            per_channel[pub.channel] = per_channel.get(pub.channel, 0) + 1
            assert query["utm_source"] == [pub.channel], (pub.id, url)
            assert query["utm_medium"] == [links.MEDIUMS[pub.channel]], (pub.id, url)
            assert query["utm_campaign"] == [loaded_id(rendered)], (pub.id, url)
            content = query["utm_content"][0]
            assert content.startswith((f"{pub.day}-", "week-")), (pub.id, url)
        for text in shown:
            assert "utm_" not in text, (pub.id, text)
    assert set(per_channel) == {"poster", "email", "teams_event", "teams_channel", "web_page", "x", "bluesky",
                                "mastodon"}, per_channel
    assert third_party > 0  # the Teams join links and gov.uk's review stay as they were


def loaded_id(rendered: list[Rendered]) -> str:
    return rendered[0].publication.campaign


def test_bluesky_shows_the_clean_address_and_opens_the_tagged_one(rendered: list[Rendered]) -> None:
    posts = [p for r in rendered if r.publication.channel == "bluesky" for p in r.posts if p.links]
    assert posts
    for post in posts:
        for shown, target in post.links:
            assert shown in post.text and "utm_" not in shown
            assert links.clean(target) == shown and "utm_source=bluesky" in target


def test_tagging_switched_off_leaves_every_link_as_written() -> None:
    text = EVENTS_SEED.read_text().replace("campaign:\n", "campaign:\n  analytics: {tag_links: false}\n", 1)
    loaded = load_text(text, str(EVENTS_SEED), EVENTS_SEED.parent)
    assert loaded.model.campaign.analytics.tag_links is False
    ctx = _context(loaded)
    for pub in plan(loaded.model):
        if pub.channel in ("email", "teams_channel", "x", "bluesky", "web_page"):
            opened, _ = links_of(render(loaded, pub, ctx))
            assert not any("utm_" in url for url in opened), pub.id


def test_tagger_keeps_the_address_and_existing_tags() -> None:
    tag = links.Tagger(site="example.org", source="x", campaign="c-1", content="mon-daily")
    assert tag("https://example.org/a?b=1#top") == (
        "https://example.org/a?b=1&utm_source=x&utm_medium=social&utm_campaign=c-1&utm_content=mon-daily#top")
    assert tag("https://www.example.org") == (
        "https://www.example.org/?utm_source=x&utm_medium=social&utm_campaign=c-1&utm_content=mon-daily")
    assert tag("https://example.org/?utm_source=newsletter") == "https://example.org/?utm_source=newsletter"
    assert tag("https://other.example.com/page") == "https://other.example.com/page"
    assert links.clean(tag("https://example.org/a?b=1") or "") == "https://example.org/a?b=1"
    assert json.dumps(links.NO_TAGS("https://example.org/")) == '"https://example.org/"'

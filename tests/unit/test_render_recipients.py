"""What recipients receive: posters that work on a wall, social cards sized for feeds, emails built for mail
clients. Each test would have caught one measured problem of the earlier posters and emails (issue 14).

Posters are checked with pypdf (text, sizes, positions, links) and the ``pdfua`` checker; QR codes are
read back with zxing-cpp; PNG sizes come from Pillow.
"""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from practiceweek import links
from practiceweek.artifacts import RenderContext
from practiceweek.dates import day_date, day_key
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from practiceweek.render.notice import is_notice
from tests.render_support import EVENTS_SEED

CID = "iowscp-da-2024"
WEEK_PAGE = "https://web.example.gov.uk/iowscp-da-2024/index.html"
JOIN = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_test"
LINKS = {f"{CID}/{d}/web_page/daily": WEEK_PAGE for d in ("mon", "tue", "wed", "thu", "fri")}
EVENT = "An introduction to the impact of domestic abuse on children and young people"


@pytest.fixture(scope="module")
def week():
    loaded = load(EVENTS_SEED)
    ctx = RenderContext(join_urls={"da-impact-session": JOIN}, links=LINKS)
    return loaded, {p.id: render(loaded, p, ctx) for p in plan(loaded.model)}


def _runs(pdf: bytes) -> tuple[float, list[tuple[str, float, float]]]:
    """The page height and every text run on page 1 as (text, size in pt, baseline height from the bottom)."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    runs: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font, size):  # pypdf's visitor signature
        if text.strip():
            runs.append((" ".join(text.split()), size * abs(tm[3] * cm[3]), tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return float(page.mediabox.height), runs


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)


def squeeze(text: str) -> str:
    """``text`` without white space: a poster's line breaks may fall anywhere, e.g. after "multi-"."""
    return re.sub(r"\s+", "", text)


def _uris(pdf: bytes) -> set[str]:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    return {a.get_object()["/A"]["/URI"] for a in page.get("/Annots", []) if "/A" in a.get_object()}


def _day(loaded, key):
    return next(d for d in loaded.model.days if day_key(day_date(loaded.model, d)) == key)


def _poster(rendered, day):
    return rendered[f"{CID}/{day}/poster/{'week' if day == 'week' else 'daily'}"]


@pytest.mark.parametrize("day", ["mon", "wed", "week"])
def test_posters_are_pdf_ua_with_title_and_language(week, day, tmp_path):
    pdfua = pytest.importorskip("pdfua")
    _, rendered = week
    r = _poster(rendered, day)
    for name in (f"{day}.pdf", f"{day}-a3.pdf"):
        path = tmp_path / name
        path.write_bytes(r.files[name])
        report = pdfua.validate(str(path))
        assert report.exit_code == 0 and list(report.findings) == [], [f.message for f in report.findings]
        reader = PdfReader(io.BytesIO(r.files[name]))
        assert reader.trailer["/Root"]["/Lang"] == "en-GB" and reader.metadata.title
        assert len(reader.pages) == 1
    a4, a3 = (PdfReader(io.BytesIO(r.files[n])).pages[0].mediabox for n in (f"{day}.pdf", f"{day}-a3.pdf"))
    assert round(float(a4.width)) == 595 and round(float(a3.width)) == 842  # A4 and A3


@pytest.mark.parametrize("day", ["mon", "tue", "wed", "thu", "fri"])
def test_day_poster_text_is_large_and_the_title_appears_once(week, day):
    loaded, rendered = week
    pdf = _poster(rendered, day).files[f"{day}.pdf"]
    _, runs = _runs(pdf)
    assert min(size for _, size, _ in runs) >= 14  # was ~10 pt body text, then 11 pt hashtags (issue 25)
    model_day = _day(loaded, day)
    header = loaded.model.campaign.title  # the header's campaign line, 14 pt, may share words with a message
    for message in (m for t in model_day.themes for m in t.key_messages):
        sizes = [size for text, size, _ in runs if len(text) > 12 and text in message and text not in header]
        assert sizes and min(sizes) >= 16, message
    text = squeeze(_text(pdf))
    for resource in (res for t in model_day.themes for res in t.resources):
        text = text.replace(squeeze(resource.title), "")  # a resource may be named after the day
    assert text.count(squeeze(model_day.title)) == 1  # was three times (title, theme, event)


@pytest.mark.parametrize("day", ["mon", "tue", "wed", "thu", "fri", "week"])
def test_posters_leave_no_empty_third(week, day):
    _, rendered = week
    height, runs = _runs(_poster(rendered, day).files[f"{'week' if day == 'week' else day}.pdf"])
    ys = sorted(y for _, _, y in runs)
    assert ys[0] < height / 6  # something sits in the bottom sixth
    gaps = [b - a for a, b in zip(ys, ys[1:], strict=False)]
    assert max(gaps) < height / 4  # no band a quarter of the page tall without text


def test_event_time_is_a_block_readable_from_two_metres(week):
    _, rendered = week
    pdf = _poster(rendered, "wed").files["wed.pdf"]
    _, runs = _runs(pdf)
    assert any(text == "1:30pm to 3pm" and size >= 36 for text, size, _ in runs)  # was body text
    text = _text(pdf)
    assert "13:30" not in text and "1.30pm" not in text
    assert JOIN in _uris(pdf)


def test_poster_qr_code_opens_the_week_page_and_links_are_clickable(week):
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    loaded, rendered = week
    r = _poster(rendered, "mon")
    codes = zxingcpp.read_barcodes(image.open(io.BytesIO(r.files["mon.png"])))
    assert [links.clean(c.text) for c in codes] == [WEEK_PAGE]  # was the poster's own PDF (UTM tags aside)
    resources = {res.url for t in _day(loaded, "mon").themes for res in t.resources}
    uris = {links.clean(u) for u in _uris(r.files["mon.pdf"])}
    assert resources | {WEEK_PAGE} <= uris  # was no clickable links


def test_week_poster_lists_the_weeks_events(week):
    _, rendered = week
    text = _text(_poster(rendered, "week").files["week.pdf"])
    assert EVENT in text and "1:30pm to 3pm" in text and "Wednesday 27 November" in text
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        assert day in text


def _png_size(data: bytes) -> tuple[int, int]:
    image = pytest.importorskip("PIL.Image")
    with image.open(io.BytesIO(data)) as im:
        return im.size


@pytest.mark.parametrize("network", ["x", "bluesky", "mastodon"])
def test_social_posts_carry_a_card_sized_for_feeds(week, network):
    loaded, rendered = week
    posts = [r for r in rendered.values() if r.publication.channel == network]
    assert posts
    for r in posts:
        image = r.posts[0].image
        if is_notice(r.publication):  # an announcement: its own card, titled after it
            assert _png_size(image.data) == (1200, 675) and r.publication.title.split(": ", 1)[1] in image.alt
            continue
        if r.publication.day == "fri" and image.filename != f"{r.publication.day}-card.png":
            continue  # a day may bring its own image
        assert image.content_type == "image/png" and _png_size(image.data) == (1200, 675)  # was 893 × 1263
        assert _day(loaded, r.publication.day).title in image.alt and len(image.alt) < 1000


def _email(rendered, day, slot="daily"):
    return rendered[f"{CID}/{day}/email/{slot}"]


def test_email_is_presentation_tables_for_outlook(week):
    _, rendered = week
    html = _email(rendered, "wed").html
    assert html.count('role="presentation"') >= 5
    assert "<!--[if mso" in html  # Outlook gets fixed-width tables
    assert '<html lang="en-GB"' in html and "<h1" in html and 'style="' in html


@pytest.mark.parametrize(("day", "slot"),
                         [("wed", "daily"), ("mon", "daily"), ("wed", "reminder-da-impact-session")])
def test_email_has_one_time_style(week, day, slot):
    _, rendered = week
    r = _email(rendered, day, slot)
    for part in (r.html, r.text, r.subject):
        assert not re.search(r"\b\d{1,2}:\d{2}\b(?!\s?[ap]m)", part), part  # no 24-hour times
        assert not re.search(r"\b\d{1,2}\.\d{2}\s?[ap]m", part)  # no "1.30pm" beside "1:30pm"
    assert "1:30pm to 3pm" in r.text or day != "wed"
    if slot != "daily":
        assert "Starting at 1:30pm" in r.subject


def test_every_other_days_email_lists_the_weeks_events(week):
    _, rendered = week
    for day in ("mon", "tue", "thu", "fri"):
        r = _email(rendered, day)
        for part in (r.text, r.html):
            assert "This week" in part and EVENT in part.replace("&#39;", "'")
            assert "Wednesday 27 November 2024, 1:30pm to 3pm" in part  # Monday never mentioned it


def test_the_session_s_own_email_gives_its_time_once_and_its_title_once(week):
    """Issue 25 item 4: the Wednesday email gave the time 4 times and the title 3 times (the day's summary,
    the theme's summary, the event's block and the week's list all said them)."""
    _, rendered = week
    r = _email(rendered, "wed")
    assert r.text.count("1:30pm") == 1 and r.text.count(EVENT) == 1, r.text
    assert "This week" not in r.text  # the week's only session is today's, given above
    html = re.sub(r"<[^>]+>", " ", r.html or "").replace("&#39;", "'")
    assert html.count("1:30pm") == 1 and html.count(EVENT) == 1


def test_email_links_are_labelled_once_and_point_at_the_week_page(week):
    _, rendered = week
    r = _email(rendered, "wed")
    html = r.html.replace("&#39;", "'")
    assert "Wednesday's poster (PDF)</a>" in html and "(Poster)" not in html and "(Poster)" not in r.text
    assert re.search(r'href="' + re.escape(WEEK_PAGE) + r'"[^>]*>Every day of the week</a>', html)
    assert f"Every day of the week: {WEEK_PAGE}" in r.text
    assert ">https://www.iowscp.uk</a>" not in html  # the home page is not "every day of the week"


def test_posters_and_emails_wait_for_the_day_s_web_page():
    pubs = {p.id: p for p in plan(load(EVENTS_SEED).model)}
    for day in ("mon", "wed", "fri"):
        page = f"{CID}/{day}/web_page/daily"
        assert page in pubs[f"{CID}/{day}/email/daily"].depends_on  # so its link is the week page
        assert page in pubs[f"{CID}/{day}/poster/daily"].depends_on  # so its QR code is
    assert f"{CID}/mon/web_page/daily" in pubs[f"{CID}/week/poster/week"].depends_on


def test_typst_markup_in_campaign_text_is_shown_not_run(tmp_path):
    from tests.render_support import hostile, write

    data = hostile()
    data["days"][1]["title"] = '#set page(width: 3cm) *bold* $x^2$ #read("/etc/passwd")'
    loaded = load(write(tmp_path, data))
    pub = next(p for p in plan(loaded.model) if p.channel == "poster" and p.day == "tue")
    r = render(loaded, pub)
    assert squeeze(data["days"][1]["title"]) in squeeze(_text(r.files["tue.pdf"]))
    assert round(float(PdfReader(io.BytesIO(r.files["tue.pdf"])).pages[0].mediabox.width)) == 595


def test_a_broken_poster_template_names_its_file_and_line(tmp_path):
    from practiceweek.errors import CampaignError
    from tests.render_support import hostile, write

    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "poster.typ").write_text("#let d = 1\n\n#nosuch(d)\n", encoding="utf-8")
    data = hostile()
    data["campaign"]["branding"]["templates"] = "tpl"
    loaded = load(write(tmp_path, data))
    pub = next(p for p in plan(loaded.model) if p.channel == "poster")
    with pytest.raises(CampaignError) as info:
        render(loaded, pub)
    (problem,) = info.value.problems
    assert problem.file.endswith("tpl/poster.typ") and problem.line == 3 and "nosuch" in problem.message


def test_week_page_runs_in_date_order_with_navigation_thumbnails_and_separate_lists(week):
    _, rendered = week
    r = rendered[f"{CID}/thu/web_page/daily"]
    html = r.files["index.html"].decode()
    keys = ("mon", "tue", "wed", "thu")
    positions = [html.index(f'<section class="day" id="{k}"') for k in keys]
    assert positions == sorted(positions)  # was newest first
    nav = html.split('<nav aria-label="Days of the week">', 1)[1].split("</nav>", 1)[0]
    assert [f'href="#{k}"' in nav for k in keys] == [True] * 4
    for k in keys:
        assert f'src="posters/{k}.png"' in html and r.files[f"posters/{k}.png"][:4] == b"\x89PNG"
    monday = html.split('id="mon"', 1)[1].split("</section>", 1)[0]
    messages = monday.split('<ul class="key-messages">', 1)[1].split("</ul>", 1)[0]
    resources = monday.split('<ul class="resource-list">', 1)[1].split("</ul>", 1)[0]
    assert "recognised by law" in messages and "href=" not in messages
    assert "da-referral-pathway.pdf" in resources and "recognised by law" not in resources

"""Every channel renders from the templates into the artifacts connectors send (seed week with an event)."""

from __future__ import annotations

import email
import io
import json
from email import policy

import pytest
from icalendar import Calendar
from pypdf import PdfReader

from practiceweek import textlimits
from practiceweek.artifacts import RenderContext
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.render_support import EVENTS_SEED, SEEDS

JOIN = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_test"


@pytest.fixture(scope="module")
def week():
    loaded = load(EVENTS_SEED)
    pubs = {p.id: p for p in plan(loaded.model)}
    ctx = RenderContext(join_urls={"da-impact-session": JOIN})
    return loaded, pubs, {pid: render(loaded, p, ctx) for pid, p in pubs.items()}


def _one(rendered, channel, day=None, slot=None):
    found = [r for r in rendered.values() if r.publication.channel == channel
             and (day is None or r.publication.day == day) and (slot is None or r.publication.slot == slot)]
    assert found, (channel, day, slot)
    return found[0]


def test_every_seed_publication_renders():
    for path in SEEDS:
        loaded = load(path)
        for pub in plan(loaded.model):
            r = render(loaded, pub)
            assert r.publication is pub and r.subject


def test_poster_pdf_is_tagged_titled_and_has_the_themes_as_text(week):
    loaded, _, rendered = week
    r = _one(rendered, "poster", day="wed", slot="daily")
    assert set(r.files) == {"wed.pdf", "wed.png", "wed-a3.pdf"}
    reader = PdfReader(io.BytesIO(r.files["wed.pdf"]))
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712 (pypdf BooleanObject)
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "en-GB"
    assert reader.metadata.title and "Wednesday" in reader.metadata.title
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    day = next(d for d in loaded.model.days if d.weekday == "wednesday")
    for theme in day.themes:
        assert theme.title in text
    assert "If you do one thing" in text or not any(t.one_thing for t in day.themes)
    png = r.files["wed.png"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pdf_att, png_att, _ = r.attachments
    assert pdf_att.content_type == "application/pdf" and png_att.content_type == "image/png"
    assert png_att.alt and "Wednesday" in png_att.alt


def test_week_poster_covers_every_day(week):
    loaded, _, rendered = week
    r = _one(rendered, "poster", slot="week")
    assert set(r.files) == {"week.pdf", "week.png", "week-a3.pdf"}
    reader = PdfReader(io.BytesIO(r.files["week.pdf"]))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        assert day in text
    assert reader.trailer["/Root"]["/MarkInfo"]["/Marked"] == True  # noqa: E712 (pypdf BooleanObject)


def test_email_parts_attachments_and_invitation_on_event_day(week):
    loaded, _, rendered = week
    r = _one(rendered, "email", day="wed", slot="daily")
    audience = loaded.model.campaign.audiences["practitioners"]
    assert r.recipients == tuple(audience.recipients)
    assert r.sender == loaded.model.campaign.organiser.email
    msg = email.message_from_bytes(r.eml, policy=policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    alternative = msg.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert msg["Subject"] == r.subject and msg["To"].addresses
    html = msg.get_body(("html",)).get_content()
    assert '<html lang="en-GB"' in html and "<h1" in html and "<h2" in html
    assert 'role="presentation"' in html and "<h1 style=" in html  # MJML tables, styles inline
    assert JOIN.replace("&", "&amp;") in html
    names = {a.filename: a.content_type for a in r.attachments}
    assert names == {"wed.pdf": "application/pdf", "da-impact-session.ics": "text/calendar"}
    parts = {p.get_filename(): p for p in msg.iter_attachments()}
    assert parts["wed.pdf"].get_content()[:5] == b"%PDF-"
    cal = Calendar.from_ical(parts["da-impact-session.ics"].get_content())
    assert cal["METHOD"] == "REQUEST"
    assert r.ics is not None


def test_email_without_event_has_only_the_poster(week):
    _, _, rendered = week
    r = _one(rendered, "email", day="mon", slot="daily")
    assert [a.filename for a in r.attachments] == ["mon.pdf"]
    assert r.ics is None
    assert "Monday" in r.text


def test_reminder_is_short_with_the_join_link(week):
    _, _, rendered = week
    r = _one(rendered, "email", slot="reminder-da-impact-session")
    assert JOIN in r.text and len(r.text) < 800
    assert r.attachments == ()
    msg = email.message_from_bytes(r.eml, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert "Starting" in r.subject


def test_teams_event_graph_body_and_ics(week):
    loaded, pubs, rendered = week
    r = _one(rendered, "teams_event")
    e = r.event
    assert e["isOnlineMeeting"] is True and e["onlineMeetingProvider"] == "teamsForBusiness"
    assert e["body"]["contentType"] == "HTML" and "<h1>" in e["body"]["content"]
    assert e["start"] == {"dateTime": "2024-11-27T13:30:00", "timeZone": "Europe/London"}
    assert e["end"]["dateTime"] == "2024-11-27T15:00:00"
    assert {a["emailAddress"]["address"] for a in e["attendees"]} == set(
        loaded.model.campaign.audiences["practitioners"].recipients)
    again = render(loaded, r.publication)
    assert again.event["transactionId"] == e["transactionId"]  # stable
    cal = Calendar.from_ical(r.ics)
    assert cal["METHOD"] == "REQUEST"
    assert [c.name for c in cal.walk("VTIMEZONE")] == ["VTIMEZONE"]
    assert str(cal.walk("VTIMEZONE")[0]["TZID"]) == "Europe/London"
    event = cal.walk("VEVENT")[0]
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART").hour == 13 and str(event.decoded("DTSTART").tzinfo) == "Europe/London"
    assert Calendar.from_ical(cal.to_ical()).to_ical() == cal.to_ical()  # round-trips

    cancelled = render(loaded, r.publication, RenderContext(sequence=2, cancelled=True))
    ccal = Calendar.from_ical(cancelled.ics)
    cevent = ccal.walk("VEVENT")[0]
    assert ccal["METHOD"] == "CANCEL" and cevent["STATUS"] == "CANCELLED" and cevent["SEQUENCE"] == 2
    assert cevent["UID"] == event["UID"]


def test_teams_channel_card_is_a_workflows_adaptive_card(week):
    _, _, rendered = week
    r = _one(rendered, "teams_channel", day="wed")
    assert r.card["type"] == "message"
    (attachment,) = r.card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard" and content["version"] == "1.5"
    assert any(a["type"] == "Action.OpenUrl" and a["url"] == JOIN for a in content["actions"])
    json.dumps(r.card)


def test_web_page_shows_only_days_up_to_its_own(week):
    loaded, _, rendered = week
    r = _one(rendered, "web_page", day="tue")
    html = r.files["index.html"].decode()
    titles = {d.weekday: d.title for d in loaded.model.days}
    assert titles["monday"] in html.replace("&#39;", "'") and titles["tuesday"] in html.replace("&#39;", "'")
    assert titles["wednesday"] not in html.replace("&#39;", "'")
    assert {"site.css", "contrast.js", "posters/mon.pdf", "posters/tue.pdf"} <= set(r.files)
    assert "posters/wed.pdf" not in r.files


@pytest.mark.parametrize("network", ["x", "bluesky", "mastodon"])
def test_social_posts_fit_their_network_with_image_and_alt(week, network):
    _, _, rendered = week
    for r in rendered.values():
        if r.publication.channel != network:
            continue
        assert r.posts
        for i, post in enumerate(r.posts, 1):
            assert textlimits.fits(network, post.text)
            if len(r.posts) > 1:
                assert post.text.endswith(f"({i}/{len(r.posts)})")
        assert r.posts[0].image is not None and r.posts[0].image.alt


def test_long_text_becomes_a_numbered_thread():
    from practiceweek.render.social import thread

    text = " ".join(["Safeguarding is everyone's responsibility."] * 20) + " https://example.org/x"
    parts = thread("x", text)
    assert len(parts) >= 3
    assert all(textlimits.fits("x", p) for p in parts)
    assert " ".join(p.rsplit(" (", 1)[0] for p in parts).split() == text.split()


def test_preview_of_a_week_with_every_channel_off(tmp_path):
    """Nothing planned: the preview still shows the week's days (it crashed with no first publication)."""
    from practiceweek.loader import load_text
    from practiceweek.render import preview

    text = EVENTS_SEED.read_text(encoding="utf-8")
    head, rest = text.split("\nchannels:\n", 1)
    rest = rest[rest.index("\ndays:\n"):].split("\nannouncements:\n", 1)[0]  # nothing before the week either
    loaded = load_text(f"{head}\nchannels:\n  poster: {{ enabled: false }}\n{rest}", "quiet.yaml",
                       EVENTS_SEED.parent)
    assert plan(loaded.model) == []
    index = preview(loaded, tmp_path).read_text(encoding="utf-8")
    assert loaded.model.campaign.organiser.name in index
    assert (tmp_path / "mon.html").exists()


def test_a_render_context_digest_covers_what_renderings_show_and_nothing_else() -> None:
    """Renderings made ahead are found by this digest: the page URLs, join links and (for what carries
    an invitation) SEQUENCE change it; another publication's URL (a poster's share link) does not."""
    page = {"c/mon/web_page/daily": "https://example.gov.uk/c/index.html"}
    base = RenderContext(links=page, sequence=1)
    same = RenderContext(links={**page, "c/mon/poster/daily": "https://share/1"}, sequence=1)
    assert base.digest(sequence=False) == same.digest(sequence=False)
    assert base.digest(sequence=False) != RenderContext(sequence=1).digest(sequence=False)
    assert base.digest(sequence=False) != RenderContext(links=page, join_urls={"e": "https://t/j"},
                                                        sequence=1).digest(sequence=False)
    later = RenderContext(links=page, sequence=2)
    assert base.digest(sequence=False) == later.digest(sequence=False)
    assert base.digest(sequence=True) != later.digest(sequence=True)

"""A day with two sessions, sensitive topics and dates people are away (issue 25 item 6).

- Every artifact of a day with two Teams sessions names both: the day's email (HTML, plain text, one
  invitation each), each reminder, the Teams card, every social thread and its card's alt text, the poster
  (PDF text and alt text), the web page, the plan and the preview's calendar.
- The preview's calendar lists a session on the day it happens, with its times and GMT or BST as that
  date's clock reads (a week across the end of British Summer Time).
- A content warning in the campaign, a day or a notice reaches each Mastodon post as its warning
  (``spoiler_text``) and each Bluesky post as its self-labels; X has none.
- ``validate`` warns about an announcement or follow-up on a bank holiday, as it does about a day.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pypdf import PdfReader

from practiceweek.artifacts import (
    RenderContext,
    Rendered,
    preview_context,
    rendered_from_bytes,
    rendered_to_bytes,
)
from practiceweek.errors import CampaignError
from practiceweek.loader import Loaded, load, load_text
from practiceweek.planner import plan
from practiceweek.render import render
from practiceweek.render.site import sessions_on, write_preview
from tests.helpers import FIXTURES
from tests.render_support import EVENTS_SEED

FIRST = "An introduction to the impact of domestic abuse on children and young people"
SECOND = "Working with fathers and male carers"


def _squeeze(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def _seed_with(change: Any) -> Loaded:
    """The IOW seed with ``change(data)`` applied to its YAML data, loaded from a file beside the seed's."""
    data = yaml.safe_load(EVENTS_SEED.read_text())
    change(data)
    return load_text(yaml.safe_dump(data, sort_keys=False), str(EVENTS_SEED))


def _second_session(data: dict[str, Any]) -> None:
    data["events"].append({"id": "fathers-session", "kind": "meeting", "title": SECOND, "day": "wednesday",
                           "start": "10:00", "end": "11:00", "organiser": "iowscp@iow.gov.uk",
                           "audience": "practitioners"})


@pytest.fixture(scope="module")
def two_sessions() -> tuple[Loaded, dict[str, Rendered]]:
    loaded = _seed_with(_second_session)
    pubs = plan(loaded.model)
    makers = {p.id: p.event_id for p in pubs if p.channel == "teams_event" and p.event_id}
    wednesday = [p for p in pubs if p.day == "wed"]
    return loaded, {p.id: render(loaded, p, preview_context(p, makers)) for p in wednesday}


def _words(r: Rendered) -> str:
    """Everything a reader of ``r`` can read: text, HTML, posts, card, attachments' text and alt text."""
    parts = [r.subject, r.text, r.html or "", str(r.card or ""), *(p.text for p in r.posts)]
    parts += [p.image.alt or "" for p in r.posts if p.image is not None]
    for a in r.attachments:
        parts.append(a.alt or "")
        if a.content_type == "text/calendar":
            parts.append(a.data.decode())
        elif a.content_type == "application/pdf":
            parts.append(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(a.data)).pages))
    parts += [data.decode(errors="ignore") for name, data in r.files.items() if name.endswith(".html")]
    return _squeeze(" ".join(parts))


def test_a_day_with_two_sessions_names_both_everywhere(two_sessions):
    _, rendered = two_sessions
    daily = {pid: r for pid, r in rendered.items() if pid.endswith("/daily")}
    assert {pid.split("/")[2] for pid in daily} >= {"email", "teams_channel", "x", "bluesky", "mastodon",
                                                     "poster", "web_page"}
    for pid, r in daily.items():
        words = _words(r)
        assert _squeeze(FIRST) in words and _squeeze(SECOND) in words, pid
    card_alt = next(p.image.alt for p in daily["iowscp-da-2024/wed/mastodon/daily"].posts if p.image)
    assert FIRST in (card_alt or "") and SECOND in (card_alt or "")
    assert "10am to 11am" in (card_alt or "") and "1:30pm to 3pm" in (card_alt or "")


def test_each_session_has_its_own_meeting_reminder_and_plan_line(two_sessions):
    _, rendered = two_sessions
    made = {pid.rsplit("/", 1)[1] for pid in rendered if "/teams_event/" in pid}
    assert made == {"da-impact-session", "fathers-session"}
    for event, title in (("da-impact-session", FIRST), ("fathers-session", SECOND)):
        reminder = rendered[f"iowscp-da-2024/wed/email/reminder-{event}"]
        assert title in reminder.subject
        assert title in rendered[f"iowscp-da-2024/wed/teams_event/{event}"].subject


def test_the_preview_calendar_shows_each_session_on_its_day(tmp_path):
    loaded = _seed_with(_second_session)
    index = write_preview(loaded, tmp_path).read_text()
    wednesday = index.split("Wednesday 27 November")[1].split("<h3>")[0]
    assert f"Meeting: {SECOND}</strong>, 10am to 11am GMT" in wednesday
    assert f"Webinar: {FIRST}</strong>, 1:30pm to 3pm GMT" in wednesday
    assert wednesday.index(SECOND) < wednesday.index(FIRST)  # in time order
    created = index.split("Wednesday 20 November")[1].split("<h3>")[0]  # the meeting is created a week ahead
    assert "1:30pm to 3pm" not in created and "10:00 GMT" in created
    assert f"Webinar: {FIRST}</strong>" in (tmp_path / "wed.html").read_text()


def test_the_calendar_reads_bst_or_gmt_from_each_date_clock():
    """A week across the last Sunday of October 2025: BST on the Saturday, GMT from Monday."""
    def across_the_change(data: dict[str, Any]) -> None:
        data["campaign"]["week"] = {"start": "2025-10-25", "end": "2025-10-31"}
        data["days"] = [{**d, "weekday": w} for d, w in zip(data["days"], ("saturday", "monday", "tuesday",
                                                                           "wednesday", "thursday"),
                                                             strict=True)]
        data["events"] = [{**data["events"][0], "day": "saturday"},
                          {**data["events"][0], "id": "after", "day": "monday"}]
        data["announcements"] = []

    loaded = _seed_with(across_the_change)
    assert [s["when"] for s in sessions_on(loaded, dt.date(2025, 10, 25))] == ["1:30pm to 3pm BST"]
    assert [s["when"] for s in sessions_on(loaded, dt.date(2025, 10, 27))] == ["1:30pm to 3pm GMT"]


CW = {"text": "Domestic abuse", "bluesky": ["graphic-media"]}


def test_a_content_warning_reaches_mastodon_and_bluesky_posts_but_not_x():
    def warned(data: dict[str, Any]) -> None:
        data["campaign"]["content_warning"] = CW
        data["days"][3]["content_warning"] = {"text": "Child death review"}

    loaded = _seed_with(warned)
    pubs = {p.id: p for p in plan(loaded.model)}
    ctx = RenderContext()
    mon = {n: render(loaded, pubs[f"iowscp-da-2024/mon/{n}/daily"], ctx)
           for n in ("x", "bluesky", "mastodon")}
    assert {p.warning for p in mon["mastodon"].posts} == {"Domestic abuse"}
    assert {p.labels for p in mon["bluesky"].posts} == {("graphic-media",)}
    assert all(p.warning is None and p.labels == () for n in ("x",) for p in mon[n].posts)
    assert all(p.warning is None for p in mon["bluesky"].posts)
    thursday = render(loaded, pubs["iowscp-da-2024/thu/mastodon/daily"], ctx)
    assert {p.warning for p in thursday.posts} == {"Child death review"}  # the day's own, not the week's
    assert {p.labels for p in render(loaded, pubs["iowscp-da-2024/thu/bluesky/daily"], ctx).posts} == {()}
    launch = render(loaded, next(p for pid, p in pubs.items() if pid.endswith("/mastodon/launch")), ctx)
    assert {p.warning for p in launch.posts} == {"Domestic abuse"}  # an announcement too
    again = rendered_from_bytes(rendered_to_bytes(mon["mastodon"]))
    assert again.posts == mon["mastodon"].posts  # a pre-rendered post keeps its warning


def test_no_content_warning_unless_the_campaign_gives_one():
    loaded = load(EVENTS_SEED)
    pub = next(p for p in plan(loaded.model) if p.channel == "mastodon")
    assert all(p.warning is None and p.labels == () for p in render(loaded, pub).posts)


def test_a_content_warning_is_validated_with_file_line_and_what_to_write():
    text = (FIXTURES / "good_base.yaml").read_text().replace(
        "  allowed_email_domains", "  content_warning:\n    text: Neglect\n    bluesky: [violence]\n"
                                   "  allowed_email_domains")
    line = text.splitlines().index("    bluesky: [violence]") + 1
    with pytest.raises(CampaignError) as caught:
        load_text(text, "week.yaml")
    assert str(caught.value) == (
        f"week.yaml:{line}:15: error: campaign.content_warning.bluesky[0]: expected one of 'graphic-media', "
        "'nudity', 'sexual', 'porn' or '!no-unauthenticated'; got 'violence'")


def test_a_notice_on_a_bank_holiday_warns_like_a_day(tmp_path: Path):
    text = (FIXTURES / "good_base.yaml").read_text() + (
        "announcements:\n"
        "  - date: 2024-05-27\n"
        "    at: \"09:00\"\n"
        "    channels: [x]\n"
        "    title: Coming soon\n"
        "follow_ups:\n"
        "  - date: 2024-08-26\n"
        "    at: \"09:00\"\n"
        "    channels: [x]\n"
        "    title: Thank you\n")
    lines = text.splitlines()
    loaded = load_text(text, "week.yaml")
    found = [w for w in loaded.warnings if "bank holiday" in w.message]
    assert [(w.path, w.line) for w in found] == [
        ("announcements[0].date", lines.index("  - date: 2024-05-27") + 1),
        ("follow_ups[0].date", lines.index("  - date: 2024-08-26") + 1)]
    assert "Monday 27 May 2024 is a bank holiday in England and Wales (Spring Bank Holiday)" \
        in found[0].message
    assert found[1].severity == "warning" and "Summer Bank Holiday" in found[1].message

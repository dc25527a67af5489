"""The Teams meeting's join link, from the meeting Microsoft Graph creates (the local Graph fake returns its
``onlineMeeting.joinUrl``) through the ledger (``flows.runtime.campaigns.context_for`` reads it from the sent
teams_event row) into every artifact that mentions the session; one invitation a meeting (issue 25)."""

from __future__ import annotations

import email
import json
import re
import shutil
import subprocess
from email import policy
from html import unescape
from pathlib import Path

import pytest
import vobject
import yaml
from icalendar import Calendar

from flows.plan.apply import planned_rows
from flows.runtime import campaigns, process
from ledger import Ledger
from practiceweek.artifacts import RenderContext, Rendered
from practiceweek.loader import Loaded, load
from practiceweek.planner import Publication, plan
from practiceweek.render import render
from tests.helpers import ROOT
from tests.render_support import EVENTS_SEED

CID = "iowscp-da-2024"
MAKER = f"{CID}/wed/teams_event/da-impact-session"


def _week(tmp_path: Path, connector: str) -> Loaded:
    """The IOW seed with its Teams meetings made through ``connector``."""
    data = yaml.safe_load(EVENTS_SEED.read_text())
    data["channels"]["teams_event"]["connector"] = connector
    path = tmp_path / EVENTS_SEED.name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return load(path)


@pytest.fixture()
def led(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    monkeypatch.setattr(process, "_ledger", led)  # this process's own ledger, not a provider's SDK
    return led


def _button(html: str, url: str) -> bool:
    return any(unescape(href) == url and "Join on Teams" in text
               for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html, re.S))


def _calendars(r: Rendered) -> list[bytes]:
    msg = email.message_from_bytes(r.eml or b"", policy=policy.default)
    return [p.get_content().encode() for p in msg.iter_attachments()
            if p.get_content_type() == "text/calendar"]


def test_the_created_meeting_s_join_link_reaches_the_reminder_the_day_s_email_and_card(harness_for, led,
                                                                                     tmp_path):
    graph = harness_for("graph_events")
    loaded = _week(tmp_path, "graph_events")
    led.set_campaign(loaded.id, str(loaded.path))
    led.apply(loaded.id, planned_rows(loaded, led))
    pubs: dict[str, Publication] = {p.id: p for p in plan(loaded.model)}
    receipt = graph.connector.publish(render(loaded, pubs[MAKER]))
    join = receipt.extra["join_url"]
    (made,) = graph.server.events.values()
    assert join == made["onlineMeeting"]["joinUrl"] and join.startswith("https://teams.microsoft.com/")
    assert led.claim(MAKER) and led.mark_sent(MAKER, receipt.remote_id, receipt.url, join)

    def as_sent(pid: str) -> Rendered:
        row = led.get(pid)
        assert row is not None and MAKER in row.depends_on, pid
        return render(loaded, pubs[pid], campaigns.context_for(row))

    reminder = as_sent(f"{CID}/wed/email/reminder-da-impact-session")
    assert _button(reminder.html or "", join) and f"Join on Teams: {join}" in reminder.text
    assert "calendar invitation you received" not in reminder.text
    day = as_sent(f"{CID}/wed/email/daily")
    assert _button(day.html or "", join) and f"Join on Teams: {join}" in day.text
    card = as_sent(f"{CID}/wed/teams_channel/daily").card or {}
    actions = card["attachments"][0]["content"]["actions"]
    assert {"type": "Action.OpenUrl", "title": "Join the webinar", "url": join} in actions
    # the meeting invites its attendees itself: neither the day's email nor the save-the-date adds another
    save = as_sent(f"{CID}/wed-20-nov/email/save-the-date")
    for r in (day, save):
        assert _calendars(r) == [] and r.ics is None, r.id
        assert "The Teams invitation comes from" in r.text or "The Teams invitation was sent from" in r.text
    assert _button(save.html or "", join)


def test_an_invitation_carries_the_join_link_in_location_url_and_description(tmp_path):
    """Where the practiceweek invitation travels (meetings not made in Graph), every client finds the link:
    icalendar, vobject and Mozilla's ical.js."""
    node = shutil.which("node")
    assert node, "node is needed to read invitations with ical.js (tests/js)"
    loaded = load(EVENTS_SEED)
    join = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_from_graph"
    pub = next(p for p in plan(loaded.model) if p.id == f"{CID}/wed/email/daily")
    (data,) = _calendars(render(loaded, pub, RenderContext(join_urls={"da-impact-session": join})))
    (ev,) = Calendar.from_ical(data).walk("VEVENT")
    assert str(ev["url"]) == join and str(ev["location"]) == f"Microsoft Teams: {join}"
    assert f"Join on Teams: {join}" in str(ev["description"])
    card = vobject.readOne(data.decode())
    assert card.vevent.url.value == join and join in card.vevent.location.value
    assert "1:30pm to 3pm UK time" in card.vevent.description.value
    path = tmp_path / "wed.ics"
    path.write_bytes(data)
    out = subprocess.run([node, str(ROOT / "tests" / "js" / "ics_times.cjs"), str(path)], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    (read,) = json.loads(out)
    assert read["url"] == join and join in read["location"] and join in read["description"]


def test_the_preview_shows_a_marked_placeholder_where_the_link_will_be(tmp_path):
    from practiceweek.render.site import write_preview

    loaded = _week(tmp_path, "graph_events")
    write_preview(loaded, tmp_path / "preview")
    files = tmp_path / "preview" / "files"
    reminder = (files / "wed" / "email-reminder-da-impact-session.html").read_text()
    card = json.loads((files / "wed" / "teams_channel-daily.json").read_text())
    placeholder = "https://join-link.invalid/placeholder-the-teams-meeting-s-own-link-goes-here/da-impact-session"
    assert _button(reminder, placeholder)
    assert placeholder in {a["url"] for a in card["attachments"][0]["content"]["actions"]}
    assert "join-link.invalid" not in (files / "wed" / "teams_event-da-impact-session.json").read_text()
    save = email.message_from_bytes((files / "wed-20-nov" / "email-save-the-date.eml").read_bytes(),
                                    policy=policy.default)
    assert [p.get_filename() for p in save.iter_attachments()] == ["week.pdf"]  # no second invitation

"""Weeks as comms teams run them: announcements before the week and follow-ups after it, several posts of a
channel a day, channels switched on for one day, the poster and the week poster on or off by themselves."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from practiceweek.loader import load, load_text
from practiceweek.planner import Publication, plan
from practiceweek.render import render
from tests.helpers import FIXTURES, ROOT

PORTSMOUTH = FIXTURES / "portsmouth-neglect-2025.yaml"
IOW = ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml"
BASE = (FIXTURES / "good_base.yaml").read_text()


def _ids(pubs: list[Publication]) -> dict[str, Publication]:
    return {p.id: p for p in pubs}


def test_notices_keep_their_own_dates_clocks_and_ids() -> None:
    pubs = _ids(plan(load(PORTSMOUTH).model))
    # the Friday before is still British Summer Time; the Sunday the clocks go back and after is GMT
    at = {pid.split("/", 1)[1]: p.at.isoformat() for pid, p in pubs.items()}
    assert at["fri-24-oct/poster/launch"] == "2025-10-24T16:00:00+01:00"
    assert at["fri-24-oct/x/launch"] == "2025-10-24T16:00:00+01:00"
    assert at["sun-26-oct/x/announcement-1800"] == "2025-10-26T18:00:00+00:00"
    assert at["mon-03-nov/x/thank-you"] == "2025-11-03T09:00:00+00:00"
    assert pubs["pscp-neglect-2025/mon-03-nov/email/round-up"].audience == "practitioners"
    save = pubs["pscp-neglect-2025/wed-22-oct/email/save-the-date"]
    assert save.depends_on == ("pscp-neglect-2025/wed/teams_event/neglect-webinar",)  # carries the join link


def test_two_x_posts_a_day_with_ids_from_their_times() -> None:
    pubs = _ids(plan(load(PORTSMOUTH).model))

    def x_posts(day: str) -> list[tuple[str, str]]:
        return sorted((p.at.strftime("%H:%M"), p.slot) for p in pubs.values()
                      if p.day == day and p.channel == "x")

    assert x_posts("mon") == [("09:00", "daily"), ("13:00", "at-1300")]
    assert x_posts("tue") == [("09:00", "daily"), ("13:00", "at-1300"), ("16:30", "at-1630")]
    assert pubs["pscp-neglect-2025/tue/x/at-1300"].content["focus"] == {"resource": "Escalation policy"}


def test_a_slot_added_later_moves_no_other_id() -> None:
    text = PORTSMOUTH.read_text()
    before = _ids(plan(load_text(text, "p.yaml").model))
    slot = '          - at: "18:00"\n            theme: Escalating concerns\n'
    added = text.replace('          - at: "16:30"\n', slot + '          - at: "16:30"\n', 1)
    after = _ids(plan(load_text(added, "p.yaml").model))
    assert set(after) - set(before) == {"pscp-neglect-2025/tue/x/at-1800"}
    assert {pid: p.fingerprint for pid, p in before.items()} == {
        pid: p.fingerprint for pid, p in after.items() if pid in before}


def test_a_day_that_names_a_channel_turns_it_on_that_day() -> None:
    text = BASE.replace('  x: { at: "12:00" }', '  x: { at: "12:00", enabled: false }').replace(
        "    title: Tuesday\n", "    title: Tuesday\n    channels:\n      x: { at: \"15:00\" }\n"
        "      bluesky: { enabled: true }\n")
    pubs = plan(load_text(text, "t.yaml").model)
    social = sorted((p.day, p.channel, p.at.strftime("%H:%M")) for p in pubs if p.channel in ("x", "bluesky"))
    assert social == [("tue", "bluesky", "12:00"), ("tue", "x", "15:00")]


def test_poster_off_means_no_poster_anywhere() -> None:
    text = BASE.replace('  poster: { at: "08:00" }', '  poster: { at: "08:00", enabled: false }\n'
                        '  web_page: { at: "08:00" }')
    loaded = load_text(text, "t.yaml")
    pubs = plan(loaded.model)
    assert not [p for p in pubs if p.channel == "poster"], "neither the daily nor the week poster"
    for pub in pubs:
        r = render(loaded, pub)
        names = [a.filename for a in r.attachments] + list(r.files)
        posters = [n for n in names if n.endswith((".pdf", ".png")) and not n.endswith("-card.png")]
        assert not posters, (pub.id, names)  # a post's social card is not a poster: it stays
        cards = [p.image is None or p.image.filename.endswith("-card.png") for p in r.posts]
        assert all(cards), pub.id
        for words in (r.text, r.html or ""):
            assert "poster" not in words.lower(), (pub.id, words)


def test_the_week_poster_goes_on_and_off_by_itself() -> None:
    only_week = BASE.replace('  poster: { at: "08:00" }', '  week_poster: { at: "07:30" }')
    pubs = plan(load_text(only_week, "t.yaml").model)
    assert [(p.id, p.at.isoformat()) for p in pubs if p.channel == "poster"] == [
        ("test-week/week/poster/week", "2024-06-24T07:30:00+01:00")]
    daily_only = plan(load_text(BASE, "t.yaml").model)
    assert {p.slot for p in daily_only if p.channel == "poster"} == {"daily"}


def test_iow_announces_its_launch_and_sends_a_save_the_date_with_the_invitation() -> None:
    loaded = load(IOW)
    pubs = plan(loaded.model)
    monday = next(p.at for p in pubs if p.day == "mon")
    before = [p for p in pubs if p.at < monday]
    assert {p.channel for p in before if p.day == "fri-22-nov"} >= {"poster", "email", "x", "bluesky"}
    save = next(p for p in pubs if p.id == "iowscp-da-2024/wed-20-nov/email/save-the-date")
    create = next(p for p in pubs if p.id == "iowscp-da-2024/wed/teams_event/da-impact-session")
    assert create.at < save.at and (save.at - create.at).days == 0
    rendered = render(loaded, save)
    assert "da-impact-session.ics" in [a.filename for a in rendered.attachments]
    assert b"METHOD:REQUEST" in (rendered.ics or b"") and "Save the date" in rendered.subject


def test_plan_lists_before_during_and_after_in_time_order() -> None:
    done = subprocess.run([sys.executable, "-m", "cli", "plan", str(PORTSMOUTH), "--json"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    items = json.loads(done.stdout)
    times = [dt.datetime.fromisoformat(i["at"]) for i in items]
    assert times == sorted(times)
    assert items[0]["id"] == "pscp-neglect-2025/wed/teams_event/neglect-webinar"  # created a week ahead
    assert items[-1]["id"] == "pscp-neglect-2025/mon-03-nov/email/round-up"

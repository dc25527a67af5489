"""Calendar invitations read the same in every client: icalendar (zone by name), icalendar, vobject and
Mozilla's ical.js (node) trusting the embedded VTIMEZONE; one UID per event; updates and cancellations."""

from __future__ import annotations

import datetime as dt
import email
import json
import shutil
import subprocess
from email import policy
from pathlib import Path

import pytest
import vobject
from icalendar import Calendar

from practiceweek.artifacts import RenderContext
from practiceweek.loader import load, load_text
from practiceweek.planner import plan
from practiceweek.render import render
from practiceweek.render.vtimezone import vtimezone
from tests.helpers import ROOT
from tests.render_support import EVENTS_SEED

JS = ROOT / "tests" / "js"
SUMMER = ROOT / "tests" / "fixtures" / "good_base.yaml"
UTC = dt.UTC


def _pub(loaded, channel, day=None):
    return next(p for p in plan(loaded.model) if p.channel == channel and (day is None or p.day == day))


def _vobject_zone(tz):  # type: ignore[no-untyped-def]
    """The tzinfo vobject builds from a VTIMEZONE alone (it expands the RRULEs itself)."""
    cal = Calendar()
    cal.add_component(tz)
    return vobject.readOne(cal.to_ical().decode()).vtimezone.gettzinfo()


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def invitations() -> list[tuple[str, bytes, dt.datetime, dt.datetime]]:
    """(name, .ics, UTC start, UTC end): the seed's winter session (GMT) as the Teams event, the email and
    a re-plan; a summer (BST) webinar; and a cancellation."""
    winter = load(EVENTS_SEED)
    start, end = dt.datetime(2024, 11, 27, 13, 30, tzinfo=UTC), dt.datetime(2024, 11, 27, 15, 0, tzinfo=UTC)
    event = _pub(winter, "teams_event")
    email_ics = render(winter, _pub(winter, "email", "wed")).ics
    summer = load(SUMMER)
    assert email_ics is not None
    return [
        ("winter event", render(winter, event).ics, start, end),
        ("winter email", email_ics, start, end),
        ("winter re-planned", render(winter, event, RenderContext(sequence=4)).ics, start, end),
        ("winter cancelled", render(winter, event, RenderContext(sequence=5, cancelled=True)).ics,
         start, end),
        ("summer event", render(summer, _pub(summer, "teams_event")).ics,
         dt.datetime(2024, 6, 26, 12, 30, tzinfo=UTC), dt.datetime(2024, 6, 26, 14, 0, tzinfo=UTC)),
    ]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ics")
    out = []
    for i, (name, data, start, end) in enumerate(invitations()):
        path = folder / f"{i}.ics"
        path.write_bytes(data)
        out.append((name, path, start, end))
    return out


def _icaljs(paths: list[Path]) -> list[dict]:
    node = shutil.which("node")
    assert node, "node is needed to read invitations with ical.js (tests/js)"
    done = subprocess.run([node, str(JS / "ics_times.cjs"), *map(str, paths)], capture_output=True, text=True,
                          cwd=JS, timeout=60, check=True)
    return json.loads(done.stdout)


def test_every_client_reads_the_same_utc_times(cases):
    js = _icaljs([path for _, path, _, _ in cases])
    for (name, path, start, end), seen in zip(cases, js, strict=True):
        text = path.read_text()
        cal = Calendar.from_ical(text)
        event = cal.walk("VEVENT")[0]
        by_name = (event.decoded("DTSTART"), event.decoded("DTEND"))  # icalendar: the zone by its name
        own_zone = cal.walk("VTIMEZONE")[0].to_tz()  # icalendar: the file's own VTIMEZONE
        embedded = tuple(event.decoded(k).replace(tzinfo=own_zone) for k in ("DTSTART", "DTEND"))
        vevent = vobject.readOne(text).vevent  # vobject: the file's own VTIMEZONE
        with_vobject = (vevent.dtstart.value, vevent.dtend.value)
        with_icaljs = (_when(seen["start"]), _when(seen["end"]))
        for reader, (got_start, got_end) in {"icalendar": by_name, "icalendar VTIMEZONE": embedded,
                                             "vobject": with_vobject, "ical.js": with_icaljs}.items():
            assert (got_start.astimezone(UTC), got_end.astimezone(UTC)) == (start, end), (name, reader)


def test_vtimezone_is_one_standard_and_one_daylight_rule_changing_at_0100_utc():
    tz = vtimezone("Europe/London", 2024)
    parts = {c.name: c for c in tz.subcomponents}
    assert [c.name for c in tz.subcomponents] == ["DAYLIGHT", "STANDARD"]
    assert "RDATE" not in tz.to_ical().decode()
    spring, autumn = parts["DAYLIGHT"], parts["STANDARD"]
    assert spring["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"
    assert autumn["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"
    assert spring.decoded("DTSTART").time() == dt.time(1, 0)  # 01:00 GMT = 01:00 UTC
    assert autumn.decoded("DTSTART").time() == dt.time(2, 0)  # 02:00 BST = 01:00 UTC
    # vobject expands the rules itself: the clocks change on the last Sundays of a later year too
    zone = _vobject_zone(tz)
    for local, hours in [((2026, 3, 29, 0, 59), 0), ((2026, 3, 29, 2, 0), 1), ((2026, 10, 25, 0, 59), 1),
                         ((2026, 10, 25, 2, 0), 0), ((2026, 3, 22, 12, 0), 0), ((2026, 7, 1, 12, 0), 1)]:
        assert dt.datetime(*local, tzinfo=zone).utcoffset() == dt.timedelta(hours=hours), local


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney", "Asia/Tokyo", "UTC"])
def test_vtimezone_of_other_zones_agrees_with_the_zone_database(zone):
    from zoneinfo import ZoneInfo

    tzinfo = _vobject_zone(vtimezone(zone, 2025))
    for month in range(1, 13):
        for day in (1, 15):
            local = dt.datetime(2025, month, day, 12, 0)
            expected = local.replace(tzinfo=ZoneInfo(zone)).utcoffset()
            assert local.replace(tzinfo=tzinfo).utcoffset() == expected, local


def test_one_uid_for_an_event_and_updates_and_cancellations_replace_it(cases):
    seen = {name: row for (name, *_), row in zip(cases, _icaljs([p for _, p, _, _ in cases]), strict=True)}
    uids = {seen[n]["uid"] for n in ("winter event", "winter email", "winter re-planned", "winter cancelled")}
    assert len(uids) == 1
    assert seen["winter cancelled"]["method"] == "CANCEL"
    assert seen["winter event"]["sequence"] < seen["winter re-planned"]["sequence"] \
        < seen["winter cancelled"]["sequence"]
    assert seen["summer event"]["uid"] not in uids


def test_email_attaches_no_second_invitation_when_the_graph_meeting_invites():
    text = EVENTS_SEED.read_text()
    marker = '    at: "10:00"                    # the meeting is created at 10:00 ...'
    assert marker in text
    loaded = load_text(text.replace(marker, "    connector: graph_events\n" + marker), str(EVENTS_SEED),
                       base=EVENTS_SEED)
    r = render(loaded, _pub(loaded, "email", "wed"))
    assert r.ics is None and [a.filename for a in r.attachments] == ["wed.pdf"]
    msg = email.message_from_bytes(r.eml, policy=policy.default)
    assert not [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert "The Teams invitation was sent from iowscp@iow.gov.uk" in r.text
    assert render(load(EVENTS_SEED), _pub(load(EVENTS_SEED), "email", "wed")).ics is not None  # outbox

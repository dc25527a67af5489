"""The week as a calendar feed, read back by icalendar and vobject: every publication once at its time,
stable UIDs, a re-plan moving an entry in place (higher SEQUENCE), removed publications cancelled."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import vobject
from icalendar import Calendar

from practiceweek.loader import Loaded, load
from practiceweek.planner import plan
from practiceweek.render.week_calendar import FeedError, week_calendar
from tests.helpers import ROOT

SEED = ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml"
T0 = dt.datetime(2024, 11, 1, 9, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2024, 11, 2, 10, 30, tzinfo=dt.UTC)
TUESDAY_X = "iowscp-da-2024/tue/x/daily@practiceweek"


@pytest.fixture(scope="module")
def seed() -> Loaded:
    return load(SEED)


def _feed(loaded: Loaded, previous: bytes | None = None, now: dt.datetime = T0) -> bytes:
    return week_calendar([loaded], lambda w: f"https://preview.example/{w.id}", previous, now)


def _events(data: bytes) -> dict[str, dict]:
    """uid → what icalendar and vobject read (vobject through the file's own VTIMEZONE)."""
    out = {str(e["uid"]): {"start": e.decoded("dtstart"), "sequence": int(e["sequence"]),
                           "stamp": e.decoded("dtstamp"), "status": str(e["status"]), "url": str(e["url"]),
                           "tzid": e["dtstart"].params.get("TZID")}
           for e in Calendar.from_ical(data).walk("VEVENT")}
    for v in vobject.readOne(data.decode()).vevent_list:
        seen = out[v.uid.value]
        seen["vobject"] = (v.dtstart.value, int(v.sequence.value), v.status.value)
    return out


def _moved(tmp_path: Path, text: str) -> Loaded:
    path = tmp_path / SEED.name
    path.write_text(text)
    return load(path)


def test_every_publication_appears_once_at_its_time_in_both_parsers(seed: Loaded) -> None:
    loaded = seed
    pubs = plan(loaded.model)
    data = _feed(loaded)
    events = _events(data)
    assert data.count(b"BEGIN:VEVENT") == len(pubs) == len(events) > 30
    for pub in pubs:
        seen = events[f"{pub.id}@practiceweek"]
        assert seen["start"] == pub.at and seen["tzid"] == "Europe/London"
        assert seen["vobject"] == (pub.at, 0, "CONFIRMED")
        assert seen["url"].startswith(f"https://preview.example/{loaded.id}/") and "#" in seen["url"]
    assert b"BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\n" in data
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))  # folded at 75 octets, CRLF


def test_a_second_run_of_the_same_plan_writes_the_same_bytes(seed: Loaded) -> None:
    first = _feed(seed)
    assert _feed(seed, first, T1) == first


def test_a_replan_moves_the_entry_in_place_with_a_higher_sequence(seed: Loaded, tmp_path: Path) -> None:
    first = _feed(seed)
    text = SEED.read_text().replace("  - weekday: tuesday\n", "  - weekday: tuesday\n"
                                    "    channels: { x: { at: \"13:15\" } }\n", 1)
    second = _feed(_moved(tmp_path, text), first, T1)
    before, after = _events(first), _events(second)
    assert before.keys() == after.keys()  # same UIDs: nothing added, nothing duplicated
    moved = after[TUESDAY_X]
    assert before[TUESDAY_X]["start"] == dt.datetime(2024, 11, 26, 12, 0, tzinfo=dt.UTC)
    assert moved["start"] == dt.datetime(2024, 11, 26, 13, 15, tzinfo=dt.UTC)  # GMT in November
    assert moved["vobject"] == (moved["start"], 1, "CONFIRMED") and moved["stamp"] == T1
    unchanged = {uid: e["sequence"] for uid, e in after.items() if uid != TUESDAY_X}
    assert set(unchanged.values()) == {0}
    assert all(after[uid]["stamp"] == T0 for uid in unchanged)
    third = _feed(_moved(tmp_path, text.replace("13:15", "14:00")), second, T1 + dt.timedelta(hours=1))
    assert _events(third)[TUESDAY_X]["vobject"][1:] == (2, "CONFIRMED")


def test_a_removed_publication_stays_cancelled_and_comes_back_at_the_next_sequence(seed: Loaded,
                                                                                    tmp_path: Path) -> None:
    first = _feed(seed)
    text = SEED.read_text().replace("  - weekday: tuesday\n", "  - weekday: tuesday\n"
                                    "    channels: { x: { enabled: false } }\n", 1)
    second = _feed(_moved(tmp_path, text), first, T1)
    gone = _events(second)[TUESDAY_X]
    assert (gone["status"], gone["sequence"], gone["stamp"]) == ("CANCELLED", 1, T1)
    assert gone["vobject"] == (dt.datetime(2024, 11, 26, 12, 0, tzinfo=dt.UTC), 1, "CANCELLED")
    assert _feed(_moved(tmp_path, text), second, T1 + dt.timedelta(days=1)) == second  # cancelled once
    back = _events(_feed(seed, second, T1 + dt.timedelta(days=2)))[TUESDAY_X]
    assert (back["status"], back["sequence"]) == ("CONFIRMED", 2)


@pytest.mark.parametrize(("previous", "says"), [
    (b"not a calendar at all", "not an iCalendar file"),
    (b"BEGIN:VCALENDAR\r\nPRODID:-//Someone//Their diary//EN\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
     "not a calendar `practiceweek calendar` wrote"),
    (b"BEGIN:VCALENDAR\r\nPRODID:-//practiceweek//Week calendar//EN\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n"
     b"SUMMARY:edited by hand\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "an entry has no valid UID"),
])
def test_a_file_practiceweek_did_not_write_is_not_replaced(seed: Loaded, previous: bytes, says: str) -> None:
    with pytest.raises(FeedError, match=says):
        _feed(seed, previous)

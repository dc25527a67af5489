"""`practiceweek calendar` as a comms officer runs it (a subprocess), its feed read by icalendar, vobject and
Mozilla's ical.js (node, trusting only the file's own VTIMEZONE), and served over HTTP as text/calendar."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import vobject
from icalendar import Calendar

from practiceweek.loader import load
from practiceweek.planner import plan
from tests.helpers import FIXTURES, ROOT

SEED = ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml"
JOINT = ROOT / "campaigns" / "safeguarding-children-week-2023.yaml"  # Hampshire and the Isle of Wight
JS = ROOT / "tests" / "js"
TUESDAY_X = "iowscp-da-2024/tue/x/daily@practiceweek"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRACTICEWEEK_")}
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**env, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}, timeout=120)


def icaljs(path: Path) -> dict[str, dict]:
    node = shutil.which("node")
    assert node, "node is needed to read the feed with ical.js (tests/js)"
    done = subprocess.run([node, str(JS / "ics_feed.cjs"), str(path)], capture_output=True, text=True, cwd=JS,
                          timeout=60, check=True)
    return {e["uid"]: e for e in json.loads(done.stdout)}


def three_parsers(path: Path) -> dict[str, tuple[str, int, str]]:
    """uid → (UTC start, SEQUENCE, STATUS), checked to be the same in icalendar, vobject and ical.js."""
    data = path.read_bytes()
    with_icalendar = {str(e["uid"]): (e.decoded("dtstart").astimezone(dt.UTC), int(e["sequence"]),
                                      str(e["status"])) for e in Calendar.from_ical(data).walk("VEVENT")}
    with_vobject = {v.uid.value: (v.dtstart.value.astimezone(dt.UTC), int(v.sequence.value), v.status.value)
                    for v in vobject.readOne(data.decode()).vevent_list}
    with_js = {uid: (dt.datetime.fromisoformat(e["start"]), e["sequence"], e["status"])
               for uid, e in icaljs(path).items()}
    assert with_icalendar == with_vobject == with_js
    return {uid: (start.isoformat(), seq, status) for uid, (start, seq, status) in with_js.items()}


def test_the_feed_has_every_publication_and_follows_a_replan(tmp_path: Path) -> None:
    week = tmp_path / SEED.name
    week.write_text(SEED.read_text())
    done = run("calendar", str(week), "--out", "week.ics", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    feed = tmp_path / "week.ics"
    first = three_parsers(feed)
    pubs = plan(load(SEED).model)
    assert first == {f"{p.id}@practiceweek": (p.at.astimezone(dt.UTC).isoformat(), 0, "CONFIRMED")
                     for p in pubs}
    tuesday = icaljs(feed)[TUESDAY_X]
    assert tuesday["tzid"] == "Europe/London" and tuesday["location"] == "X (outbox)"  # seeds: outbox
    assert tuesday["url"] == (tmp_path / "preview").as_uri() + "/tue.html#x-daily"
    assert run("calendar", str(week), "--out", "week.ics", cwd=tmp_path).returncode == 0
    assert three_parsers(feed) == first  # the same UIDs, nothing bumped
    week.write_text(SEED.read_text().replace("  - weekday: tuesday\n", "  - weekday: tuesday\n"
                                             "    channels: { x: { at: \"15:45\" } }\n", 1))
    assert run("calendar", str(week), "--out", "week.ics", cwd=tmp_path).returncode == 0
    moved = three_parsers(feed)
    assert moved.pop(TUESDAY_X) == ("2024-11-26T15:45:00+00:00", 1, "CONFIRMED")
    assert moved == {uid: seen for uid, seen in first.items() if uid != TUESDAY_X}


@pytest.mark.parametrize("week", [SEED, JOINT], ids=["one-partnership", "joint"])
def test_the_preview_link_opens_the_publication_in_the_preview(tmp_path: Path, week: Path) -> None:
    done = run("preview", str(week), "--out", "preview", cwd=tmp_path)  # a joint week: a part per partner
    assert done.returncode == 0, done.stderr
    assert run("calendar", str(week), cwd=tmp_path).returncode == 0
    entries = icaljs(tmp_path / "week.ics")
    assert entries
    for uid, entry in entries.items():
        page, _, anchor = entry["url"].removeprefix((tmp_path / "preview").as_uri() + "/").partition("#")
        assert f'id="{anchor}"' in (tmp_path / "preview" / page).read_text(), uid


def test_invalid_inputs_exit_2_and_write_nothing(tmp_path: Path) -> None:
    bad = FIXTURES / "bad" / "21_javascript_url.yaml"
    done = run("calendar", str(bad), "--out", "week.ics", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{bad}:30:18: error: Monday (days[0]).themes[0].resources[0].url:" in done.stderr
    assert not (tmp_path / "week.ics").exists()
    diary = tmp_path / "diary.ics"
    diary.write_bytes(b"BEGIN:VCALENDAR\r\nPRODID:-//Someone//Diary//EN\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    done = run("calendar", str(SEED), "--out", str(diary), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{diary}: not a calendar `practiceweek calendar` wrote" in done.stderr
    assert diary.read_bytes().startswith(b"BEGIN:VCALENDAR\r\nPRODID:-//Someone//Diary")
    done = run("calendar", str(SEED), "--out", str(tmp_path), cwd=tmp_path)  # a folder
    assert done.returncode == 2 and f"{tmp_path}: cannot be read or written" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_outbox_file_server_serves_the_feed_as_text_calendar(tmp_path: Path) -> None:
    from flows.runtime.embedded import serve_folder  # the server `run` and `demo` leave serving the outbox

    outbox, state = tmp_path / "outbox", tmp_path / "state"
    outbox.mkdir()
    state.mkdir()
    assert run("calendar", str(SEED), "--out", str(outbox / "week.ics"), cwd=tmp_path).returncode == 0
    url = serve_folder(outbox, state)
    try:
        with urllib.request.urlopen(f"{url}/week.ics", timeout=10) as resp:
            assert resp.headers.get_content_type() == "text/calendar"
            assert resp.read() == (outbox / "week.ics").read_bytes()
    finally:
        pid = json.loads((state / "outbox-http.json").read_text())["pid"]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)

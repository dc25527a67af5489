"""The planner: stable ids, aware times across clock changes, dependencies, fingerprints."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from practiceweek.dates import LocalTimeProblem, exact
from practiceweek.errors import CampaignError
from practiceweek.loader import load, load_text
from practiceweek.planner import Publication, plan
from tests.helpers import FIXTURES, ROOT

HSCP = ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml"
IOW = ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml"
SCW = ROOT / "campaigns" / "safeguarding-children-week-2023.yaml"
BASE = (FIXTURES / "good_base.yaml").read_text()
LONDON = __import__("zoneinfo").ZoneInfo("Europe/London")


def _plan_text(text: str) -> list[Publication]:
    return plan(load_text(text, "edited.yaml").model)


def _by_id(pubs: list[Publication]) -> dict[str, Publication]:
    return {p.id: p for p in pubs}


@pytest.mark.parametrize("path", [HSCP, IOW, SCW], ids=["hscp", "iow", "scw"])
def test_seed_weeks_load_and_plan(path: Path) -> None:
    loaded = load(path)
    pubs = plan(loaded.model)
    assert pubs and len({p.id for p in pubs}) == len(pubs), "ids are unique"
    for p in pubs:
        assert p.at.tzinfo is not None and p.at.utcoffset() is not None
        assert p.id == f"{p.campaign}/{p.day}/{p.channel}/{p.slot}" + (f"/{p.partner}" if p.partner else "")
        assert bool(p.partner) == bool(loaded.partners)  # the joint SCW week: every id names its partner
    assert [p.at for p in pubs] == sorted(p.at for p in pubs)


def test_same_file_plans_the_same_ids_and_fingerprints() -> None:
    first = [(p.id, p.fingerprint, p.at) for p in plan(load(HSCP).model)]
    second = [(p.id, p.fingerprint, p.at) for p in plan(load(HSCP).model)]
    assert first == second


def test_editing_one_tuesday_theme_changes_only_what_shows_tuesday() -> None:
    text = HSCP.read_text()
    needle = "Don't assume that important information is already known to other agencies."
    assert text.count(needle) == 1
    before = _by_id(plan(load(HSCP).model))
    after = _by_id(_plan_text(text.replace(needle, "Never assume others already know what you know.")))
    assert before.keys() == after.keys(), "ids do not depend on content"
    changed = {pid for pid in before if before[pid].fingerprint != after[pid].fingerprint}
    tuesday = before["hscp-lfr-2024/tue/poster/daily"].date
    expected = {
        p.id
        for p in before.values()
        if p.day == "tue" or (p.channel == "web_page" and p.date >= tuesday) or p.slot == "week"
    }
    assert changed == expected
    assert "hscp-lfr-2024/mon/web_page/daily" not in changed
    assert "hscp-lfr-2024/wed/email/daily" not in changed
    assert {
        "hscp-lfr-2024/tue/email/daily",
        "hscp-lfr-2024/fri/web_page/daily",
        "hscp-lfr-2024/week/poster/week",
    } <= changed


def test_event_day_email_waits_for_the_teams_event() -> None:
    pubs = _by_id(plan(load(IOW).model))
    create = pubs["iowscp-da-2024/wed/teams_event/da-impact-session"]
    email = pubs["iowscp-da-2024/wed/email/daily"]
    reminder = pubs["iowscp-da-2024/wed/email/reminder-da-impact-session"]
    assert create.id in email.depends_on
    assert create.id in reminder.depends_on
    assert "iowscp-da-2024/wed/poster/daily" in email.depends_on
    assert create.at.isoformat() == "2024-11-20T10:00:00+00:00"  # a week ahead, as the file says
    assert reminder.at.isoformat() == "2024-11-27T12:30:00+00:00"  # an hour before 13:30
    # every dependency is planned, and goes out no later than what waits for it
    for p in pubs.values():
        for dep in p.depends_on:
            assert pubs[dep].at <= p.at


def test_june_is_bst_and_november_is_gmt() -> None:
    june = plan(load(HSCP).model)
    november = plan(load(IOW).model)
    assert {p.at.isoformat()[-6:] for p in june} == {"+01:00"}
    assert {p.at.isoformat()[-6:] for p in november} == {"+00:00"}
    assert june[0].at.isoformat() == "2024-06-24T08:00:00+01:00"


# --- clock changes ------------------------------------------------------------------------------------------

SPRING = (
    BASE.replace("start: 2024-06-24", "start: 2025-03-24")
    .replace("end: 2024-06-28", "end: 2025-03-30")
    .replace("    day: wednesday", "    day: friday")
)


def test_a_week_across_the_spring_change_keeps_local_times() -> None:
    text = SPRING.replace("  - weekday: tuesday", "  - weekday: sunday")
    pubs = _plan_text(text)
    sunday = [p for p in pubs if p.day == "sun"]
    monday = [p for p in pubs if p.day == "mon"]
    assert sunday and monday
    assert {p.at.utcoffset() for p in monday} == {dt.timedelta(0)}
    assert {p.at.utcoffset() for p in sunday} == {dt.timedelta(hours=1)}
    poster = next(p for p in sunday if p.channel == "poster" and p.slot == "daily")
    assert poster.at.isoformat() == "2025-03-30T08:00:00+01:00"


def test_a_time_skipped_by_the_spring_change_is_an_error() -> None:
    text = SPRING.replace(
        "  - weekday: tuesday", '  - weekday: sunday\n    channels:\n      poster: { at: "01:30" }'
    )
    with pytest.raises(CampaignError) as caught:
        load_text(text, "spring.yaml")
    (error,) = caught.value.errors
    assert error.path == "days[1].channels.poster.at"
    assert "01:30 on Sun 30 Mar 2025 does not exist in Europe/London" in error.message


def test_a_time_repeated_by_the_autumn_change_is_an_error() -> None:
    text = (
        BASE.replace("start: 2024-06-24", "start: 2024-10-21")
        .replace("end: 2024-06-28", "end: 2024-10-27")
        .replace("  - weekday: tuesday", '  - weekday: sunday\n    channels:\n      x: { at: "01:30" }')
    )
    with pytest.raises(CampaignError) as caught:
        load_text(text, "autumn.yaml")
    (error,) = caught.value.errors
    assert error.path == "days[1].channels.x.at"
    assert "happens twice" in error.message


def test_an_event_in_the_skipped_hour_is_an_error() -> None:
    text = SPRING.replace("    day: friday", "    day: sunday").replace('start: "13:30"', 'start: "01:15"')
    with pytest.raises(CampaignError) as caught:
        load_text(text, "spring.yaml")
    assert [e.path for e in caught.value.errors] == ["events[0].start"]


def test_exact_rejects_gaps_and_folds_and_keeps_offsets() -> None:
    with pytest.raises(LocalTimeProblem):
        exact(dt.date(2025, 3, 30), dt.time(1, 30), LONDON)
    with pytest.raises(LocalTimeProblem):
        exact(dt.date(2024, 10, 27), dt.time(1, 30), LONDON)
    assert exact(dt.date(2024, 10, 27), dt.time(2, 30), LONDON).isoformat() == "2024-10-27T02:30:00+00:00"
    assert exact(dt.date(2025, 3, 30), dt.time(2, 30), LONDON).isoformat() == "2025-03-30T02:30:00+01:00"


def test_a_reminder_across_the_autumn_change_counts_real_minutes() -> None:
    text = (
        BASE.replace("start: 2024-06-24", "start: 2024-10-21")
        .replace("end: 2024-06-28", "end: 2024-10-27")
        .replace("    day: wednesday", "    day: sunday")
        .replace('start: "13:30"', 'start: "02:30"')
        .replace('end: "15:00"', 'end: "03:30"')
        .replace("create_days_before: 2 }", "create_days_before: 2, reminder_minutes_before: 60 }")
    )
    pubs = _by_id(_plan_text(text))
    reminder = pubs["test-week/sun/email/reminder-webinar"]
    start = exact(dt.date(2024, 10, 27), dt.time(2, 30), LONDON)
    assert start.astimezone(dt.UTC) - reminder.at.astimezone(dt.UTC) == dt.timedelta(minutes=60)
    assert reminder.at.isoformat() == "2024-10-27T01:30:00+00:00"  # the second 01:30, not the first

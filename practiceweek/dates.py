"""Dates of the week and local times made exact in the campaign's timezone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .model import WEEKDAYS, CampaignFile, Day, Event

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def week_dates(cf: CampaignFile) -> list[dt.date]:
    week = cf.campaign.week
    return [week.start + dt.timedelta(days=i) for i in range((week.last - week.start).days + 1)]


def on_weekday(cf: CampaignFile, weekday: str) -> dt.date | None:
    """The date in the campaign's week that falls on ``weekday``."""
    target = WEEKDAYS.index(weekday)
    for date in week_dates(cf):
        if date.weekday() == target:
            return date
    return None


def day_date(cf: CampaignFile, day: Day | Event) -> dt.date | None:
    if day.date is not None:
        return day.date
    weekday = day.weekday if isinstance(day, Day) else day.day
    return on_weekday(cf, weekday) if weekday else None


def day_key(date: dt.date) -> str:
    return DAY_KEYS[date.weekday()]


class LocalTimeProblem(ValueError):
    """A local wall-clock time that is skipped or repeated by a clock change."""


def exact(date: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """``date`` at ``time`` in ``zone``; raise LocalTimeProblem if it never happens or happens twice."""
    naive = dt.datetime.combine(date, time)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    round_trip = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        raise LocalTimeProblem(f"{time:%H:%M} on {date:%a %d %b %Y} does not exist in {zone.key}: the clocks go "
                               f"forward then; choose a time outside the skipped hour")
    if first.utcoffset() != second.utcoffset():
        raise LocalTimeProblem(f"{time:%H:%M} on {date:%a %d %b %Y} happens twice in {zone.key}: the clocks go "
                               f"back then; choose a time outside the repeated hour")
    return first

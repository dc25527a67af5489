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


def known_date(cf: CampaignFile, day: Day | Event) -> dt.date:
    """``day_date`` of a checked campaign, where every day and event has a date in the week."""
    date = day_date(cf, day)
    if date is None:
        raise ValueError(f"{day.title!r} has no date in the week: check the campaign before planning it")
    return date


def day_key(date: dt.date) -> str:
    return DAY_KEYS[date.weekday()]


def outside_key(date: dt.date) -> str:
    """The day key of a date before or after the week: ``fri-24-oct`` (never one of the week's keys)."""
    return f"{DAY_KEYS[date.weekday()]}-{date.day:02d}-{date:%b}".lower()


class LocalTimeProblem(ValueError):
    """A local wall-clock time that is skipped or repeated by a clock change."""


def exact(date: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """``date`` at ``time`` in ``zone``; raise LocalTimeProblem if it never happens or happens twice."""
    naive = dt.datetime.combine(date, time)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    round_trip = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        raise LocalTimeProblem(
            f"{time:%H:%M} on {date:%a %d %b %Y} does not exist in {zone.key}: the clocks go "
            f"forward then; choose a time outside the skipped hour"
        )
    if first.utcoffset() != second.utcoffset():
        raise LocalTimeProblem(
            f"{time:%H:%M} on {date:%a %d %b %Y} happens twice in {zone.key}: the clocks go "
            f"back then; choose a time outside the repeated hour"
        )
    return first


# --- bank holidays in England (and Wales), computed: the `holidays` package costs ~0.1 s to import ---

_ONE_OFF = {
    dt.date(1999, 12, 31): "Millennium Celebrations",
    dt.date(2002, 6, 3): "Golden Jubilee of Elizabeth II",
    dt.date(2011, 4, 29): "Wedding of William and Catherine",
    dt.date(2012, 6, 5): "Diamond Jubilee of Elizabeth II",
    dt.date(2022, 6, 3): "Platinum Jubilee of Elizabeth II",
    dt.date(2022, 9, 19): "State Funeral of Queen Elizabeth II",
    dt.date(2023, 5, 8): "Coronation of Charles III",
}
_MOVED = {
    ("early", 1995): dt.date(1995, 5, 8),
    ("early", 2020): dt.date(2020, 5, 8),
    ("spring", 2002): dt.date(2002, 6, 4),
    ("spring", 2012): dt.date(2012, 6, 4),
    ("spring", 2022): dt.date(2022, 6, 2),
}


def easter(year: int) -> dt.date:
    """Easter Sunday (Gregorian; the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _monday(year: int, month: int, last: bool) -> dt.date:
    """The first (or last) Monday of a month."""
    if last:
        end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        return end - dt.timedelta(days=end.weekday())
    start = dt.date(year, month, 1)
    return start + dt.timedelta(days=(7 - start.weekday()) % 7)


def bank_holidays(year: int) -> dict[dt.date, str]:
    """England's bank holidays in ``year`` (2000-2100), with the weekend day itself and its substitute."""
    out: dict[dt.date, str] = {}
    sunday = easter(year)
    out[sunday - dt.timedelta(days=2)] = "Good Friday"
    out[sunday + dt.timedelta(days=1)] = "Easter Monday"
    out[_MOVED.get(("early", year), _monday(year, 5, last=False))] = "Early May Bank Holiday"
    out[_MOVED.get(("spring", year), _monday(year, 5, last=True))] = "Spring Bank Holiday"
    out[_monday(year, 8, last=True)] = "Summer Bank Holiday"
    fixed = {
        dt.date(year, 1, 1): "New Year's Day",
        dt.date(year, 12, 25): "Christmas Day",
        dt.date(year, 12, 26): "Boxing Day",
    }
    out.update(fixed)
    used = {d for d in fixed if d.weekday() < 5}
    for date, name in fixed.items():  # a day at a weekend is made up on the next free weekday
        if date.weekday() >= 5:
            while date.weekday() >= 5 or date in used:
                date += dt.timedelta(days=1)
            used.add(date)
            out[date] = f"{name} (substitute day)"
    out.update({d: n for d, n in _ONE_OFF.items() if d.year == year})
    return out

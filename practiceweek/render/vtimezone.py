"""A compact VTIMEZONE (RFC 5545 3.6.5) that every calendar client reads the same way.

Clients that trust the embedded VTIMEZONE (Outlook, vobject, Mozilla's ical.js) need one STANDARD and
one DAYLIGHT observance with a yearly RRULE each, whose DTSTART is the local wall-clock time *before*
the change (UK: 01:00 GMT in March, 02:00 BST in October - both 01:00 UTC). The rule is read from the
zone's own transitions around the event's year and checked against the years either side; a zone
whose changes follow no such rule gets one observance per actual change instead.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Change:
    """One change of UTC offset: when (local time before it), and the offsets either side."""

    local: dt.datetime  # naive wall-clock time just before the change
    before: dt.timedelta
    after: dt.timedelta
    name: str

    @property
    def rule(self) -> tuple[int, int, int, dt.time]:
        """(month, nth weekday or -1 for the last, weekday, time) that names this change yearly."""
        day = self.local.day
        last = day + 7 > calendar.monthrange(self.local.year, self.local.month)[1]
        nth = -1 if last else (day - 1) // 7 + 1
        return self.local.month, nth, self.local.weekday(), self.local.time()


def changes(zone: ZoneInfo, year: int) -> list[Change]:
    """The zone's offset changes during ``year``, found day by day then to the minute."""
    out: list[Change] = []
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    days = 366 if calendar.isleap(year) else 365
    for i in range(days):
        lo, hi = start + dt.timedelta(days=i), start + dt.timedelta(days=i + 1)
        if _offset(zone, lo) == _offset(zone, hi):
            continue
        while hi - lo > dt.timedelta(minutes=1):
            mid = lo + (hi - lo) / 2
            lo, hi = (mid, hi) if _offset(zone, mid) == _offset(zone, lo) else (lo, mid)
        before, after = _offset(zone, lo), _offset(zone, hi)
        name = hi.astimezone(zone).tzname() or ""
        out.append(Change((hi + before).replace(tzinfo=None, second=0, microsecond=0), before, after, name))
    return out


def _offset(zone: ZoneInfo, when: dt.datetime) -> dt.timedelta:
    offset = when.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def vtimezone(name: str, year: int) -> Any:
    """The VTIMEZONE of zone ``name`` valid for events in ``year`` (an icalendar ``Timezone``)."""
    from icalendar import Timezone

    zone = ZoneInfo(name)
    tz = Timezone()
    tz.add("tzid", name)
    years = [changes(zone, y) for y in (year - 1, year, year + 1)]
    yearly = bool(years[0]) and all([c.rule for c in y] == [c.rule for c in years[0]] for y in years)
    if not yearly:  # no change at all, or no yearly rule: what held first, then every actual change
        first = dt.datetime(year - 1, 1, 1, tzinfo=dt.UTC)
        offset = _offset(zone, first)
        held = Change(dt.datetime(1970, 1, 1), offset, offset, first.astimezone(zone).tzname() or name)
        tz.add_component(_observance(held, False, None))
    highest = max((c.after for y in years for c in y), default=None)
    for change in years[0] if yearly else [c for y in years for c in y]:
        tz.add_component(_observance(change, change.after == highest, change.rule if yearly else None))
    return tz


def _observance(change: Change, daylight: bool, rule: tuple[int, int, int, dt.time] | None) -> Any:
    from icalendar import TimezoneDaylight, TimezoneStandard

    part = TimezoneDaylight() if daylight else TimezoneStandard()
    part.add("tzname", change.name)
    part.add("dtstart", change.local)
    part.add("tzoffsetfrom", change.before)
    part.add("tzoffsetto", change.after)
    if rule is not None:
        month, nth, weekday, _ = rule
        part.add("rrule", {"freq": "yearly", "bymonth": month, "byday": f"{nth}{WEEKDAYS[weekday]}"})
    return part

"""Checks that need the whole campaign: dates in the week, times across clock changes,
references between sections, recipients against the allowlist, post lengths."""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path as FsPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import textlimits, timezones
from .accounts import KIND_OF
from .channels import CONNECTORS_FOR, resolve
from .checks_headings import check_headings
from .checks_partners import check_partners, partner_audiences
from .checks_slots import check_extras, check_notices, check_options
from .checks_text import check_time_style
from .dates import LocalTimeProblem, bank_holidays, day_date, exact, week_dates
from .errors import Problem
from .model import CHANNELS, SOCIAL_NETWORKS, CampaignFile, ChannelConfig
from .partners import host_of, merge_channels, partner_keys
from .yamlsource import Source


def check(cf: CampaignFile, source: Source, base: FsPath | None = None) -> list[Problem]:
    out: list[Problem] = []
    c = cf.campaign
    zone = _zone(cf, source, out)
    week = week_dates(cf)
    if c.week.end is not None and c.week.end < c.week.start:
        out.append(
            source.problem(
                ("campaign", "week", "end"), f"the week ends ({c.week.end}) before it starts ({c.week.start})"
            )
        )
        return out
    if len(week) > 7:
        out.append(
            source.problem(
                ("campaign", "week", "end"),
                f"a practice week lasts at most 7 days; this one lasts {len(week)}",
            )
        )
        return out
    _recipients(cf, source, out)
    check_partners(cf, source, out)
    dates = _days(cf, source, week, out)
    check_options(cf, source, out)
    _channels(cf, source, zone, dates, out)
    check_extras(cf, source, zone, dates, out)
    _events(cf, source, zone, week, out)
    check_notices(cf, source, zone, week, lambda path, name: _audience_ref(cf, source, path, name, out), out)
    _social(cf, source, out)
    _bank_holidays(cf, source, dates, out)
    _unused_accounts(cf, source, out)
    check_time_style(source, out)
    check_headings(cf, source, out)
    return out


def _zone(cf: CampaignFile, source: Source, out: list[Problem]) -> ZoneInfo:
    found = timezones.problem(cf.campaign.timezone, cf.campaign.organiser)
    if found is not None:
        message, hint, error = found
        out.append(source.problem(("campaign", "timezone"), message, hint=hint,
                                  severity="error" if error else "warning"))
    try:
        return ZoneInfo(cf.campaign.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/London")


def _allowed(address: str, domains: list[str]) -> bool:
    domain = address.rsplit("@", 1)[-1].lower()
    return any(
        domain == d.lower().lstrip("@") or domain.endswith("." + d.lower().lstrip("@")) for d in domains
    )


def _recipients(cf: CampaignFile, source: Source, out: list[Problem]) -> None:
    allow = cf.campaign.allowed_email_domains
    if cf.campaign.partners:  # each partner's own (checks_partners); campaign-level ones are refused
        return
    for name, audience in cf.campaign.audiences.items():
        for i, address in enumerate(audience.recipients):
            if not _allowed(address, allow):
                out.append(
                    source.problem(
                        ("campaign", "audiences", name, "recipients", i),
                        f"{address} is outside the allowed email domains ({', '.join(allow)})",
                        hint="add its domain to campaign.allowed_email_domains if it is meant",
                    )
                )


def _audience_ref(
    cf: CampaignFile, source: Source, path: tuple, name: str | None, out: list[Problem],
    partners: list[str] | None = None,
) -> None:
    """``name`` is an audience of the campaign, or in a joint week of each partner (of ``partners``)."""
    if name is None:
        return
    if cf.campaign.partners:
        for key, known in partner_audiences(cf, partners).items():
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                out.append(source.problem(
                    path, f"partner {key} has no audience called {name!r}; its audiences are: "
                    f"{', '.join(known)}", hint=f"did you mean '{close[0]}'?" if close else
                    f"add '{name}:' to campaign.partners.{key}.audiences"))
        return
    if name in cf.campaign.audiences:
        return
    known = sorted(cf.campaign.audiences)
    close = difflib.get_close_matches(name, known, n=1)
    out.append(
        source.problem(
            path,
            f"no audience called {name!r}; audiences are: {', '.join(known)}",
            hint=f"did you mean '{close[0]}'?" if close else "",
        )
    )


def _days(cf: CampaignFile, source: Source, week: list[dt.date], out: list[Problem]) -> list[dt.date | None]:
    dates: list[dt.date | None] = []
    seen: dict[dt.date, int] = {}
    span = f"{week[0]:%a %d %b} to {week[-1]:%a %d %b %Y}"
    for i, day in enumerate(cf.days):
        path = ("days", i)
        if (day.weekday is None) == (day.date is None):
            out.append(
                source.problem(
                    path, "give either 'weekday' or 'date' for each day, not both or neither", key=True
                )
            )
            dates.append(None)
            continue
        date = day_date(cf, day)
        field = "date" if day.date is not None else "weekday"
        if date is None or date not in week:
            shown = day.date or day.weekday
            out.append(source.problem((*path, field), f"{shown} is outside the week ({span})"))
            dates.append(None)
            continue
        if date in seen:
            out.append(
                source.problem((*path, field), f"{date:%A %d %B} is already described by days[{seen[date]}]")
            )
        seen[date] = i
        dates.append(date)
    ordered = [d for d in dates if d is not None]
    if ordered != sorted(ordered):
        out.append(source.problem(("days",), "days must be listed in date order", severity="warning"))
    return dates


def _connector_fits(
    source: Source, path: tuple, channel: str, config: ChannelConfig | None, out: list[Problem]
) -> None:
    """Report a connector that cannot carry ``channel`` (week-level settings or a day's override)."""
    if config is None or config.connector is None or config.connector in CONNECTORS_FOR[channel]:
        return
    out.append(
        source.problem(
            (*path, "connector"),
            f"{channel} cannot be sent through {config.connector!r}; expected one of "
            f"{', '.join(CONNECTORS_FOR[channel])}",
        )
    )


def _channels(
    cf: CampaignFile, source: Source, zone: ZoneInfo, dates: list[dt.date | None], out: list[Problem]
) -> None:
    for channel in CHANNELS:
        _connector_fits(source, ("channels", channel), channel, getattr(cf.channels, channel), out)
    partners = cf.campaign.partners or {}
    own = {k: p.channels.email.audience for k, p in partners.items()
           if p.channels is not None and p.channels.email is not None and p.channels.email.audience}
    if cf.channels.email is not None:  # in a joint week, for each partner without an audience of its own
        _audience_ref(cf, source, ("channels", "email", "audience"), cf.channels.email.audience, out,
                      [k for k in partners if k not in own] if partners else None)
    for key, partner in partners.items():  # a partner's own changes to the channels
        for channel in CHANNELS:
            where = ("campaign", "partners", key, "channels", channel)
            _connector_fits(source, where, channel, getattr(partner.channels, channel, None), out)
        if key in own:
            _audience_ref(cf, source, ("campaign", "partners", key, "channels", "email", "audience"),
                          own[key], out, [key])
    for i, day in enumerate(cf.days):
        date = dates[i]
        for channel in CHANNELS:
            over = getattr(day.channels, channel) if day.channels else None
            _connector_fits(source, ("days", i, "channels", channel), channel, over, out)
            if over is not None and channel == "email":
                _audience_ref(cf, source, ("days", i, "channels", "email", "audience"), over.audience, out)
            setting = resolve(cf.channels, day, channel)
            if date is None or not setting.enabled or channel == "teams_event":
                continue
            if channel == "email" and setting.audience is None:
                out.append(
                    source.problem(
                        ("channels", "email"),
                        "the email channel needs an 'audience' (who receives it)",
                        key=True,
                    )
                )
            try:
                exact(date, setting.at, zone)
            except LocalTimeProblem as exc:
                path = (
                    ("days", i, "channels", channel, "at")
                    if setting.source == "day"
                    else ("channels", channel, "at")
                )
                out.append(source.problem(path, f"{channel}: {exc}"))


def _events(
    cf: CampaignFile, source: Source, zone: ZoneInfo, week: list[dt.date], out: list[Problem]
) -> None:
    """Each event: a unique id, a known audience, a date in the week, a real local time, no overlap."""
    placed: list[tuple[dt.datetime, dt.datetime, int]] = []
    ids: dict[str, int] = {}
    for i, event in enumerate(cf.events):
        path = ("events", i)
        if event.id in ids:
            out.append(
                source.problem(
                    (*path, "id"), f"event id {event.id!r} is already used by events[{ids[event.id]}]"
                )
            )
        ids[event.id] = i
        host = [host_of(cf, event)] if cf.campaign.partners else None  # the host invites its own people
        _audience_ref(cf, source, (*path, "audience"), event.audience, out, host)
        times = _event_times(cf, source, zone, week, i, out)
        if times is None:
            continue
        for start, end, j in placed:
            if times[0] < end and start < times[1]:
                other = cf.events[j]
                out.append(
                    source.problem(
                        (*path, "start"),
                        f"overlaps events[{j}] '{other.title}' "
                        f"({other.start:%H:%M}–{other.end:%H:%M} the same day)",
                    )
                )
        placed.append((times[0], times[1], i))
        _event_creation(cf, source, zone, times[0].date(), event.title, out)


def _event_times(
    cf: CampaignFile, source: Source, zone: ZoneInfo, week: list[dt.date], i: int, out: list[Problem]
) -> tuple[dt.datetime, dt.datetime] | None:
    """The event's start and end as real local times in the week, or None (and the problem said)."""
    event, path = cf.events[i], ("events", i)
    if (event.day is None) == (event.date is None):
        out.append(
            source.problem(path, "give either 'day' or 'date' for each event, not both or neither", key=True)
        )
        return None
    date = day_date(cf, event)
    field = "date" if event.date is not None else "day"
    if date is None or date not in week:
        span = f"{week[0]:%a %d %b} to {week[-1]:%a %d %b %Y}"
        out.append(source.problem((*path, field), f"{event.date or event.day} is outside the week ({span})"))
        return None
    times = {}
    for name in ("start", "end"):
        try:
            times[name] = exact(date, getattr(event, name), zone)
        except LocalTimeProblem as exc:
            out.append(source.problem((*path, name), str(exc)))
    if len(times) < 2:
        return None
    if times["end"] <= times["start"]:
        out.append(
            source.problem(
                (*path, "end"), f"the event ends ({event.end:%H:%M}) before it starts ({event.start:%H:%M})"
            )
        )
        return None
    return times["start"], times["end"]


def _event_creation(
    cf: CampaignFile, source: Source, zone: ZoneInfo, date: dt.date, title: str, out: list[Problem]
) -> None:
    """The Teams meeting is created days ahead: that moment must exist on the local clock too."""
    if cf.channels.teams_event is None:
        return
    setting = resolve(cf.channels, None, "teams_event")
    try:
        exact(date - dt.timedelta(days=setting.create_days_before), setting.at, zone)
    except LocalTimeProblem as exc:
        out.append(source.problem(("channels", "teams_event", "at"), f"creating '{title}': {exc}"))


def _social(cf: CampaignFile, source: Source, out: list[Problem]) -> None:
    for i, day in enumerate(cf.days):
        if day.social is None:
            continue
        for network in SOCIAL_NETWORKS:
            own = getattr(day.social, network)
            text = own if own is not None else day.social.text
            if text is None:
                continue
            path = ("days", i, "social", network if own is not None else "text")
            if textlimits.surely_fits(network, text):
                continue
            size = textlimits.length(network, text)
            limit = textlimits.LIMITS[network]
            if size > limit:
                out.append(
                    source.problem(
                        path,
                        f"too long for {network}: {size} {textlimits.UNITS[network]}, the limit is {limit}",
                        hint=f"shorten it by {size - limit}, or give '{network}:' its own text",
                    )
                )


def _bank_holidays(cf: CampaignFile, source: Source, dates: list[dt.date | None], out: list[Problem]) -> None:
    """Warn about a day of the week, an announcement or a follow-up on an England and Wales bank holiday."""
    found: list[tuple[tuple[str | int, ...], dt.date]] = [
        (("days", i, "date" if cf.days[i].date is not None else "weekday"), date)
        for i, date in enumerate(dates) if date is not None]
    for kind in ("announcements", "follow_ups"):
        found += [((kind, i, "date"), n.date) for i, n in enumerate(getattr(cf, kind))]
    calendar: dict[dt.date, str] = {}
    for year in {date.year for _, date in found}:
        calendar.update(bank_holidays(year))
    for path, date in found:
        if date in calendar:
            out.append(
                source.problem(
                    path,
                    f"{date:%A %d %B %Y} is a bank holiday in England and Wales "
                    f"({calendar.get(date)}); few practitioners will be at work",
                    severity="warning",
                )
            )


def _unused_accounts(cf: CampaignFile, source: Source, out: list[Problem]) -> None:
    """Warn about an account no channel publishes through (it would be silently ignored)."""
    partners = cf.campaign.partners or {}
    owners = [(("campaign",), cf.campaign.accounts, cf.channels)] + [
        (("campaign", "partners", p), partners[p].accounts, merge_channels(cf.channels, partners[p].channels))
        for p in partner_keys(cf)]
    for where, accounts, channels in owners:
        used = {KIND_OF.get(resolve(channels, day, channel).connector)
                for day in (None, *cf.days) for channel in CHANNELS}
        for kind, block in accounts.model_dump(exclude_none=True).items():
            if kind in used:
                continue
            connectors = sorted(c for c, k in KIND_OF.items() if k == kind)
            out.append(source.problem(
                (*where, "accounts", kind),
                f"no channel publishes through {kind}, so the account '{block}' is not used",
                hint=f"set 'connector: {' or '.join(connectors)}' on the channel meant to use it",
                severity="warning"))

"""Checks of what goes beyond one publication per channel per day: options that must have an effect where
they are written, extra slots on a day, and announcements and follow-ups outside the week."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable
from zoneinfo import ZoneInfo

from . import textlimits
from .channels import resolve, slot_of
from .dates import LocalTimeProblem, exact, outside_key
from .daynames import day_label
from .errors import Problem
from .model import SOCIAL_NETWORKS, CampaignFile, ChannelConfig, Channels, Day
from .notices import EXTRA_CHANNELS, ExtraSlot, Notice, notice_slot
from .yamlsource import Path, Source

# option → the channels where it does something
ONLY_ON = {
    "audience": ("email",),
    "create_days_before": ("teams_event",),
    "reminder_minutes_before": ("teams_event",),
    "extra": EXTRA_CHANNELS,
}
WEEK_ONLY = {  # channels whose settings apply to the whole week, never to one day
    "teams_event": "Teams meetings are set up for the whole week (each event has its own day); "
    "set this under channels.teams_event",
    "week_poster": "the whole-week poster goes out once; set this under channels.week_poster",
}
WARNED_ON = ("mastodon", "bluesky")  # the networks that carry a content warning (spoiler text, labels)
MAX_DAYS_AWAY = 92  # an announcement a season ahead is likely a wrong year
RESERVED_SLOTS = ("daily", "week")
AudienceCheck = Callable[[Path, str | None], None]


def check_options(cf: CampaignFile, source: Source, out: list[Problem]) -> None:
    """Every option has an effect where it is written, or is an error saying where it belongs."""
    _options(source, ("channels",), cf.channels, out, on_day=False)
    for i, day in enumerate(cf.days):
        if day.channels is not None:
            _options(source, ("days", i, "channels"), day.channels, out, on_day=True)


def _options(source: Source, path: Path, channels: Channels, out: list[Problem], *, on_day: bool) -> None:
    for channel in Channels.model_fields:
        config: ChannelConfig | None = getattr(channels, channel)
        if config is None:
            continue
        if on_day and channel in WEEK_ONLY:
            out.append(source.problem((*path, channel), f"{channel} cannot be set for one day: "
                                      f"{WEEK_ONLY[channel]}", key=True))
            continue
        for option, where in ONLY_ON.items():
            if option in config.model_fields_set and channel not in where:
                out.append(source.problem((*path, channel, option), f"'{option}' has no effect on {channel}; "
                                          f"it applies to {', '.join(where)} only", key=True,
                                          hint=f"remove '{option}:' here"))
        for j, extra in enumerate(config.extra):
            if extra.content_warning is not None and channel not in WARNED_ON:
                out.append(source.problem(
                    (*path, channel, "extra", j, "content_warning"), f"'content_warning' has no effect on "
                    f"{channel}: content warnings go on Mastodon posts and Bluesky labels only", key=True,
                    hint="remove 'content_warning:' here, and say it in the text if readers need it"))
        if not on_day:
            for j, extra in enumerate(config.extra):
                for name in ("text", "theme", "resource"):
                    if getattr(extra, name) is not None:
                        out.append(source.problem(
                            (*path, channel, "extra", j, name), f"'{name}' in the week's channels would go "
                            "out the same every day; give it in a day's channels instead", key=True,
                            hint=f"move it to days[…].channels.{channel}.extra"))


def check_extras(cf: CampaignFile, source: Source, zone: ZoneInfo, dates: list[dt.date | None],
                 out: list[Problem]) -> None:
    """Extra slots: unique names, real local times, themes and resources that the day has, texts that fit."""
    for channel in EXTRA_CHANNELS:
        week = getattr(cf.channels, channel)
        _unique_slots(source, ("channels", channel, "extra"), week.extra if week else [], out)
        for i, day in enumerate(cf.days):
            over = getattr(day.channels, channel) if day.channels else None
            own = over.extra if over is not None else []
            path = ("days", i, "channels", channel, "extra")
            _unique_slots(source, path, own, out)
            if dates[i] is None or not resolve(cf.channels, day, channel).enabled:
                continue
            for extra in resolve(cf.channels, day, channel).extras:
                if extra in own:
                    where: Path = (*path, own.index(extra))
                else:  # a slot not the day's own is the week's
                    assert week is not None
                    where = ("channels", channel, "extra", week.extra.index(extra))
                _extra(source, where, i, day, dates[i], channel, extra, zone, out)  # type: ignore[arg-type]


def _extra(source: Source, where: Path, i: int, day: Day, date: dt.date, channel: str, extra: ExtraSlot,
           zone: ZoneInfo, out: list[Problem]) -> None:
    try:
        exact(date, extra.at, zone)
    except LocalTimeProblem as exc:
        out.append(source.problem((*where, "at"), f"{channel}: {exc}"))
    _named(source, (*where, "theme"), "theme", extra.theme, [t.title for t in day.themes], out)
    resources = [r.title for t in day.themes for r in t.resources]
    _named(source, (*where, "resource"), "resource", extra.resource, resources, out)
    if channel in SOCIAL_NETWORKS:
        _distinct(source, where, channel, extra, out)
    if extra.one_thing and not any(t.one_thing for t in day.themes):
        out.append(source.problem(
            (*where, "one_thing"), f"{day_label(source.data, i)} has no 'If you do one thing' line for the "
            f"{extra.at:%H:%M} {channel} post to lead with",
            hint="add 'one_thing:' to one of its themes, or drop this post that day with an extra of the "
            "same time and 'enabled: false'"))


def _distinct(source: Source, where: Path, channel: str, extra: ExtraSlot, out: list[Problem]) -> None:
    """A second post must differ from the first: networks refuse an account's repeated text."""
    if extra.text is not None:
        fits(source, (*where, "text"), channel, extra.text, out)
    elif not (extra.theme or extra.resource or extra.one_thing):
        out.append(source.problem(
            where, f"the {extra.at:%H:%M} {channel} post would repeat the day's post word for word, which "
            f"{channel} refuses", key=True, hint="give it 'text:', or a focus: 'theme:', 'resource:' or "
            "'one_thing: true'"))


def _unique_slots(source: Source, path: Path, extras: list[ExtraSlot], out: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for j, extra in enumerate(extras):
        slot = slot_of(extra)
        if slot in RESERVED_SLOTS:
            out.append(source.problem((*path, j, "id"), f"'{slot}' is the name of the channel's own "
                                      "publication; choose another id"))
        elif slot in seen:
            first = f"extra[{seen[slot]}]"
            fix = "give one of them another 'at'" if extra.id is None else "give each its own 'id'"
            out.append(source.problem((*path, j), f"two extra slots named '{slot}' (the first is {first}); "
                                      "each needs its own time or id", key=True, hint=fix))
        seen[slot] = j


def _named(source: Source, path: Path, what: str, name: str | None, known: list[str],
           out: list[Problem], owner: str = "the day") -> None:
    if name is None or name in known:
        return
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    listed = "; ".join(f"'{k}'" for k in known) or "none"
    hint = f"did you mean '{close[0]}'?" if close else f"copy a {what}'s title exactly"
    out.append(source.problem(path, f"{owner} has no {what} called {name!r}; its {what}s are: {listed}",
                              hint=hint))


def fits(source: Source, path: Path, network: str, text: str, out: list[Problem]) -> None:
    """Report social text longer than ``network`` allows."""
    if textlimits.surely_fits(network, text):
        return
    size, limit = textlimits.length(network, text), textlimits.LIMITS[network]
    if size > limit:
        out.append(source.problem(path, f"too long for {network}: {size} {textlimits.UNITS[network]}, the "
                                  f"limit is {limit}", hint=f"shorten it by {size - limit}, or give "
                                  f"'{network}:' its own text"))


def check_notices(cf: CampaignFile, source: Source, zone: ZoneInfo, week: list[dt.date],
                  audience: AudienceCheck, out: list[Problem]) -> None:
    """Announcements before the week and follow-ups after it."""
    ids: dict[str, str] = {}
    span = f"{week[0]:%a %d %b} to {week[-1]:%a %d %b %Y}"
    for field, kind, notices in (("announcements", "announcement", cf.announcements),
                                 ("follow_ups", "follow-up", cf.follow_ups)):
        for i, notice in enumerate(notices):
            path = (field, i)
            before = field == "announcements"
            away = (week[0] - notice.date).days if before else (notice.date - week[-1]).days
            if away <= 0:
                out.append(_misplaced(source, (*path, "date"), notice.date, field, week, notice.partners))
                continue
            if away > MAX_DAYS_AWAY:
                out.append(source.problem((*path, "date"), f"{notice.date:%a %d %b %Y} is {away} days "
                                          f"{'before' if before else 'after'} the week ({span}); at most "
                                          f"{MAX_DAYS_AWAY}", hint="check the year and the month"))
            try:
                exact(notice.date, notice.at, zone)
            except LocalTimeProblem as exc:
                out.append(source.problem((*path, "at"), str(exc)))
            _notice_refs(cf, source, path, notice, audience, out)
            slot = notice_slot(kind, notice)
            for channel in notice.channels:
                pid = f"{outside_key(notice.date)}/{channel}/{slot}"
                if pid in ids:
                    out.append(source.problem(path, f"{field}[{i}] and {ids[pid]} both put {channel} at "
                                              f"{notice.at:%H:%M} on {notice.date:%a %d %b}", key=True,
                                              hint="give each an 'id:' of its own"))
                ids[pid] = f"{field}[{i}]"


def _misplaced(source: Source, path: Path, date: dt.date, field: str, week: list[dt.date],
               partners: list[str]) -> Problem:
    span = f"{week[0]:%a %d %b} to {week[-1]:%a %d %b %Y}"
    when = "before it starts" if field == "announcements" else "after it ends"
    only = ""
    if week[0] <= date <= week[-1] and partners:  # a partner-only post during the week: its own channels
        place, only = "inside the week", f" (for {' and '.join(partners)} only)"
        hint = (f"for a post of {partners[0]}'s own during the week, add 'extra:' to a channel under "
                f"campaign.partners.{partners[0]}.channels")
    elif week[0] <= date <= week[-1]:
        place, hint = "inside the week", "for more during the week, add 'extra:' to a day's channel"
    elif date > week[-1]:
        place, hint = "after the week", "move it to follow_ups"
    else:
        place, hint = "before the week", "move it to announcements"
    return source.problem(path, f"{date:%a %d %b %Y} is {place} ({span}); {field}{only} go out {when}",
                          hint=hint)


def _notice_refs(cf: CampaignFile, source: Source, path: Path, notice: Notice, audience: AudienceCheck,
                 out: list[Problem]) -> None:
    known = [e.id for e in cf.events]
    for j, event in enumerate(notice.events):
        _named(source, (*path, "events", j), "event", event, known, out, owner="the file")
    if "email" in notice.channels:
        email = resolve(cf.channels, None, "email")
        if notice.audience is None and email.audience is None:
            out.append(source.problem(path, "an email needs an 'audience' (who receives it)", key=True,
                                      hint="add 'audience:' here or to channels.email"))
        audience((*path, "audience"), notice.audience)
    for network in SOCIAL_NETWORKS:
        own = getattr(notice, network)
        text = own if own is not None else notice.text
        if network in notice.channels and text is not None:
            fits(source, (*path, network if own is not None else "text"), network, text, out)


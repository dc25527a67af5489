"""Expand a campaign into the ordered publications that make up its week.

Each publication has a stable id ``campaign/day/channel/slot``, an exact time in
the campaign's timezone, what it shows, what it waits for, and a fingerprint of
its content. The same file always plans the same; editing one day changes only
the publications that show that day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from .accounts import account_for
from .channels import Setting, resolve, slot_of
from .dates import day_date, day_key, exact, outside_key
from .model import CHANNELS, CampaignFile, Day, Event
from .notices import Notice, notice_slot
from .partners import host_of, partner_keys
from .partners import view as partner_view
from .timestyle import clock

CHANNEL_ORDER = {
    name: i
    for i, name in enumerate(
        ("teams_event", "web_page", "poster", "email", "teams_channel", "x", "bluesky", "mastodon")
    )
}


@dataclass(frozen=True)
class Publication:
    """One thing that goes out once, at one time, through one connector."""

    id: str
    campaign: str
    day: str
    date: dt.date
    channel: str
    slot: str
    connector: str
    at: dt.datetime
    missed_window: dt.timedelta
    title: str
    fingerprint: str
    depends_on: tuple[str, ...] = ()
    audience: str | None = None
    event_id: str | None = None
    account: str = ""  # the Prefect block its connector publishes through; '' for the deployment's default
    partner: str = ""  # joint weeks: the partner it goes out for (its key); '' in a week one partnership runs
    content: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "campaign": self.campaign,
            "day": self.day,
            "date": self.date.isoformat(),
            "channel": self.channel,
            "slot": self.slot,
            "connector": self.connector,
            "account": self.account,
            "at": self.at.isoformat(),
            "missed_window_s": int(self.missed_window.total_seconds()),
            "title": self.title,
            "audience": self.audience,
            "event_id": self.event_id,
            "depends_on": list(self.depends_on),
            "fingerprint": self.fingerprint,
            **({"partner": self.partner} if self.partner else {}),
        }

    @property
    def folders(self) -> tuple[str, ...]:
        """Where its files go below a connector's root: the campaign's folder, and in a joint week the
        partner's inside it (each partner has its own web page and poster folders)."""
        return (self.campaign, self.partner) if self.partner else (self.campaign,)

    def to_snapshot(self) -> dict[str, Any]:
        """Everything about the publication, its content included (``from_snapshot`` reads it back)."""
        return {**self.to_json(), "content": self.content}

    @classmethod
    def from_snapshot(cls, d: dict[str, Any]) -> Publication:
        return cls(
            id=d["id"],
            campaign=d["campaign"],
            day=d["day"],
            date=dt.date.fromisoformat(d["date"]),
            channel=d["channel"],
            slot=d["slot"],
            connector=d["connector"],
            at=dt.datetime.fromisoformat(d["at"]),
            missed_window=dt.timedelta(seconds=d["missed_window_s"]),
            title=d["title"],
            fingerprint=d["fingerprint"],
            depends_on=tuple(d["depends_on"]),
            audience=d.get("audience"),
            event_id=d.get("event_id"),
            account=d.get("account") or "",
            partner=d.get("partner") or "",
            content=d.get("content") or {},
        )


def fingerprint(content: Any) -> str:
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _campaign_view(cf: CampaignFile) -> dict[str, Any]:
    c = cf.campaign
    return c.model_dump(mode="json", include={"id", "title", "summary", "organiser", "branding", "hashtags"})


def _day_view(day: Day) -> dict[str, Any]:  # a partner's own themes are in its view already
    return day.model_dump(mode="json", exclude={"channels": True, "themes": {"__all__": {"partners"}}})


def _event_view(event: Event) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude={"host"})


def partner_of(pid: str) -> str:
    """The partner a publication id names (a joint week's fifth part); '' for a single partnership's."""
    parts = pid.split("/")
    return parts[4] if len(parts) > 4 else ""


def publication_id(cid: str, key: str, channel: str, slot: str, partner: str = "") -> str:
    """``campaign/day/channel/slot``, and ``/partner`` after it in a joint week: a partner's ids stay the
    same when another partner is added or removed, and a single partnership's are as they always were."""
    return f"{cid}/{key}/{channel}/{slot}" + (f"/{partner}" if partner else "")


def plan(cf: CampaignFile) -> list[Publication]:
    """Every publication of the campaign, before, during and after the week, ordered by time. A joint
    week plans each partner's view; an event's meeting is created once, by its host partner."""
    created: dict[str, Publication] = {}
    planners = [_Planner(partner_view(cf, key), key, created, hosts={e.id: host_of(cf, e) for e in cf.events})
                for key in (partner_keys(cf) or [""])]
    for planner in planners:  # every meeting exists before any partner's day links to it
        planner.events()
    out: list[Publication] = []
    for planner in planners:
        planner.days()
        planner.week_poster()
        for notice in planner.cf.announcements:
            planner.notice("announcement", notice)
        for notice in planner.cf.follow_ups:
            planner.notice("follow-up", notice)
        out.extend(planner.out)
    return sorted(out, key=lambda p: (p.at, CHANNEL_ORDER[p.channel], p.id))


class _Planner:
    """Builds the publications of one campaign; each method adds one kind of them."""

    def __init__(self, cf: CampaignFile, partner: str, created: dict[str, Publication],
                 hosts: dict[str, str]) -> None:
        self.cf = cf
        self.partner = partner
        self.hosts = hosts  # event id → the partner creating its meeting ('' in a single week)
        self.zone = ZoneInfo(cf.campaign.timezone)
        self.cid = cf.campaign.id
        self.base = _campaign_view(cf)
        dated = [(day_date(cf, d), d) for d in cf.days]  # every day has a date once the checks passed
        self.dated: list[tuple[dt.date, Day]] = sorted(((d, day) for d, day in dated if d),
                                                       key=lambda pair: pair[0])
        self.events_on: dict[dt.date, list[Event]] = {}
        for event in cf.events:
            self.events_on.setdefault(day_date(cf, event), []).append(event)  # type: ignore[arg-type]
        self.created = created  # event id → the Teams event's creation (shared by a joint week's partners)
        self.out: list[Publication] = []

    def add(self, key: str, date: dt.date, setting: Setting, slot: str, title: str, content: dict[str, Any],
            at: dt.datetime, depends: list[str], **extra: Any) -> Publication:
        account = account_for(self.cf.campaign.accounts, setting.connector)
        content = {**content, "connector": setting.connector, **({"account": account} if account else {})}
        if self.partner:
            content = {**content, "partner": self.partner}
        pub = Publication(id=publication_id(self.cid, key, setting.channel, slot, self.partner),
                          campaign=self.cid, day=key, date=date, channel=setting.channel, slot=slot,
                          connector=setting.connector, at=at, missed_window=setting.missed_window,
                          title=title, fingerprint=fingerprint(content), depends_on=tuple(depends),
                          account=account, partner=self.partner, content=content, **extra)
        self.out.append(pub)
        return pub

    def events(self) -> None:
        """Teams events are created ahead; the day's email, card and reminder carry their join link.
        In a joint week only the host partner creates the meeting and sends its reminder; the others
        announce it with the host's join link."""
        setting = resolve(self.cf.channels, None, "teams_event")
        email = resolve(self.cf.channels, None, "email")
        for date, events in sorted(self.events_on.items()):
            for event in events:
                if self.hosts.get(event.id, "") != self.partner:
                    continue
                view = {"campaign": self.base, "event": _event_view(event)}
                if setting.enabled:
                    when = exact(date - dt.timedelta(days=setting.create_days_before), setting.at, self.zone)
                    self.created[event.id] = self.add(
                        day_key(date), date, setting, event.id, f"Create Teams {event.kind}: {event.title}",
                        view, when, [], audience=event.audience, event_id=event.id)
                minutes = setting.reminder_minutes_before
                if email.enabled and setting.enabled and minutes > 0:
                    start = exact(date, event.start, self.zone).astimezone(dt.UTC)  # count back in real
                    when = (start - dt.timedelta(minutes=minutes)).astimezone(self.zone)  # minutes, not clock
                    self.add(day_key(date), date, replace(email, missed_window=dt.timedelta(minutes=minutes)),
                             f"reminder-{event.id}",
                             f"Reminder: {event.title} starts at {clock(event.start)}",
                             {**view, "reminder_minutes": minutes}, when, [self.created[event.id].id],
                             audience=event.audience, event_id=event.id)

    def days(self) -> None:
        for date, day in self.dated:
            view: dict[str, Any] = {"campaign": self.base, "day": _day_view(day),
                    "events": [_event_view(e) for e in self.events_on.get(date, [])]}
            if not resolve(self.cf.channels, day, "poster").enabled:
                view["poster"] = False  # nothing that day attaches, links or pictures a poster
            event_deps = [self.created[e.id].id for e in self.events_on.get(date, []) if e.id in self.created]
            page = self._page(date, resolve(self.cf.channels, day, "web_page"))  # linked to
            poster_id = None
            for channel in CHANNELS:
                setting = resolve(self.cf.channels, day, channel)
                if channel == "teams_event" or not setting.enabled:
                    continue
                if channel == "poster":
                    at = exact(date, setting.at, self.zone)
                    poster_id = self.add(day_key(date), date, setting, "daily", f"Poster: {day.title}", view,
                                         at, _upto(page, at)).id
                elif channel == "web_page":
                    self.web_page(date, setting)
                else:
                    deps = ([poster_id] if poster_id and channel != "teams_channel" else []) + event_deps
                    if channel == "email":  # its "every day of the week" link goes to the week page
                        deps += _upto(page, exact(date, setting.at, self.zone))
                    self.day_channel(date, day, setting, view, deps)

    def web_page(self, date: dt.date, setting: Setting) -> None:
        shown = [(d, day) for d, day in self.dated if d <= date]
        content: dict[str, Any] = {"campaign": self.base, "days": [_day_view(day) for _, day in shown],
                                   "events": [_event_view(e) for e in self.cf.events]}
        posterless = [day_key(d) for d, day in shown if not resolve(self.cf.channels, day, "poster").enabled]
        if posterless:
            content["posterless"] = posterless
        self.add(day_key(date), date, setting, "daily", f"Week page: reveal {date:%A}", content,
                 exact(date, setting.at, self.zone), [])

    def day_channel(self, date: dt.date, day: Day, setting: Setting, view: dict[str, Any],
                    deps: list[str]) -> None:
        """The channel's daily publication and its extra slots that day."""
        name = "Email" if setting.channel == "email" else setting.channel.replace("_", " ").title()
        extra: dict[str, Any] = {"audience": setting.audience} if setting.channel == "email" else {}
        content = {**view, **extra}
        self.add(day_key(date), date, setting, "daily", f"{name}: {day.title}", content,
                 exact(date, setting.at, self.zone), deps, **extra)
        for slot in setting.extras:
            focus = slot.model_dump(mode="json", exclude={"at", "id", "enabled"}, exclude_none=True)
            what = focus.get("theme") or focus.get("resource") or ("one thing" * bool(focus.get("one_thing")))
            self.add(day_key(date), date, setting, slot_of(slot), f"{name} at {slot.at:%H:%M}: "
                     f"{day.title}" + (f" ({what})" if what else ""), {**content, "focus": focus},
                     exact(date, slot.at, self.zone), deps, **extra)

    def week_poster(self) -> None:
        setting = resolve(self.cf.channels, None, "week_poster")
        if not setting.enabled or not self.dated:
            return
        date, day = self.dated[0]
        at = exact(date, setting.at, self.zone)
        page = self._page(date, resolve(self.cf.channels, day, "web_page"))
        self.add("week", date, replace(setting, channel="poster"), "week", "Poster: the whole week",
                 {"campaign": self.base, "days": [_day_view(d) for _, d in self.dated]}, at, _upto(page, at))

    def _page(self, date: dt.date, setting: Setting) -> tuple[str, dt.datetime] | None:
        """The id and time of the day's web page publication, if the channel is on that day."""
        if not setting.enabled:
            return None
        return (publication_id(self.cid, day_key(date), "web_page", "daily", self.partner),
                exact(date, setting.at, self.zone))

    def notice(self, kind: str, notice: Notice) -> None:
        """An announcement before the week or a follow-up after it, on each of its channels."""
        at = exact(notice.date, notice.at, self.zone)
        events = [e for e in self.cf.events if e.id in notice.events]
        content: dict[str, Any] = {"campaign": self.base, "kind": kind,
                                   "notice": notice.model_dump(mode="json", exclude={"partners"}),
                                   "events": [_event_view(e) for e in events]}
        if notice.round_up:
            content["days"] = [_day_view(d) for _, d in self.dated]
        label = "Announcement" if kind == "announcement" else "Follow-up"
        for channel in notice.channels:
            setting = replace(resolve(self.cf.channels, None, channel), enabled=True)
            extra: dict[str, Any] = {}
            made = [self.created[e.id] for e in events if e.id in self.created]
            deps = [c.id for c in made if c.at <= at]  # the invitation carries the join link once it exists
            if channel == "email":
                extra["audience"] = notice.audience or setting.audience
            if channel == "web_page":
                content = {**content, "days": [_day_view(day) for d, day in self.dated if d <= notice.date]}
            self.add(outside_key(notice.date), notice.date, setting, notice_slot(kind, notice),
                     f"{label}: {notice.title}", {**content, **extra}, at, deps, **extra)




def _upto(page: tuple[str, dt.datetime] | None, at: dt.datetime) -> list[str]:
    """``[page id]`` if the page goes out no later than ``at`` (so its URL is known), else []."""
    return [page[0]] if page is not None and page[1] <= at else []

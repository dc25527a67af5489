"""Joint weeks: expand a campaign with ``partners:`` into one single-partner campaign per partner.

Each view is an ordinary ``CampaignFile``: the partner's organiser, branding, audiences, allowed domains,
accounts and hashtags in ``campaign``; the shared channels with the partner's changes; each theme with the
partner's own version of it; only the announcements and follow-ups meant for it. Everything that renders
or publishes one campaign therefore needs nothing new to render or publish a partner's part of a joint
week. A campaign without partners is its own (only) view.
"""

from __future__ import annotations

from typing import Any

from .model import CampaignFile, ChannelConfig, Channels, Day, Event, Theme
from .notices import Notice


def partner_keys(cf: CampaignFile) -> list[str]:
    """The partners' keys in the order the file lists them; [] for a week one partnership runs."""
    return list(cf.campaign.partners or {})


def is_joint(cf: CampaignFile) -> bool:
    return bool(cf.campaign.partners)


def approving_partners(cf: CampaignFile) -> list[str]:
    """The partners whose own approver decides on their publications, in file order: every partner with
    ``approval: per_partner``, the listed ones with ``approval: [keys]``; [] when one approver decides for
    the whole week (``approval: required``) or nobody needs to (``none``)."""
    approval = cf.campaign.approval
    keys = partner_keys(cf)
    if isinstance(approval, list):
        return [k for k in keys if k in approval]
    return keys if approval == "per_partner" else []


def approval_mode(cf: CampaignFile) -> str:
    """How the week is approved, as the ledger keeps it: 'none', 'required' or 'per_partner' (a list of
    partners is approval per partner too)."""
    approval = cf.campaign.approval
    return "per_partner" if isinstance(approval, list) else approval


def host_of(cf: CampaignFile, event: Event) -> str:
    """The partner that creates ``event``'s meeting and sends its invitations ('' in a single week)."""
    keys = partner_keys(cf)
    if not keys:
        return ""
    return event.host if event.host in keys else keys[0]


def sends(notice: Notice, partner: str) -> bool:
    """Whether ``partner`` sends ``notice`` (every partner does unless the notice names some)."""
    return not notice.partners or partner in notice.partners


def view(cf: CampaignFile, partner: str) -> CampaignFile:
    """``partner``'s part of a joint week as a single-partner campaign (``cf`` itself if not joint)."""
    partners = cf.campaign.partners or {}
    if partner not in partners:
        if not partner and not partners:
            return cf
        raise LookupError(f"{cf.campaign.id} has no partner called {partner!r}")
    p = partners[partner]
    c = cf.campaign
    campaign = c.model_copy(update={
        "organiser": p.organiser,
        "branding": p.branding or c.branding,
        "audiences": p.audiences,
        "allowed_email_domains": p.allowed_email_domains,
        "accounts": p.accounts,
        "hashtags": c.hashtags if p.hashtags is None else p.hashtags,
        "partners": None,
        "approval": _own_approval(cf, partner),
    })
    off = _switched_off(p.channels)
    return cf.model_copy(update={
        "campaign": campaign,
        "channels": merge_channels(cf.channels, p.channels),
        "days": [_day(day, partner, off) for day in cf.days],
        "announcements": [_notice(n) for n in cf.announcements if sends(n, partner)],
        "follow_ups": [_notice(n) for n in cf.follow_ups if sends(n, partner)],
        "events": [e.model_copy(update={"host": host_of(cf, e)}) for e in cf.events],  # whose meeting
    })


def _own_approval(cf: CampaignFile, partner: str) -> str:
    """Whether ``partner``'s part waits for an approver: its own (approval per partner) or the week's."""
    if approval_mode(cf) != "per_partner":
        return str(cf.campaign.approval)
    return "required" if partner in approving_partners(cf) else "none"


def merge_channels(week: Channels, own: Channels | None) -> Channels:
    """The week's channels with a partner's changes: each field the partner gives replaces the week's."""
    if own is None:
        return week
    update: dict[str, Any] = {}
    for name in Channels.model_fields:
        mine: ChannelConfig | None = getattr(own, name)
        if mine is None:
            continue
        shared: ChannelConfig | None = getattr(week, name)
        given = {k: getattr(mine, k) for k in mine.model_fields_set}
        update[name] = shared.model_copy(update=given) if shared is not None else mine
    return week.model_copy(update=update)


def _switched_off(own: Channels | None) -> set[str]:
    if own is None:
        return set()
    return {name for name in Channels.model_fields
            if getattr(own, name) is not None and getattr(own, name).enabled is False}


def _day(day: Day, partner: str, off: set[str]) -> Day:
    """A day as ``partner`` shows it: its own themes, and a channel it switched off stays off that day."""
    themes = [_theme(t, partner) for t in day.themes]
    channels = day.channels
    if channels is not None and off:
        update = {name: getattr(channels, name).model_copy(update={"enabled": False})
                  for name in off if getattr(channels, name) is not None}
        channels = channels.model_copy(update=update)
    return day.model_copy(update={"themes": themes, "channels": channels})


def _theme(theme: Theme, partner: str) -> Theme:
    own = (theme.partners or {}).get(partner)
    given = {k: getattr(own, k) for k in own.model_fields_set} if own is not None else {}
    return theme.model_copy(update={**given, "partners": None})


def _notice(notice: Notice) -> Notice:
    return notice.model_copy(update={"partners": []}) if notice.partners else notice

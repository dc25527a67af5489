"""Checks on who runs the week: a single partnership's organiser fields, or a joint week's partners.

In a joint week each partner's recipients must be inside its own allowed domains, no two partners post
through the same account, and every partner named by a theme, an event, a notice or ``approval`` exists;
approval per partner needs partners.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .accounts import KIND_OF
from .channels import resolve
from .errors import Problem
from .model import CHANNELS, CampaignFile
from .partners import approval_mode, merge_channels, partner_keys
from .yamlsource import Path, Source

_OWN = ("audiences", "allowed_email_domains", "accounts")  # each partner's own in a joint week


def check_partners(cf: CampaignFile, source: Source, out: list[Problem]) -> None:
    """The organiser's fields (single week) or the partners' (joint week), and every partner named."""
    keys = partner_keys(cf)
    if not keys:
        _single(cf, source, out)
    else:
        _joint(cf, source, keys, out)
    _references(cf, source, keys, out)
    _approval(cf, source, keys, out)


def _approval(cf: CampaignFile, source: Source, keys: list[str], out: list[Problem]) -> None:
    """Approval per partner needs partners, and names only partners the week has."""
    approval = cf.campaign.approval
    if approval_mode(cf) != "per_partner":
        return
    if not keys:
        out.append(source.problem(
            ("campaign", "approval"), "approval per partner needs a joint week, but this week has no "
            "partners", hint="write 'approval: required' (someone approves the week before anything goes "
            "out), or list the partnerships under campaign.partners"))
        return
    if isinstance(approval, list):
        if not approval:
            out.append(source.problem(
                ("campaign", "approval"), "the list of partners whose approver decides is empty",
                hint=f"name at least one of {', '.join(keys)}, or write 'approval: per_partner' (every "
                "partner) or 'approval: none'"))
        for i, key in enumerate(approval):
            _named(source, ("campaign", "approval", i), key, keys, out)


def _single(cf: CampaignFile, source: Source, out: list[Problem]) -> None:
    for name, what in (("audiences", "named recipient groups, by id"),
                       ("allowed_email_domains", "the only domains email may go to")):
        if not getattr(cf.campaign, name):
            out.append(source.problem(("campaign",), f"missing required field '{name}' ({what})", key=True,
                                      hint=f"add '{name}:' under campaign"))


def _joint(cf: CampaignFile, source: Source, keys: list[str], out: list[Problem]) -> None:
    c = cf.campaign
    for name in _OWN:
        if name in c.model_fields_set and getattr(c, name):
            out.append(source.problem(
                ("campaign", name), f"in a joint week each partner has its own {name}; this one would "
                "belong to no partner", key=True,
                hint=f"move it under campaign.partners.<partner>.{name} (partners: {', '.join(keys)})"))
    partners = c.partners or {}
    for key, partner in partners.items():
        for name, audience in partner.audiences.items():
            for i, address in enumerate(audience.recipients):
                if not allowed(address, partner.allowed_email_domains):
                    out.append(source.problem(
                        ("campaign", "partners", key, "audiences", name, "recipients", i),
                        f"{address} is outside {partner.organiser.short_name}'s allowed email domains "
                        f"({', '.join(partner.allowed_email_domains)}); each partner emails its own people",
                        hint=f"move it to the partner it belongs to, or add its domain to "
                        f"campaign.partners.{key}.allowed_email_domains if it is meant"))
    _shared_accounts(cf, source, keys, out)


def allowed(address: str, domains: Iterable[str]) -> bool:
    """Whether ``address`` is at one of ``domains`` or a subdomain of one."""
    domain = address.rsplit("@", 1)[-1].lower()
    bare = [d.lower().lstrip("@") for d in domains]
    return any(domain == d or domain.endswith("." + d) for d in bare)


def _kinds_used(cf: CampaignFile, key: str) -> set[str]:
    """The provider kinds ``key`` publishes through on any day (the outbox has none)."""
    partner = (cf.campaign.partners or {})[key]
    channels = merge_channels(cf.channels, partner.channels)
    used = set()
    for day in (None, *cf.days):
        for channel in CHANNELS:
            setting = resolve(channels, day, channel)
            if setting.enabled and setting.connector in KIND_OF:
                used.add(KIND_OF[setting.connector])
    return used


def _shared_accounts(cf: CampaignFile, source: Source, keys: list[str], out: list[Problem]) -> None:
    """Two partners posting through one account would post under each other's name."""
    partners = cf.campaign.partners or {}
    owner: dict[tuple[str, str], str] = {}  # (kind, block or '' for the default) → the first partner
    for key in keys:
        blocks = partners[key].accounts.model_dump()
        for kind in sorted(_kinds_used(cf, key)):
            block = blocks.get(kind) or ""
            first = owner.setdefault((kind, block), key)
            if first == key:
                continue
            if block:
                out.append(source.problem(
                    ("campaign", "partners", key, "accounts", kind),
                    f"'{block}' is already {first}'s {kind} account; two partners posting through one "
                    "account would post under each other's name",
                    hint=f"save {key}'s own {kind} credentials in a Prefect block and write its name here"))
            else:
                out.append(source.problem(
                    ("campaign", "partners", key), f"{first} and {key} would both publish {kind} through the "
                    "deployment's default account", key=True,
                    hint=f"give each partner its own block under accounts: (e.g. accounts: {{{kind}: "
                    f"{key}-{kind}}})"))


def _references(cf: CampaignFile, source: Source, keys: list[str], out: list[Problem]) -> None:
    """Every partner a theme, an event or a notice names is one of campaign.partners."""
    for i, day in enumerate(cf.days):
        for j, theme in enumerate(day.themes):
            for key in theme.partners or {}:
                _named(source, ("days", i, "themes", j, "partners", key), key, keys, out, key=True)
    for i, event in enumerate(cf.events):
        if event.host is not None:
            _named(source, ("events", i, "host"), event.host, keys, out)
    for field, notices in (("announcements", cf.announcements), ("follow_ups", cf.follow_ups)):
        for i, notice in enumerate(notices):
            for j, key in enumerate(notice.partners):
                _named(source, (field, i, "partners", j), key, keys, out)


def _named(source: Source, path: Path, name: str, keys: list[str], out: list[Problem], *,
           key: bool = False) -> None:
    if name in keys:
        return
    if not keys:
        out.append(source.problem(path, f"'{name}' names a partner, but this week has no partners", key=key,
                                  hint="list the partnerships under campaign.partners, or remove this"))
        return
    close = difflib.get_close_matches(name, keys, n=1)
    out.append(source.problem(
        path, f"no partner called '{name}'; the partners are: {', '.join(keys)}", key=key,
        hint=f"did you mean '{close[0]}'?" if close else "write one of the keys under campaign.partners"))


def partner_audiences(cf: CampaignFile, keys: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Each partner (of ``keys``, default all) → its audience ids."""
    partners = cf.campaign.partners or {}
    wanted = list(partners) if keys is None else [k for k in keys if k in partners]
    return {k: sorted(partners[k].audiences) for k in wanted}

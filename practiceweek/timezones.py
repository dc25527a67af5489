"""Time zones for people: a place's zone (Europe/London), never an abbreviation or a fixed offset.

``GMT`` or ``UTC`` in a UK campaign puts every summer publication an hour out; ``BST`` is no zone at all.
Misspellings are matched against real Region/City names only, so 'BST' never suggests 'MST'.
"""

from __future__ import annotations

import difflib
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .model import Organiser

LONDON = "Europe/London"
UK_ALIASES = {"GB", "GB-Eire", "Europe/Belfast"}  # old names of Europe/London: the right clock, a dated name
UK_ABBREVIATIONS = {"GMT", "BST", "UTC", "UT", "UCT", "Z", "ZULU", "WET", "WEST", "CET", "CEST", "BDST",
                    "GMT0", "GMT+0", "GMT-0", "UTC0", "GREENWICH", "UNIVERSAL", "LONDON", "UK", "ENGLAND"}


@functools.lru_cache(maxsize=1)
def place_zones() -> tuple[str, ...]:
    """Zones named after a place (Region/City), the names people should write."""
    names = available_timezones()
    return tuple(sorted(z for z in names if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


def in_uk(organiser: Organiser) -> bool:
    """The organiser's address or website is in the UK (.uk)."""
    hosts = [organiser.email.rsplit("@", 1)[-1]]
    if organiser.website:
        hosts.append(organiser.website.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0])
    return any(h.lower().rstrip(".").endswith(".uk") for h in hosts)


def is_fixed(name: str) -> bool:
    """An abbreviation or fixed-offset zone (GMT, UTC, EST, Etc/GMT-1), not a place."""
    return name.startswith("Etc/") or "/" not in name


def problem(name: str, organiser: Organiser) -> tuple[str, str, bool] | None:
    """What is wrong with ``name`` as the campaign's zone: (message, hint, is_error), or None."""
    uk = in_uk(organiser)
    summer = ("the UK's clocks go forward in March and back in October, so summer publications would "
              "go out an hour out")
    try:
        ZoneInfo(name)
        known = name in available_timezones()
    except (ZoneInfoNotFoundError, ValueError):
        known = False
    if known and name in UK_ALIASES:
        return f"{name!r} is an old name of {LONDON}", f"write {LONDON}", uk
    if known and is_fixed(name):
        if uk:
            return f"{name!r} keeps one offset all year, but {summer}", f"write {LONDON}", True
        return (f"{name!r} keeps one offset all year: it never changes for summer time",
                "write your place's zone, e.g. Europe/Dublin or America/Toronto", False)
    if known:
        return None
    if uk and name.strip().upper() in UK_ABBREVIATIONS:
        return f"{name!r} is not a time zone name; {summer}", f"write {LONDON}", True
    return (f"unknown timezone {name!r}; expected a Region/City name like {LONDON}",
            _suggest(name, uk), True)


def _suggest(name: str, uk: bool) -> str:
    text = name.strip().replace(" ", "_")
    zones = place_zones()
    by_lower = {z.lower(): z for z in zones}
    if text.lower() in by_lower:
        return f"did you mean '{by_lower[text.lower()]}'?"
    cities = {z.rsplit("/", 1)[-1].lower(): z for z in zones}
    if text.lower() in cities:
        return f"did you mean '{cities[text.lower()]}'?"
    close = difflib.get_close_matches(text, zones, n=1, cutoff=0.6) or difflib.get_close_matches(
        text.lower(), list(cities), n=1, cutoff=0.75)
    if close:
        return f"did you mean '{cities.get(close[0], close[0])}'?"
    return f"write {LONDON}" if uk else f"write a Region/City name like {LONDON}"

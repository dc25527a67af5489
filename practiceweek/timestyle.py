"""One way of writing times, GOV.UK's: "1:30pm to 3pm", "9am", "midday", "UK time".

Renderers write every time with ``clock``/``time_range``/``zone_label``; ``other_styles`` finds a time
that campaign text writes another way ("13:30", "1.30pm", "12pm", "1:30-3pm"), for a warning at
``validate`` (``checks_text.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

LONDON_NAMES = {"Europe/London", "GB", "GB-Eire", "Europe/Belfast"}


def clock(t: dt.time) -> str:
    """A time in GOV.UK style: "1:30pm", "3pm", "midday", "midnight"."""
    if t.minute == 0 and t.hour in (0, 12):
        return "midnight" if t.hour == 0 else "midday"
    hour = t.hour % 12 or 12
    minutes = f":{t.minute:02d}" if t.minute else ""
    return f"{hour}{minutes}{'am' if t.hour < 12 else 'pm'}"


def time_range(start: dt.time, end: dt.time) -> str:
    """"1:30pm to 3pm", GOV.UK style."""
    return f"{clock(start)} to {clock(end)}"


def zone_label(zone: str) -> str:
    """How recipients are told the zone: "UK time" for Europe/London, else the place ("Dublin time")."""
    if zone in LONDON_NAMES:
        return "UK time"
    return f"{zone.rsplit('/', 1)[-1].replace('_', ' ')} time"


@dataclass(frozen=True)
class OtherStyle:
    """A time written another way: what the text says, where (offset in the text), and what to write."""

    written: str
    start: int
    instead: str


_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_MERIDIEM = r"(?P<{0}>[ap]m\b|[ap]\.\s?m\b\.?)"
_TIME = (r"(?P<{0}h>[0-2]?\d)(?:(?P<{0}sep>[:.])(?P<{0}m>[0-5]\d))?"
         r"(?P<{0}sp>\s?)" + _MERIDIEM.format("{0}ap") + "?")
_LEAD = r"(?<![\w.:/£$€-])"  # not inside a word, a number, an address or an amount
_ONE = re.compile(_LEAD + _TIME.format("a") + r"(?![\w:])", re.IGNORECASE)
_RANGE = re.compile(_LEAD + _TIME.format("a") + r"\s*(?:[-–—]|to)\s*" + _TIME.format("b") + r"(?![\w:])",
                    re.IGNORECASE)
_NOON = re.compile(r"\b(?:12\s?noon|noon|mid-day|12\s?midnight)\b", re.IGNORECASE)


def _parse(match: re.Match[str], p: str, meridiem: str | None = None) -> tuple[dt.time, bool] | None:
    """The time a token means and whether it is ambiguous (1:30 without am or pm), or None (not a time)."""
    hour = int(match.group(f"{p}h"))
    minute = int(match.group(f"{p}m") or 0)
    sep, ap = match.group(f"{p}sep"), (match.group(f"{p}ap") or meridiem or "").lower()
    if not ap and (sep != ":" or hour > 23):
        return None  # "10.30" may be money, "3" a number; only "13:30" or "9:00" reads as a clock
    if ap:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ap.startswith("p") else 0)
    return dt.time(hour, minute), not ap and 1 <= hour <= 7


def _suggest(t: dt.time, ambiguous: bool) -> str:
    """What to write: "1:30pm", or for "1:30" (no am or pm) "1:30pm or 1:30am", the afternoon first."""
    return f"{clock(t.replace(hour=t.hour + 12))} or {clock(t)}" if ambiguous else clock(t)


def other_styles(text: str) -> list[OtherStyle]:
    """Every time in ``text`` written other than GOV.UK's way, with what to write instead."""
    plain = _URL.sub(lambda m: " " * len(m.group(0)), text)  # "…/2024/13:30" in an address is no time
    found: list[OtherStyle] = []
    taken: list[tuple[int, int]] = []
    for m in _RANGE.finditer(plain):
        b = _parse(m, "b")
        a = _parse(m, "a", m.group("bap") if b and not m.group("aap") else None)
        if a is None or b is None:
            continue
        taken.append(m.span())
        instead = f"{_suggest(*a)} to {_suggest(*b)}"
        if m.group(0) != instead:
            found.append(OtherStyle(m.group(0), m.start(), instead))
    for m in _ONE.finditer(plain):
        if any(s <= m.start() < e for s, e in taken):
            continue
        parsed = _parse(m, "a")
        if parsed is None or m.group(0).strip() == clock(parsed[0]):
            continue
        found.append(OtherStyle(m.group(0).strip(), m.start(), _suggest(*parsed)))
    for m in _NOON.finditer(plain):
        instead = "midnight" if "night" in m.group(0).lower() else "midday"
        found.append(OtherStyle(m.group(0), m.start(), instead))
    return sorted(found, key=lambda f: f.start)

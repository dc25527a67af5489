"""A day named as a person would: "Monday (days[0])", not only ``days[0]``.

The name comes from the day's ``weekday:`` or ``date:`` as written; a day whose weekday cannot be told
(a misspelt weekday, an impossible date) keeps its bare path.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

from .errors import Problem
from .fields import WEEKDAYS

_DAY = re.compile(r"^days\[(\d+)\]")


def day_name(data: Any, index: int) -> str:
    """The weekday ("Monday") of ``days[index]`` in the file's data, or "" if it cannot be told."""
    days = data.get("days") if isinstance(data, dict) else None
    if not isinstance(days, list) or not 0 <= index < len(days) or not isinstance(days[index], dict):
        return ""
    weekday, date = days[index].get("weekday"), days[index].get("date")
    if isinstance(weekday, str) and weekday.strip().lower() in WEEKDAYS:
        return weekday.strip().capitalize()
    try:
        return WEEKDAYS[dt.date.fromisoformat(str(date)).weekday()].capitalize() if date else ""
    except ValueError:
        return ""


def day_label(data: Any, index: int) -> str:
    """``days[index]`` with its weekday in front when known: "Monday (days[0])"."""
    name = day_name(data, index)
    return f"{name} (days[{index}])" if name else f"days[{index}]"


def name_days(problems: list[Problem], data: Any) -> list[Problem]:
    """Each problem whose field is under ``days[N]``, told that day's weekday."""
    out = []
    for problem in problems:
        match = _DAY.match(problem.path)
        name = day_name(data, int(match.group(1))) if match else ""
        out.append(replace(problem, day=name) if name else problem)
    return out

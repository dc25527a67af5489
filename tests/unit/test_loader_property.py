"""No input makes the loader raise anything but CampaignError: random text, random YAML,
and random structured mutations of a valid campaign."""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from practiceweek.errors import CampaignError
from practiceweek.loader import Loaded, load_text
from practiceweek.planner import plan
from tests.helpers import FIXTURES

BASE_TEXT = (FIXTURES / "good_base.yaml").read_text()
BASE = yaml.safe_load(BASE_TEXT)
SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


PARSER_WORDS = re.compile(r"mapping|scalar|sequence|<block|block collection|simple key|stream|"
                          r"document start|while parsing|while scanning", re.I)


def _survives(text: str) -> Loaded | None:
    try:
        loaded = load_text(text, "fuzz.yaml")
    except CampaignError as exc:
        assert exc.errors, "a CampaignError names at least one error"
        for p in exc.problems:
            assert p.line >= 1 and p.column >= 1 and p.message
            ours = re.sub(r"'[^']*'", "", f"{p.message} {p.hint}")  # not the field path or quoted input:
            assert not PARSER_WORDS.search(ours), f"parser words reach a person: {p.render()}"  # theirs
        return None
    plan(loaded.model)  # whatever loads must also plan
    return loaded


# --- text ---------------------------------------------------------------------------------------------------

YAML_BITS = st.sampled_from(
    [
        ":",
        "- ",
        "  ",
        "\n",
        "\t",
        "'",
        '"',
        "#",
        "&a ",
        "*a",
        "<<: ",
        "{",
        "}",
        "[",
        "]",
        ",",
        "? ",
        "!!str ",
        "!!python/object ",
        "|",
        ">",
        "%YAML 1.2\n",
        "---\n",
        "...\n",
        "campaign",
        "days",
        "2024-02-30",
        "13:30",
        "0x1F",
        "1e999",
        "~",
        "\x00",
        "\ufeff",
    ]
)


@SETTINGS
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    _survives(text)


@SETTINGS
@given(st.lists(st.one_of(YAML_BITS, st.text(max_size=8)), max_size=60))
def test_random_yaml_like_text(parts: list[str]) -> None:
    _survives("".join(parts))


@SETTINGS
@given(st.integers(0, len(BASE_TEXT)), st.integers(0, 40), st.text(max_size=20))
def test_splices_into_a_valid_file(at: int, cut: int, insert: str) -> None:
    _survives(BASE_TEXT[:at] + insert + BASE_TEXT[at + cut :])


# --- structure ----------------------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "2024-02-30",
            "2024-06-25",
            "0001-01-01",
            "9999-12-31",
            "25:00",
            "01:30",
            "javascript:alert(1)",
            "https://example.gov.uk/x",
            "a@b",
            "x@gmail.com",
            "Europe/Londn",
            "Mars/Olympus",
            "../../etc/passwd",
            "saturday",
            "sunday",
            "1d 6h",
            "0m",
            "outbox",
            "graph_mail",
            "#12345G",
            "practitioners",
            "x" * 600,
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


PATHS = _paths(BASE)


def _mutate(data: Any, path: tuple, action: str, value: Any, key: str) -> Any:
    data = copy.deepcopy(data)
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[key] = value
    elif action == "add" and isinstance(parent, list):
        parent.insert(last, value)
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    return data


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PATHS),
            st.sampled_from(["replace", "delete", "add", "duplicate"]),
            VALUES,
            st.text(max_size=10),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_structured_mutations_of_a_valid_campaign(mutations: list[tuple]) -> None:
    data = BASE
    for path, action, value, key in mutations:
        try:
            data = _mutate(data, path, action, value, key)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    try:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return
    _survives(text)


# --- well-typed values in odd combinations: reaches the week checks and the planner ----------------------

DATES = st.dates(
    min_value=__import__("datetime").date(2000, 1, 1), max_value=__import__("datetime").date(2100, 12, 31)
)
TIMES = st.times().map(lambda t: t.strftime("%H:%M"))
WEEKDAY = st.sampled_from(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
ZONES = st.sampled_from(
    [
        "Europe/London",
        "America/New_York",
        "Australia/Lord_Howe",
        "Pacific/Apia",
        "UTC",
        "Europe/Dublin",
        "Asia/Kathmandu",
    ]
)


@SETTINGS
@given(
    start=DATES,
    length=st.integers(-2, 9),
    zone=ZONES,
    times=st.lists(TIMES, min_size=6, max_size=6),
    days=st.lists(WEEKDAY, min_size=1, max_size=3),
    event_day=WEEKDAY,
    before=st.integers(0, 60),
    reminder=st.integers(0, 10080),
)
def test_well_typed_weeks_in_odd_combinations(
    start: Any,
    length: int,
    zone: str,
    times: list[str],
    days: list[str],
    event_day: str,
    before: int,
    reminder: int,
) -> None:
    import datetime as dt

    data = copy.deepcopy(BASE)
    data["campaign"]["timezone"] = zone
    data["campaign"]["week"] = {
        "start": start.isoformat(),
        "end": (start + dt.timedelta(days=length)).isoformat(),
    }
    data["channels"] = {
        "poster": {"at": times[0]},
        "email": {"at": times[1], "audience": "practitioners"},
        "teams_event": {"at": times[2], "create_days_before": before, "reminder_minutes_before": reminder},
        "x": {"at": times[3]},
        "web_page": {"at": times[4]},
        "teams_channel": {"at": times[5]},
    }
    data["days"] = [{"weekday": d, "title": d, "themes": [{"title": d}]} for d in days]
    data["events"][0].update(day=event_day, start=times[4], end=times[5])
    _survives(yaml.safe_dump(data, sort_keys=False))

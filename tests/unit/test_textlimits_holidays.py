"""The shortcuts that keep `validate` fast give the same answers as the libraries they stand in for."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from practiceweek import textlimits
from practiceweek.dates import bank_holidays, easter


def test_bank_holidays_match_the_holidays_package_2000_to_2100() -> None:
    reference = holidays.country_holidays("GB", subdiv="ENG", years=range(2000, 2101))
    mine: dict[dt.date, str] = {}
    for year in range(2000, 2101):
        mine.update(bank_holidays(year))
    assert sorted(mine) == sorted(reference)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (dt.date(2024, 8, 26), "Summer Bank Holiday"),
        (dt.date(2023, 5, 8), "Coronation of Charles III"),
        (dt.date(2022, 12, 27), "Christmas Day (substitute day)"),
        (dt.date(2025, 4, 18), "Good Friday"),
    ],
)
def test_named_bank_holidays(day: dt.date, name: str) -> None:
    assert bank_holidays(day.year)[day] == name


def test_easter() -> None:
    assert [easter(y) for y in (2024, 2025, 2038)] == [
        dt.date(2024, 3, 31),
        dt.date(2025, 4, 20),
        dt.date(2038, 4, 25),
    ]


ASCII_POSTS = st.lists(
    st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
        st.sampled_from(
            [
                " ",
                "\n",
                "\r\n",
                ".",
                "t.co",
                "example.org",
                "https://www.hampshirescp.org.uk/learning-from-reviews/toolkit",
                "http://a.co/b.c",
                "gov.uk,iow.gov.uk",
                "x.y.z.com",
                "#SafeguardingPracticeWeek",
                "@someone",
            ]
        ),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(ASCII_POSTS)
def test_x_length_and_bound_agree_with_twitter_text(parts: list[str]) -> None:
    text = "".join(parts)
    exact = parse_tweet(text).weightedLength
    assert textlimits.x_length(text) == exact
    assert textlimits.x_upper_bound(text) >= exact


@pytest.mark.parametrize("text", ["日本語 😷 https://example.com", "Café 👩‍👧 #tag", "plain text"])
def test_x_length_of_non_ascii_text(text: str) -> None:
    assert textlimits.x_length(text) == parse_tweet(text).weightedLength


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_bluesky_shortcut_never_passes_a_long_post(text: str) -> None:
    if textlimits.surely_fits("bluesky", text):
        assert textlimits.bluesky_length(text) <= textlimits.LIMITS["bluesky"]


def test_ascii_x_length_skips_the_emoji_tables_in_a_fresh_process() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from practiceweek.textlimits import x_length\n"
        "t = 'Read it: https://www.iowscp.uk/stop-pack.pdf and hants.gov.uk #SafeguardingPracticeWeek'\n"
        "print(x_length(t), x_length(t), 'twitter_text.regexp.emoji' in sys.modules)\n"
        "import twitter_text\n"
        "print(twitter_text.parse_tweet(t).weightedLength, x_length('😷 ' + t) == "
        "twitter_text.parse_tweet('😷 ' + t).weightedLength)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[2] == "False"
    assert out[0] == out[1] == out[3]
    assert out[4] == "True"

"""How long a post is on each network, counted the way the network counts it."""

from __future__ import annotations

import re

LIMITS = {"x": 280, "bluesky": 300, "mastodon": 500}
URL_WEIGHT = 23
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)


def x_length(text: str) -> int:
    """X's weighted length (CJK and emoji count 2, URLs 23), from twitter-text's own rules."""
    from twitter_text import parse_tweet  # imported only when a post is measured

    return int(parse_tweet(text).weightedLength)


def bluesky_length(text: str) -> int:
    """Bluesky counts graphemes (user-perceived characters)."""
    import regex

    return len(regex.findall(r"\X", text))


def mastodon_length(text: str) -> int:
    """Mastodon counts characters, every URL as 23, and @user@domain as @user."""
    text = _URL.sub("x" * URL_WEIGHT, text)
    text = re.sub(r"(@[A-Za-z0-9_]+)@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", r"\1", text)
    return len(text)


MEASURE = {"x": x_length, "bluesky": bluesky_length, "mastodon": mastodon_length}


def length(network: str, text: str) -> int:
    return MEASURE[network](text)


def fits(network: str, text: str) -> bool:
    return length(network, text) <= LIMITS[network]

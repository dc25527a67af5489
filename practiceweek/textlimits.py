"""How long a post is on each network, counted the way the network counts it."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
from collections.abc import Callable
from typing import Any

LIMITS = {"x": 280, "bluesky": 300, "mastodon": 500}  # validation, rendering and the connectors read these
UNITS = {  # what each network counts, for messages
    "x": "weighted characters (links count 23)",
    "bluesky": "graphemes",
    "mastodon": "characters (links count 23)",
}
URL_WEIGHT = 23
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_LINE_ENDS = re.compile(r"\r\n|\r|\n")


def x_length(text: str) -> int:
    """X's weighted length (CJK and emoji count 2, URLs 23), from twitter-text's own rules.

    twitter-text is imported only when a post is measured, and its emoji tables (the costly part
    of importing it: they read a data file through pkg_resources) only for text that is not plain
    ASCII, since no emoji is written in ASCII. ASCII text weighs 1 a character and 23 a link,
    exactly as ``parse_tweet`` counts it.
    """
    normal = _LINE_ENDS.sub("\n", text)
    if normal.isascii():
        if "." not in normal:  # every link twitter-text recognises has a dot in its domain
            return len(normal)
        urls = _extract_urls()(normal)
        return len(normal) - sum(len(u["url"]) for u in urls) + URL_WEIGHT * len(urls)
    with _IMPORTING:  # not while another thread has the bare package in sys.modules (below)
        from twitter_text import parse_tweet

    return int(parse_tweet(text).weightedLength)


_IMPORTING = threading.Lock()  # twitter-text's modules are imported by one thread at a time
_extractor: Callable[[str], list[dict[str, Any]]] | None = None


def _extract_urls() -> Callable[[str], list[dict[str, Any]]]:
    """twitter-text's URL extractor, loaded once (a publish task's threads measure posts at once: a
    thread must never see the module half made by another)."""
    global _extractor
    if _extractor is None:
        with _IMPORTING:
            if _extractor is None:
                _extractor = _load_extractor()
    return _extractor


def _load_extractor() -> Callable[[str], list[dict[str, Any]]]:
    """The extractor, loaded without running the package's ``__init__`` (which builds the emoji tables).
    A later ``import twitter_text`` still runs it as usual."""
    loaded = sys.modules.get("twitter_text.extract_urls")
    if loaded is not None:
        return loaded.extract_urls_with_indices
    if "twitter_text" in sys.modules:
        from twitter_text.extract_urls import extract_urls_with_indices
    else:
        spec = importlib.util.find_spec("twitter_text")
        assert spec is not None
        sys.modules["twitter_text"] = importlib.util.module_from_spec(spec)  # the package, not yet run
        try:
            extract_urls_with_indices = importlib.import_module(
                "twitter_text.extract_urls"
            ).extract_urls_with_indices
        finally:
            del sys.modules["twitter_text"]
    return extract_urls_with_indices


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


def x_upper_bound(text: str) -> int:
    """A cheap bound that X's weighted length never exceeds, for plain ASCII text (else a huge number).

    ASCII weighs 1 a character, and a link 23 in place of its own characters. A link lies inside one
    run of non-space characters, has at least one dot in its domain and at least 4 characters
    (``t.co``): so each link adds at most 19, and a run holds no more links than it has dots.
    """
    normal = _LINE_ENDS.sub("\n", text)
    if not normal.isascii():
        return 1 << 30
    extra = sum(19 * min(token.count("."), len(token) // 4) for token in normal.split() if "." in token)
    return len(normal) + extra


def surely_fits(network: str, text: str) -> bool:
    """True when ``text`` certainly fits ``network`` without loading an exact counter: X's bound
    above, and for Bluesky the count of code points (never fewer than the graphemes they make)."""
    if network == "x":
        return x_upper_bound(text) <= LIMITS["x"]
    return network == "bluesky" and len(text) <= LIMITS["bluesky"]


def fits(network: str, text: str) -> bool:
    return length(network, text) <= LIMITS[network]

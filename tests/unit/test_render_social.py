"""Post lengths as each network counts them, threads that fit, and Bluesky facets with byte offsets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from practiceweek import textlimits
from practiceweek.render.social import bluesky_facets, thread
from tests.helpers import CAMPAIGNS

# Cases from twitter/twitter-text conformance/tests/validate.yml, section
# WeightedTweetsWithDiscountedEmojiCounterTest (config v3, what X counts today). Apache-2.0.
X_CONFORMANCE = [
    ("285 chars-" + "xxxxxxxxxx-" * 25, 285),  # "Long tweet, overflow at char index 280"
    ("285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),  # url in the middle
    ("xxxxxxxxxx-" * 24 + " http://www.twitter.com/jack ", 289),  # url at the end
    ("https://www.twitter.com/aloha " * 10, 240),  # "10 url string, no overflow"
    ("\U0001F637" * 160, 320),  # "160 emoji char"
    ("A\u0301B", 2),  # "'Á' is normalized into 1 char"
    ("H\U0001F431\u263A\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466", 7),  # sequence = 2
    ("\U0001F637\U0001F47E\U0001F621\U0001F525\U0001F4A9", 10),
    ("\U0001F64B\U0001F3FD\U0001F468\u200D\U0001F3A4", 4),  # skin tone modifier, ZWJ sequence
    ("randomurl" * 7 + "s.com", 68),  # "Handle a 64 character domain without protocol"
]


@pytest.mark.parametrize(("text", "expected"), X_CONFORMANCE)
def test_x_weighted_length_matches_twitter_text_conformance(text, expected):
    assert textlimits.x_length(text) == expected


def test_bluesky_counts_graphemes_and_mastodon_counts_urls_as_23():
    family = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"
    assert textlimits.bluesky_length(family * 3) == 3
    assert textlimits.mastodon_length("see https://example.org/" + "a" * 100) == 4 + 23


def test_bluesky_facets_use_utf8_byte_offsets():
    text = "Café ✨ read https://example.org/a?b=c. #SafeguardingWeek and #2024 #Voice!"
    facets = bluesky_facets(text)
    raw = text.encode("utf-8")
    link, tag = facets[0], facets[1]
    assert link["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org/a?b=c"}]
    assert raw[link["index"]["byteStart"]:link["index"]["byteEnd"]].decode() == "https://example.org/a?b=c"
    assert tag["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "SafeguardingWeek"}]
    assert raw[tag["index"]["byteStart"]:tag["index"]["byteEnd"]].decode() == "#SafeguardingWeek"
    assert [f["features"][0].get("tag") for f in facets[2:]] == ["Voice"]  # "#2024" is not a tag
    assert link["index"]["byteStart"] == len("Café ✨ read ".encode())


@pytest.mark.parametrize("network", ["x", "bluesky", "mastodon"])
def test_text_that_fits_stays_one_post(network):
    assert thread(network, "Short post #Safeguarding") == ["Short post #Safeguarding"]


words = st.lists(st.sampled_from(["safeguarding", "children", "Café", "✨", "故人西辞", "https://example.org/p",
                                  "#PracticeWeek", "a" * 40, "\U0001F468\u200D\U0001F469\u200D\U0001F467"]),
                 min_size=1, max_size=220)


@settings(max_examples=40, deadline=None)
@given(words=words, network=st.sampled_from(["x", "bluesky", "mastodon"]))
def test_threads_fit_are_numbered_and_keep_every_word(words, network):
    text = " ".join(words)
    parts = thread(network, text)
    assert all(textlimits.fits(network, p) for p in parts)
    if len(parts) > 1:
        assert all(p.endswith(f" ({i}/{len(parts)})") for i, p in enumerate(parts, 1))
        parts = [p.rsplit(" (", 1)[0] for p in parts]
    assert " ".join(parts).split() == text.split()


@pytest.mark.parametrize("network", ["x", "bluesky", "mastodon"])
def test_no_post_of_a_week_repeats_another_posts_text(network):
    """X refuses a post whose exact text the account already posted: a thread's last post must carry the
    day's own words, not only the hashtags that every day ends with."""

    from practiceweek.loader import load
    from practiceweek.planner import plan
    from practiceweek.render import render

    weeks = 0
    for path in sorted(CAMPAIGNS.glob("*.yaml")):
        loaded = load(path)
        texts = [  # an account refuses its own repeat; a joint week's partners each post through their own
            (pub.partner, post.text)
            for pub in plan(loaded.model)
            if pub.channel == network
            for post in render(loaded, pub).posts
        ]
        assert len(set(texts)) == len(texts), path.name
        weeks += bool(texts)
    assert weeks >= 1  # some seed week posts on this network
    parts = thread("x", "day words " * 40 + "#SafeguardingPracticeWeek #LearningFromReviews")
    assert len(parts) == 2 and parts[-1].count("day words") >= 5  # the tail is balanced, not just tags

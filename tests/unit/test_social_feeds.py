"""Social posts written for feeds: threads split between sentences with the first post filled first,
the day's own message and a resource link in the text, and image sizes read from the image itself."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from practiceweek import textlimits
from practiceweek.imagesize import dimensions
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from practiceweek.render.notice import is_notice
from practiceweek.render.social import thread
from practiceweek.render.views import day_view, find_day
from tests.render_support import SEEDS

NETWORKS = ("x", "bluesky", "mastodon")
SUFFIX = re.compile(r" \(\d+/\d+\)$")
SENTENCE_END = re.compile(r"[.!?…][\"'’”)\]]*$")

# the Isle of Wight Wednesday as one paragraph: the old word splitter cut it "...on children and young
# (1/2)" / "people." and left the first post far below the limit
PARAGRAPH = ("Wednesday: Learning and development opportunity: the impact of domestic abuse on children and "
             "young people. Join 'An introduction to the impact of domestic abuse on children and young "
             "people', today from 1.30pm to 3pm via Microsoft Teams. Book your place with the partnership. "
             "A learning and development session for every agency on the Isle of Wight. "
             "#SafeguardingPracticeWeek")


def _threads():
    for path in SEEDS:
        loaded = load(path)
        for pub in plan(loaded.model):
            if pub.channel in NETWORKS:
                yield loaded, pub, render(loaded, pub)


def _split_points_are_sentence_or_line_ends(text: str, parts: list[str]) -> None:
    pos = 0
    for part in (SUFFIX.sub("", p) for p in parts):
        at = text.index(part, pos)
        if at:
            before, gap = text[:at].rstrip(), text[pos:at]
            assert SENTENCE_END.search(before) or "\n" in gap, (before[-40:], part[:40])
        pos = at + len(part)
    assert pos == len(text.rstrip())


def _first_sentence(text: str) -> str:
    """The first sentence (or line) of ``text``; with the hashtags and links after it if nothing else is."""
    match = re.search(r"[.!?…][\"'’”)\]]*(?=\s)|\n", text)
    if not match or re.fullmatch(r"(?:\s*(?:#|https?://)\S+)*\s*", text[match.end():]):
        return text
    return text[: match.end()].strip()


@pytest.mark.parametrize("network", ["x", "bluesky"])  # it fits one Mastodon post
def test_a_paragraph_splits_between_sentences_and_fills_the_first_post(network):
    parts = thread(network, PARAGRAPH)
    assert len(parts) >= 2 and all(textlimits.fits(network, p) for p in parts)
    _split_points_are_sentence_or_line_ends(PARAGRAPH, parts)
    body, rest = SUFFIX.sub("", parts[0]), SUFFIX.sub("", parts[1])
    longer = f"{body} {_first_sentence(rest)} (1/{len(parts)})"
    assert not textlimits.fits(network, longer)  # the next sentence would not have fitted in post 1
    assert not any(p.startswith("people") for p in parts)


def test_every_seed_thread_splits_between_sentences_and_fills_each_post_first():
    threads = 0
    for _, pub, r in _threads():
        parts = [p.text for p in r.posts]
        assert all(textlimits.fits(pub.channel, p) for p in parts), pub.id
        if len(parts) == 1:
            continue
        threads += 1
        _split_points_are_sentence_or_line_ends(r.text, parts)
        for this, after in zip(parts, parts[1:], strict=False):
            longer = f"{SUFFIX.sub('', this)} {_first_sentence(SUFFIX.sub('', after))} (1/{len(parts)})"
            assert not textlimits.fits(pub.channel, longer), pub.id
        assert not re.fullmatch(r"(?:#\S+\s*)+", SUFFIX.sub("", parts[-1])), pub.id  # not just hashtags
    assert threads >= 3


def test_generated_posts_carry_the_days_message_and_a_resource_link_not_the_weeks_title():
    checked = 0
    for loaded, pub, r in _threads():
        if is_notice(pub):
            continue  # an announcement before the week or a follow-up after it: no day of its own
        day = find_day(loaded, pub.date)
        if day.social is not None:
            continue  # the comms team's own words, as written
        view = day_view(loaded, day)
        text = " ".join(p.text for p in r.posts)
        assert loaded.model.campaign.title not in text, pub.id
        messages = view["one_things"][:1] or [m for t in view["themes"] for m in t["key_messages"]][:1]
        for message in messages:
            assert message.rstrip(".") in text, pub.id
        if view["resources"]:
            assert view["resources"][0]["url"] in text, pub.id
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize(("fmt", "options"), [("PNG", {}), ("JPEG", {"progressive": True}), ("GIF", {}),
                                               ("WEBP", {}), ("WEBP", {"lossless": True})])
def test_image_dimensions_match_pillow(fmt, options):
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 675), "#4B2C6F").save(buffer, fmt, **options)
    assert dimensions(buffer.getvalue()) == (1200, 675)
    assert dimensions(b"not an image") is None


def test_every_seed_post_image_has_dimensions_pillow_agrees_with():
    for _, pub, r in _threads():
        image = r.posts[0].image
        assert image is not None, pub.id
        assert dimensions(image.data) == Image.open(io.BytesIO(image.data)).size, pub.id

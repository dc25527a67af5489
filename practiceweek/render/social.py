"""Social posts for X, Bluesky and Mastodon: each network's length rules, numbered threads, image + alt."""

from __future__ import annotations

import re
from typing import Any

from .. import textlimits
from ..artifacts import Attachment, Post, RenderContext, Rendered
from ..loader import Loaded
from ..planner import Publication
from . import views
from .env import render_template
from .poster import poster_for

_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\""


def render_social(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Rendered:
    network = pub.channel
    day_model = views.find_day(loaded, pub.date)
    own = (pub.content.get("focus") or {}).get("text")  # an extra slot's own words
    if own is None and day_model.social is not None:
        own = getattr(day_model.social, network) or day_model.social.text
    if own is None:
        context = {**views.base(loaded, pub, ctx), "network": network,
                   "day": views.day_for(loaded, pub), "events": views.events_on(loaded, pub.date, ctx)}
        own = render_template(loaded, "social.txt", **context)
    text = _tidy(own)
    image = _image(loaded, pub, ctx)
    parts = thread(network, text)
    posts = tuple(Post(part, image if i == 0 else None) for i, part in enumerate(parts))
    return Rendered(publication=pub, subject=parts[0][:80], text=text, posts=posts,
                    attachments=(image,) if image else ())


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out)


def _image(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Attachment | None:
    day = views.find_day(loaded, pub.date)
    if day.social is not None and day.social.image is not None:
        found = views.image_bytes(loaded, day.social.image)
        if found:
            return Attachment(found[0], found[1], found[2], alt=day.social.image.alt)
    if not views.poster_on(loaded, day):  # poster channel off that day: no poster pictured
        return None
    return poster_for(loaded, pub, ctx).attachments()[1]


def thread(network: str, text: str) -> list[str]:
    """``text`` as one post, or split at word boundaries into posts numbered " (i/n)" that each fit."""
    limit = textlimits.LIMITS[network]
    if textlimits.length(network, text) <= limit:
        return [text]
    words = re.findall(r"\S+\s*", text)
    n = 2
    for _ in range(6):
        parts = _fill(network, words, limit, n)
        if len(parts) == n:
            parts = _balanced(network, words, limit, n)
            return [f"{p} ({i}/{n})" for i, p in enumerate(parts, 1)]
        n = len(parts)
    return [f"{p} ({i}/{len(parts)})" for i, p in enumerate(parts, 1)]


def _balanced(network: str, words: list[str], limit: int, n: int) -> list[str]:
    """The same ``n`` posts with the text spread evenly: the last post carries some of the day's own words,
    not just the hashtags (X refuses a post whose text the account already posted, e.g. yesterday's)."""
    lo, hi = 1, limit
    while lo < hi:  # the smallest budget that still fits the text in n posts
        mid = (lo + hi) // 2
        if len(_fill(network, words, mid, n)) <= n:
            hi = mid
        else:
            lo = mid + 1
    return _fill(network, words, lo, n)


def _fill(network: str, words: list[str], limit: int, n: int) -> list[str]:
    suffix = f" ({n}/{n})"
    parts: list[str] = []
    current = ""
    for word in words:
        candidate = current + word
        if current and textlimits.length(network, candidate.rstrip() + suffix) > limit:
            parts.append(current.rstrip())
            current = word
        else:
            current = candidate
        while textlimits.length(network, current.rstrip() + suffix) > limit:  # one word longer than a post
            cut = _longest_fit(network, current, limit - textlimits.length(network, suffix))
            parts.append(current[:cut].rstrip())
            current = current[cut:]
    if current.strip():
        parts.append(current.rstrip())
    return parts


def _longest_fit(network: str, text: str, budget: int) -> int:
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if textlimits.length(network, text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def post_json(network: str, post: Post, index: int, total: int) -> dict[str, Any]:
    """A post as the preview and outbox show it: text, its length against the network's limit, image + alt."""
    out: dict[str, Any] = {"network": network, "index": index, "of": total, "text": post.text,
                           "length": textlimits.length(network, post.text),
                           "limit": textlimits.LIMITS[network]}
    if post.image is not None:
        out["image"] = {"filename": post.image.filename, "content_type": post.image.content_type,
                        "alt": post.image.alt}
    if network == "bluesky":
        out["facets"] = bluesky_facets(post.text)
    return out


_TAG = re.compile(r"(?:^|(?<=\s))[#＃]([^\s\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2]+)")


def bluesky_facets(text: str) -> list[dict[str, Any]]:
    """Link and hashtag facets (app.bsky.richtext.facet) with UTF-8 byte offsets, as Bluesky expects."""
    facets: list[tuple[int, dict[str, Any]]] = []

    def span(start: int, end: int) -> dict[str, int]:
        return {"byteStart": len(text[:start].encode("utf-8")), "byteEnd": len(text[:end].encode("utf-8"))}

    for match in _URL.finditer(text):
        url = match.group(0)
        while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        start = match.start()
        facets.append((start, {"index": span(start, start + len(url)),
                               "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}]}))
    for match in _TAG.finditer(text):
        tag = match.group(1)
        while tag and (tag[-1] in _TRAILING or tag[-1] in ")]}"):
            tag = tag[:-1]
        if not tag or tag.isdigit() or len(tag) > 64:
            continue
        start = match.start()
        facets.append((start, {"index": span(start, start + 1 + len(tag)),
                               "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}]}))
    return [f for _, f in sorted(facets, key=lambda pair: pair[0])]

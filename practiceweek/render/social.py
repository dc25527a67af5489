"""Social posts for X, Bluesky and Mastodon: each network's length rules, numbered threads, image + alt."""

from __future__ import annotations

import re
from typing import Any

from .. import textlimits
from ..artifacts import Attachment, Post, RenderContext, Rendered
from ..fields import ContentWarning
from ..imagesize import dimensions
from ..links import NO_TAGS, Tagger, tagger
from ..loader import Loaded
from ..planner import Publication
from . import views
from .env import render_template
from .social_card import card_for

_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\""


def render_social(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Rendered:
    network = pub.channel
    day_model = views.find_day(loaded, pub.date)
    own = (pub.content.get("focus") or {}).get("text")  # an extra slot's own words
    if own is None and day_model.social is not None:
        own = getattr(day_model.social, network) or day_model.social.text
    if own is None:
        day = views.day_for(loaded, pub)
        messages = [m for t in day["themes"] for m in t["key_messages"]]
        summaries = [t["summary"] for t in day["themes"] if t["summary"]] + [day["summary"]]
        context = {**views.base(loaded, pub, ctx, tag=NO_TAGS), "network": network, "day": day,
                   "events": views.events_on(loaded, pub.date, ctx),
                   "key_message": next(iter(messages + [x for x in summaries if x]), None),
                   "resource": _resource(day)}
        own = render_template(loaded, "social.txt", **context)
    tag = tagger(loaded.model, network, pub.day, pub.slot)
    text = _tidy(own) if network == "bluesky" else tag_text(_tidy(own), tag)[0]
    image = _image(loaded, pub, ctx)
    parts = thread(network, text)
    facets = network == "bluesky"
    warning, labels = flags(network, pub.content.get("focus", {}).get("content_warning"),
                            day_model.content_warning, loaded.model.campaign.content_warning)
    posts = tuple(Post(part, image if i == 0 else None, tag_text(part, tag)[1] if facets else (),
                       warning, labels) for i, part in enumerate(parts))
    return Rendered(publication=pub, subject=parts[0][:80], text=text, posts=posts,
                    attachments=(image,) if image else ())


def flags(network: str,
          *warnings: ContentWarning | dict[str, Any] | None) -> tuple[str | None, tuple[str, ...]]:
    """The first content warning given (a post's, else its day's or notice's, else the campaign's) as the
    network carries it: Mastodon's ``spoiler_text``, Bluesky's self-labels; X has neither."""
    found = next((w for w in warnings if w), None)
    if found is None:
        return None, ()
    cw = found if isinstance(found, ContentWarning) else ContentWarning.model_validate(found)
    if network == "mastodon":
        return cw.text, ()
    if network == "bluesky":
        return None, tuple(cw.bluesky)
    return None, ()


def links_in(text: str) -> list[tuple[int, str]]:
    """Every web address in ``text`` as (where it starts, the address without trailing punctuation)."""
    out = []
    for match in _URL.finditer(text):
        url = match.group(0)
        while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        out.append((match.start(), url))
    return out


def tag_text(text: str, tag: Tagger) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``text`` with its links to the organiser's site tagged, and those links as (shown, tagged).

    X and Mastodon take the tagged text: they show a link shortened and count it as 23 whatever its
    length. Bluesky keeps the clean text and opens the tagged address through the link's facet."""
    found = [(start, url, tag(url) or url) for start, url in links_in(text)]
    found = [(start, url, target) for start, url, target in found if target != url]
    out = text
    for start, url, target in reversed(found):
        out = out[:start] + target + out[start + len(url):]
    return out, tuple((url, target) for _, url, target in found)


def _resource(day: dict[str, Any]) -> dict[str, Any] | None:
    """The day's first resource, labelled "Find out more" when its title only repeats the day's."""
    found = next(iter(day["resources"]), None)
    if found is None:
        return None
    same = found["title"].rstrip(".").casefold() in day["title"].casefold()
    return {**found, "title": "Find out more" if same else found["title"]}


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
    return card_for(loaded, pub, ctx)  # a social card, not the poster: it stays when the poster is off


def thread(network: str, text: str) -> list[str]:
    """``text`` as one post, or a thread numbered " (i/n)": split only between sentences (or at
    paragraphs), each post filled before the next begins; a sentence longer than a post is split at
    words. Trailing hashtags and bare links stay with the sentence before them, so the last post always
    carries the day's own words (X refuses a post whose text the account already posted)."""
    limit = textlimits.LIMITS[network]
    if textlimits.length(network, text) <= limit:
        return [text]
    units = sentences(text)
    n = 2
    for _ in range(6):
        parts = _pack(network, units, limit, n)
        if len(parts) == n or len(parts) == 1:
            break
        n = len(parts)
    if len(parts) == 1:
        return parts
    return [f"{p} ({i}/{len(parts)})" for i, p in enumerate(parts, 1)]


_SENTENCE_END = re.compile(r"[.!?…][\"'’”)\]]*(?=\s+[^\sa-z])")
_BREAKS = re.compile(r"\s*\n\s*")


def sentences(text: str) -> list[tuple[str, str]]:
    """``text`` as (separator before it, sentence): " " inside a paragraph, the line break(s) between."""
    out: list[tuple[str, str]] = []
    pieces = _BREAKS.split(text.strip())
    seps = ["\n\n" if "\n\n" in m.group(0) else "\n" for m in _BREAKS.finditer(text.strip())]
    for sep, para in zip(["", *seps], pieces, strict=True):
        start = 0
        for match in _SENTENCE_END.finditer(para):
            out.append((sep if start == 0 else " ", para[start:match.end()].strip()))
            start = match.end()
        if para[start:].strip():
            out.append((sep if start == 0 else " ", para[start:].strip()))
    while len(out) > 1 and _bare(out[-1][1]):  # hashtags and links travel with the sentence before them
        sep, tail = out.pop()
        out[-1] = (out[-1][0], out[-1][1] + sep + tail)
    return out


def _bare(sentence: str) -> bool:
    return all(word.startswith(("#", "http://", "https://")) for word in sentence.split())


def _pack(network: str, units: list[tuple[str, str]], limit: int, n: int) -> list[str]:
    """Sentences packed into posts of at most ``limit`` with room for " (n/n)", first post first."""
    suffix = f" ({n}/{n})"
    parts: list[str] = []
    current = ""
    for sep, unit in units:
        candidate = current + sep + unit if current else unit
        if textlimits.length(network, candidate + suffix) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = unit
        if textlimits.length(network, unit + suffix) > limit:  # one sentence longer than a post
            pieces = _fill(network, re.findall(r"\S+\s*", unit), limit, n)
            parts.extend(pieces[:-1])
            current = pieces[-1]
    if current:
        parts.append(current)
    return parts


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
    if post.warning:
        out["content_warning"] = post.warning
    if post.labels:
        out["self_labels"] = list(post.labels)
    if post.image is not None:
        out["image"] = {"filename": post.image.filename, "content_type": post.image.content_type,
                        "alt": post.image.alt}
        size = dimensions(post.image.data)
        if size:
            out["image"].update(width=size[0], height=size[1])
    if network == "bluesky":
        out["facets"] = bluesky_facets(post.text, post.links)
    return out


_TAG = re.compile(r"(?:^|(?<=\s))[#＃]([^\s\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2]+)")


def bluesky_facets(text: str, links: tuple[tuple[str, str], ...] = ()) -> list[dict[str, Any]]:
    """Link and hashtag facets (app.bsky.richtext.facet) with UTF-8 byte offsets, as Bluesky expects;
    a link opens its target in ``links`` (address shown → address opened) when it has one."""
    facets: list[tuple[int, dict[str, Any]]] = []
    targets = dict(links)

    def span(start: int, end: int) -> dict[str, int]:
        return {"byteStart": len(text[:start].encode("utf-8")), "byteEnd": len(text[:end].encode("utf-8"))}

    for start, url in links_in(text):
        facets.append((start, {"index": span(start, start + len(url)),
                               "features": [{"$type": "app.bsky.richtext.facet#link",
                                             "uri": targets.get(url, url)}]}))
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

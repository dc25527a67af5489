"""What every artifact of every seed week says, read back the way a reader's tools read it (issue 25).

- No heading without content: the email HTML is parsed (a heading must have text before the next heading
  of its level or above), the Teams card JSON walked (a "heading" TextBlock is followed by something; no
  section is a lone bold line), and the poster PDF's tag tree read (an H is followed by something other
  than an H of its level or above).
- One way of writing times (GOV.UK's "1:30pm to 3pm", "UK time") in the HTML and plain-text email, the
  subject, the Teams card, the social posts and the invitation; ``validate`` warns, with file:line, about
  campaign text that writes a time another way.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from pypdf import PdfReader

from practiceweek.artifacts import PREVIEW_JOIN_URL, Rendered, preview_context
from practiceweek.checks_headings import repeated_labels, says_nothing
from practiceweek.loader import Loaded, load, load_text
from practiceweek.planner import plan
from practiceweek.render import render
from practiceweek.timestyle import other_styles
from tests.helpers import FIXTURES
from tests.render_support import EVENTS_SEED, SEEDS

WEEKS = [*SEEDS, FIXTURES / "portsmouth-neglect-2025.yaml"]


@pytest.fixture(scope="module", params=WEEKS, ids=[p.stem for p in WEEKS])
def week(request: pytest.FixtureRequest) -> tuple[Loaded, dict[str, Rendered]]:
    """Every publication of a week, rendered as the preview renders it (placeholder join links)."""
    loaded = load(request.param)
    pubs = plan(loaded.model)
    makers = {p.id: p.event_id for p in pubs if p.channel == "teams_event" and p.event_id}
    return loaded, {p.id: render(loaded, p, preview_context(p, makers)) for p in pubs}


# ---- headings -------------------------------------------------------------------------------------------

class _Outline(HTMLParser):
    """The document as a flat list: ("h", level, text) for each heading, ("text", 0, words) for the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, int, str]] = []
        self.level = 0  # inside a heading of this level
        self.skip = 0  # inside <head>, <style> or <title>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "style", "title", "script"):
            self.skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.level = int(tag[1])
            self.items.append(("h", self.level, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "title", "script"):
            self.skip -= 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.level = 0

    def handle_data(self, data: str) -> None:
        if self.skip or not data.strip():
            return
        if self.level:
            kind, level, text = self.items[-1]
            self.items[-1] = (kind, level, text + data)
        else:
            self.items.append(("text", 0, data.strip()))


def empty_headings(items: list[tuple[str, int, str]]) -> list[str]:
    """Headings followed by nothing: no content before the next heading of their level or above."""
    out = []
    for i, (kind, level, text) in enumerate(items):
        if kind != "h":
            continue
        rest = items[i + 1:]
        nxt = next((j for j, (k, lv, _) in enumerate(rest) if k == "h" and lv <= level), len(rest))
        if not any(k == "text" or lv > level for k, lv, _ in rest[:nxt]):
            out.append(" ".join(text.split()))
    return out


def html_outline(html: str) -> list[tuple[str, int, str]]:
    parser = _Outline()
    parser.feed(html)
    return parser.items


def card_problems(card: dict[str, Any]) -> list[str]:
    """A "heading" TextBlock followed by no other block, and sections that are only a bold line."""
    blocks: list[dict[str, Any]] = []
    lone: list[str] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == "Container":
                inner = item.get("items", [])
                if not inner or (len(inner) == 1 and inner[0].get("weight") == "Bolder"):
                    lone.append(str(inner[0].get("text") if inner else "(empty section)"))
                walk(inner)
            elif item.get("type") == "TextBlock":
                blocks.append(item)

    walk(card["attachments"][0]["content"]["body"])
    levels = {"ExtraLarge": 1, "Large": 1, "Medium": 2}  # a heading's size is its level
    outline = [("h", levels.get(b.get("size", ""), 3), str(b["text"])) if b.get("style") == "heading"
               else ("text", 0, str(b.get("text", ""))) for b in blocks]
    return empty_headings(outline) + lone


def pdf_outline(pdf: bytes) -> list[tuple[str, int, str]]:
    """The poster's tag tree in reading order: ("h", level, title) for H1…H6, ("text", 0, tag) for the rest
    (a heading's own children are its text, not content under it)."""
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/StructTreeRoot"].get_object()
    out: list[tuple[str, int, str]] = []

    def walk(node: Any) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if not isinstance(node, dict):
            return
        tag = str(node.get("/S", ""))
        match = re.fullmatch(r"/H([1-6])", tag)
        if match:
            out.append(("h", int(match.group(1)), str(node.get("/T", ""))))
            return
        if tag in ("/P", "/L", "/LI", "/Figure", "/Link", "/Span"):
            out.append(("text", 0, tag))
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            walk(kid)

    walk(root)
    return out


def _daily(rendered: dict[str, Rendered], channel: str) -> list[Rendered]:
    return [r for pid, r in rendered.items() if f"/{channel}/" in pid and pid.endswith("/daily")
            and "/week/" not in pid and not r.publication.content.get("kind")]


def test_no_email_heading_is_followed_by_nothing(week):
    loaded, rendered = week
    for r in _daily(rendered, "email"):
        assert r.html is not None
        assert empty_headings(html_outline(r.html)) == [], r.id
        assert not re.search(r"^## .*\n\s*\n## ", r.text, re.M), r.id  # the plain text alike


def test_no_card_heading_or_section_is_empty(week):
    _, rendered = week
    for r in _daily(rendered, "teams_channel"):
        assert r.card is not None
        assert card_problems(r.card) == [], r.id


def test_no_poster_heading_is_followed_by_nothing(week):
    _, rendered = week
    weeks = [r for pid, r in rendered.items() if pid.endswith("/poster/week")]
    for r in [*_daily(rendered, "poster"), *weeks]:
        for a in r.attachments:
            if a.content_type == "application/pdf":
                assert empty_headings(pdf_outline(a.data)) == [], (r.id, a.filename)


def test_the_checks_catch_what_issue_25_saw():
    """The HSCP Thursday as it was: three theme headings stacked with nothing under the first two."""
    before = [("h", 1, "Resolution, disproportionality and supervision"), ("h", 2, "Resolution"),
              ("h", 2, "Disproportionality"), ("h", 2, "Supervision"), ("text", 0, "Use your…")]
    assert empty_headings(before) == ["Resolution", "Disproportionality"]
    assert empty_headings(html_outline("<h1>Day</h1><p>x</p><h2>Theme</h2><h2>Resources</h2><ul><li>a</li>"
                                       "</ul>")) == ["Theme"]
    card = {"attachments": [{"content": {"body": [
        {"type": "Container", "items": [{"type": "TextBlock", "text": "Myth-busting", "weight": "Bolder"}]},
        {"type": "TextBlock", "text": "Agency", "style": "heading", "size": "Medium"}]}}]}
    assert card_problems(card) == ["Agency", "Myth-busting"]


def test_a_theme_whose_only_content_is_a_resource_heads_it():
    """HSCP Wednesday: "Honest conversations" has one resource; it is listed under its heading (not in the
    shared list), and Thursday's "Disproportionality", which has nothing, is no heading at all."""
    loaded = load(next(p for p in SEEDS if "hscp" in p.name))
    pubs = {p.id: p for p in plan(loaded.model)}
    wed = render(loaded, pubs["hscp-lfr-2024/wed/email/daily"])
    items = html_outline(wed.html or "")
    at = items.index(("h", 2, "Honest conversations"))
    assert items[at + 1] == ("text", 0, "Having honest conversations (HSCP Virtual Offer, training)")
    assert "- Having honest conversations (HSCP Virtual Offer, training): https://" in wed.text
    assert wed.text.count("Having honest conversations (HSCP Virtual Offer") == 1  # not again in a list
    thu = render(loaded, pubs["hscp-lfr-2024/thu/email/daily"])
    headings = [t for k, _, t in html_outline(thu.html or "") if k == "h"]
    assert "Disproportionality" not in headings and "Resolution" in headings and "Supervision" in headings
    card = render(loaded, pubs["hscp-lfr-2024/thu/teams_channel/daily"]).card or {}
    assert "Disproportionality" not in str(card)


# ---- times ----------------------------------------------------------------------------------------------

TWENTY_FOUR_HOUR = re.compile(r"(?<![\d:/.])\d{1,2}:\d{2}(?!\s?[ap]m)(?![\d:])")


def _words(r: Rendered) -> dict[str, str]:
    """Everything a reader reads in ``r``, by where it is read."""
    out = {"subject": r.subject, "text": r.text}
    if r.html:
        out["html"] = " ".join(t for k, _, t in html_outline(r.html) if t)
    if r.card:
        out["card"] = " ".join(str(b.get("text", "")) for b in _blocks(r.card))
    for i, post in enumerate(r.posts):
        out[f"post {i + 1}"] = post.text
    for a in r.attachments:
        if a.content_type == "text/calendar":
            out[a.filename] = _ics_text(a.data)
    if r.ics:
        out["ics"] = _ics_text(r.ics)
    return out


def _blocks(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if node.get("type") == "TextBlock" else []
        return own + [b for v in node.values() for b in _blocks(v)]
    if isinstance(node, list):
        return [b for v in node for b in _blocks(v)]
    return []


def _ics_text(data: bytes) -> str:
    from icalendar import Calendar

    cal = Calendar.from_ical(data)
    return " ".join(f"{ev.get('summary', '')} {ev.get('description', '')} {ev.get('location', '')}"
                    for ev in cal.walk("VEVENT"))


def test_every_artifact_writes_times_one_way(week):
    loaded, rendered = week
    for pid, r in rendered.items():
        for where, words in _words(r).items():
            plain = re.sub(r"https?://\S+", "", words)
            assert not TWENTY_FOUR_HOUR.search(plain), (pid, where, TWENTY_FOUR_HOUR.search(plain))
            assert "Europe/London" not in plain, (pid, where)
            if loaded.path.parent.name == "campaigns":  # the seeds' own text is in GOV.UK style too
                assert other_styles(plain) == [], (pid, where, other_styles(plain))


def test_the_session_is_written_the_same_in_every_carrier():
    """IOW Wednesday: the time the issue found written three ways, one way in each carrier."""
    loaded = load(EVENTS_SEED)
    pubs = plan(loaded.model)
    makers = {p.id: p.event_id for p in pubs if p.channel == "teams_event" and p.event_id}
    by_id = {p.id: render(loaded, p, preview_context(p, makers)) for p in pubs if "/wed/" in p.id}
    cid = "iowscp-da-2024/wed"
    email, card = by_id[f"{cid}/email/daily"], by_id[f"{cid}/teams_channel/daily"]
    assert "1:30pm to 3pm UK time" in email.text and "1:30pm to 3pm UK time" in (email.html or "")
    assert "1:30pm to 3pm UK time, online on Microsoft Teams" in _words(card)["card"]
    assert "1:30pm to 3pm UK time" in _words(email)["da-impact-session.ics"]
    assert "today at 1:30pm UK time" in " ".join(p.text for p in by_id[f"{cid}/x/daily"].posts)
    assert "Starting at 1:30pm" in by_id[f"{cid}/email/reminder-da-impact-session"].subject


BASE = (FIXTURES / "good_base.yaml").read_text()


def test_validate_warns_where_campaign_text_writes_a_time_another_way():
    text = BASE.replace("    title: Tuesday\n", "    title: Tuesday\n    summary: >-\n"
                        "      A day on theme two,\n"
                        "      with a webinar at 13:30 and a drop-in from 9.30am-11am.\n")
    assert text != BASE
    line = text.splitlines().index("      with a webinar at 13:30 and a drop-in from 9.30am-11am.") + 1
    loaded = load_text(text, "week.yaml")
    found = [w for w in loaded.warnings if "written differently" in w.message]
    assert [(w.line, w.path) for w in found] == [(line, "days[1].summary")] * 2  # the line inside the value
    first, second = found
    assert first.render().startswith(f"week.yaml:{line}:25: warning: Tuesday (days[1]).summary: '13:30'")
    assert "'13:30' is written differently from the times in the emails, cards and posts; write '1:30pm'" \
        in first.message
    assert "write '9:30am to 11am'" in second.message
    assert first.severity == "warning" and "'1:30pm to 3pm', '9am', 'midday'" in first.hint


@pytest.mark.parametrize(("written", "instead"), [
    ("13:30", "1:30pm"), ("1.30pm", "1:30pm"), ("1:30 PM", "1:30pm"), ("3:00pm", "3pm"), ("12pm", "midday"),
    ("12 noon", "midday"), ("13:30 to 15:00", "1:30pm to 3pm"), ("1:30-3pm", "1:30pm to 3pm"),
    ("10:00–12:00", "10am to midday"), ("5 p.m.", "5pm"), ("at 1:30 today", "1:30pm or 1:30am"),
])
def test_times_written_another_way_are_found(written, instead):
    (found,) = other_styles(f"Join us {written}.")
    assert found.instead == instead


@pytest.mark.parametrize("text", ["1:30pm to 3pm", "9am", "midday", "£10.30", "1 in 5 children", "2023-24",
                                  "ages 5 to 11", "https://example.org/at/13:30/", "midnight", "3pm."])
def test_gov_uk_times_and_other_numbers_pass(text):
    assert other_styles(text) == []


def test_the_preview_join_link_is_a_marked_placeholder():
    assert PREVIEW_JOIN_URL.startswith("https://join-link.invalid/placeholder")


def _lines(r: Rendered) -> list[str]:
    """Every line a reader reads in ``r``: plain text, the HTML's text, posts, the card's texts and buttons,
    attachments' alt text."""
    html = re.sub(r"<(?:/p|br|/li|/h\d|/td|/a)\b[^>]*>", "\n", r.html or "", flags=re.I)
    html = re.sub(r"<[^>]+>", "", re.sub(r"<(style|head)\b.*?</\1>", "", html, flags=re.S | re.I))
    card: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            card.extend(str(node[k]) for k in ("text", "title") if isinstance(node.get(k), str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(r.card or {})
    texts = [r.subject, r.text, html.replace("&#39;", "'").replace("&amp;", "&"), *card,
             *(p.text for p in r.posts), *(a.alt or "" for a in r.attachments)]
    return [line for text in texts for line in text.splitlines() if line.strip()]


def test_no_label_is_repeated_within_a_line(week):
    _, rendered = week
    found = {(pid, line): labels for pid, r in rendered.items() for line in _lines(r)
             if (labels := repeated_labels(line))}
    assert found == {}


def test_the_label_check_catches_what_issue_25_saw():
    assert repeated_labels("Wednesday's poster (PDF) (Poster)") == ["Poster"]
    assert repeated_labels("Multi-agency safeguarding and domestic abuse (PDF, report)") == []
    assert repeated_labels("Isle of Wight Safeguarding Children Partnership (iowscp@iow.gov.uk)") == []


@pytest.mark.parametrize(("title", "empty"), [
    ("**", True), ("<br>", True), ("&nbsp;", True), ("\u200b", True), ("— …", True), ("__", True),
    ("<b>Supervision</b>", False), ("5 ways", False), ("Café", False), ("Myth-busting", False),
])
def test_validate_finds_the_titles_that_would_make_an_empty_heading(title, empty):
    assert says_nothing(title) is empty


def test_notice_emails_and_cards_leave_the_hashtags_to_the_footer(week):
    loaded, rendered = week
    for pid, r in rendered.items():
        if "/email/" in pid or "/teams_channel/" in pid:
            body = r.text.split("\n--\n")[0]  # the email's footer carries the week's hashtags once
            assert not re.search(r"#\w+\s*$", body.strip().split("\n\n")[0]), pid
            texts = [b.get("text", "") for b in (r.card or {}).get("attachments", [{}])[0]
                     .get("content", {}).get("body", [])] if r.card else []
            assert not any(re.search(r"\s#\w+\s*$", str(t)) for t in texts), pid

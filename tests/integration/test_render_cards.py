"""Teams channel cards as Microsoft's own Adaptive Cards SDK (npm ``adaptivecards``, run with node) reads
them at their declared version, with buttons whose labels fit and no heading left over nothing."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from practiceweek.artifacts import RenderContext
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from practiceweek.render.teams import MAX_ACTIONS, MAX_LABEL
from tests.helpers import ROOT
from tests.render_support import SEEDS

JS = ROOT / "tests" / "js"
JOIN = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_test"


@pytest.fixture(scope="module")
def cards():
    """Every seed week's cards (the Adaptive Card inside each Workflows message), by publication id."""
    out = {}
    for path in SEEDS:
        loaded = load(path)
        ctx = RenderContext(join_urls={e.id: JOIN for e in loaded.model.events},
                            links={f"{loaded.id}/mon/web_page/daily": "https://example.gov.uk/week/"})
        for pub in plan(loaded.model):
            if pub.channel == "teams_channel":
                (attachment,) = render(loaded, pub, ctx).card["attachments"]
                out[pub.id] = attachment["content"]
    assert len(out) >= 10
    return out


def test_the_adaptivecards_sdk_reports_nothing_for_any_seed_card(cards, tmp_path):
    node = shutil.which("node")
    assert node, "node is needed to check cards with the adaptivecards SDK (tests/js)"
    files = []
    for i, card in enumerate(cards.values()):
        files.append(tmp_path / f"card{i}.json")
        files[-1].write_text(json.dumps(card))
    done = subprocess.run([node, str(JS / "card_check.cjs"), *map(str, files)], capture_output=True,
                          text=True, cwd=JS, timeout=60, check=True)
    found = json.loads(done.stdout)
    assert len(found) == len(cards)
    assert {pid: r["problems"] for pid, r in zip(cards, found, strict=True) if r["problems"]} == {}


def test_buttons_are_short_enough_for_teams(cards):
    for pid, card in cards.items():
        titles = [a["title"] for a in card["actions"]]
        assert 1 <= len(titles) <= MAX_ACTIONS, pid
        assert len(set(titles)) == len(titles), (pid, titles)
        for title in titles:
            assert 0 < len(title) <= MAX_LABEL and "…" not in title, (pid, title)
    wednesday = next(c for pid, c in cards.items() if pid.startswith("iowscp-da-2024/wed/"))
    assert wednesday["actions"][0] == {"type": "Action.OpenUrl", "title": "Join the webinar", "url": JOIN}


def _headings_over_nothing(items: list[dict]) -> list[str]:
    empty = []
    for i, item in enumerate(items):
        if item.get("style") == "heading" and (i + 1 == len(items) or items[i + 1].get("style") == "heading"):
            empty.append(item["text"])
        empty += _headings_over_nothing(item.get("items", []))
    return empty


def test_every_heading_has_something_under_it(cards):
    for pid, card in cards.items():
        assert _headings_over_nothing(card["body"]) == [], pid
        for container in (b for b in card["body"] if b["type"] == "Container"):
            assert container["items"], pid
    # the Wednesday theme has only a summary restating the session and a resource: the session's own block
    # gives its time once (issue 25 item 4) and the resource still shows
    wednesday = next(c for pid, c in cards.items() if pid.startswith("iowscp-da-2024/wed/"))
    texts = [i["text"] for b in wednesday["body"] if b["type"] == "Container" for i in b["items"]]
    assert "A learning and development session via Microsoft Teams, 1:30pm to 3pm." not in texts
    assert sum("1:30pm" in t for t in texts) == 1
    assert any(t.startswith("[Wednesday's poster (PDF)](https://www.iowscp.uk/") for t in texts)

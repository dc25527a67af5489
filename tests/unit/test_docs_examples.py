"""Every campaign in the documentation site is valid, and the outputs the pages show are what the tool prints.

A fenced ```yaml block whose top level has ``campaign:``, ``channels:`` and ``days:`` is a whole campaign: it
must load with the project's own loader (no problem, no warning) and plan. Any other YAML block must parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from practiceweek.errors import CampaignError
from practiceweek.loader import load_text
from practiceweek.planner import plan
from tests.helpers import FIXTURES, ROOT

DOCS = ROOT / "docs"
FENCE = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)
WHOLE = {"campaign", "channels", "days"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _blocks() -> list[Block]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            found.append(Block(page, text.count("\n", 0, match.start()) + 2, match.group(1)))
    return found


BLOCKS = _blocks()
CAMPAIGNS = [b for b in BLOCKS if isinstance(d := yaml.safe_load(b.text), dict) and WHOLE <= set(d)]


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_the_site_has_campaign_examples() -> None:
    pages = {b.page.relative_to(DOCS).as_posix() for b in CAMPAIGNS}
    assert {"write/tutorial.md", "write/week.md"} <= pages
    assert len(CAMPAIGNS) >= 3


@pytest.mark.parametrize("block", CAMPAIGNS, ids=[b.where for b in CAMPAIGNS])
def test_every_campaign_in_the_site_is_valid_and_plans(block: Block) -> None:
    try:
        loaded = load_text(block.text, block.where)
    except CampaignError as exc:
        pytest.fail("\n".join(p.render() for p in exc.problems))
    assert loaded.warnings == []
    assert plan(loaded.model)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_every_yaml_block_parses(block: Block) -> None:
    yaml.safe_load(block.text)


def test_the_annotated_week_plans_as_its_comments_say() -> None:
    text = next(b.text for b in CAMPAIGNS if b.page.name == "week.md")
    assert text.startswith("# yaml-language-server: $schema=../schema/campaign.schema.json")
    pubs = plan(load_text(text, "week.yaml").model)
    ids = {p.id for p in pubs}
    assert "tscp-neglect-2025/wed/teams_event/neglect-webinar" in ids
    assert "tscp-neglect-2025/wed/x/daily" not in ids  # switched off that day
    assert "tscp-neglect-2025/mon/x/daily" in ids
    at = {p.id: p.at.isoformat() for p in pubs}
    assert at["tscp-neglect-2025/mon/x/at-1600"] == "2025-03-24T16:00:00+00:00"  # two X posts on Monday
    assert at["tscp-neglect-2025/fri-21-mar/x/launch"] == "2025-03-21T16:00:00+00:00"  # before the week
    assert at["tscp-neglect-2025/mon-31-mar/email/round-up"] == "2025-03-31T09:30:00+01:00"  # after it, BST
    # teams_event's `at` is when the meeting is created: 7 days before, at 10:00; the reminder an hour before
    assert at["tscp-neglect-2025/wed/teams_event/neglect-webinar"] == "2025-03-19T10:00:00+00:00"
    assert at["tscp-neglect-2025/wed/email/reminder-neglect-webinar"] == "2025-03-26T12:30:00+00:00"
    assert [p.at for p in pubs] == sorted(p.at for p in pubs)


def test_the_tutorials_week_plans_as_the_page_says() -> None:
    last = [b.text for b in CAMPAIGNS if b.page.name == "tutorial.md"][-1]
    at = {p.id: p.at.isoformat() for p in plan(load_text(last, "tutorial.yaml").model)}
    assert at["tscp-neglect-2025/wed/teams_event/neglect-webinar"] == "2025-03-19T10:00:00+00:00"
    assert at["tscp-neglect-2025/wed/email/reminder-neglect-webinar"] == "2025-03-26T12:30:00+00:00"
    assert at["tscp-neglect-2025/mon/x/daily"] == "2025-03-24T12:00:00+00:00"


def _shown(page: str, command: str) -> list[str]:
    """The lines a page shows after ``$ <command>`` in a console block, up to the next prompt or fence."""
    match = re.search(rf"\$ {re.escape(command)}\n(.*?)(?:\n\$ |\n```)", _page(page), re.S)
    assert match is not None, f"{page} shows no output of {command}"
    return match.group(1).splitlines()


def _rendered(text: str, name: str) -> list[str]:
    with pytest.raises(CampaignError) as caught:
        load_text(text, name)
    return [p.render() for p in caught.value.problems]


def test_the_example_error_output_is_current() -> None:
    base = (FIXTURES / "good_base.yaml").read_text()
    text = (
        base.replace("start: 2024-06-24", "start: 2024-02-30")
        .replace("url: https://example.gov.uk/toolkit", "url: javascript:alert(1)")
        .replace("  title: Test week", "  titel: Test week")
    )
    shown = _shown("write/check.md", "practiceweek validate campaigns/my-week.yaml")
    lines = _rendered(text, "campaigns/my-week.yaml")
    assert shown == [*lines, "campaigns/my-week.yaml: 3 errors, 0 warnings; nothing was scheduled or sent"]


def test_the_tutorials_empty_file_output_is_current() -> None:
    shown = _shown("write/tutorial.md", ".venv/bin/practiceweek validate campaigns/my-week.yaml")
    lines = _rendered("", "campaigns/my-week.yaml")
    assert shown == [*lines, "campaigns/my-week.yaml: 1 error, 0 warnings; nothing was scheduled or sent"]

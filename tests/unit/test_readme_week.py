"""The README stays short and true: its 20-line week is valid and plans, and its links lead into the site."""

from __future__ import annotations

import re

from practiceweek.loader import load_text
from practiceweek.planner import plan
from tests.helpers import ROOT

README = ROOT.joinpath("README.md").read_text()


def test_the_readmes_week_is_valid_and_plans() -> None:
    block = re.search(r"```yaml\n(.*?)```", README, re.S)
    assert block is not None
    text = block.group(1)
    assert text.startswith("# yaml-language-server: $schema=../schema/campaign.schema.json")
    assert len(text.splitlines()) <= 22
    loaded = load_text(text, "campaigns/my-week.yaml")
    assert loaded.warnings == []
    at = {p.id: p.at.isoformat() for p in plan(loaded.model)}
    assert at == {
        "tscp-neglect-2025/mon/poster/daily": "2025-03-24T08:00:00+00:00",
        "tscp-neglect-2025/mon/email/daily": "2025-03-24T08:30:00+00:00",  # `8:30` unquoted is a time
        "tscp-neglect-2025/mon/x/daily": "2025-03-24T12:00:00+00:00",
    }


def test_the_readme_is_short_and_names_the_two_commands() -> None:
    assert len(README.splitlines()) <= 200
    assert "make demo" in README and "The test command is `make test`" in README


def test_the_readmes_links_lead_to_pages_that_exist() -> None:
    links = re.findall(r"\]\(((?:docs/|CONTRIBUTING)[^)#]*)", README)
    assert len(links) > 10
    for link in links:
        assert (ROOT / link).exists(), link


def test_the_readmes_joint_week_is_valid_and_each_partner_publishes_under_its_own_name() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.S)
    assert len(blocks) == 2
    loaded = load_text(blocks[1], "campaigns/our-joint-week.yaml")
    assert loaded.warnings == [] and loaded.partners == ["north", "south"]
    assert loaded.model.campaign.approval == "per_partner"  # each partner's approver decides on its own
    ids = sorted(p.id for p in plan(loaded.model))
    assert ids == ["joint-neglect-2025/mon/email/daily/north", "joint-neglect-2025/mon/email/daily/south",
                   "joint-neglect-2025/mon/x/daily/north"]  # south switched X off

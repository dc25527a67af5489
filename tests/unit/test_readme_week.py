"""The "Write your own week" section of the README stays true: its campaign is valid and its
example error output is what `validate` prints."""

from __future__ import annotations

import re

import pytest

from practiceweek.errors import CampaignError
from practiceweek.loader import load_text
from practiceweek.planner import plan
from tests.helpers import FIXTURES, ROOT

SECTION = ROOT.joinpath("README.md").read_text().split("## Write your own week", 1)[1].split("\n## ", 1)[0]
BASE = (FIXTURES / "good_base.yaml").read_text()


def test_the_annotated_campaign_is_valid_and_plans() -> None:
    block = re.search(r"```yaml\n(.*?)```", SECTION, re.S)
    assert block is not None
    text = block.group(1)
    assert text.startswith("# yaml-language-server: $schema=../schema/campaign.schema.json")
    loaded = load_text(text, "readme.yaml")
    assert loaded.warnings == []
    pubs = plan(loaded.model)
    ids = {p.id for p in pubs}
    assert "tscp-neglect-2025/wed/teams_event/neglect-webinar" in ids
    assert "tscp-neglect-2025/wed/x/daily" not in ids  # switched off that day
    assert "tscp-neglect-2025/mon/x/daily" in ids
    at = {p.id: p.at.isoformat() for p in pubs}
    assert at["tscp-neglect-2025/mon/x/at-1600"] == "2025-03-24T16:00:00+00:00"  # two X posts on Monday
    assert at["tscp-neglect-2025/fri-21-mar/x/launch"] == "2025-03-21T16:00:00+00:00"  # before the week
    assert at["tscp-neglect-2025/mon-31-mar/email/round-up"] == "2025-03-31T09:30:00+01:00"  # after it, BST
    assert [p.at for p in pubs] == sorted(p.at for p in pubs)


def test_the_example_error_output_is_current() -> None:
    shown = re.search(r"\$ practiceweek validate campaigns/my-week.yaml\n(.*?)\n\$ echo", SECTION, re.S)
    assert shown is not None
    text = (
        BASE.replace("start: 2024-06-24", "start: 2024-02-30")
        .replace("url: https://example.gov.uk/toolkit", "url: javascript:alert(1)")
        .replace("  title: Test week", "  titel: Test week")
    )
    with pytest.raises(CampaignError) as caught:
        load_text(text, "campaigns/my-week.yaml")
    lines = [p.render() for p in caught.value.problems]
    assert shown.group(1).splitlines() == [*lines, "1 of 1 file(s) invalid; nothing was scheduled or sent"]

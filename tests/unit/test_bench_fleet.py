"""The benchmarks' fleet (bench/fleet.py) is what it claims: partnerships that differ as real ones do, each
week valid, in both seed shapes, some without Bluesky or Mastodon."""

from __future__ import annotations

import sys
from pathlib import Path

from practiceweek.loader import load
from practiceweek.planner import plan
from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from fleet import partnership, write_fleet


def test_every_partnership_has_its_own_name_addresses_and_colours() -> None:
    fleet = [partnership(i) for i in range(300)]  # past the 151 areas: numbered, still distinct
    for key in ("name", "short_name", "domain", "website", "primary"):
        assert len({p[key] for p in fleet[:151]}) >= 140, key  # initials and hues may meet, names never
    for key in ("name", "domain", "website"):
        assert len({p[key] for p in fleet}) == 300, key


def test_each_week_of_the_fleet_validates_under_its_partnerships_own_name(tmp_path: Path) -> None:
    paths = write_fleet(tmp_path, "fleet", 12)
    weeks = [load(path) for path in paths]  # raises CampaignError, with every problem, on an invalid week
    assert len({w.id for w in weeks}) == 12
    for i, week in enumerate(weeks):
        organiser = week.model.campaign.organiser
        assert organiser.name == partnership(i)["name"] and organiser.website == partnership(i)["website"]
        assert all(r.endswith("@" + partnership(i)["domain"])
                   for a in week.model.campaign.audiences.values() for r in a.recipients)
    channels = [{p.channel for p in plan(w.model)} for w in weeks]
    assert any("teams_event" in c for c in channels) and any("teams_event" not in c for c in channels)
    assert any("bluesky" not in c for c in channels) and any("mastodon" not in c for c in channels)

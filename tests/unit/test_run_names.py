"""What operators read in the Prefect UI: a window run's name says when, whose and how many."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flows.plan.windows import publishes_only
from flows.runtime.names import CAMPAIGN_TAGS_MAX, MANY_CAMPAIGNS, tags_for, window_name
from ledger import Row
from ledger.states import State

LONDON = ZoneInfo("Europe/London")
MONDAY_9 = dt.datetime(2024, 11, 25, 9, 0, tzinfo=LONDON).timestamp()
_ids = itertools.count()


def row(campaign: str, channel: str) -> Row:
    return Row(
        id=f"{campaign}/mon/{channel}/{next(_ids)}", campaign=campaign, day="mon", channel=channel,
        connector=channel, title="t", fingerprint="f", planned_at=MONDAY_9, scheduled_at=MONDAY_9,
        missed_window_s=3600, depends_on=(), event_id=None, state=State.PENDING, attempts=0, owner=None,
        lease_until=None, remote_id=None, url=None, join_url=None, error=None, revision=1, created_at=0,
        updated_at=0, sending_at=None, sent_at=None, account="",
    )


def test_a_window_of_one_campaign_names_it_and_counts_its_publications_in_local_time() -> None:
    rows = [row("iowscp-da-2024", c) for c in ("x", "bluesky", "email")]
    assert window_name(rows, MONDAY_9, LONDON) == "Mon 25 Nov 09:00 · iowscp-da-2024 · 3 publications"


def test_a_window_of_several_campaigns_says_how_many() -> None:
    rows = [row("iowscp-da-2024", "x"), row("hscp-lfr-2024", "x"), row("hscp-lfr-2024", "email")]
    assert window_name(rows, MONDAY_9, LONDON) == "Mon 25 Nov 09:00 · 2 campaigns · 3 publications"


def test_a_window_of_one_publication_is_named_after_it() -> None:
    assert window_name([row("iowscp-da-2024", "x")], MONDAY_9, LONDON) == "iowscp-da-2024 · Mon 25 Nov · x"


def test_a_run_lists_each_campaign_it_publishes_in_its_tags_up_to_what_prefect_accepts() -> None:
    few = [row(f"p{i:03d}-2024", "x") for i in range(CAMPAIGN_TAGS_MAX)]
    tags = tags_for(few)
    assert tags[0] == "practiceweek"
    assert [t for t in tags if t.startswith("campaign")] == [f"campaign:p{i:03d}-2024" for i in range(80)]
    many = [*few, row("p999-2024", "x")]  # one more: a lane of a national burst
    tags = tags_for(many)
    assert [t for t in tags if t.startswith("campaign")] == [MANY_CAMPAIGNS]
    assert len(tags) < 100 - 4  # Prefect: 100 related resources, the run's flow, deployment, queue, pool


def test_a_command_leaves_alone_a_run_that_publishes_more_campaigns_than_its_tags_list() -> None:
    listed = SimpleNamespace(tags=["practiceweek", "campaign:a", "campaign:b", "day:mon"])
    assert publishes_only(listed, {"a", "b", "c"})
    assert not publishes_only(listed, {"a"})
    unlisted = SimpleNamespace(tags=tags_for([row(f"p{i}", "x") for i in range(CAMPAIGN_TAGS_MAX + 1)]))
    assert not publishes_only(unlisted, {f"p{i}" for i in range(CAMPAIGN_TAGS_MAX + 1)})

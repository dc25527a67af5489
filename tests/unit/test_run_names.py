"""What operators read in the Prefect UI: a window run's name says when, whose and how many."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from flows.runtime.names import window_name
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

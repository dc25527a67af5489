"""Engagement read back through each connector's real SDK from the local provider servers: the figures
the servers were told, in their wire formats, and every read fault classified for a later retry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectors.base import NotAvailable, Reading, RetryableError, Sent
from tests.servers import graph_reads
from tests.servers.harness import build

NOW = dt.datetime.now(dt.UTC)


def _sent(harness, receipt, **kw) -> Sent:
    pub = harness.item("daily").publication
    return Sent(receipt.publication_id, pub.channel, receipt.remote_id, NOW - dt.timedelta(minutes=1),
                url=receipt.url, join_url=receipt.extra.get("join_url"), **kw)


@pytest.fixture
def harness(request, tmp_path: Path):
    yield from build(request.param, tmp_path)


@pytest.mark.parametrize("harness", ["bluesky"], indirect=True)
def test_bluesky_reads_likes_reposts_replies_and_quotes(harness) -> None:
    receipt = harness.connector.publish(harness.item("daily"))
    harness.server.react(receipt.remote_id, likes=7, reposts=3, replies=2, quotes=1)
    got = harness.connector.engagement([_sent(harness, receipt)])
    assert got[receipt.publication_id].figures == {"likes": 7, "reposts": 3, "replies": 2, "quotes": 1}
    assert any(r.path.endswith("app.bsky.feed.getPosts") for r in harness.server.requests)


@pytest.mark.parametrize("harness", ["mastodon"], indirect=True)
def test_mastodon_reads_favourites_boosts_and_replies(harness) -> None:
    receipt = harness.connector.publish(harness.item("daily"))
    harness.server.react(receipt.remote_id, likes=5, boosts=4, replies=1)
    got = harness.connector.engagement([_sent(harness, receipt)])
    assert got[receipt.publication_id].figures == {"likes": 5, "reposts": 4, "replies": 1}


@pytest.mark.parametrize("harness", ["x"], indirect=True)
def test_x_reads_public_metrics_or_says_the_tier_does_not_allow_it(harness) -> None:
    receipt = harness.connector.publish(harness.item("daily"))
    harness.server.react(receipt.remote_id, likes=9, reposts=2, replies=3, quotes=0)
    got = harness.connector.engagement([_sent(harness, receipt)])[receipt.publication_id]
    assert isinstance(got, Reading)
    assert got.figures == {"likes": 9, "reposts": 2, "replies": 3, "quotes": 0, "impressions": 90}
    harness.server.tier = "free"
    got = harness.connector.engagement([_sent(harness, receipt)])[receipt.publication_id]
    assert got == NotAvailable("not available on this tier")


@pytest.mark.parametrize("harness", ["graph_events"], indirect=True)
def test_teams_meeting_attendance_from_its_attendance_reports(harness) -> None:
    receipt = harness.connector.publish(harness.item("daily"))
    join = receipt.extra["join_url"]
    graph_reads.attend(harness.server, join, [("a@example.org", 3600), ("b@example.org", 1800)],
                       [("a@example.org", 600), ("c@example.org", 1200)])
    got = harness.connector.engagement([_sent(harness, receipt, account="comms@example.org")])
    assert got[receipt.publication_id].figures == {"sessions": 2, "attendees": 3, "minutes": 120}


@pytest.mark.parametrize("harness", ["graph_mail"], indirect=True)
def test_email_counts_recipients_and_the_bounces_that_came_back_for_it(harness) -> None:
    item = harness.item("daily")
    receipt = harness.connector.publish(item)
    box = "comms@example.org"
    graph_reads.bounce(harness.server, box, receipt.remote_id, item.subject, "gone@example.org")
    graph_reads.bounce(harness.server, box, receipt.remote_id, item.subject, "left@example.org")
    graph_reads.bounce(harness.server, box, "<someone-else@example.org>", "Other", "x@example.org")
    got = harness.connector.engagement([_sent(harness, receipt, account=box, recipients=40)])
    assert got[receipt.publication_id].figures == {"recipients": 40, "undelivered": 2}


READ_PATHS = {"bluesky": "getPosts$", "mastodon": r"^/api/v1/statuses/\d+$", "x": "^/2/tweets$",
              "graph_events": "onlineMeetings$"}


@pytest.mark.parametrize("harness", list(READ_PATHS), indirect=True)
@pytest.mark.parametrize("fault", ["429", "503", "500", "timeout"])
def test_a_refused_or_slow_read_is_retryable_and_then_succeeds(harness, fault: str) -> None:
    receipt = harness.connector.publish(harness.item("daily"))
    sent = _sent(harness, receipt, account="comms@example.org")
    harness.server.inject(fault, path=READ_PATHS[harness.name], method="GET")
    with pytest.raises(RetryableError) as caught:
        harness.connector.engagement([sent])
    if fault == "429":
        assert caught.value.retry_after is not None and caught.value.retry_after > 0  # the reset it named
    assert isinstance(harness.connector.engagement([sent])[receipt.publication_id], Reading)


@pytest.mark.parametrize("harness", ["outbox", "teams_channel", "web_page"], indirect=True)
def test_connectors_without_figures_say_so(harness) -> None:
    receipt = harness.connector.publish(harness.item("daily"))
    got = harness.connector.engagement([_sent(harness, receipt)])[receipt.publication_id]
    assert isinstance(got, NotAvailable) and "does not report" in got.reason

"""X, Bluesky and Mastodon through their real SDKs against local servers; Teams webhook."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from connectors.base import PermanentError, RetryableError
from connectors.bluesky import record_key
from connectors.registry import get_connector
from practiceweek import textlimits
from tests.servers import items
from tests.servers.harness import SECRETS, TIMEOUT

if TYPE_CHECKING:
    from tests.servers.bluesky import BlueskyServer
    from tests.servers.mastodon import MastodonServer
    from tests.servers.teams import TeamsWebhookServer
    from tests.servers.x import XServer

pytestmark = pytest.mark.timeout(60)


def _x(server: XServer):
    return get_connector(
        "x",
        consumer_key="ck-public",
        consumer_secret=SECRETS["x_consumer_secret"],
        access_token=SECRETS["x_token"],
        access_token_secret=SECRETS["x_token_secret"],
        base_url=server.url,
        upload_url=server.url,
        timeout=TIMEOUT,
    )


def test_x_thread_with_image_and_alt_text_signed_with_oauth1(x_server: XServer) -> None:
    conn = _x(x_server)
    item = items.social("x")
    receipt = conn.publish(item)
    first, second = x_server.tweets
    assert first["media"][0]["alt"] == "Poster: Think Family, Monday"
    assert second["referenced_tweets"] == [{"type": "replied_to", "id": first["id"]}]
    assert receipt.extra["thread"] == [first["id"], second["id"]]
    assert receipt.url == f"https://x.com/i/web/status/{first['id']}"
    assert x_server.auth_headers and all(
        h.startswith("OAuth ") and "oauth_signature=" in h for h in x_server.auth_headers
    )
    assert any(r.path == "/2/media/upload" for r in x_server.requests)
    assert any(r.path == "/2/media/metadata" for r in x_server.requests)
    conn.close()


def test_x_duplicate_refusal_is_reconciled_not_repeated(x_server: XServer) -> None:
    conn = _x(x_server)
    item = items.social("x", texts=("Just one post for Monday",))
    first = conn.publish(item)
    again = conn.publish(item)  # without find(): X answers 403 duplicate; the connector looks it up
    assert again.remote_id == first.remote_id and len(x_server.tweets) == 1
    conn.close()


def test_x_rate_limit_reset_becomes_retry_after(x_server: XServer) -> None:
    conn = _x(x_server)
    x_server.inject("429", path="^/2/tweets$", method="POST")
    with pytest.raises(RetryableError) as caught:
        conn.publish(items.social("x", texts=("One",)))
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 2
    conn.close()


LONG_LINK = "Think Family this week: https://intranet.example.org/safeguarding/" + "practice-week-" * 30


def test_x_counts_links_as_x_does_so_a_valid_post_with_a_long_link_goes_out(x_server: XServer) -> None:
    assert len(LONG_LINK) > 280 and textlimits.fits("x", LONG_LINK)  # validation accepts it
    conn = _x(x_server)
    receipt = conn.publish(items.social("x", texts=(LONG_LINK,)))
    assert [t["text"] for t in x_server.tweets] == [LONG_LINK]
    assert receipt.remote_id == x_server.tweets[0]["id"]
    conn.close()


def test_x_refuses_a_post_over_the_weighted_limit_before_any_request(x_server: XServer) -> None:
    text = "家庭" * 71  # 142 characters, but CJK weighs 2: 284
    assert len(text) <= 280 and not textlimits.fits("x", text)
    conn = _x(x_server)
    with pytest.raises(PermanentError, match="284 weighted characters"):
        conn.publish(items.social("x", texts=("First post", text)))
    assert x_server.requests == [] and x_server.tweets == []
    conn.close()


def test_social_connectors_take_their_limits_from_the_validation_table() -> None:
    from connectors.bluesky import BlueskyConnector
    from connectors.mastodon import MastodonConnector
    from connectors.x import XConnector

    for cls in (XConnector, BlueskyConnector, MastodonConnector):
        assert cls.text_network == cls.name and cls.max_text_length == textlimits.LIMITS[cls.name]


def _bluesky(server: BlueskyServer):
    return get_connector(
        "bluesky",
        handle=server.handle,
        app_password=SECRETS["bluesky_password"],
        base_url=server.url,
        timeout=TIMEOUT,
    )


def test_bluesky_counts_graphemes_not_code_points(bluesky_server: BlueskyServer) -> None:
    text = "e\u0301" * 300  # 300 graphemes (e + combining acute), 600 code points
    assert len(text) > 300 and textlimits.fits("bluesky", text)
    conn = _bluesky(bluesky_server)
    conn.publish(items.social("bluesky", texts=(text,)))
    assert [r["value"]["text"] for r in bluesky_server.records.values()] == [text]
    with pytest.raises(PermanentError, match="301 graphemes"):
        conn.publish(items.social("bluesky", "other", texts=("a" * 301,)))
    assert len(bluesky_server.records) == 1
    conn.close()


def test_bluesky_refuses_an_over_long_post_before_any_request(bluesky_server: BlueskyServer) -> None:
    with pytest.raises(PermanentError, match="Bluesky allows 300"):
        _bluesky(bluesky_server).publish(items.social("bluesky", texts=("a" * 301,)))
    assert bluesky_server.requests == []


def test_mastodon_counts_links_as_23_and_refuses_over_long_posts_before_any_request(
    mastodon_server: MastodonServer,
) -> None:
    conn = get_connector(
        "mastodon", base_url=mastodon_server.url, access_token=SECRETS["mastodon_token"], timeout=TIMEOUT
    )
    long_link = LONG_LINK + " " + "x" * 300  # over 500 characters, 348 as Mastodon counts
    assert len(long_link) > 500 and textlimits.fits("mastodon", long_link)
    conn.publish(items.social("mastodon", texts=(long_link,)))
    assert len(mastodon_server.statuses) == 1
    before = len(mastodon_server.requests)
    with pytest.raises(PermanentError, match="Mastodon allows 500"):
        conn.publish(items.social("mastodon", "other", texts=("a" * 501,)))
    assert len(mastodon_server.requests) == before and len(mastodon_server.statuses) == 1
    conn.close()


def test_bluesky_thread_rkeys_facets_and_alt(bluesky_server: BlueskyServer) -> None:
    conn = get_connector(
        "bluesky",
        handle=bluesky_server.handle,
        app_password=SECRETS["bluesky_password"],
        base_url=bluesky_server.url,
        timeout=TIMEOUT,
    )
    item = items.social("bluesky")
    receipt = conn.publish(item)
    keys = [record_key(item.publication, 0), record_key(item.publication, 1)]
    assert sorted(bluesky_server.records) == sorted(keys)
    head, reply = (bluesky_server.records[k]["value"] for k in keys)
    assert head["embed"]["images"][0]["alt"] == "Poster: Think Family, Monday"
    link = next(f for f in head["facets"] if f["features"][0]["$type"] == "app.bsky.richtext.facet#link")
    text = head["text"].encode()
    assert text[link["index"]["byteStart"] : link["index"]["byteEnd"]] == b"https://intranet.example/spw"
    assert reply["reply"]["root"]["uri"] == receipt.remote_id == reply["reply"]["parent"]["uri"]
    again = conn.publish(item)  # rkeys make it idempotent
    assert again.extra == receipt.extra and len(bluesky_server.records) == 2
    conn.close()


def test_bluesky_rkey_is_a_valid_tid() -> None:
    import re

    key = record_key(items.social("bluesky").publication, 0)
    assert re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", key)
    assert key != record_key(items.social("bluesky", "other").publication, 0)


def test_mastodon_idempotency_key_and_media_description(mastodon_server: MastodonServer) -> None:
    conn = get_connector(
        "mastodon", base_url=mastodon_server.url, access_token=SECRETS["mastodon_token"], timeout=TIMEOUT
    )
    item = items.social("mastodon", texts=("Monday: Think Family",))
    first = conn.publish(item)
    again = conn.publish(item)  # no find(): the Idempotency-Key makes the server return the first status
    assert again.remote_id == first.remote_id and len(mastodon_server.statuses) == 1
    keys = [
        r.headers.get("idempotency-key") for r in mastodon_server.requests if r.path == "/api/v1/statuses"
    ]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    media = mastodon_server.statuses[0]["media_attachments"][0]
    assert media["description"] == "Poster: Think Family, Monday"
    conn.close()


def test_mastodon_thread_replies_in_order(mastodon_server: MastodonServer) -> None:
    conn = get_connector(
        "mastodon", base_url=mastodon_server.url, access_token=SECRETS["mastodon_token"], timeout=TIMEOUT
    )
    receipt = conn.publish(items.social("mastodon"))
    head, reply = mastodon_server.statuses
    assert reply["in_reply_to_id"] == head["id"] and receipt.extra["thread"] == [head["id"], reply["id"]]
    conn.close()


def test_teams_card_envelope_and_202(teams_server: TeamsWebhookServer) -> None:
    server = teams_server
    conn = get_connector("teams_channel", webhook_url=server.webhook_url, timeout=TIMEOUT)
    item = items.card()
    receipt = conn.publish(item)
    marker = {"type": "TextBlock", "id": conn.marker(item), "text": " ", "isVisible": False}
    sent = items.card().card
    assert server.cards == [{**sent, "body": [*sent["body"], marker]}]  # the card and its hidden marker
    assert receipt.extra["status"] == 202 and receipt.remote_id == conn.marker(item)
    assert item.card == items.card().card  # the rendered card itself is left as it was
    conn.close()


def _warned_week(network: str):
    """The IOW seed's Monday post on ``network``, rendered with a content warning on the whole week."""
    import yaml

    from practiceweek.loader import load_text
    from practiceweek.planner import plan
    from practiceweek.render import render
    from tests.render_support import EVENTS_SEED

    data = yaml.safe_load(EVENTS_SEED.read_text())
    data["campaign"]["content_warning"] = {"text": "Domestic abuse", "bluesky": ["graphic-media"]}
    loaded = load_text(yaml.safe_dump(data, sort_keys=False), str(EVENTS_SEED))
    pub = next(p for p in plan(loaded.model) if p.id == f"iowscp-da-2024/mon/{network}/daily")
    return render(loaded, pub)


def test_a_content_warning_reaches_mastodon_as_spoiler_text(mastodon_server: MastodonServer) -> None:
    conn = get_connector(
        "mastodon", base_url=mastodon_server.url, access_token=SECRETS["mastodon_token"], timeout=TIMEOUT
    )
    item = _warned_week("mastodon")
    conn.publish(item)
    assert len(mastodon_server.statuses) == len(item.posts) >= 1
    assert [s["spoiler_text"] for s in mastodon_server.statuses] == ["Domestic abuse"] * len(item.posts)
    assert all(s["sensitive"] for s in mastodon_server.statuses)
    conn.publish(items.social("mastodon", "other", texts=("No warning here",)))
    assert mastodon_server.statuses[-1]["spoiler_text"] == ""  # a post without one carries none
    conn.close()


def test_bluesky_self_labels_are_a_valid_atproto_record(bluesky_server: BlueskyServer) -> None:
    from atproto import models

    conn = get_connector(
        "bluesky",
        handle=bluesky_server.handle,
        app_password=SECRETS["bluesky_password"],
        base_url=bluesky_server.url,
        timeout=TIMEOUT,
    )
    item = _warned_week("bluesky")
    conn.publish(item)
    head = bluesky_server.records[record_key(item.publication, 0)]["value"]
    assert head["labels"]["$type"] == "com.atproto.label.defs#selfLabels"
    assert [v["val"] for v in head["labels"]["values"]] == ["graphic-media"]
    record = models.AppBskyFeedPost.Record.model_validate(head)  # the lexicon's own model reads it back
    assert record.labels is not None and [v.val for v in record.labels.values] == ["graphic-media"]
    conn.close()

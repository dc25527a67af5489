"""Real rendered publications of a seed week, through the real connectors, into the local provider servers.

The connector tests use hand-built items; this proves the renderer's output and the connectors'
expectations meet (a card shape mismatch once had Teams reject every rendered card).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.registry import get_connector
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.helpers import CAMPAIGNS

if TYPE_CHECKING:
    from tests.servers.bluesky import BlueskyServer
    from tests.servers.mastodon import MastodonServer
    from tests.servers.teams import TeamsWebhookServer

SEED = CAMPAIGNS / "hscp-learning-from-reviews-2024.yaml"


def _first(channel: str):  # type: ignore[no-untyped-def]
    loaded = load(SEED)
    pub = next(p for p in plan(loaded.model) if p.channel == channel)
    return render(loaded, pub)


def test_a_rendered_teams_card_is_accepted_by_the_workflows_webhook(teams_server: TeamsWebhookServer) -> None:
    item = _first("teams_channel")
    server = teams_server
    conn = get_connector("teams_channel", webhook_url=server.webhook_url, timeout=5)
    receipt = conn.publish(item)
    assert receipt.publication_id == item.id
    assert len(server.cards) == 1
    card = server.cards[0]
    assert card["type"] == "AdaptiveCard"
    texts = [b.get("text", "") for b in card["body"] if isinstance(b, dict)]
    assert item.publication.title.split(": ", 1)[1] in texts


def test_a_rendered_mastodon_thread_arrives_once_with_its_image_description(
    mastodon_server: MastodonServer,
) -> None:
    item = _first("mastodon")
    server = mastodon_server
    conn = get_connector("mastodon", base_url=server.url, access_token=server.token, timeout=5)
    assert conn.find(item) is None
    conn.publish(item)
    assert conn.find(item) is not None
    assert len(server.statuses) == len(item.posts)


def test_a_rendered_bluesky_thread_carries_its_image_aspect_ratio_and_validates(
    bluesky_server: BlueskyServer,
) -> None:
    import io

    from atproto import models
    from atproto_client.models.utils import get_or_create
    from PIL import Image

    from tests.servers.harness import SECRETS

    item = _first("bluesky")
    image = item.posts[0].image
    assert image is not None
    width, height = Image.open(io.BytesIO(image.data)).size  # Pillow reads the renderer's own PNG
    server = bluesky_server
    conn = get_connector("bluesky", handle=server.handle, app_password=SECRETS["bluesky_password"],
                         base_url=server.url, timeout=5)
    conn.publish(item)
    records = [r["value"] for r in server.records.values()]
    assert len(records) == len(item.posts)
    first = get_or_create(records[0], models.AppBskyFeedPost.Record, strict=True)  # the lexicon's model
    (shown,) = first.embed.images
    assert (shown.aspect_ratio.width, shown.aspect_ratio.height) == (width, height)
    sent = records[0]["embed"]["images"][0]["aspectRatio"]
    assert (sent["width"], sent["height"]) == (width, height)
    assert shown.alt == image.alt
    for record in records[1:]:
        get_or_create(record, models.AppBskyFeedPost.Record, strict=True)

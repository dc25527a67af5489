"""Outbox and web-page connectors (atomic, idempotent files) and the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.base import Connector, PermanentError
from connectors.registry import NAMES, connector_class, get_connector
from practiceweek.artifacts import Attachment, Rendered
from tests.servers import items


def test_outbox_layout_and_receipt(tmp_path: Path) -> None:
    outbox = get_connector("outbox", folder=tmp_path)
    eml = b"Subject: Monday\r\n\r\nHello\r\n"
    item = items.email(
        "outbox",
        eml=eml,
        ics=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        attachments=(Attachment("poster.pdf", "application/pdf", b"%PDF-1.7"),),
    )
    receipt = outbox.publish(item)
    folder = tmp_path / "spw-2026" / "2026-03-02" / "email-daily"
    assert (folder / "message.eml").read_bytes() == eml
    assert (folder / "invite.ics").exists() and (folder / "attachments" / "poster.pdf").exists()
    assert json.loads((folder / "receipt.json").read_text())["publication_id"] == item.id
    assert outbox.find(item) == receipt
    assert not list(folder.rglob("*.tmp"))


def test_outbox_social_card_and_page(tmp_path: Path) -> None:
    outbox = get_connector("outbox", folder=tmp_path)
    outbox.publish(items.social("x"))
    outbox.publish(items.card())
    outbox.publish(items.page())
    x = tmp_path / "spw-2026" / "2026-03-02" / "x-daily"
    post = json.loads((x / "post-1.json").read_text())
    assert post["image"]["alt"] == "Poster: Think Family, Monday" and (x / post["image"]["file"]).exists()
    assert (
        json.loads((tmp_path / "spw-2026/2026-03-02/teams_channel-daily/card.json").read_text())["type"]
        == "AdaptiveCard"
    )
    assert (tmp_path / "spw-2026/2026-03-02/web_page-daily/files/assets/poster-mon.png").exists()


def test_outbox_is_idempotent(tmp_path: Path) -> None:
    outbox = get_connector("outbox", folder=tmp_path)
    item = items.email("outbox")
    first = outbox.publish(item)
    target = tmp_path / "spw-2026/2026-03-02/email-daily/message.json"
    mtime = target.stat().st_mtime_ns
    assert outbox.publish(item) == first and target.stat().st_mtime_ns == mtime


def test_outbox_default_folder_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRACTICEWEEK_OUTBOX", str(tmp_path / "elsewhere"))
    assert get_connector("outbox").root == tmp_path / "elsewhere"
    monkeypatch.delenv("PRACTICEWEEK_OUTBOX")
    assert get_connector("outbox").root == Path("outbox")


def test_web_page_publishes_files_atomically(tmp_path: Path) -> None:
    web = get_connector("web_page", folder=tmp_path, base_url="https://intranet.example/spw/")
    receipt = web.publish(items.page())
    campaign = items.page().publication.campaign
    assert receipt.url == f"https://intranet.example/spw/{campaign}/index.html"
    assert (tmp_path / campaign / "index.html").read_bytes().startswith(b"<!doctype html>")
    assert web.find(items.page()) == receipt
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_file_connectors_say_ahead_the_url_a_publication_will_have(tmp_path: Path) -> None:
    """What links to the week page is rendered ahead with this URL: it must be the receipt's."""
    web = get_connector("web_page", folder=tmp_path / "site", base_url="https://intranet.example/spw/")
    outbox = get_connector("outbox", folder=tmp_path / "outbox")
    for conn in (web, outbox):
        predicted = conn.url_for(items.page().publication)
        assert predicted is not None and predicted == conn.publish(items.page()).url
    assert web.url_for(items.card().publication) is None  # the web root serves pages only
    assert connector_class("x").url_for is Connector.url_for  # a post's address: only the provider knows


def test_web_page_refuses_paths_outside_the_root(tmp_path: Path) -> None:
    web = get_connector("web_page", folder=tmp_path / "site")
    bad = Rendered(publication=items.page().publication, subject="x", text="x", files={"../evil.html": b"x"})
    with pytest.raises(PermanentError, match="unsafe"):
        web.publish(bad)
    assert not (tmp_path / "evil.html").exists()


def test_registry_knows_every_connector_and_reads_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(NAMES) == {
        "outbox",
        "smtp_mail",
        "graph_mail",
        "graph_events",
        "graph_files",
        "teams_channel",
        "web_page",
        "x",
        "bluesky",
        "mastodon",
    }
    monkeypatch.setenv("PRACTICEWEEK_SMTP_HOST", "relay.example.org")
    monkeypatch.setenv("PRACTICEWEEK_SMTP_PORT", "2525")
    monkeypatch.setenv("PRACTICEWEEK_SMTP_PASSWORD", "env-pass-9999")
    conn = get_connector("smtp_mail")
    assert (conn.settings.host, conn.settings.port) == ("relay.example.org", 2525)
    assert "env-pass-9999" not in repr(conn.settings)
    monkeypatch.setenv("PRACTICEWEEK_MASTODON_BASE_URL", "https://social.example")
    monkeypatch.delenv("PRACTICEWEEK_MASTODON_ACCESS_TOKEN", raising=False)
    with pytest.raises(PermanentError, match="PRACTICEWEEK_MASTODON_ACCESS_TOKEN"):
        get_connector("mastodon")


def test_registry_rejects_unknown_names_and_options() -> None:
    with pytest.raises(PermanentError, match="unknown connector"):
        get_connector("fax")
    with pytest.raises(PermanentError, match="unknown option"):
        get_connector("outbox", colour="blue")


def test_graph_without_credentials_says_which_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TENANT_ID", "CLIENT_ID", "CLIENT_SECRET", "ACCESS_TOKEN", "BASE_URL"):
        monkeypatch.delenv(f"PRACTICEWEEK_GRAPH_{var}", raising=False)
    with pytest.raises(PermanentError, match="PRACTICEWEEK_GRAPH_CLIENT_SECRET"):
        get_connector("graph_mail", sender="comms@example.org")


def test_prefect_blocks_hold_secrets_as_secretstr() -> None:
    from connectors.credentials import GraphCredentials, TeamsWebhook

    block = GraphCredentials(tenant_id="t", client_id="c", client_secret="block-secret-4242", sender="a@b")
    assert "block-secret-4242" not in repr(block) and "block-secret-4242" not in str(block.model_dump())
    settings = block.settings()
    assert settings.client_secret is not None and settings.organiser == "a@b"
    assert settings.client_secret.get_secret_value() == "block-secret-4242"
    assert "block-secret-4242" not in repr(settings)
    assert TeamsWebhook(webhook_url="https://x.example/hook?sig=abcdef123456").settings().webhook_url

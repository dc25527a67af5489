"""Accounts per campaign: block names checked, secrets refused (and never repeated), the account carried by
each publication of its provider kind and by its fingerprint, and nothing changed for a file without them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from connectors.registry import SPECS
from practiceweek.accounts import KIND_OF, parse_route, route_label
from practiceweek.errors import CampaignError
from practiceweek.loader import Loaded, load_text
from practiceweek.planner import Publication, plan
from tests.helpers import FIXTURES

BASE: dict[str, Any] = yaml.safe_load((FIXTURES / "good_base.yaml").read_text())


def _load(accounts: Any | None = None, **channels: Any) -> Loaded:
    data = {**BASE, "campaign": dict(BASE["campaign"]), "channels": {**BASE["channels"], **channels}}
    if accounts is not None:
        data["campaign"]["accounts"] = accounts
    return load_text(yaml.safe_dump(data, sort_keys=False), "week.yaml")


MASTODON = {"mastodon": {"at": "12:00", "connector": "mastodon"}}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("https://iow:s3cret@mastodon.example", "a web address with a user name or password in it"),
        ("https://prod-12.uksouth.logic.azure.com/workflows/abc?sig=Zx81kQ",
         "a web address (webhook and API addresses can carry their secret)"),
        ("xK9fP2mQ7rT4vW8yZ1aB3cD5eF6gH0jL2nR", "a token"),  # a Mastodon access token
        ("3fa85f6457174562b3fc2c963f66afa6", "a token"),  # hex
        ("Bearer abc", "credentials"),
        ("iowscp:hunter2", "credentials"),
        ("Tr0ub4dor&3", "a password"),
    ],
)
def test_a_secret_is_refused_and_never_repeated(value: str, kind: str) -> None:
    with pytest.raises(CampaignError) as caught:
        _load({"mastodon": value}, **MASTODON)
    (error,) = caught.value.errors
    assert error.path == "campaign.accounts.mastodon"
    assert f"this looks like {kind}, not the name of a Prefect block" in error.message
    assert value not in str(caught.value) and "s3cret" not in str(caught.value)


def test_credentials_written_out_are_refused_without_repeating_them() -> None:
    with pytest.raises(CampaignError) as caught:
        _load({"mastodon": {"base_url": "https://m.example", "access_token": "tok-9f8e7d6c5b4a39281706"}})
    said = str(caught.value)
    assert "never the credentials" in said and "tok-9f8e7d6c5b4a39281706" not in said


@pytest.mark.parametrize("name", ["iowscp-mastodon", "hscp-m365-2024", "partnership2024mastodonaccount"])
def test_block_names_are_accepted(name: str) -> None:
    assert _load({"mastodon": name}, **MASTODON).model.campaign.accounts.mastodon == name


def test_an_account_no_channel_uses_is_a_warning() -> None:
    loaded = _load({"mastodon": "iowscp-mastodon", "x": "iowscp-x"}, **MASTODON)  # x goes to the outbox
    assert [(w.path, w.severity) for w in loaded.warnings] == [("campaign.accounts.x", "warning")]
    assert "the account 'iowscp-x' is not used" in loaded.warnings[0].message
    assert loaded.warnings[0].hint == "set 'connector: x' on the channel meant to use it"


def _fingerprints(pubs: list[Publication]) -> dict[str, str]:
    return {p.id: p.fingerprint for p in pubs}


def test_each_publication_carries_the_account_of_its_connector() -> None:
    accounts = {"mastodon": "iowscp-mastodon", "graph": "iowscp-m365"}
    email = {"email": {"at": "08:30", "audience": "practitioners", "connector": "graph_mail"}}
    pubs = plan(_load(accounts, **MASTODON, **email).model)
    by_channel = {(p.channel, p.account) for p in pubs}
    assert ("mastodon", "iowscp-mastodon") in by_channel and ("email", "iowscp-m365") in by_channel
    assert {p.account for p in pubs if p.connector == "outbox"} == {""}  # poster, x: the outbox, no account
    snapshot = next(p for p in pubs if p.channel == "mastodon").to_snapshot()
    assert Publication.from_snapshot(snapshot).account == "iowscp-mastodon"


def test_the_account_is_in_the_fingerprint_of_its_publications_only() -> None:
    without = _fingerprints(plan(_load(None, **MASTODON).model))
    iow = _fingerprints(plan(_load({"mastodon": "iowscp-mastodon"}, **MASTODON).model))
    pscp = _fingerprints(plan(_load({"mastodon": "pscp-mastodon"}, **MASTODON).model))
    changed = {pid for pid in without if without[pid] != iow[pid]}
    assert changed and all("/mastodon/" in pid for pid in changed)
    assert {pid for pid in iow if iow[pid] != pscp[pid]} == changed  # another block: re-planned again
    assert _fingerprints(plan(_load({}, **MASTODON).model)) == without  # no accounts: as before


def test_connector_kinds_agree_with_the_registry() -> None:
    assert KIND_OF == {name: spec[2] for name, spec in SPECS.items() if spec[2] is not None}


def test_routes_read_and_print_as_name_at_account() -> None:
    assert route_label("mastodon", "") == "mastodon" and parse_route("mastodon") == ("mastodon", "")
    assert parse_route(route_label("x", "iowscp-x")) == ("x", "iowscp-x")

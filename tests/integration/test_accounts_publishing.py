"""Accounts per campaign, through the flows' publish task: two partnerships on one deployment, each
publishing through its own Mastodon account (a Prefect block on the session's server, a fake instance of
its own). The Isle of Wight's revoked token holds only the Isle of Wight's posts; Portsmouth's go out;
each account has its own pacer; the alert and `connectors list/resume` name the account."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.publishing.outcomes import Outcome
from tests.helpers import ROOT, prefect_in_this_process
from tests.publishing import Publishing, week

IOW_TOKEN, PSCP_TOKEN = "iow-token-SECRET-0a1b", "pscp-token-SECRET-2c3d"


@pytest.fixture()
def process_env(prefect_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The flows' runtime on this test's ledger and outbox; Prefect's client (blocks, events) on the
    test's own server."""
    from flows.runtime import process

    Path(prefect_env["PRACTICEWEEK_STATE"]).mkdir(parents=True, exist_ok=True)
    monkeypatch.delenv("PRACTICEWEEK_OPERATORS_CONNECTOR", raising=False)
    process.reset()
    with prefect_in_this_process(prefect_env["PREFECT_API_URL"]):
        yield prefect_env
    process.reset()


def _partnership_week(folder: Path, cid: str, block: str) -> Path:
    """The test week through Mastodon, as campaign ``cid`` publishing through block ``block``."""
    data = yaml.safe_load(week(folder, "mastodon").read_text())
    data["campaign"].update(id=cid, accounts={"mastodon": block})
    path = folder / f"{cid}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _pw(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI without a Prefect server (resume then leaves held posts to the next heal round)."""
    plain = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    return subprocess.run([sys.executable, "-m", "cli", *args], env=plain, cwd=ROOT, text=True,
                          capture_output=True, timeout=120)


def _pacer_keys(env: dict[str, str]) -> list[str]:
    path = env["PRACTICEWEEK_LEDGER_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return sorted(r[0] for r in conn.execute("SELECT key FROM pacers WHERE key LIKE 'mastodon:%'"))


def test_a_revoked_token_holds_only_its_partnerships_posts(
    process_env: dict[str, str], tmp_path: Path, fake_server: Any
) -> None:
    from connectors.credentials import MastodonCredentials
    from flows.runtime import process

    iow, pscp = fake_server("mastodon", token=IOW_TOKEN), fake_server("mastodon", token=PSCP_TOKEN)
    for name, url, token in (("iowscp", iow.url, "a-revoked-token"), ("pscp", pscp.url, PSCP_TOKEN)):
        MastodonCredentials(base_url=url, access_token=token).save(f"{name}-mastodon", overwrite=True)
    led = process.ledger()
    weeks = {cid: Publishing.schedule(led, _partnership_week(tmp_path, cid, f"{cid}-mastodon"))
             for cid in ("iowscp", "pscp")}
    for cid, w in weeks.items():
        assert {w.row(pid).route for pid in w.ids} == {("mastodon", f"{cid}-mastodon")}

    outcomes = {cid: [w.publish(pid) for pid in w.ids] for cid, w in weeks.items()}
    assert outcomes["iowscp"] == [Outcome.HELD] * len(weeks["iowscp"].ids)
    assert outcomes["pscp"] == [Outcome.SENT] * len(weeks["pscp"].ids)
    assert len(pscp.statuses) == len(weeks["pscp"].ids) and iow.statuses == []
    assert len([q for q in iow.requests if q.path.startswith("/api/v1/")]) == 1  # the rest held unasked
    assert set(led.stopped()) == {("mastodon", "iowscp-mastodon")}
    assert {led.get(pid).state for pid in weeks["iowscp"].ids} == {"pending"}  # type: ignore[union-attr]
    assert len(_pacer_keys(process_env)) == 1  # Portsmouth's (the Isle of Wight's was refused before it)

    outbox = Path(process_env["PRACTICEWEEK_OUTBOX"]) / "operators"
    alerts = [p.read_text() for p in outbox.rglob("message.json")]
    assert len(alerts) == 1
    assert "mastodon connector for the account in Prefect block 'iowscp-mastodon' was stopped" in alerts[0]
    assert "practiceweek connectors resume mastodon@iowscp-mastodon" in alerts[0]
    assert "a-revoked-token" not in alerts[0]
    listed = _pw(process_env, "connectors", "list")
    assert "\nmastodon@iowscp-mastodon: stopped since" in listed.stdout, listed

    iow.token = "a-revoked-token"  # the partnership fixed its token; the operator resumes that account only
    assert _pw(process_env, "connectors", "resume", "mastodon").returncode == 2  # the default: never stopped
    resumed = _pw(process_env, "connectors", "resume", "mastodon@iowscp-mastodon")
    assert resumed.returncode == 0, resumed.stderr
    assert led.stopped() == {}
    ids = weeks["iowscp"].ids
    assert [weeks["iowscp"].publish(pid) for pid in ids] == [Outcome.SENT] * len(ids)
    assert len(iow.statuses) == len(ids) and len(pscp.statuses) == len(weeks["pscp"].ids)  # each once
    assert len(_pacer_keys(process_env)) == 2  # one pacer per account


def test_validate_online_reports_an_account_missing_from_the_prefect_server(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    from connectors.credentials import MastodonCredentials

    MastodonCredentials(base_url="https://m.example", access_token="t").save("hscp-mastodon", overwrite=True)
    data = yaml.safe_load(week(tmp_path, "mastodon").read_text())
    data["channels"]["x"] = {"at": "12:00", "connector": "x"}
    data["campaign"]["accounts"] = {"mastodon": "hscp-mastodon", "x": "hscp-x"}  # no block hscp-x
    path = tmp_path / "hscp.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "x: hscp-x" in text)

    offline = _pw(process_env, "validate", str(path))  # never asks a server
    assert offline.returncode == 0, offline.stderr
    online = subprocess.run([sys.executable, "-m", "cli", "validate", "--online", str(path)], env=process_env,
                            cwd=ROOT, text=True, capture_output=True, timeout=120)
    assert online.returncode == 2, online
    assert online.stderr.splitlines()[0] == (
        f"{path}:{line}:8: error: campaign.accounts.x: no XCredentials block named 'hscp-x' on the Prefect "
        f"server at {process_env['PREFECT_API_URL']} (create it (one block per partnership and provider; see "
        "docs/deploy/credentials.md) or correct the name)"
    )
    assert "mastodon" not in online.stderr


def test_a_partnerships_teams_card_is_looked_for_in_its_own_tenant(
    process_env: dict[str, str], fake_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ambiguous Teams post is reconciled through the Graph tenant the partnership's Teams account names
    (``graph_block``), not the deployment's default one, which cannot see that channel: found, not sent
    twice."""
    from connectors.credentials import GraphCredentials, TeamsWebhook
    from connectors.registry import get_connector
    from tests.servers import items

    teams, own, other = fake_server("teams"), fake_server("graph"), fake_server("graph")
    own.channel_cards = lambda: list(teams.cards)  # the partnership's tenant holds the channel
    monkeypatch.setenv("PRACTICEWEEK_GRAPH_BASE_URL", other.url + "/v1.0")  # the default tenant: not its
    monkeypatch.setenv("PRACTICEWEEK_GRAPH_ACCESS_TOKEN", other.token)
    GraphCredentials(tenant_id="t", client_id="c", client_secret="unused", access_token=own.token,
                     base_url=own.url + "/v1.0").save("iowscp-graph", overwrite=True)
    TeamsWebhook(webhook_url=teams.webhook_url, team_id="team-1", channel_id="19:c@thread.tacv2",
                 graph_block="iowscp-graph").save("iowscp-teams", overwrite=True)

    conn = get_connector("teams_channel", block="iowscp-teams")
    card = items.card()
    assert conn.find(card) is None  # not posted yet
    receipt = conn.publish(card)
    found = conn.find(card)  # as after a timeout once Teams took it
    assert found is not None and found.remote_id == receipt.remote_id
    assert len(teams.cards) == 1 and not other.requests  # the default tenant was never asked


def _joint_week(folder: Path) -> Path:
    """The test week through Mastodon as one joint week of two partners, each on its own account."""
    data = yaml.safe_load(week(folder, "mastodon").read_text())
    audiences = {"practitioners": {"description": "Practitioners", "recipients": ["list@example.gov.uk"]}}
    shared = {k: v for k, v in data["campaign"].items() if k not in ("audiences", "allowed_email_domains")}
    data["campaign"] = {**shared, "id": "joint", "partners": {
        key: {"organiser": {"name": f"{name} Safeguarding Children Partnership", "short_name": short,
                            "email": "tscp@example.gov.uk"},
              "audiences": audiences, "allowed_email_domains": ["example.gov.uk"],
              "accounts": {"mastodon": f"{short.lower()}-mastodon"}}
        for key, name, short in (("isle-of-wight", "Isle of Wight", "IOWSCP"),
                                 ("portsmouth", "Portsmouth", "PSCP"))}}
    path = folder / "joint.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_in_a_joint_week_one_partners_revoked_token_holds_only_its_posts(
    process_env: dict[str, str], tmp_path: Path, fake_server: Any
) -> None:
    from connectors.credentials import MastodonCredentials
    from flows.runtime import process

    iow, pscp = fake_server("mastodon", token=IOW_TOKEN), fake_server("mastodon", token=PSCP_TOKEN)
    for name, url, token in (("iowscp", iow.url, "a-revoked-token"), ("pscp", pscp.url, PSCP_TOKEN)):
        MastodonCredentials(base_url=url, access_token=token).save(f"{name}-mastodon", overwrite=True)
    led = process.ledger()
    joint = Publishing.schedule(led, _joint_week(tmp_path))
    mine = {key: [pid for pid in joint.ids if pid.endswith(f"/{key}")]
            for key in ("isle-of-wight", "portsmouth")}
    assert mine["isle-of-wight"] and len(mine["isle-of-wight"]) == len(mine["portsmouth"])
    assert {joint.row(pid).route for pid in mine["portsmouth"]} == {("mastodon", "pscp-mastodon")}
    outcomes = {key: [joint.publish(pid) for pid in ids] for key, ids in mine.items()}
    assert outcomes["isle-of-wight"] == [Outcome.HELD] * len(mine["isle-of-wight"])
    assert outcomes["portsmouth"] == [Outcome.SENT] * len(mine["portsmouth"])  # not held by the other's
    assert set(led.stopped()) == {("mastodon", "iowscp-mastodon")}
    assert len(pscp.statuses) == len(mine["portsmouth"]) and iow.statuses == []

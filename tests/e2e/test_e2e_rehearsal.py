"""End to end on a real Prefect server: a seed week rehearsed to the outbox, edited mid-week, killed and
restarted; every publication arrives exactly once, in order, with its content; the UI shows the plan."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx
import pytest

from ledger import Ledger, Row
from tests.helpers import ROOT, kill_tree, states, wait_until

if TYPE_CHECKING:
    from tests.servers.mastodon import MastodonServer

pytestmark = pytest.mark.slow
SEED = ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml"
CID = "hscp-lfr-2024"
PW = [sys.executable, "-m", "cli"]
# the seed week (Mon 08:00 → Fri 12:00) in about 90 s: Thursday's email, which the edit moves, is then a
# minute after Monday's first publication; at 30 s a week (12000) a crowded machine re-planned the edit
# only after the whole week had gone out (both window runs Completed), and nothing was left to move
SPEED = "4000"


def _env(prefect_env: dict[str, str]) -> dict[str, str]:
    return {**prefect_env, "PRACTICEWEEK_REHEARSAL_START_S": "8"}


def _runs_report(api: str) -> str:
    """The latest flow runs, for a failure message."""
    r = httpx.post(f"{api}/flow_runs/filter", json={"sort": "EXPECTED_START_TIME_DESC", "limit": 15})
    return "\n".join(f"{fr['name']} {fr['state_name']} {fr['parameters']}" for fr in r.json())


def _diffs(api: str) -> list[dict]:
    """Every version of the campaign's diff artifact."""
    query = {"artifacts": {"key": {"any_": [f"diff-{CID}"]}}}
    return httpx.post(f"{api}/artifacts/filter", json=query).json()


def _outbox_items(outbox: Path) -> dict[str, Path]:
    """Publication id → its outbox folder (one receipt.json per publication that went out)."""
    found: dict[str, Path] = {}
    for receipt in (outbox / CID).rglob("receipt.json"):
        pid = json.loads(receipt.read_text())["publication_id"]
        assert pid not in found, f"{pid} is in the outbox twice"
        found[pid] = receipt.parent
    return found


def _assert_once_in_order_with_content(rows: list[Row], outbox: Path) -> None:
    sent = [r for r in rows if r.state == "sent" and r.connector == "outbox"]
    items = _outbox_items(outbox)
    assert sorted(items) == sorted(r.id for r in sent)  # exactly the sent ones, each once
    delivered = {
        pid: json.loads((folder / "receipt.json").read_text())["at"] for pid, folder in items.items()
    }
    for channel in {r.channel for r in sent}:  # each channel delivered in the order of its days
        by_send = sorted((r for r in sent if r.channel == channel), key=lambda r: delivered[r.id])
        assert [r.id for r in by_send] == [r.id for r in sorted(by_send, key=lambda r: r.scheduled_at)]
    for r in sent:
        files = [p for p in items[r.id].rglob("*") if p.is_file() and p.name != "receipt.json"]
        assert files and all(p.stat().st_size > 0 for p in files), r.id
    email = next(r for r in sent if r.channel == "email")
    eml = (items[email.id] / "message.eml").read_bytes()
    assert b"Subject:" in eml


def test_rehearsed_week_edited_killed_and_restarted_goes_out_once_in_order(
    prefect_env: dict[str, str], tmp_path: Path, mastodon_server: MastodonServer
) -> None:
    """Rehearse the seed week (Mastodon through its local server, with a 429 and a 503 on the way), edit the
    file mid-week (a trigger re-plans it), kill -9 everything mid-week, restart: once each, in order."""
    server = mastodon_server
    server.inject("429", path="/api/v1/statuses", method="POST", times=1)
    server.inject("503", path="/api/v1/statuses", method="POST", times=1)
    env = {
        **_env(prefect_env),
        "PRACTICEWEEK_MASTODON_BASE_URL": server.url,
        "PRACTICEWEEK_MASTODON_ACCESS_TOKEN": server.token,
    }
    folder = tmp_path / "campaigns"
    folder.mkdir()
    camp = folder / "week.yaml"
    camp.write_text(
        SEED.read_text().replace(
            '  mastodon: { at: "12:00"', '  mastodon: { at: "12:00", connector: mastodon'
        )
    )
    cmd = [*PW, "run", str(camp), "--rehearse", "--speed", SPEED, "--timeout", "240"]
    watcher = subprocess.Popen(
        [*PW, "watch", str(folder), "--once"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
    thu = f"{CID}/thu/email/daily"
    try:
        assert watcher.stdout is not None and "watching" in watcher.stdout.readline()
        wait_until(lambda: any(r.state == "sent" for r in led.rows(CID)), 90, "Monday's first publication",
                   seen=lambda: states(led))
        planned = {r.id: r for r in led.rows(CID)}
        assert planned[thu].state not in ("sent", "sending"), "Thursday went out before the edit"
        # the edit: bluesky off for the rest of the week, Thursday's email at 10:30 instead of 08:30
        text = re.sub(r"^  bluesky: .*\n", "", camp.read_text(), flags=re.M)
        camp.write_text(
            text.replace(
                "  - weekday: thursday\n", '  - weekday: thursday\n    channels: { email: { at: "10:30" } }\n'
            )
        )
        out, _ = watcher.communicate(timeout=60)
        assert "posted practiceweek.campaign.changed" in out
        try:
            wait_until(
                lambda: led.get(thu).scheduled_at != planned[thu].scheduled_at,
                60,  # type: ignore[union-attr]
                "the trigger to re-plan the edited file",
            )
            # the re-plan records its diff for operators just after applying it: let it finish first
            wait_until(lambda: any("**moved**" in d["data"] for d in _diffs(env["PREFECT_API_URL"])), 30,
                  "the re-plan's diff artifact")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_runs_report(env['PREFECT_API_URL'])}") from None
    finally:
        kill_tree(first.pid)  # mid-week: the CLI, the serving process and every flow-run process
        if watcher.poll() is None:
            kill_tree(watcher.pid)
    first.wait(10)
    before = {r.id: r.state for r in led.rows(CID)}
    assert sum(s == "sent" for s in before.values()) < sum(s != "cancelled" for s in before.values())
    try:
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    finally:
        server.stop()
    assert second.returncode == 0, second.stdout + second.stderr
    out = second.stdout

    rows = led.rows(CID)
    ended = {r.id: r.state for r in rows}
    bluesky = [r for r in rows if r.channel == "bluesky"]
    assert {r.state for r in bluesky} <= {"sent", "cancelled"}
    assert ended[f"{CID}/thu/bluesky/daily"] == ended[f"{CID}/fri/bluesky/daily"] == "cancelled"
    assert all(s == "sent" for pid, s in ended.items() if "/bluesky/" not in pid)
    for r in rows:  # one claim each, unless the crash caught it mid-send (then reconciled) or a 429/503
        if r.state == "sent":
            assert r.attempts == 1 or before[r.id] in ("sending", "unknown") or r.channel == "mastodon", r
    thu_row = led.get(thu)
    assert thu_row is not None
    local = dt.datetime.fromtimestamp(thu_row.planned_at, ZoneInfo("Europe/London"))
    assert (local.hour, local.minute) == (10, 30)
    _assert_once_in_order_with_content(rows, Path(env["PRACTICEWEEK_OUTBOX"]))
    # Mastodon: each day exactly once, in spite of the 429, the 503 and the kill
    mastodon = [r for r in rows if r.channel == "mastodon"]
    roots = [s for s in server.statuses if not s["in_reply_to_id"]]
    assert len(roots) == len(mastodon) == 5
    assert len({s["content"] for s in server.statuses}) == len(server.statuses)
    assert {r.url for r in mastodon} == {s["url"] for s in roots}
    assert len(server.fault_log) == 2  # the 429 and the 503 happened, and were retried
    assert "published" in out and "Prefect UI:" in out
    # the difference was recorded for operators, and the plan shows live status
    r = httpx.post(
        f"{env['PREFECT_API_URL']}/artifacts/latest/filter",
        json={"artifacts": {"key": {"any_": [f"diff-{CID}", f"plan-{CID}"]}}},
    )
    keys = {a["key"]: a for a in r.json()}
    diffs = _diffs(env["PREFECT_API_URL"])
    edits = [d["data"] for d in diffs]
    assert any("**moved**" in d and "**cancelled**" in d for d in edits), edits
    assert "sent" in json.dumps(keys[f"plan-{CID}"]["data"])


def test_the_prefect_ui_shows_the_weeks_plan(prefect_env: dict[str, str], tmp_path: Path) -> None:
    """A rehearsal of its own on its own server, then the plan's table in the Prefect UI, as an operator
    opens it: the artifact's key, then its latest version, with the publications and their states."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    env = _env(prefect_env)
    cmd = [*PW, "run", str(SEED), "--rehearse", "--speed", "40000", "--timeout", "150"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    api, ui = env["PREFECT_API_URL"], env["PREFECT_API_URL"].removesuffix("/api")
    r = httpx.post(f"{api}/artifacts/latest/filter", json={"artifacts": {"key": {"any_": [f"plan-{CID}"]}}})
    assert r.json(), f"the rehearsal left no plan-{CID} artifact:\n{_runs_report(api)}"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.goto(f"{ui}/artifacts/key/plan-{CID}", timeout=60_000)
            page.get_by_text(f"The week's plan of {CID}").first.wait_for(timeout=60_000)
            assert page.get_by_text(f"plan-{CID}").count() >= 1
            page.locator("a[href*='/artifacts/artifact/']").first.click()  # the latest version: the table
            page.get_by_text("mon/email/daily").first.wait_for(timeout=60_000)  # the id without the campaign
            assert page.get_by_text("sent").count() >= 1
        finally:
            browser.close()

"""End to end on a real Prefect server: a seed week rehearsed to the outbox, edited mid-week, killed and
restarted; every publication arrives exactly once, in order, with its content; the UI shows the plan."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import kill_tree

from practiceweek.ledger import Ledger, Row

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml"
CID = "hscp-lfr-2024"
PW = [sys.executable, "-m", "practiceweek.cli"]
SPEED = "12000"  # the seed week (Mon 08:00 → Fri 12:00) in about 30 s


def _env(prefect_env: dict[str, str]) -> dict[str, str]:
    return {**prefect_env, "PRACTICEWEEK_REHEARSAL_START_S": "8"}


def _wait(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _outbox_items(outbox: Path) -> dict[str, Path]:
    """Publication id → its outbox folder (one receipt.json per publication that went out)."""
    found: dict[str, Path] = {}
    for receipt in (outbox / CID).rglob("receipt.json"):
        pid = json.loads(receipt.read_text())["publication_id"]
        assert pid not in found, f"{pid} is in the outbox twice"
        found[pid] = receipt.parent
    return found


def _assert_once_in_order_with_content(rows: list[Row], outbox: Path) -> None:
    sent = [r for r in rows if r.state == "sent"]
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


def test_rehearsed_week_goes_out_once_in_order_and_applies_an_edit(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    env = _env(prefect_env)
    folder = tmp_path / "campaigns"
    folder.mkdir()
    camp = folder / "week.yaml"
    shutil.copy(SEED, camp)
    watcher = subprocess.Popen(
        [*PW, "watch", str(folder), "--once"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    runner = subprocess.Popen(
        [*PW, "run", str(camp), "--rehearse", "--speed", SPEED, "--timeout", "150"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert watcher.stdout is not None and "watching" in watcher.stdout.readline()
        led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
        _wait(lambda: any(r.state == "sent" for r in led.rows(CID)), 90, "Monday's first publication")
        planned = {r.id: r for r in led.rows(CID)}
        # the edit: mastodon off for the rest of the week, Thursday's email at 10:30 instead of 08:30
        text = camp.read_text()
        text = re.sub(r"^  mastodon: .*\n", "", text, flags=re.M)
        text = text.replace(
            "  - weekday: thursday\n", '  - weekday: thursday\n    channels: { email: { at: "10:30" } }\n'
        )
        camp.write_text(text)
        out, _ = watcher.communicate(timeout=60)
        assert "posted practiceweek.campaign.changed" in out
        thu = f"{CID}/thu/email/daily"
        _wait(
            lambda: led.get(thu).scheduled_at != planned[thu].scheduled_at,
            60,  # type: ignore[union-attr]
            "the trigger to re-plan the edited file",
        )
        out, _ = runner.communicate(timeout=180)
    finally:
        for p in (watcher, runner):
            if p.poll() is None:
                kill_tree(p.pid)
    assert runner.returncode == 0, out
    rows = led.rows(CID)
    states = {r.id: r.state for r in rows}
    mastodon = [r for r in rows if r.channel == "mastodon"]
    assert {r.state for r in mastodon} <= {"sent", "cancelled"}
    assert (
        states[f"{CID}/fri/mastodon/daily"] == "cancelled" and states[f"{CID}/mon/mastodon/daily"] == "sent"
    )
    assert all(s == "sent" for pid, s in states.items() if "/mastodon/" not in pid)
    thu_row = led.get(thu)
    assert thu_row is not None
    local = dt.datetime.fromtimestamp(thu_row.planned_at, ZoneInfo("Europe/London"))
    assert (local.hour, local.minute) == (10, 30)
    _assert_once_in_order_with_content(rows, Path(env["PRACTICEWEEK_OUTBOX"]))
    assert "published" in out and "Prefect UI:" in out
    # the difference was recorded for operators
    r = httpx.post(
        f"{env['PREFECT_API_URL']}/artifacts/latest/filter",
        json={"artifacts": {"key": {"any_": [f"diff-{CID}", f"plan-{CID}"]}}},
    )
    keys = {a["key"]: a for a in r.json()}
    assert "moved" in keys[f"diff-{CID}"]["data"] and "cancelled" in keys[f"diff-{CID}"]["data"]
    assert "sent" in json.dumps(keys[f"plan-{CID}"]["data"])


def test_kill_9_mid_week_then_restart_gives_no_duplicate_and_no_loss(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    env = _env(prefect_env)
    camp = tmp_path / "week.yaml"
    shutil.copy(SEED, camp)
    cmd = [*PW, "run", str(camp), "--rehearse", "--speed", SPEED, "--timeout", "150"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
    try:
        _wait(lambda: sum(r.state == "sent" for r in led.rows(CID)) >= 10, 90, "ten publications")
    finally:
        kill_tree(first.pid)  # the CLI, the serving process and every flow-run process, mid-week
    first.wait(10)
    time.sleep(1)
    before = {r.id: r.state for r in led.rows(CID)}
    assert 10 <= sum(s == "sent" for s in before.values()) < len(before)
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=200)
    assert second.returncode == 0, second.stdout + second.stderr
    rows = led.rows(CID)
    assert len(rows) == len(before) and all(r.state == "sent" for r in rows)
    for r in rows:  # one claim each, unless a crash caught it mid-send: then reconciled before any retry
        assert r.attempts == 1 or before[r.id] in ("sending", "unknown"), (r.id, r.attempts, before[r.id])
    _assert_once_in_order_with_content(rows, Path(env["PRACTICEWEEK_OUTBOX"]))


def test_the_prefect_ui_shows_the_weeks_plan(prefect_server: dict[str, str]) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    r = httpx.post(
        f"{prefect_server['api_url']}/artifacts/latest/filter",
        json={"artifacts": {"key": {"any_": [f"plan-{CID}"]}}},
    )
    if not r.json():
        pytest.skip("no rehearsal ran in this session")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.goto(f"{prefect_server['ui_url']}/artifacts/key/plan-{CID}", timeout=60_000)
            page.get_by_text(f"The week's plan of {CID}").first.wait_for(timeout=60_000)
            assert page.get_by_text(f"plan-{CID}").count() >= 1
            page.locator("a[href*='/artifacts/artifact/']").first.click()  # the latest version: the table
            page.get_by_text(f"{CID}/mon/email/daily").first.wait_for(timeout=60_000)
            assert page.get_by_text("sent").count() >= 1
        finally:
            browser.close()

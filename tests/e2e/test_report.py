"""`practiceweek report` after a rehearsal-like day against the local provider servers: each post's
figures, the Teams session's attendance and the email's non-delivery count exactly as the servers reported
them; one CSV row per publication; the HTML passes axe-core in Chromium; the PDF is a printed copy."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from flows import process
from flows.engagement import collect, plan_readings
from tests.browser import AXE, CHROMIUM
from tests.browser import axe as _axe
from tests.engagement_week import SEED, TOLD, Week, environment, publish_week, tell_servers
from tests.helpers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Week, Path]]:
    tmp = tmp_path_factory.mktemp("report")
    env, servers = environment(tmp)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    process.reset()
    try:
        week = publish_week(process.ledger(), servers)
        tell_servers(week)
        card = week.channels["teams_channel"]
        assert week.ledger.claim(card)
        assert week.ledger.mark_failed(card, "Teams webhook answered 500 five times")
        plan_readings(week.ledger)
        collect(week.ledger, now=time.time() + 8 * 86400)
        out = tmp / "out"
        cli_env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": ""}
        done = subprocess.run([sys.executable, "-m", "cli", "report", str(SEED), "--out", str(out)],
                              env=cli_env, capture_output=True, text=True, timeout=240, cwd=tmp)
        assert done.returncode == 0, done.stderr
        yield week, out
    finally:
        process.reset()
        for server in servers.values():
            server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _csv(out: Path) -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in csv.DictReader(io.StringIO((out / "report.csv").read_text()))}


def test_csv_has_one_row_per_publication_with_the_servers_figures(reported: tuple[Week, Path]) -> None:
    week, out = reported
    rows = _csv(out)
    assert set(rows) == {r.id for r in week.ledger.rows(week.cid)}
    ch = week.channels
    for channel in ("bluesky", "mastodon", "x", "teams_event"):
        got = {k: int(v) for k, v in rows[ch[channel]].items() if k in TOLD[channel] and v != ""}
        assert got == TOLD[channel], channel
    assert rows[ch["email"]]["undelivered"] == "2" and int(rows[ch["email"]]["recipients"]) >= 1
    assert rows[ch["poster"]]["engagement note"] == "not collected: outbox does not report engagement"
    assert rows[ch["teams_channel"]]["state"] == "failed"
    for row in rows.values():
        assert row["due"] and row["channel"] and row["day"] == "wed"
        assert (row["sent at"] != "") == (row["state"] == "sent")


def test_html_shows_the_figures_and_the_failure_and_passes_axe(reported: tuple[Week, Path]) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not AXE.exists() or not Path(CHROMIUM).exists():
        pytest.skip("axe-core or Chromium missing: run bash .ci/system-deps")
    week, out = reported
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.goto((out / "report.html").as_uri())
        assert _axe(page) == []
        first_row = "xpath=following-sibling::table[1]//tbody/tr[1]"
        webinar = page.locator("#webinars").locator(first_row).inner_text()
        issues = page.locator("#issues").locator("xpath=following-sibling::table[1]").inner_text()
        charts = page.eval_on_selector_all("svg[role=img]",
                                           "els => els.map(e => e.querySelector('desc').textContent)")
        browser.close()
    assert webinar.split("\t")[2:5] == ["1", "3", "225"]  # sessions, attendees, minutes
    assert week.channels["teams_channel"] in issues and "Teams webhook answered 500" in issues
    reactions = {c: sum(TOLD[c].get(k, 0) for k in ("likes", "reposts", "replies", "quotes"))
                 for c in ("x", "bluesky", "mastodon")}
    for name, label in (("x", "X"), ("bluesky", "Bluesky"), ("mastodon", "Mastodon")):
        assert f"{label}: {reactions[name]} reactions" in charts[0]


def test_pdf_is_the_report_printed(reported: tuple[Week, Path]) -> None:
    _, out = reported
    text = " ".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages)
    assert "what went out and what reached people" in " ".join(text.split())

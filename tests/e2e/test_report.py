"""`practiceweek report` after a rehearsal-like day against the local provider servers: each post's
figures, the Teams session's attendance and the email's non-delivery count exactly as the servers reported
them; one CSV row per publication; the HTML passes axe-core in Chromium; the PDF is a printed copy."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from flows.operators.engagement import collect, plan_readings
from flows.operators.report import build, write
from flows.runtime import process
from ledger import Ledger, Planned
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.report import WEEK_LABEL
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


# The whole seed week (every day, the notices before it, the week poster), all sent, as after `make demo`:
# either no engagement could be read (the outbox records none) or each post has one reading.
POST_FIGURES = {"likes": 3, "reposts": 1, "replies": 1}


def _whole_week(tmp: Path, engaged: bool) -> Path:
    loaded = load(SEED)
    lg = Ledger(f"sqlite:///{tmp / 'ledger.sqlite3'}")
    cid = loaded.id
    lg.set_campaign(cid, str(SEED))
    pubs = plan(loaded.model)
    now = time.time()
    lg.apply(cid, [Planned(p.id, cid, p.day, p.channel, "outbox", p.title, p.fingerprint, now,
                           p.at.timestamp(), 86400.0, event_id=p.event_id,
                           snapshot=json.dumps(p.to_snapshot(), default=str)) for p in pubs], now=now)
    for p in pubs:
        assert lg.claim(p.id) and lg.mark_sent(p.id, f"outbox-{p.id}", None, None)
        lg.add_readings(p.id, {"1d": p.at.timestamp() + 86400})
        if engaged and p.channel in ("x", "bluesky", "mastodon"):
            lg.record_reading(p.id, "1d", POST_FIGURES)
        else:
            lg.record_reading(p.id, "1d", None, reason="outbox does not report engagement")
    out = tmp / "out"
    write(build(lg, loaded), out)
    return out


@pytest.fixture(scope="module")
def whole_week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _whole_week(tmp_path_factory.mktemp("whole-week"), engaged=True)


@pytest.fixture(scope="module")
def unread_week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _whole_week(tmp_path_factory.mktemp("unread-week"), engaged=False)


class _Tables(HTMLParser):
    """Each table's header words and first-column cells, and every paragraph's text, of report.html."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, list[str]]] = []
        self.paragraphs: list[str] = []
        self._in: list[str] = []
        self._cell = ""
        self._col = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        if tag == "table":
            self.tables.append({"head": [], "first": [], "id": [dict(attrs).get("id") or ""]})
        elif tag == "tr":
            self._col = 0
        if tag in ("th", "td", "p"):
            self._cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self.tables:
            table = self.tables[-1]
            if "thead" in self._in:
                table["head"].append(self._cell.strip())
            elif self._col == 0:
                table["first"].append(self._cell.strip())
            self._col += 1
        elif tag == "p":
            self.paragraphs.append(" ".join(self._cell.split()))
        while self._in and self._in.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        self._cell += data


def _tables(out: Path) -> _Tables:
    parsed = _Tables()
    parsed.feed((out / "report.html").read_text())
    return parsed


def _pdf_words(pdf: Path) -> list[tuple[int, float, float, float, float, str]]:
    """(page, xMin, yMin, xMax, yMax, word) of every word on every page, as ``pdftotext -bbox`` reads them."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext missing: apt-get install poppler-utils")
    html = subprocess.run([tool, "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = []
    for page, body in enumerate(re.split(r"<page ", html)[1:]):
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                             r"([^<]*)</word>", body):
            words.append((page, *(float(v) for v in m.groups()[:4]), m.group(5)))
    return words


@pytest.mark.parametrize("which", ["reported", "whole_week"])
def test_pdf_is_a4_with_every_table_header_inside_the_page(which: str,
                                                           request: pytest.FixtureRequest) -> None:
    got = request.getfixturevalue(which)
    out = got[1] if isinstance(got, tuple) else got
    pdf = out / "report.pdf"
    for page in PdfReader(pdf).pages:
        box = page.mediabox
        assert abs(float(box.width) - 595) <= 1 and abs(float(box.height) - 842) <= 1, "not A4"
    words = _pdf_words(pdf)
    assert words, "the PDF has no text"
    inside = {w[5] for w in words if 0 <= w[1] and w[3] <= 595 and 0 <= w[2] and w[4] <= 842}
    outside = sorted({w[5] for w in words} - inside)
    assert outside == [], f"words outside the page: {outside}"
    printed = {w[5] for w in words}
    heads = [h for t in _tables(out).tables for h in t["head"]]
    assert heads, "no table headers"
    for word in {w for h in heads for w in h.split()}:
        assert word in printed, f"table header word {word!r} not printed whole inside the page"


def _day_order(labels: list[str], year: int) -> list[dt.date]:
    return [dt.datetime.strptime(f"{label} {year}", "%A %d %B %Y").date() for label in labels]


def test_days_are_named_and_in_date_order(whole_week: Path) -> None:
    loaded = load(SEED)
    year = loaded.model.campaign.week.start.year
    parsed = _tables(whole_week)
    by_day = next(t for t in parsed.tables if t["id"] == ["t-day"])["first"]
    assert by_day[-1] == WEEK_LABEL and WEEK_LABEL not in by_day[:-1]
    dates = _day_order(by_day[:-1], year)  # every other row a day's name and date ("Wednesday 27 November")
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    before = {p.date for p in plan(loaded.model) if p.date < loaded.model.campaign.week.start}
    assert before and before <= set(dates), "the notices before the week are labelled by their date"
    text = (whole_week / "report.html").read_text()
    assert not re.search(r">(mon|tue|wed|thu|fri|sat|sun)(-\d\d-[a-z]{3})?<", text), "a raw day id is shown"


def test_a_week_with_no_engagement_readings_says_so_instead_of_empty_tables(unread_week: Path) -> None:
    parsed = _tables(unread_week)
    said = [p for p in parsed.paragraphs if p.startswith("No engagement could be read")]
    assert said == ["No engagement could be read for any publication of this week (outbox does not report "
                    "engagement), so this report shows what went out and when, but not what reached people."]
    html = (unread_week / "report.html").read_text()
    assert "<svg" not in html and 'class="n"' not in html, "a chart or a table of figures"
    assert [t["id"] for t in parsed.tables] == [[""]], "only the table of every publication"
    pages = PdfReader(unread_week / "report.pdf").pages
    pdf_text = " ".join(" ".join(p.extract_text().split()) for p in pages)
    assert "No engagement could be read for any publication" in pdf_text

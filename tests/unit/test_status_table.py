"""The operator's status table (``plan-<campaign>``, issue 24), read back as both Prefect UIs draw it: a
markdown table whose cells are short and whose links open what went out, the window run that sent it and
the day in the preview; the approver's table of the same week has the same columns."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import markdown

from flows.operators.status import COLUMNS, markdown_table, status_table
from flows.plan.apply import planned_rows
from flows.planning.approval import review_table
from ledger import Fence, Ledger
from practiceweek.loader import load
from practiceweek.planner import plan
from tests.helpers import CAMPAIGNS

IOW = CAMPAIGNS / "iowscp-domestic-abuse-2024.yaml"
RUN = "0f6b7c2e-1d2a-4c3b-9e8f-123456789abc"
UI = "http://127.0.0.1:4200"
PREVIEW = "http://127.0.0.1:8000/previews/iowscp-da-2024/index.html"
POSTED = "https://social.example/@spw/110000000000000003"


class _Table(HTMLParser):
    """The rendered table: its header cells, and per row each cell's (visible text, [(href, title)])."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[tuple[str, list[tuple[str, str]]]]] = []
        self.cell: list[str] | None = None
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell, self.links = [], []
        elif tag == "a":
            found = dict(attrs)
            self.links.append((found.get("href") or "", found.get("title") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            text = "".join(self.cell).strip()
            if tag == "th":
                self.headers.append(text)
            else:
                self.rows[-1].append((text, self.links))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _read(md: str) -> _Table:
    table = _Table()
    table.feed(markdown.markdown(md, extensions=["tables"]))
    table.rows = [row for row in table.rows if row]  # the header's row holds no td
    return table


def _ledger_with_one_sent(tmp_path: Path) -> tuple[Ledger, str]:
    """The IOW week planned into a ledger; its first publication claimed by a window run and sent."""
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    loaded = load(IOW)
    led.apply(loaded.id, planned_rows(loaded, led, rehearse=True, now=5000.0))
    first = led.rows(loaded.id)[0]
    start = first.scheduled_at
    assert led.window_take(start, owner=RUN, flow_run_id=RUN)
    held = led.window_held(start)
    assert held is not None
    assert led.claim(first.id, fence=Fence(start, 0, held.fence))
    assert led.mark_sent(first.id, "r1", url=POSTED)
    return led, loaded.id


def test_each_publication_links_what_went_out_its_window_run_and_its_day_in_the_preview(tmp_path):
    led, cid = _ledger_with_one_sent(tmp_path)
    rows = led.rows(cid)
    lines = status_table(rows, ZoneInfo("Europe/London"), led.publication_runs(cid), PREVIEW, UI)
    table = _read(markdown_table(lines, "**summary**"))
    assert table.headers == list(COLUMNS)
    assert len(table.rows) == len(rows) and all(len(row) == len(COLUMNS) for row in table.rows)
    cells = dict(zip(COLUMNS, table.rows[0], strict=True))
    assert cells["status"][0] == "✅ sent"
    assert cells["sent"][1] == [(POSTED, "what went out")]
    assert cells["run"] == (RUN[:8], [(f"{UI}/runs/flow-run/{RUN}", f"flow run {RUN}")])
    first = rows[0]
    assert cells["publication"] == (first.id.split("/", 1)[1], [
        (f"http://127.0.0.1:8000/previews/iowscp-da-2024/{first.day}.html", f"{first.id}: {first.title}")])
    pending = dict(zip(COLUMNS, table.rows[1], strict=True))
    assert pending["status"][0] == "⏳ pending" and pending["sent"] == ("", []) and pending["run"] == ("", [])
    assert pending["publication"][1][0][0].endswith(f"/{rows[1].day}.html")


def test_the_table_stays_narrow_one_time_form_no_address_as_text(tmp_path):
    led, cid = _ledger_with_one_sent(tmp_path)
    rows = led.rows(cid)
    long = dataclasses.replace(rows[1], title="A title | with a pipe, long enough to widen any column")
    lines = status_table([rows[0], long], ZoneInfo("Europe/London"), led.publication_runs(cid), PREVIEW, UI)
    table = _read(markdown_table(lines, "**summary**"))
    texts = [text for row in table.rows for text, _ in row]
    assert all(len(text) <= 40 and "://" not in text and "pipe" not in text for text in texts), texts
    # the title only on hover
    titled = dict(zip(COLUMNS, table.rows[1], strict=True))
    assert titled["publication"][1][0][1] == f"{long.id}: {long.title}"  # one cell: its pipe escaped
    due, sent = table.rows[0][1][0], table.rows[0][2][0]
    form = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d [A-Z][a-z]{2} \d\d:\d\d")  # one form
    assert form.fullmatch(due) and form.fullmatch(sent), (due, sent)


def test_the_approvers_table_has_the_columns_of_the_status_table_that_replaces_it():
    loaded = load(IOW)
    pubs = plan(loaded.model)
    table = _read(markdown_table(review_table(pubs, ZoneInfo("Europe/London"), PREVIEW), "**plan**"))
    assert table.headers == list(COLUMNS) and len(table.rows) == len(pubs)
    cells = dict(zip(COLUMNS, table.rows[0], strict=True))
    assert cells["status"][0] == "⏸ awaiting approval" and cells["run"] == ("", [])
    assert cells["publication"][1][0][0] == f"http://127.0.0.1:8000/previews/iowscp-da-2024/{pubs[0].day}.html"
    refused = review_table(pubs, ZoneInfo("Europe/London"), "", "✗ rejected: not scheduled")
    rejected = _read(markdown_table(refused, "**plan**"))
    assert {row[0][0] for row in rejected.rows} == {"✗ rejected: not scheduled"}
    assert all(row[5][1] == [] for row in rejected.rows)  # no preview: the publication is plain text

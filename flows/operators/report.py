"""The campaign's report from the ledger: each publication's times and state, its latest engagement
reading, and the operators' alerts with how each ended. Written as HTML, a PDF of it (printed by
Chromium headless) and CSV; the same figures go to the Prefect artifact ``report-<campaign>``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import Ledger, ReadingRow, ReadingState, Row, State
from practiceweek.dates import day_date, day_key
from practiceweek.loader import Loaded
from practiceweek.render.env import CHANNEL_NAMES
from practiceweek.report import WEEK_LABEL, Issue, Line, Report, to_csv, to_html, to_markdown
from practiceweek.settings import settings

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def build(lg: Ledger, loaded: Loaded, now: float | None = None) -> Report:
    """The report of ``loaded``'s campaign as the ledger has it now (during the week: figures so far)."""
    cf = loaded.model
    zone = ZoneInfo(cf.campaign.timezone)
    days = {day_key(d): d for d in (day_date(cf, day) for day in cf.days) if d}
    themes = {day_key(day_date(cf, day)): tuple(t.title for t in day.themes) for day in cf.days}  # type: ignore[arg-type]
    readings: dict[str, list[ReadingRow]] = {}
    for reading in lg.readings(loaded.id):
        readings.setdefault(reading.publication, []).append(reading)
    rows = lg.rows(loaded.id)
    lines = tuple(_line(r, readings.get(r.id, []), zone, days, themes) for r in rows)
    when = dt.datetime.fromtimestamp(now or time.time(), zone)
    dates = sorted(days.values())
    period = f"{dates[0]:%A %-d %B %Y} to {dates[-1]:%A %-d %B %Y}" if dates else ""
    return Report(loaded.id, cf.campaign.title, cf.campaign.organiser.name, period,
                  f"{when:%-d %B %Y %H:%M %Z}", lines, tuple(_issues(lg, rows, zone)))


def _local(ts: float | None, zone: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(ts, zone).strftime("%a %-d %b %Y %H:%M") if ts else ""


def _line(row: Row, readings: list[ReadingRow], zone: ZoneInfo, days: dict[str, dt.date],
          themes: dict[str, tuple[str, ...]]) -> Line:
    read = [r for r in readings if r.state == ReadingState.READ and r.figures is not None]
    latest = max(read, key=lambda r: r.read_at or 0) if read else None
    unavailable = next((r for r in readings if r.state == ReadingState.UNAVAILABLE), None)
    if latest is not None:
        note = ""
    elif unavailable is not None:
        note = f"not collected: {unavailable.reason}"
    elif row.state == State.SENT:
        note = "not collected yet"
    else:
        note = "not collected: not sent"
    late_by = (row.sent_at - row.scheduled_at) if row.sent_at else None
    label, order = _day(row, zone, days)
    return Line(id=row.id, channel=row.channel, channel_label=CHANNEL_NAMES.get(row.channel, row.channel),
                day=row.day, day_label=label, day_order=order,
                themes=themes.get(row.day, ()),
                title=row.title, due=_local(row.scheduled_at, zone), sent_at=_local(row.sent_at, zone),
                late_by_s=late_by, late=late_by is not None and late_by > settings().late_after_s,
                state=State(row.state), figures=dict(latest.figures or {}) if latest else {},
                read_at=_local(latest.read_at, zone) if latest else "", note=note)


def _day(row: Row, zone: ZoneInfo, days: dict[str, dt.date]) -> tuple[str, str]:
    """The label of ``row``'s day ("Wednesday 27 November"; ``WEEK_LABEL`` for the week's own items) and a
    key that sorts days by date, the week's items last. A notice before or after the week (day key
    ``wed-20-nov``) is labelled with the date it goes out."""
    if row.day == "week":
        return WEEK_LABEL, "~week"
    date = days.get(row.day) or dt.datetime.fromtimestamp(row.scheduled_at, zone).date()
    return f"{date:%A %-d %B}", date.isoformat()


def _issues(lg: Ledger, rows: list[Row], zone: ZoneInfo) -> list[Issue]:
    by_id = {r.id: r for r in rows}
    out = []
    for alert in lg.alerts():
        row = by_id.get(alert.publication or "")
        if row is None:
            continue
        told = (f"operators told {_local(alert.sent_at, zone)}" if alert.sent_at
                else "operators' alert not sent yet")
        if row.state == State.SENT:
            ended = f"sent {_local(row.sent_at, zone)} after {row.attempts} attempts"
        else:
            ended = f"{row.state.value}; {told}"
        out.append(Issue(row.id, alert.kind, alert.reason, _local(alert.created_at, zone), ended))
    return out


def write(report: Report, out: Path) -> dict[str, Path]:
    """report.html, report.csv and (when Chromium is installed) report.pdf in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"html": out / "report.html", "csv": out / "report.csv"}
    paths["html"].write_text(to_html(report), encoding="utf-8")
    paths["csv"].write_text(to_csv(report), encoding="utf-8")
    pdf = print_pdf(paths["html"], out / "report.pdf")
    if pdf is not None:
        paths["pdf"] = pdf
    return paths


def print_pdf(html: Path, pdf: Path) -> Path | None:
    """``html`` printed to ``pdf`` by Chromium headless; None when no Chromium is installed."""
    browser = next((b for b in (shutil.which(name) for name in CHROMIUM) if b), None)
    if browser is None:
        return None
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    return pdf


def record_artifact(report: Report) -> None:
    """The same figures as a markdown artifact on the campaign (key ``report-<campaign>``)."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(key=f"report-{report.campaign_id}", markdown=to_markdown(report),
                             description=f"Report: {report.title}")

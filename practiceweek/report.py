"""The report a partnership puts in front of its board: what went out and when, on time or not, what
reached people (engagement per channel, day and theme), webinar attendance, and failures and how they
were resolved. Built from plain data (``flows/operators/report.py`` reads the ledger); written as accessible
HTML (``templates/report.html``, charts as inline SVG with text alternatives and the same figures in tables),
CSV (one row per publication) and Markdown (the Prefect artifact).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from .planner import partner_of
from .states import OPEN, State

FIGURES = ("likes", "reposts", "replies", "quotes", "impressions", "recipients", "undelivered", "sessions",
           "attendees", "minutes")
CSV_COLUMNS = ("id", "channel", "day", "due", "sent at", "late by (s)", "state", *FIGURES,
               "engagement read at", "engagement note")
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
REACH = ("likes", "reposts", "replies", "quotes")  # what a post's readers did with it
WEEK_LABEL = "The whole week"  # the day label of what belongs to the week, not to one day (the week poster)


@dataclass(frozen=True)
class Line:
    """One publication: when it was due and went out, its state, and its latest engagement reading."""

    id: str
    channel: str
    channel_label: str
    day: str
    day_label: str
    themes: tuple[str, ...]
    title: str
    due: str
    sent_at: str
    late_by_s: float | None
    late: bool
    state: State
    figures: dict[str, int] = field(default_factory=dict)
    read_at: str = ""
    note: str = ""  # "not collected: …" when the provider has no figures
    day_order: str = ""  # sorts days by date: the ISO date, "~week" for the week's own items


@dataclass(frozen=True)
class Issue:
    """A failure or skip the operators were told about, and how it ended."""

    publication: str
    kind: str
    reason: str
    when: str
    resolution: str


@dataclass(frozen=True)
class Report:
    campaign_id: str
    title: str
    organiser: str
    period: str
    generated_at: str
    lines: tuple[Line, ...]
    issues: tuple[Issue, ...] = ()

    def totals(self, by: str) -> dict[str, dict[str, int]]:
        """Figures summed per ``by`` ("channel", "day" or "theme"; a day's figures count for each of its
        themes): channels and themes in the order they first appear, days in date order."""
        out: dict[str, dict[str, int]] = {}
        lines = sorted(self.lines, key=lambda x: x.day_order) if by == "day" else self.lines
        for line in lines:
            label = line.channel_label if by == "channel" else line.day_label
            keys = line.themes if by == "theme" else (label,)
            for key in keys:
                group = out.setdefault(key, {})
                for name, value in line.figures.items():
                    group[name] = group.get(name, 0) + value
        return out

    @property
    def engaged(self) -> bool:
        """Whether any engagement figure could be read at all."""
        return any(line.figures for line in self.lines)

    def reported_figures(self) -> tuple[str, ...]:
        """The figures some publication has a reading of, in ``FIGURES`` order."""
        return tuple(f for f in FIGURES if any(f in line.figures for line in self.lines))

    def no_engagement(self) -> str:
        """The one sentence that stands for the engagement sections when no figure could be read."""
        reasons = dict.fromkeys(line.note.removeprefix("not collected: ") for line in self.lines if line.note)
        why = f" ({'; '.join(reasons)})" if reasons else ""
        return (f"No engagement could be read for any publication of this week{why}, so this report shows "
                "what went out and when, but not what reached people.")

    def partner_counts(self) -> dict[str, dict[str, int]]:
        """A joint week: ``counts`` for each partner (by the partner its publication ids end with); {} for a
        week one partnership runs."""
        partners = dict.fromkeys(partner_of(line.id) for line in self.lines)
        return {p: self.counts([x for x in self.lines if partner_of(x.id) == p]) for p in partners if p}

    def counts(self, lines: tuple[Line, ...] | list[Line] | None = None) -> dict[str, int]:
        """What went out of ``lines`` (default: the whole week's)."""
        lines = self.lines if lines is None else lines
        sent = [line for line in lines if line.state == State.SENT]
        return {"publications": len(lines), "sent": len(sent), "on time": sum(not x.late for x in sent),
                "late": sum(x.late for x in sent), "failed": sum(x.state == State.FAILED for x in lines),
                "skipped": sum(x.state == State.SKIPPED for x in lines),
                "not yet out": sum(x.state in OPEN for x in lines)}


def to_csv(report: Report) -> str:
    """One row per publication: id, channel, day, due, sent at, late by, state, every engagement figure."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in report.lines:
        late = "" if line.late_by_s is None else f"{line.late_by_s:.1f}"
        writer.writerow([line.id, line.channel, line.day, line.due, line.sent_at, late, line.state,
                         *(line.figures.get(f, "") for f in FIGURES), line.read_at, line.note])
    return out.getvalue()


def bar_chart(chart_id: str, title: str, values: dict[str, int], unit: str) -> str:
    """A horizontal bar chart as inline SVG: role img, a <title> and a <desc> saying every value."""
    width, bar_h, label_w = 640, 26, 220
    top = max(values.values(), default=0) or 1
    desc = "; ".join(f"{k}: {v} {unit}" for k, v in values.items()) or "no figures yet"
    rows = []
    for i, (label, value) in enumerate(values.items()):
        y = 8 + i * (bar_h + 8)
        length = round((width - label_w - 70) * value / top)
        rows.append(f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end">{escape(label)}</text>'
                    f'<rect x="{label_w}" y="{y}" width="{max(length, 1)}" height="{bar_h}" fill="#1d3e6e"/>'
                    f'<text x="{label_w + length + 6}" y="{y + 18}">{value}</text>')
    height = 16 + max(1, len(values)) * (bar_h + 8)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
            f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" font-family="Arial" '
            f'font-size="15" fill="#0b0c0c"><title id="{chart_id}-t">{escape(title)}</title>'
            f'<desc id="{chart_id}-d">{escape(desc)}</desc>{"".join(rows)}</svg>')


def reach(figures: dict[str, int]) -> int:
    return sum(figures.get(k, 0) for k in REACH)


def to_markdown(report: Report) -> str:
    """The same figures for the Prefect artifact on the campaign."""
    c = report.counts()
    out = [f"# {report.title}: report", f"{report.period} · generated {report.generated_at}", "",
           ", ".join(f"{v} {k}" for k, v in c.items()), "",
           *(f"- {partner}: " + ", ".join(f"{v} {k}" for k, v in own.items())
             for partner, own in report.partner_counts().items()),  # a joint week: each partner's part
           "", "| channel | " + " | ".join(FIGURES) + " |",
           "|---" * (len(FIGURES) + 1) + "|"]
    for channel, figures in report.totals("channel").items():
        out.append(f"| {channel} | " + " | ".join(str(figures.get(f, "")) for f in FIGURES) + " |")
    out += ["", "| publication | state | due | sent at | late by (s) | engagement |", "|---" * 6 + "|"]
    for line in report.lines:
        late = "" if line.late_by_s is None else f"{line.late_by_s:.1f}"
        shown = ", ".join(f"{k} {v}" for k, v in line.figures.items()) or line.note
        out.append(f"| {line.id} | {line.state} | {line.due} | {line.sent_at} | {late} | {shown} |")
    for issue in report.issues:
        out.append(f"\n- **{issue.kind}** {issue.publication} ({issue.when}): {issue.reason} "
                   f"— {issue.resolution}")
    return "\n".join(out)


def html_context(report: Report) -> dict[str, Any]:
    """What ``templates/report.html`` shows: the report, its totals and charts."""
    by_channel = report.totals("channel")
    by_day = report.totals("day")
    webinars = [line for line in report.lines if line.channel == "teams_event"]
    return {"r": report, "counts": report.counts(), "figures": report.reported_figures(),
            "by_channel": by_channel,
            "by_day": by_day, "by_theme": report.totals("theme"), "webinars": webinars,
            "chart_channel": bar_chart("c1", "Reactions per channel (likes, reposts, replies, quotes)",
                                       {k: reach(v) for k, v in by_channel.items() if reach(v)}, "reactions"),
            "chart_day": bar_chart("c2", "Reactions per day (likes, reposts, replies, quotes)",
                                   {k: reach(v) for k, v in by_day.items()}, "reactions")}


def to_html(report: Report) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(("html",)),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html").render(**html_context(report))

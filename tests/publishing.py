"""Publishing through the production path, in this process: ``flows.publishing.publish_one.publish.fn`` on
ledger rows.

``week(channel, connector)`` is a small campaign whose only channel goes through ``connector``;
``Publishing`` holds its ledger rows (due now, in planned order) and drives ``publish.fn`` to the end of a
publication: a ``TryAgain`` is what Prefect turns into a task retry, so the driver calls again.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from flows.plan.apply import planned_rows
from flows.publishing.outcomes import Outcome
from flows.publishing.publish_one import TryAgain, publish
from ledger import Ledger, Row
from practiceweek.artifacts import Rendered
from practiceweek.loader import Loaded, load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.helpers import FIXTURES

CHANNEL_OF = {  # the channel each connector publishes in the test week
    "outbox": "email",
    "smtp_mail": "email",
    "graph_mail": "email",
    "graph_events": "teams_event",
    "graph_files": "poster",
    "teams_channel": "teams_channel",
    "web_page": "web_page",
    "x": "x",
    "bluesky": "bluesky",
    "mastodon": "mastodon",
}
CHANNELS = {
    "email": {"at": "08:30", "audience": "practitioners"},
    "teams_event": {"at": "10:00", "create_days_before": 2},
    "poster": {"at": "08:00"},
    "teams_channel": {"at": "09:00"},
    "web_page": {"at": "08:00"},
    "x": {"at": "12:00"},
    "bluesky": {"at": "12:00"},
    "mastodon": {"at": "12:00"},
}
MORE_DAYS = [{"weekday": "wednesday", "title": "Wednesday", "themes": [{"title": "Theme three"}]}]
MORE_EVENTS = [
    {"id": "clinic", "title": "A practice clinic", "day": "thursday", "start": "12:30", "end": "13:30"},
    {"id": "briefing", "title": "A briefing", "day": "friday", "start": "09:30", "end": "10:00"},
]


def week(folder: Path, connector: str) -> Path:
    """tests/fixtures/good_base.yaml with one channel, through ``connector``: three days, three events."""
    data = yaml.safe_load((FIXTURES / "good_base.yaml").read_text())
    channel = CHANNEL_OF[connector]
    data["channels"] = {channel: {**CHANNELS[channel], "connector": connector}}
    data["days"] += MORE_DAYS
    data["events"] += [
        {**event, "organiser": "tscp@example.gov.uk", "audience": "practitioners"} for event in MORE_EVENTS
    ]
    path = folder / f"week-{connector}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def timed_week(led: Ledger, folder: Path, connector: str, timing: list[tuple[float, float]]) -> list[Row]:
    """``week(folder, connector)`` in ``led``, its publications (in planned order) due at the times and
    open for the missed windows in ``timing`` (one ``(due, missed_window_s)`` each); their rows."""
    path = week(folder, connector)
    loaded = load(path)
    led.set_campaign(loaded.id, str(path))
    rows = [dataclasses.replace(r, scheduled_at=at, missed_window_s=window)
            for r, (at, window) in zip(planned_rows(loaded, led), timing, strict=True)]
    led.apply(loaded.id, rows)
    return rows


@dataclass
class Publishing:
    """A week's publications in the process's ledger, published by the production task."""

    ledger: Ledger
    loaded: Loaded
    ids: list[str]  # in planned order

    @classmethod
    def schedule(cls, led: Ledger, path: Path, window_s: float = 3600.0) -> Publishing:
        """Put the week's publications in ``led``, due now and open for ``window_s``, in planned order."""
        loaded = load(path)
        rows = planned_rows(loaded, led)
        now = time.time()
        due = [
            dataclasses.replace(r, scheduled_at=now - 1 + i / 1000, missed_window_s=window_s)
            for i, r in enumerate(rows)
        ]
        led.apply(loaded.id, due)
        return cls(led, loaded, [r.id for r in rows])

    def row(self, pid: str) -> Row:
        row = self.ledger.get(pid)
        assert row is not None, pid
        return row

    def rendered(self, pid: str) -> Rendered:
        """The publication as the task renders it (no links to other publications in this week)."""
        pub = next(p for p in plan(self.loaded.model) if p.id == pid)
        return render(self.loaded, pub)

    def publish(self, pid: str, attempts: int = 8) -> Outcome:
        """``publish.fn(pid)`` until it ends; each ``TryAgain`` is the retry Prefect would run."""
        for _ in range(attempts):
            try:
                return publish.fn(pid, record=False)
            except TryAgain:
                continue
        raise AssertionError(f"{pid}: still TryAgain after {attempts} attempts")

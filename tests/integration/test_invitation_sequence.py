"""The SEQUENCE an invitation goes out with: the plan revision of its publication, so a re-planned event's
invitation replaces the one sent before it, and a cancellation outranks both (flows, on a real ledger)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.plan.apply import cancellation
from flows.runtime import campaigns, process
from ledger import Ledger, Planned


def _p(pid: str, channel: str, fp: str = "f1") -> Planned:
    return Planned(id=pid, campaign="c", day="wed", channel=channel, connector="outbox", title=pid,
                   fingerprint=fp, planned_at=100.0, scheduled_at=100.0, missed_window_s=60, snapshot="{}",
                   event_id="webinar" if channel == "teams_event" else None)


@pytest.fixture()
def led(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    led.set_campaign("c", "c.yaml")
    monkeypatch.setattr(process, "_ledger", led)  # this process's own ledger, not a provider's SDK
    return led


def test_a_replanned_event_raises_the_sequence_and_its_cancellation_raises_it_again(led: Ledger) -> None:
    event, mail = "c/wed/teams_event/webinar", "c/wed/email/daily"
    led.apply("c", [_p(event, "teams_event"), _p(mail, "email")])
    assert led.claim(event) and led.mark_sent(event, "ev-1")
    sent = campaigns.context_for(led.get(event)).sequence  # type: ignore[arg-type]
    led.apply("c", [_p(event, "teams_event", fp="moved"), _p(mail, "email", fp="moved")])  # the time moved
    replanned = campaigns.context_for(led.get(mail)).sequence  # type: ignore[arg-type]
    assert replanned > sent
    diff = led.apply("c", [_p(mail, "email", fp="moved")])  # the event is removed: withdrawn
    (withdrawn,) = diff.cancelled
    cancel = cancellation(withdrawn)
    assert cancel.cancelled and cancel.sequence > replanned

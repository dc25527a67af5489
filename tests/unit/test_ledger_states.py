"""The publication states: TERMINAL and OPEN split them without overlap, and rows read back carry a State."""

from __future__ import annotations

from pathlib import Path

from ledger import OPEN, TERMINAL, Ledger, Planned, State


def test_terminal_and_open_partition_the_states() -> None:
    assert not TERMINAL & OPEN
    assert TERMINAL | OPEN == set(State)
    assert all(isinstance(s, State) for s in TERMINAL | OPEN)
    assert State.SENT == "sent" and "sent" in TERMINAL and "pending" in OPEN


def test_a_row_read_back_has_its_state_as_a_state_member(tmp_path: Path) -> None:
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    led.set_campaign("c", "c.yaml")
    planned = Planned(
        id="c/mon/email/daily",
        campaign="c",
        day="mon",
        channel="email",
        connector="outbox",
        title="daily",
        fingerprint="f1",
        planned_at=100.0,
        scheduled_at=100.0,
        missed_window_s=60,
        snapshot="{}",
    )
    led.apply("c", [planned])
    row = led.get(planned.id)
    assert row is not None and type(row.state) is State and row.state is State.PENDING
    assert led.claim(planned.id) and led.mark_sent(planned.id, "remote-1")
    row = led.get(planned.id)
    assert row is not None and row.state is State.SENT and row.state == "sent"
    assert led.snapshot(planned.id) == "{}"
    assert led.counts("c") == {s.value: int(s is State.SENT) for s in State}

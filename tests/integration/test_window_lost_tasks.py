"""A window run takes back the publications whose tasks ended without a record (the ledger's database
went down under them): pending ones are submitted again; 'sending' ones under this process's own claim
become 'unknown' at once (reconciled before any resend), never another process's."""

from __future__ import annotations

import time
from pathlib import Path

from flows.publishing.publish import WindowRun
from ledger import Ledger, Planned, worker_id


def _row(pid: str, at: float) -> Planned:
    return Planned(id=pid, campaign="c", day="mon", channel="email", connector="outbox", title=pid,
                   fingerprint="f1", planned_at=at, scheduled_at=at, missed_window_s=60, snapshot="{}")


def test_lost_tasks_are_taken_back_and_only_this_processs_claims_reconciled(tmp_path: Path) -> None:
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    led.set_campaign("c", "c.yaml")
    now = time.time()
    led.apply("c", [_row(pid, now) for pid in ("c/mon/email/a", "c/mon/email/b", "c/mon/email/c")])
    assert led.claim("c/mon/email/b", owner=worker_id())  # this process was sending it
    assert led.claim("c/mon/email/c", owner="elsewhere:1:2")  # another worker is
    run = WindowRun(led, now, None)

    assert run._unrecorded("c/mon/email/a")  # pending: submitted again
    assert run._unrecorded("c/mon/email/b") and led.get("c/mon/email/b").state == "unknown"  # type: ignore[union-attr]
    assert not run._unrecorded("c/mon/email/c") and led.get("c/mon/email/c").state == "sending"  # type: ignore[union-attr]
    run.resubmitted["c/mon/email/a"] = 20
    assert not run._unrecorded("c/mon/email/a")  # at most RESUBMITS times

"""The fence of a window lane, checked the same way on SQLite (unit) and PostgreSQL (e2e): a takeover
advances the token; the old owner's claim and its check before a send are refused, the new owner's
accepted; the old owner's claims in flight become 'unknown' at once (not after their lease)."""

from __future__ import annotations

import threading
import time

from ledger import Fence, Ledger, Planned

START = 600.0


def _planned(pid: str) -> Planned:
    return Planned(id=pid, campaign="c", day="mon", channel="email", connector="outbox", title=pid,
                   fingerprint="f", planned_at=610.0, scheduled_at=610.0, missed_window_s=60, snapshot="{}")


def check_fence(url: str) -> None:
    led = Ledger(url)
    led.set_campaign("c", "c.yaml")
    led.apply("c", [_planned(p) for p in ("c/a", "c/b", "c/c")])
    assert led.window_take(START, "primary")
    old = led.window_fence(START, "primary")
    assert old is not None and led.window_take(START, "primary") and led.window_fence(START, "primary") == old
    assert led.claim("c/a", owner="primary:1:1", fence=old)  # in flight when its host froze
    assert led.fence_holds("c/a", "primary:1:1", old)
    assert not led.fence_holds("c/a", "someone:2:2", old)  # only the claimant's own claim

    led._write("UPDATE windows SET heartbeat=0 WHERE start=?", (START,))  # its beat went stale
    assert led.window_take(START, "standby", stale_s=5.0)
    new = led.window_fence(START, "standby")
    assert new is not None and new.token > old.token and led.window_fence(START, "primary") is None
    assert not led.fence_current(old) and led.fence_current(new)

    assert not led.fence_holds("c/a", "primary:1:1", old)  # the woken owner's send is refused ...
    assert not led.claim("c/b", owner="primary:1:1", fence=old)  # ... and so is its next claim
    assert led.get("c/b").state == "pending"  # type: ignore[union-attr]
    assert led.recover() == ["c/a"]  # void at once, whatever its 120 s lease: reconciled next
    assert led.get("c/a").state == "unknown"  # type: ignore[union-attr]
    assert led.claim("c/a", owner="standby:3:1", from_states=("unknown",), fence=new)
    assert led.fence_holds("c/a", "standby:3:1", new) and led.recover() == []
    assert not led.release("c/a", "late 503", claimant="primary:1:1")  # nor can it undo the new claim
    assert led.get("c/a").state == "sending"  # type: ignore[union-attr]

    assert led.window_needed(START, now=time.time() + 60) is not None  # presumed lost: fenced too
    assert not led.fence_current(new) and led.recover() == ["c/a"]


def check_racing_claims_and_a_takeover(url: str, rounds: int = 30) -> None:
    """An old owner claims while its standby takes over, each on its own connection: every claim the old
    token won is voided by the recovery that follows the takeover, or refused at its check before a send."""
    led = Ledger(url)
    led.set_campaign("c", "c.yaml")
    for i in range(rounds):
        start, pid = 10_000.0 + 60 * i, f"c/r{i}"
        led.apply("c", [_planned(pid)])
        assert led.window_take(start, "primary")
        old = led.window_fence(start, "primary")
        assert old is not None
        led._write("UPDATE windows SET heartbeat=0 WHERE start=?", (start,))
        claimed = _race(url, pid, old)
        led.recover()
        row = led.get(pid)
        assert row is not None and row.state in ("pending", "unknown"), (i, claimed, row.state)
        assert not led.fence_holds(pid, "primary:1:1", old)


def _race(url: str, pid: str, old: Fence) -> list[bool]:
    """The old owner's claim of ``pid`` under ``old`` and the standby's takeover, released together."""
    barrier = threading.Barrier(2)
    claimed: list[bool] = []

    def claim() -> None:
        mine = Ledger(url)
        barrier.wait()
        claimed.append(mine.claim(pid, owner="primary:1:1", fence=old))

    def take() -> None:
        mine = Ledger(url)
        barrier.wait()
        assert mine.window_take(old.start, "standby", stale_s=5.0)

    threads = [threading.Thread(target=claim), threading.Thread(target=take)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return claimed

"""Provider rate limits shared by every worker, kept in the ledger's database.

Each request a connector paces (``connectors.pacing.shared_bucket``) reserves a slot of its pacer in the
ledger, in one short transaction, sleeps until that slot, and confirms it when it wakes (its real time
replaces the slot's, and a request that would now be one too many waits for a new slot): at most the
provider's limit in any window of its interval (plus a margin of 2 %, at least 0.1 s,
``connectors.pacing.margin``), bursts allowed up to the limit. A write request (``connectors.pacing.paced``)
holds its slot until its answer: the provider counts it when it arrives, somewhere between the two, so the
next one counts from its end (``ledger/pacers.py``). All workers together never exceed the
limit, and while a backlog waits they use all of it.

The pacers live in the ledger rather than in Prefect global concurrency limits so that limits hold, and
publishing carries on, while the Prefect server is restarting; and a slot is a reservation, not a lease
polled for, so no capacity is lost between workers.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable

from connectors.pacing import margin, use_shared_pacing
from ledger import Ledger
from practiceweek.settings import settings

from .fencing import check as fence_check

_log_lock = threading.Lock()


class LedgerPacer:
    """One provider limit, shared through the ledger."""

    def __init__(self, key: str, rate: int, per: float, ledger_of: Callable[[], Ledger]) -> None:
        self.ledger_of = ledger_of
        self.key = key
        self.limit = rate
        self.window = per + margin(per)
        self._held = threading.local()  # this thread's slot in flight (``acquire(hold=True)``)

    def acquire(self, hold: bool = False) -> float:
        """Block until this caller's slot; return how long it waited. With ``hold`` the slot stays in
        flight until :meth:`done` (the request's answer). A caller sending under a window's fence is refused
        (``fencing.Fenced``) if its window was taken over while it waited."""
        asked = time.time()
        led = self.ledger_of()
        slot, at = led.reserve_slot(self.key, self.limit, self.window)
        held = at > time.time()
        while True:  # confirmed when the caller really goes: a late wake-up counts from then
            if at > time.time():
                time.sleep(at - time.time())
            ok, at = led.confirm_slot(self.key, slot, self.limit, self.window, hold=hold)
            if ok:
                break
            held = True  # one too many in the window after all: a later slot
        _record(self.key, asked, at, held=held)
        self._held.slot = slot if hold else None
        try:
            fence_check(led)  # the request leaves right after this: is its claim still this run's?
        except BaseException:
            self.done()  # refused: no request went
            raise
        return max(0.0, time.time() - asked) if held else 0.0

    def done(self) -> None:
        """This thread's held request has its answer (or failed): its slot ends now."""
        slot = getattr(self._held, "slot", None)
        if slot is not None:
            self._held.slot = None
            self.ledger_of().slot_ended(self.key, slot)


def _record(key: str, asked: float, slot: float, held: bool) -> None:
    """For benchmarks: PRACTICEWEEK_RATE_LOG gets one line per reservation (when asked, which slot, and
    whether the limit held the request back)."""
    path = settings().rate_log
    if not path:
        return
    line = json.dumps({"key": key, "asked": asked, "slot": slot, "held": held}) + "\n"
    with _log_lock, open(path, "a") as fh:
        fh.write(line)


_installed = False


def install_shared_pacing(ledger_of: Callable[[], Ledger]) -> None:
    """Make every connector in this process pace through the ledger ``ledger_of`` returns (once)."""
    global _installed
    if not _installed:
        use_shared_pacing(functools.partial(LedgerPacer, ledger_of=ledger_of))
        _installed = True

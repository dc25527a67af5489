"""The fence check of a window run's publish task, immediately before each provider request it makes.

``attempt`` (``flows/publishing/publish_one.py``) claims a publication under its window run's token and
holds that claim here (``holding``) while its connector sends; ``check`` asks the ledger whether the claim
and the token still stand (``Ledger.fence_holds``, one read on two primary keys). It runs before the first
request of a send, and before each paced request (``flows/runtime/ratelimit.py``: after the pacer's sleep,
the longest wait in a send), so an owner that froze holding a claim and wakes after its standby took over
is refused (``Fenced``) before its request leaves. See docs/how-it-works/takeover.md.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ledger import Fence, Ledger, worker_id

from . import cpu


class Fenced(Exception):
    """This run's window was taken over: its claim is void and nothing may be sent under it."""


@dataclass(frozen=True)
class _Held:
    publication: str
    claimant: str
    fence: Fence


_local = threading.local()


@contextmanager
def holding(publication: str, fence: Fence | None) -> Iterator[None]:
    """While the calling thread sends ``publication`` under ``fence`` (None: not fenced, nothing held)."""
    previous = getattr(_local, "held", None)
    _local.held = None if fence is None else _Held(publication, worker_id(), fence)
    try:
        yield
    finally:
        _local.held = previous


def check(led: Ledger) -> None:
    """Raise ``Fenced`` unless the calling thread's claim still stands under a current token (nothing to
    check when it holds none: a send outside a window run, or an engagement read)."""
    held: _Held | None = getattr(_local, "held", None)
    if held is None:
        return
    with cpu.part("ledger.fence"):
        holds = led.fence_holds(held.publication, held.claimant, held.fence)
    if not holds:
        raise Fenced(
            f"{held.publication}: window {held.fence.start:.0f} lane {held.fence.lane} was taken over "
            f"(token {held.fence.token} is no longer current); its new owner reconciles it"
        )

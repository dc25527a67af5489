"""Publications whose worker stopped while sending them: found and marked for reconciliation."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ledger import State

from ..runtime.process import ledger


def owner_dead(owner: str | None) -> bool:
    """True when ``owner`` (host:pid:thread) ran on this machine and its process is gone."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return False
    try:
        pid = int(rest.split(":", 1)[0])
    except ValueError:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def recover_orphans() -> list[str]:
    """'sending' rows whose process died (here) or whose lease ran out become 'unknown' (reconciled later)."""
    led = ledger()
    out = led.recover()
    for r in led.rows():
        if (
            r.state == State.SENDING
            and owner_dead(r.owner)
            and led.mark_unknown(r.id, "worker stopped while sending; reconciling")
        ):
            out.append(r.id)
    return out

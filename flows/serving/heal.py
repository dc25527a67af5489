"""``heal``: what a supervisor runs every few seconds so a crash costs seconds, not publications.

1. 'sending' rows whose worker died become 'unknown' (reconciled with the provider before any retry);
2. pending publications whose window has passed are skipped and reported (a person decides);
3. every open publication due soon, or overdue, gets a live publish-window run (a window whose run
   stopped beating gets a new generation), and with standbys on a live standby run beside it (one on
   each of two other workers with ``PRACTICEWEEK_WINDOW_SPARES=2``), none on a worker whose runs were just
   lost, except those held by a stopped connector (per account); a window run left Pending by a worker
   killed while handing it to a process is handed back to its queue (``waiting.hand_back_stranded``);
4. a work pool Prefect marks NOT_READY (no worker polls it) is an operators' alert: the alert-operators
   deployment runs on that pool, so only a process outside it, like this one, can tell;
5. alerts recorded while nobody could send them are sent;
6. what is due within the hour and links to results that came back since it was scheduled (a Teams
   join link) is rendered again ahead, in the background (``prerender.render_soon_again``).

Steps 1, 2 and 5 need only the ledger, so they work while the Prefect server is down; steps 3 and 4 need the
server and are skipped (and retried at the next round) while it is not answering.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import httpx

from ledger import State

from ..operators import orphans
from ..operators.alerts import held_too_long, record_idle_pool, send_due_alerts
from ..operators.pools import idle_pool
from ..plan.waiting import hand_back_stranded
from ..plan.windows import end_orphaned_task_runs, ensure_windows
from ..planning.prerender import render_soon_again
from ..runtime import events, process
from .deployments import register

HORIZON_S = 120.0  # re-arm windows for publications due within this long (later ones are scheduled)
ORPHAN_AFTER_S = 60.0  # a window run's tasks still Running this long after it ended are ended Crashed


@dataclass
class Healed:
    """What one round of healing did."""

    reconciling: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    windows: list[str] = field(default_factory=list)
    handed_back: list[str] = field(default_factory=list)  # window runs a killed worker had left Pending
    idle_pools: list[str] = field(default_factory=list)  # pools found with no worker (alert recorded)
    alerts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.reconciling or self.skipped or self.windows or self.handed_back or self.idle_pools
                    or self.alerts or self.errors)


def skip_expired(now: float | None = None) -> list[str]:
    """Skip pending publications whose window closed before anyone could send them."""
    now = time.time() if now is None else now
    led = process.ledger()
    stopped = led.stopped()
    out = []
    for row in led.due(now, states=(State.PENDING,)):
        if row.deadline < now:
            reason = (
                held_too_long(row, stopped[row.route])
                if row.route in stopped
                else f"missed its window: nothing could send it for {now - row.scheduled_at:.0f} s "
                f"(window {row.missed_window_s:.0f} s)"
            )
            if led.mark_skipped(row.id, reason):
                events.emit("skipped", row, reason=reason)
                out.append(row.id)
    return out


def _server_answers() -> bool:
    """A quick look at /health, so a round does not sit in the client's retries while the server restarts."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return True  # an ephemeral or configured-elsewhere API: let the client find it
    try:
        return httpx.get(f"{url.rstrip('/')}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _alert_idle_pool(done: Healed) -> None:
    """Record an alert when no worker polls the publish-window deployment's pool (sent below)."""
    try:
        pool = idle_pool()
        if pool is not None and record_idle_pool(pool):
            done.idle_pools.append(pool.name)
    except Exception as exc:  # noqa: BLE001 - the server or the ledger restarting: next round
        done.errors.append(f"pools: {type(exc).__name__}: {exc}"[:300])


def heal(now: float | None = None, windows: bool = True) -> Healed:
    """One round of healing (see the module docstring). Never raises; errors are in the result."""
    now = time.time() if now is None else now
    done = Healed()
    try:
        done.reconciling = orphans.recover_orphans()
        done.skipped = skip_expired(now)
    except Exception as exc:  # noqa: BLE001 - the ledger's database may be restarting
        done.errors.append(f"ledger: {exc}")
        return done
    if windows and not _server_answers():
        done.errors.append("windows: the Prefect server is not answering; next round")
        windows = False
    if windows:
        try:  # the ledger's database or the Prefect server may be restarting: next round
            done.handed_back = hand_back_stranded(now)  # before a new generation would replace them
            led = process.ledger()
            stopped = led.stopped()
            due = led.due(now + HORIZON_S)
            rows = [r for r in due if not (r.state == State.PENDING and r.route in stopped)]
            done.windows = ensure_windows(led, rows, now=now, register=register)
            end_orphaned_task_runs(ORPHAN_AFTER_S)  # a killed window run's tasks: Crashed, not Running
        except Exception as exc:  # noqa: BLE001 - heal never raises: errors are in the result
            done.errors.append(f"windows: {type(exc).__name__}: {exc}"[:300])
        _alert_idle_pool(done)
    try:
        done.alerts = send_due_alerts()
    except Exception as exc:  # noqa: BLE001 - one failed sweep must not stop healing: next round
        done.errors.append(f"alerts: {exc}"[:300])
    try:
        render_soon_again(now)
    except Exception as exc:  # noqa: BLE001 - they render at send time instead
        done.errors.append(f"render ahead: {exc}"[:300])
    return done

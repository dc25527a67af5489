"""What one worker process keeps for its whole life: its ledger connection and its connectors."""

from __future__ import annotations

import threading
from typing import Any

from connectors.registry import get_connector
from ledger import Ledger

from .ratelimit import install_shared_pacing

_lock = threading.Lock()
_ledger: Ledger | None = None
_connectors: dict[tuple[str, str], Any] = {}  # (connector name, account) → the process's instance


def ledger() -> Ledger:
    """The process's ledger (PRACTICEWEEK_LEDGER_URL or .practiceweek/ledger.sqlite3)."""
    global _ledger
    with _lock:
        if _ledger is None:
            _ledger = Ledger()
        return _ledger


def reset() -> None:
    """Forget the ledger and connectors (a test pointing the process at another ledger or fake server)."""
    global _ledger
    with _lock:
        _ledger = None
        _connectors.clear()


def use_connector(name: str, conn: Any, account: str = "") -> None:
    """Publish through ``conn`` for ``name`` (and ``account``) in this process: a connector built with options
    the settings do not carry (a client timeout, a test's local server). ``reset()`` forgets it."""
    with _lock:
        _connectors[(name, account)] = conn


def connector(name: str, account: str = "") -> Any:
    """A connector instance per process, name and account (the Prefect block holding that account's
    credentials; '' for the deployment's default), pacing its requests through the ledger."""
    key = (name, account)
    with _lock:
        if key in _connectors:
            return _connectors[key]
    install_shared_pacing(ledger)  # provider rate limits shared with every other worker
    conn = get_connector(name, block=account) if account else get_connector(name)
    with _lock:
        _connectors.setdefault(key, conn)
        return _connectors[key]

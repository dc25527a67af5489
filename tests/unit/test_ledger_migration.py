"""An SQLite ledger made before accounts existed opens with this version and its rows keep working."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.ledger_migration import check_migrated, write_old_ledger


def test_an_old_sqlite_ledger_gains_accounts_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    write_old_ledger(url)
    check_migrated(url)
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        stops = conn.execute("SELECT sql FROM sqlite_master WHERE name='stopped_connectors'").fetchone()[0]
    assert "stopped_connectors_new" not in tables and "PRIMARY KEY (connector, account)" in stops

"""Which ledger ``status``, ``report`` and ``connectors`` read: never a new one, and for a campaign the one
that holds it.

``run``/``schedule`` keep their ledger in the state folder (or at PRACTICEWEEK_LEDGER_URL), each ``demo`` one
of its own under ``<state>/demo/<time>/``, and ``last-run.json`` remembers only the last command's. So a
campaign is looked for in the last run's ledger first, then in the others of the state folder, most
recently written first; the command says which it read, and where it looked when none holds the campaign.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import typer

from ledger import Ledger
from practiceweek.settings import settings

LEDGER_HELP = ("Ledger database URL to read. Default: PRACTICEWEEK_LEDGER_URL, else the ledger of the state "
               "folder holding the campaign (the last run's, else the most recent demo's).")
POINT_ELSEWHERE = "point to another ledger with --ledger URL or PRACTICEWEEK_LEDGER_URL"


def existing_ledger(state: Path, cid: str | None = None, url: str | None = None) -> Ledger:
    """The ledger to read (exits 2 saying what to do when there is none): ``url`` or PRACTICEWEEK_LEDGER_URL
    if given, else, for campaign ``cid``, the ledger of the state folder that holds it (the last run's
    first), else the last run's. Prints which ledger it read, and why when it is not the last run's."""
    configured = settings().ledger_url
    given = url or (configured.get_secret_value() if configured else None)
    if given:
        return _given(state, given, cid, "--ledger" if url else "PRACTICEWEEK_LEDGER_URL")
    found = candidates(state)
    if not found:
        _exit(f"no ledger found in {state}: run `practiceweek run`, `demo` or `schedule` first, "
              "or set PRACTICEWEEK_LEDGER_URL to the ledger to read")
    if cid is None:
        return _read(found[0])
    for candidate in found:
        led = _open(candidate)
        if led is not None and holds(led, cid):
            why = "" if candidate == found[0] else (
                f"   (the most recent ledger holding {cid}; the last run used {hidden(found[0])}; "
                f"{POINT_ELSEWHERE})"
            )
            print(f"ledger: {hidden(candidate)}{why}")
            return led
    looked = "".join(f"\n  {hidden(u)}" for u in found)
    _exit(f"{cid} is in none of the ledgers in {state}; looked in:{looked}\n"
          f"schedule it (`practiceweek run`, `demo` or `schedule`), or {POINT_ELSEWHERE}")


def _given(state: Path, url: str, cid: str | None, source: str) -> Ledger:
    """The ledger the operator named; for a campaign it does not hold, say where else it is."""
    led = _read(url)
    if cid is None or holds(led, cid):
        return led
    elsewhere = [u for u in candidates(state) if u != url and (other := _open(u)) is not None
                 and holds(other, cid)]
    hint = f"; it is in {hidden(elsewhere[0])} (--ledger {hidden(elsewhere[0])})" if elsewhere else ""
    _exit(f"{cid} is not in the ledger {hidden(url)} ({source}): nothing of it was scheduled there{hint}")


def candidates(state: Path) -> list[str]:
    """The ledgers a command may read, as URLs: the last run's first, then the state folder's own and each
    demo's, most recently written first. Only SQLite files that exist."""
    last = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        last = json.loads((state / "last-run.json").read_text())["ledger_url"] or None
    files = [state / "ledger.sqlite3", *state.glob("demo/*/ledger.sqlite3")]
    local = [f"sqlite:///{f.resolve()}" for f in sorted(
        (f for f in files if f.exists()), key=_written, reverse=True)]
    if last is not None and not _exists(last):
        last = None
    return ([last] if last else []) + [u for u in local if u != last]


def holds(led: Ledger, cid: str) -> bool:
    """Whether the ledger knows the campaign: its record, a publication or an approver's decision."""
    return led.campaign(cid) is not None or bool(led.rows(cid)) or bool(led.decisions(cid))


def hidden(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url


def _read(url: str) -> Ledger:
    if not _exists(url):
        _exit(f"the ledger {url} does not exist (moved or deleted?); nothing to show")
    print(f"ledger: {hidden(url)}")
    return Ledger(url)


def _open(url: str) -> Ledger | None:
    try:
        return Ledger(url)
    except Exception as exc:  # noqa: BLE001 - a ledger that cannot be opened holds nothing to show
        sys.stderr.write(f"could not open the ledger {hidden(url)}: {exc}\n")
        return None


def _exists(url: str) -> bool:
    return not url.startswith("sqlite") or Path(url.split(":///", 1)[-1]).exists()


def _written(path: Path) -> float:
    """When a SQLite ledger was last written (its write-ahead log counts)."""
    wal = path.with_name(path.name + "-wal")
    return max(path.stat().st_mtime, wal.stat().st_mtime if wal.exists() else 0.0)


def _exit(message: str) -> NoReturn:
    sys.stderr.write(message + "\n")
    raise typer.Exit(2)

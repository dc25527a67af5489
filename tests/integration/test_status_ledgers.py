"""`practiceweek status` reads the ledger that holds the week: a demo keeps its own ledger under
``<state>/demo/<time>/``, and a later `run` of another week makes the state folder's own ledger the last
run's. Real SQLite ledgers and the CLI as a subprocess; no Prefect server is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.session import remember_run
from ledger import Ledger, Planned
from tests.helpers import CAMPAIGNS, ROOT

IOW = CAMPAIGNS / "iowscp-domestic-abuse-2024.yaml"
HSCP = CAMPAIGNS / "hscp-learning-from-reviews-2024.yaml"
SCW = CAMPAIGNS / "safeguarding-children-week-2023.yaml"


def _planned(cid: str, n: int) -> list[Planned]:
    return [Planned(id=f"{cid}/mon/email/p{i}", campaign=cid, day="mon", channel="email", connector="outbox",
                    title=f"p{i}", fingerprint="f", planned_at=100.0 + i, scheduled_at=100.0 + i,
                    missed_window_s=60) for i in range(n)]


def _week(url: str, cid: str, sent: int, planned: int) -> None:
    """A week in the ledger at ``url``: ``planned`` publications, the first ``sent`` of them out."""
    led = Ledger(url)
    led.set_campaign(cid, f"{cid}.yaml", timezone="Europe/London")
    led.apply(cid, _planned(cid, planned))
    for row in led.rows(cid)[:sent]:
        assert led.claim(row.id)
        led.mark_sent(row.id, f"remote-{row.id}", f"file:///outbox/{row.id}")


@pytest.fixture()
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state folder after `demo` of the IOW week (3 of 4 sent) and then `run` of the HSCP week, which
    made the state folder's own ledger the last run's (written by ``remember_run``, as `run` does)."""
    state = tmp_path / "state"
    demo_url = f"sqlite:///{state / 'demo' / '20241125-080000' / 'ledger.sqlite3'}"
    own_url = f"sqlite:///{state / 'ledger.sqlite3'}"
    _week(demo_url, "iowscp-da-2024", sent=3, planned=4)
    _week(own_url, "hscp-lfr-2024", sent=1, planned=2)
    monkeypatch.setenv("PRACTICEWEEK_LEDGER_URL", own_url)
    remember_run(state)
    return state


def _status(state: Path, *args: str, ledger_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRACTICEWEEK_")}
    env.update({"PRACTICEWEEK_STATE": str(state), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"})
    if ledger_url:
        env["PRACTICEWEEK_LEDGER_URL"] = ledger_url
    return subprocess.run([sys.executable, "-m", "cli", "status", *args], env=env, cwd=state.parent,
                          capture_output=True, text=True, timeout=120)


def test_status_finds_the_demo_ledger_holding_the_week_when_the_last_run_used_another(state: Path) -> None:
    done = _status(state, str(IOW))
    assert done.returncode == 0, done.stderr
    first, counts = done.stdout.splitlines()[:2]
    assert first.startswith(f"ledger: sqlite:///{state / 'demo' / '20241125-080000' / 'ledger.sqlite3'}")
    assert "the most recent ledger holding iowscp-da-2024" in first and "--ledger" in first
    assert counts.startswith("iowscp-da-2024: 3 sent, 0 failed"), done.stdout

    last = _status(state, str(HSCP))  # the last run's own week: its ledger, nothing to explain
    assert last.returncode == 0, last.stderr
    assert last.stdout.splitlines()[0] == f"ledger: sqlite:///{state / 'ledger.sqlite3'}"
    assert "hscp-lfr-2024: 1 sent" in last.stdout


def test_a_week_in_no_ledger_says_where_it_looked_instead_of_0_sent(state: Path) -> None:
    done = _status(state, str(SCW))
    assert done.returncode == 2 and "0 sent" not in done.stdout, done.stdout
    assert "scw-2023 is in none of the ledgers" in done.stderr
    assert str(state / "ledger.sqlite3") in done.stderr and "20241125-080000" in done.stderr
    assert "--ledger URL or PRACTICEWEEK_LEDGER_URL" in done.stderr


def test_a_named_ledger_without_the_week_says_where_the_week_is(state: Path) -> None:
    own = f"sqlite:///{state / 'ledger.sqlite3'}"
    for named in (_status(state, str(IOW), ledger_url=own), _status(state, str(IOW), "--ledger", own)):
        assert named.returncode == 2 and "0 sent" not in named.stdout, named.stdout
        assert f"iowscp-da-2024 is not in the ledger {own}" in named.stderr
        assert "it is in sqlite:///" in named.stderr and "20241125-080000" in named.stderr
    demo = f"sqlite:///{state / 'demo' / '20241125-080000' / 'ledger.sqlite3'}"
    done = _status(state, str(IOW), "--ledger", demo)
    assert done.returncode == 0 and "iowscp-da-2024: 3 sent" in done.stdout, done.stdout + done.stderr

"""A joint week approved per partner (``approval: per_partner``), on a real Prefect server, answered through
Prefect's API as the UI's Resume form does: the run asks Hampshire's approver first (the form names
Hampshire, its plan table lists Hampshire's publications only); Hampshire's approval schedules Hampshire's
publications at once, before the Isle of Wight's approver is asked; the Isle of Wight's rejection holds only
its own. `practiceweek schedule` ends 0 naming the rejected partner, the ledger keeps each partner's
decision, the comms team is alerted of the rejection, and `practiceweek status` shows each partner's
decision. A second `schedule` asks only the Isle of Wight again."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.runtime.names import artifact_key
from ledger import Ledger, Verdict
from practiceweek.planner import partner_of
from tests.helpers import approval_week, paused_run, resume_run, running, wait_until

pytestmark = pytest.mark.slow
CID = "scw-2023"
WHY = "The Isle of Wight's Tuesday post names the wrong toolkit"


def _week(tmp_path: Path) -> Path:
    """The joint SCW 2023 seed, approved per partner, on one channel (5 posts per partner)."""
    return approval_week(tmp_path, "safeguarding-children-week-2023.yaml", "per_partner", "12:30")


def _paused_for(api: str, since: str, short: str) -> dict[str, Any] | None:
    """The run, paused and asking ``short``'s approver (its name says whose part is asked)."""
    run = paused_run(api, CID, since)
    return run if run is not None and run["name"].startswith(f"Approve: {short} practice week") else None


def _publications(markdown: str) -> list[str]:
    """The publication column of the plan table (markdown; a linked id reads as its text)."""
    rows = [[c.strip() for c in line.strip().strip("|").split(" | ")]
            for line in markdown.splitlines() if line.startswith("| ")]
    column = rows[0].index("publication")
    return [re.sub(r"^\[([^\]]*)\].*$", r"\1", row[column]) for row in rows[1:] if not row[0].startswith("-")]


def _plan_table(api: str) -> dict[str, Any]:
    (table,) = httpx.post(f"{api}/artifacts/latest/filter",
                          json={"artifacts": {"key": {"any_": [artifact_key(f"plan-{CID}")]}}}).json()
    return dict(table)


def test_each_partner_approves_its_own_part_and_a_rejection_holds_only_its_own(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    api = prefect_env["PREFECT_API_URL"]
    led = Ledger(prefect_env["PRACTICEWEEK_LEDGER_URL"])
    since = dt.datetime.now(dt.UTC).isoformat()
    week = _week(tmp_path)
    cmd = [sys.executable, "-m", "cli", "schedule", str(week), "--rehearse"]
    with running(cmd, prefect_env, tmp_path) as schedule:
        wait_until(lambda: _paused_for(api, since, "HSCP"), 90, "the run to ask Hampshire's approver",
                   seen=lambda: paused_run(api, CID, since))
        run = _paused_for(api, since, "HSCP")
        assert run is not None
        table = _plan_table(api)
        ids = [f"{CID}/{pub}" for pub in _publications(table["data"])]
        assert len(ids) == 5 and {partner_of(i) for i in ids} == {"hampshire"}, ids
        assert not led.rows(CID)  # nothing scheduled before an approval
        answer = resume_run(api, run["id"], {"decision": "Approve", "approver": "Jo Bloggs, jo@hants.gov.uk"})
        assert answer["status"] == "ACCEPT", answer

        wait_until(lambda: _paused_for(api, since, "IOWSCP"), 90,
                   "the run to ask the Isle of Wight's approver", seen=lambda: paused_run(api, CID, since))
        rows = led.rows(CID)  # Hampshire's part scheduled at once, before the Isle of Wight decides
        assert len(rows) == 5 and {partner_of(r.id) for r in rows} == {"hampshire"}, [r.id for r in rows]
        run = _paused_for(api, since, "IOWSCP")
        assert run is not None
        refused = resume_run(api, run["id"], {"decision": "Reject", "approver": "Sam Manager"})  # no reason
        assert refused["status"] != "ACCEPT" and "comment" in json.dumps(refused), refused
        answer = resume_run(api, run["id"], {"decision": "Reject", "approver": "Sam Manager", "comment": WHY})
        assert answer["status"] == "ACCEPT", answer
        err = schedule.ended(90)
    assert "isle-of-wight's approver rejected its publications" in err and "Traceback" not in err
    ended = httpx.get(f"{api}/flow_runs/{run['id']}").json()
    assert ended["state_type"] == "COMPLETED", ended["state"]
    assert {"approval:hampshire:approved", "approval:isle-of-wight:rejected"} <= set(ended["tags"])

    rows = led.rows(CID)
    assert len(rows) == 5 and {partner_of(r.id) for r in rows} == {"hampshire"}
    decided = led.partner_decisions(CID)
    assert (decided["hampshire"].verdict, decided["hampshire"].approver) == (
        Verdict.APPROVED, "Jo Bloggs, jo@hants.gov.uk")
    assert (decided["isle-of-wight"].verdict, decided["isle-of-wight"].comment) == (Verdict.REJECTED, WHY)
    (alert,) = led.alerts()
    assert alert.kind == "rejected" and alert.sent_at is not None and "IOWSCP" in alert.subject
    assert "not held by this" in alert.reason

    status = subprocess.run([sys.executable, "-m", "cli", "status", str(week)], env=prefect_env,
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "  hampshire: approved by Jo Bloggs, jo@hants.gov.uk at " in status.stdout, status.stdout
    assert "  isle-of-wight: REJECTED by Sam Manager at " in status.stdout
    assert f"{WHY}; none of its publications is scheduled" in status.stdout

    # proposed again: only the Isle of Wight's approver is asked; Hampshire's part stays as it was
    since = dt.datetime.now(dt.UTC).isoformat()
    with running(cmd, prefect_env, tmp_path) as again:
        wait_until(lambda: paused_run(api, CID, since), 90, "the second run to wait for approval")
        run = paused_run(api, CID, since)
        assert run is not None and run["name"].startswith("Approve: IOWSCP practice week"), run["name"]
        answer = resume_run(api, run["id"], {"decision": "Approve", "approver": "Ali Approver"})
        assert answer["status"] == "ACCEPT", answer
        again.ended(90)
    rows = led.rows(CID)
    assert len(rows) == 10 and {partner_of(r.id) for r in rows} == {"hampshire", "isle-of-wight"}
    assert led.approved_partners(CID) == {"hampshire", "isle-of-wight"}

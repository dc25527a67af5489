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
from tests.helpers import ROOT, kill_tree, wait_until

pytestmark = pytest.mark.slow
CID = "scw-2023"
WHY = "The Isle of Wight's Tuesday post names the wrong toolkit"


def _week(tmp_path: Path) -> Path:
    """The joint SCW 2023 seed, approved per partner, on one channel (5 posts per partner)."""
    text = (ROOT / "campaigns" / "safeguarding-children-week-2023.yaml").read_text()
    text = text.replace("  hashtags: [SafeguardingChildrenWeek]\n",
                        "  hashtags: [SafeguardingChildrenWeek]\n  approval: per_partner\n", 1)
    text = re.sub(r"^channels:\n(?:  .*\n)+", 'channels:\n  x: { at: "12:30" }\n', text, flags=re.M)
    assert "approval: per_partner" in text
    path = tmp_path / "week.yaml"
    path.write_text(text)
    return path


def _paused(api: str, since: str) -> dict[str, Any] | None:
    query = {"flow_runs": {"state": {"name": {"any_": ["Paused"]}}, "tags": {"all_": [f"campaign:{CID}"]},
                           "start_time": {"after_": since}}}
    found = httpx.post(f"{api}/flow_runs/filter", json=query).json()
    return found[0] if found else None


def _paused_for(api: str, since: str, short: str) -> dict[str, Any] | None:
    """The run, paused and asking ``short``'s approver (its name says whose part is asked)."""
    run = _paused(api, since)
    return run if run is not None and run["name"].startswith(f"Approve: {short} practice week") else None


def _resume(api: str, run_id: str, run_input: dict[str, str]) -> dict[str, Any]:
    answers: list[httpx.Response] = []

    def answered() -> bool:  # the SQLite-backed server answers 503 while its database is busy: ask again
        answers.append(httpx.post(f"{api}/flow_runs/{run_id}/resume", json={"run_input": run_input}))
        return answers[-1].status_code != 503

    wait_until(answered, 20, "the server to take the answer")
    return dict(answers[-1].json())


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
    proc = subprocess.Popen(cmd, env=prefect_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    try:
        wait_until(lambda: _paused_for(api, since, "HSCP"), 90, "the run to ask Hampshire's approver",
                   seen=lambda: _paused(api, since))
        run = _paused_for(api, since, "HSCP")
        assert run is not None
        table = _plan_table(api)
        ids = [f"{CID}/{pub}" for pub in _publications(table["data"])]
        assert len(ids) == 5 and {partner_of(i) for i in ids} == {"hampshire"}, ids
        assert not led.rows(CID)  # nothing scheduled before an approval
        answer = _resume(api, run["id"], {"decision": "Approve", "approver": "Jo Bloggs, jo@hants.gov.uk"})
        assert answer["status"] == "ACCEPT", answer

        wait_until(lambda: _paused_for(api, since, "IOWSCP"), 90,
                   "the run to ask the Isle of Wight's approver", seen=lambda: _paused(api, since))
        rows = led.rows(CID)  # Hampshire's part scheduled at once, before the Isle of Wight decides
        assert len(rows) == 5 and {partner_of(r.id) for r in rows} == {"hampshire"}, [r.id for r in rows]
        run = _paused_for(api, since, "IOWSCP")
        assert run is not None
        refused = _resume(api, run["id"], {"decision": "Reject", "approver": "Sam Manager"})  # no reason
        assert refused["status"] != "ACCEPT" and "comment" in json.dumps(refused), refused
        answer = _resume(api, run["id"], {"decision": "Reject", "approver": "Sam Manager", "comment": WHY})
        assert answer["status"] == "ACCEPT", answer
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            kill_tree(proc.pid)
    assert proc.returncode == 0, out + err
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
    proc = subprocess.Popen(cmd, env=prefect_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    try:
        wait_until(lambda: _paused(api, since), 90, "the second run to wait for approval")
        run = _paused(api, since)
        assert run is not None and run["name"].startswith("Approve: IOWSCP practice week"), run["name"]
        answer = _resume(api, run["id"], {"decision": "Approve", "approver": "Ali Approver"})
        assert answer["status"] == "ACCEPT", answer
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            kill_tree(proc.pid)
    assert proc.returncode == 0, out + err
    rows = led.rows(CID)
    assert len(rows) == 10 and {partner_of(r.id) for r in rows} == {"hampshire", "isle-of-wight"}
    assert led.approved_partners(CID) == {"hampshire", "isle-of-wight"}

"""A week rejected through Prefect's API (what the UI's Resume form sends), on a real Prefect server: an empty
answer is refused and the run stays paused; a rejection ends `practiceweek schedule` at once with exit 3 and
a clear message, the run Cancelled ("Rejected") and renamed "Rejected: …", its plan table rewritten, a
rejection without a reason refused, the decision in the ledger, the comms team alerted. An approval left
unanswered (PRACTICEWEEK_APPROVAL_TIMEOUT_S, 3 s here) ends `practiceweek run` in words with exit 4 and an
alert."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from flows.runtime.names import artifact_key
from ledger import Ledger, Verdict
from tests.helpers import approval_week, paused_run, resume_run, running, wait_until

pytestmark = pytest.mark.slow
CID = "hscp-lfr-2024"
WHY = "The Friday post names the wrong toolkit"


def _week(tmp_path: Path) -> Path:
    return approval_week(tmp_path, "hscp-learning-from-reviews-2024.yaml", "required", "12:00")


def test_a_rejected_week_ends_schedule_at_once_and_is_recorded(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    api = prefect_env["PREFECT_API_URL"]
    since = dt.datetime.now(dt.UTC).isoformat()
    week = _week(tmp_path)
    cmd = [sys.executable, "-m", "cli", "schedule", str(week), "--rehearse"]
    with running(cmd, prefect_env, tmp_path) as schedule:
        wait_until(lambda: paused_run(api, CID, since), 90, "the schedule run to wait for approval")
        run = paused_run(api, CID, since)
        assert run is not None and run["name"].startswith("Approve: HSCP practice week 24–28 Jun 2024")
        assert {"practiceweek", f"campaign:{CID}"} <= set(run["tags"])
        untouched = resume_run(api, run["id"], {"approver": "Sam Manager"})  # no decision: refused
        assert untouched["status"] != "ACCEPT" and "decision" in json.dumps(untouched)
        assert paused_run(api, CID, since) is not None
        for why in ({}, {"comment": "  "}):  # a rejection without a reason: refused, still paused
            refused = resume_run(api, run["id"], {"decision": "Reject", "approver": "Sam Manager", **why})
            assert refused["status"] != "ACCEPT" and "comment" in json.dumps(refused), refused
            assert paused_run(api, CID, since) is not None
        answer = resume_run(api, run["id"], {"decision": "Reject", "approver": "Sam Manager", "comment": WHY})
        assert answer["status"] == "ACCEPT", answer
        err = schedule.ended(60, code=3)
    assert f"Rejected by Sam Manager: {WHY}" in err and "Nothing was scheduled or sent" in err
    assert "Traceback" not in err
    ended = httpx.get(f"{api}/flow_runs/{run['id']}").json()
    assert (ended["state_type"], ended["state_name"]) == ("CANCELLED", "Rejected")
    assert ended["name"].startswith("Rejected: HSCP practice week 24–28 Jun 2024"), ended["name"]
    (table,) = httpx.post(f"{api}/artifacts/latest/filter",
                          json={"artifacts": {"key": {"any_": [artifact_key(f"plan-{CID}")]}}}).json()
    lines = [line for line in table["data"].splitlines() if line.startswith("| ")][1:]  # below its header
    assert lines and all(line.startswith("| ✗ rejected: not scheduled |") for line in lines), table["data"]
    assert "awaiting approval" not in json.dumps(table) and "Sam Manager" in table["description"]

    led = Ledger(prefect_env["PRACTICEWEEK_LEDGER_URL"])
    assert not led.rows(CID)
    (decision,) = led.decisions(CID)
    assert (decision.verdict, decision.approver, decision.comment) == (Verdict.REJECTED, "Sam Manager", WHY)
    (alert,) = led.alerts()
    assert alert.kind == "rejected" and alert.sent_at is not None  # sent at once, by the rejected run
    messages = list((Path(prefect_env["PRACTICEWEEK_OUTBOX"]) / "operators").rglob("message.json"))
    assert len(messages) == 1 and WHY in messages[0].read_text()


def test_an_approval_left_unanswered_ends_run_in_words_with_an_alert(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**prefect_env, "PRACTICEWEEK_APPROVAL_TIMEOUT_S": "3"}
    api = env["PREFECT_API_URL"]
    week = _week(tmp_path)
    done = subprocess.run([sys.executable, "-m", "cli", "run", str(week), "--rehearse"], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=180)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert (f"{week}: No decision within 3 seconds: nothing was scheduled or sent; the comms team was "
            "alerted. Run this command again to ask for approval again.") in done.stderr

    tagged = {"flow_runs": {"tags": {"all_": [f"campaign:{CID}", "approval:unanswered"]}}}
    (run,) = httpx.post(f"{api}/flow_runs/filter", json=tagged).json()
    # whichever ends the pause first words the Failed state: this run (its words) or the server's
    # pause-expiration service ("... never resumed"); both read as unanswered (`approval.timed_out`)
    message = run["state"]["message"]
    assert run["state_type"] == "FAILED", run["state"]
    assert message.startswith("No decision within 3 seconds: nothing was scheduled") or (
        "never resumed" in message), message
    assert run["name"].startswith("Unanswered: HSCP practice week 24–28 Jun 2024")
    led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
    assert not led.rows(CID) and not led.decisions(CID)
    (alert,) = led.alerts()
    assert alert.kind == "unanswered" and alert.sent_at is not None and "within 3 seconds" in alert.reason
    messages = list((Path(env["PRACTICEWEEK_OUTBOX"]) / "operators").rglob("message.json"))
    assert len(messages) == 1 and "no one decided on HSCP practice week" in messages[0].read_text()

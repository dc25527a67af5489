"""A manager rejects one week in the classic Prefect UI and approves another in the new one (Chromium), each
waiting in its own `practiceweek run --rehearse`; both UIs refuse the form untouched. The approved week goes
out to the outbox; the rejected one sends nothing, ends Cancelled "Rejected", alerts the comms team, and its
`run` exits 3 at once; both decisions are in the ledger and in `practiceweek status`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger import Ledger, Verdict
from tests.browser import choose_decision, form_field, open_resume_form, submit_until_resumed
from tests.helpers import ROOT, kill_tree, wait_until

pytestmark = pytest.mark.slow
PW = [sys.executable, "-m", "cli"]
APPROVED_ID, REJECTED_ID = "hscp-lfr-2024", "iowscp-da-2024"
APPROVED_NAME = "Approve: HSCP practice week 24–28 Jun 2024"
REJECTED_NAME = "Approve: IOWSCP practice week 25–29 Nov 2024"
DECIDED_NAME = "Rejected: IOWSCP practice week 25–29 Nov 2024"  # the same run, renamed by the decision
MANAGER = "Sam Manager, sam.manager@iow.gov.uk"
WHY = "Move Wednesday's session: it clashes with the board meeting"


def _needing_approval(src: Path, dest: Path, channels: str | None = None) -> Path:
    """A seed week with ``approval: required`` (and only ``channels``, if given)."""
    zone = "  timezone: Europe/London\n"
    text = src.read_text().replace(zone, zone + "  approval: required\n")
    if channels is not None:
        text = re.sub(r"^channels:\n(?:  .*\n)+", "channels:\n" + channels, text, flags=re.M)
    dest.write_text(text)
    return dest


def _paused(api: str, name: str) -> dict[str, Any] | None:
    r = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"state": {"name": {"any_": ["Paused"]}}}})
    return next((fr for fr in r.json() if fr["name"].startswith(name)), None)


def _start(env: dict[str, str], tmp_path: Path, file: Path, *args: str) -> subprocess.Popen[str]:
    log = open(tmp_path / f"{file.stem}.log", "w")
    return subprocess.Popen([*PW, "run", str(file), "--rehearse", *args], env=env, stdout=log,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path)


def _resume_in_ui(page: Any, api: str, name: str, decision: str, comment: str, *, classic: bool,
                  shot: Path) -> None:
    """Open the paused run's Resume form, check what it tells the approver, submit it untouched (refused),
    then fill it and submit it."""
    dialog = open_resume_form(page, api, name, classic)
    dialog.get_by_text(name.removeprefix("Approve: ")).first.wait_for()  # the week, in the description
    link = dialog.get_by_role("link", name="the preview of every publication")
    preview = link.get_attribute("href")
    if classic:  # opens in a new tab, the form kept (the new UI's markdown sanitiser drops target and rel)
        assert (link.get_attribute("target"), link.get_attribute("rel")) == ("_blank", "noopener")
    assert httpx.get(preview).status_code == 200 and "<html" in httpx.get(preview).text.lower()
    dialog.get_by_text("Reject: nothing is scheduled or sent").first.wait_for()  # the field's help text (the
    # form is drawn after the description: waited for, not looked at once)
    submit = dialog.get_by_role("button", name="Submit" if classic else "Resume")
    submit.click()  # untouched: refused in both UIs, never read as a decision
    page.get_by_text("'decision' is a required property").first.wait_for()
    assert _paused(api, name)
    choose_decision(page, dialog, decision, classic)
    form_field(dialog, "Your name and email", classic).fill(MANAGER)
    form_field(dialog, "Comment", classic).fill(comment)
    submit_until_resumed(page, dialog, classic, lambda: _paused(api, name), shot)


def _events(api: str, name: str) -> list[dict[str, Any]]:
    r = httpx.post(f"{api}/events/filter", json={"filter": {"event": {"name": [name]}}, "limit": 50})
    return list(r.json().get("events", [])) if r.status_code == 200 else []


def _artifact(api: str, key: str) -> dict[str, Any] | None:
    found = httpx.post(f"{api}/artifacts/latest/filter", json={"artifacts": {"key": {"any_": [key]}}}).json()
    return found[0] if found else None


def test_a_manager_approves_one_week_and_rejects_another_in_the_prefect_ui(
    prefect_env: dict[str, str], tmp_path: Path, browser: Any
) -> None:
    env = {**prefect_env, "PRACTICEWEEK_REHEARSAL_START_S": "5"}
    api = env["PREFECT_API_URL"]
    iow = _needing_approval(ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml", tmp_path / "iow.yaml")
    hscp = _needing_approval(ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml",
                             tmp_path / "hscp.yaml", channels='  x: { at: "12:00" }\n')
    state = Path(env["PRACTICEWEEK_STATE"])
    rejected = _start(env, tmp_path, iow)
    approved = None
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        # the second run starts once the first serves the outbox (the file server both then share)
        wait_until((state / "outbox-http.json").exists, 90, "the first run to serve the outbox")
        approved = _start(env, tmp_path, hscp, "--speed", "40000")  # the week in about 10 s
        wait_until(lambda: _paused(api, REJECTED_NAME), 90, "the IOWSCP week to wait for approval")
        led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
        assert not led.rows(REJECTED_ID)  # nothing scheduled before a decision

        _resume_in_ui(page, api, REJECTED_NAME, "Reject", WHY, classic=True,
                      shot=tmp_path / "reject-form.png")
        clicked = time.time()
        assert rejected.wait(60) == 3  # at once, not after its timeout
        out = (tmp_path / "iow.log").read_text()
        assert f"Rejected by {MANAGER}: {WHY}" in out and "Nothing was scheduled or sent" in out, out
        assert "Traceback" not in out, out
        print(f"run exited {time.time() - clicked:.1f} s after the rejection was submitted")

        wait_until(lambda: _paused(api, APPROVED_NAME), 90, "the HSCP week to wait for approval")
        _resume_in_ui(page, api, APPROVED_NAME, "Approve", "Good to go", classic=False,
                      shot=tmp_path / "approve-form.png")
        assert approved.wait(120) == 0, (tmp_path / "hscp.log").read_text()
        assert "could not cancel" not in (tmp_path / "hscp.log").read_text()  # its window runs ended cleanly
    finally:
        page.close()
        for proc in (rejected, approved):
            if proc is not None and proc.poll() is None:
                kill_tree(proc.pid)
        subprocess.run([*PW, "stop"], env=env, cwd=tmp_path, capture_output=True, timeout=60)

    # the rejected week: nothing sent, the run says so, the decision recorded, the comms team alerted
    outbox = Path(env["PRACTICEWEEK_OUTBOX"])
    assert not (outbox / REJECTED_ID).exists() and not led.rows(REJECTED_ID)
    tagged = {"flow_runs": {"tags": {"all_": [f"campaign:{REJECTED_ID}"]}}}
    runs = httpx.post(f"{api}/flow_runs/filter", json=tagged)
    (run,) = [fr for fr in runs.json() if fr["name"].startswith(DECIDED_NAME)]
    assert run["state_type"] == "CANCELLED" and run["state_name"] == "Rejected"
    assert run["state"]["message"] == f"Rejected by {MANAGER}: {WHY}"
    assert "approval:rejected" in run["tags"]
    (decision,) = led.decisions(REJECTED_ID)
    assert (decision.verdict, decision.approver, decision.comment) == (Verdict.REJECTED, MANAGER, WHY)
    assert decision.flow_run_id == run["id"]
    alerts = [json.loads(p.read_text()) for p in (outbox / "operators").rglob("message.json")]
    assert any(WHY in json.dumps(a) and "rejected" in json.dumps(a) for a in alerts), alerts
    review = _artifact(api, f"plan-{REJECTED_ID}")  # the plan the manager reviewed, rewritten by the decision
    assert review is not None and REJECTED_ID in review["data"]
    assert "rejected: not scheduled" in review["data"] and "awaiting approval" not in review["data"]
    artifact = _artifact(api, f"decision-{REJECTED_ID}")
    assert artifact is not None and WHY in artifact["data"] and MANAGER in artifact["data"]
    wait_until(lambda: _events(api, "practiceweek.campaign.rejected"), 30, "the rejection's event")
    event = _events(api, "practiceweek.campaign.rejected")[0]
    assert event["payload"]["approver"] == MANAGER and event["payload"]["comment"] == WHY

    # the approved week: every publication went out, and the approver is still in the ledger afterwards
    rows = led.rows(APPROVED_ID)
    assert len(rows) == 5 and {r.state for r in rows} == {"sent"}
    assert len(list((outbox / APPROVED_ID).rglob("receipt.json"))) == 5
    camp = led.campaign(APPROVED_ID)
    assert camp is not None and camp.approver == MANAGER and camp.approved_at is not None
    assert [d.verdict for d in led.decisions(APPROVED_ID)] == [Verdict.APPROVED]

    for file, expected in ((hscp, f"approved by {MANAGER}"), (iow, f"REJECTED by {MANAGER}")):
        status = subprocess.run([*PW, "status", str(file)], env=env, cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
        assert status.returncode == 0 and expected in status.stdout, status.stdout + status.stderr

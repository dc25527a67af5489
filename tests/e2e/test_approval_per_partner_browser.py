"""A joint week approved per partner (``approval: per_partner``), decided in the Prefect UI (Chromium) as
each partner's manager would, while `practiceweek run --rehearse` waits: Hampshire's approver opens the
paused run in the new UI, reads that the form is for Hampshire only and approves; the Isle of Wight's
approver opens it in the classic UI, reads that it is for the Isle of Wight only and rejects with a reason.
Hampshire's posts go out (ledger and outbox); the Isle of Wight's are held (none scheduled, none in the
outbox), the run says so and the comms team is alerted. The same decisions through the API:
tests/integration/test_approval_per_partner.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger import Ledger, Verdict
from practiceweek.planner import partner_of
from tests.browser import choose_decision, form_field, open_resume_form, submit_until_resumed
from tests.helpers import ROOT, kill_tree, wait_until

pytestmark = pytest.mark.slow
PW = [sys.executable, "-m", "cli"]
CID = "scw-2023"
HANTS, IOW = "Approve: HSCP practice week", "Approve: IOWSCP practice week"  # the paused run's name
HANTS_NAME = "Hampshire Safeguarding Children Partnership"
IOW_NAME = "Isle of Wight Safeguarding Children Partnership"
JO = "Jo Bloggs, jo.bloggs@hants.gov.uk"
SAM = "Sam Manager, sam.manager@iow.gov.uk"
WHY = "Our Tuesday post names the wrong toolkit"


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


def _paused(api: str, name: str) -> dict[str, Any] | None:
    """The week's run while it is paused asking the approver its name starts with ``name`` for."""
    query = {"flow_runs": {"state": {"name": {"any_": ["Paused"]}}, "tags": {"all_": [f"campaign:{CID}"]}}}
    found = httpx.post(f"{api}/flow_runs/filter", json=query).json()
    return next((run for run in found if run["name"].startswith(name)), None)


def _decide(page: Any, api: str, name: str, partner: str, other: str, decision: tuple[str, str, str], *,
            classic: bool, shot: Path) -> None:
    """Open the paused run's Resume form, check it names the partner decided for (and not the other), then
    choose, fill and submit it as ``decision`` = (choice, approver, comment)."""
    wait_until(lambda: _paused(api, name), 120, f"the run to ask {partner}'s approver",
               seen=lambda: [r["name"] for r in httpx.post(f"{api}/flow_runs/filter", json={}).json()])
    dialog = open_resume_form(page, api, name, classic)
    dialog.get_by_text(f"For {partner} only").first.wait_for()  # whose part this approver decides on
    dialog.get_by_text(name.removeprefix("Approve: ")).first.wait_for()  # its heading: the partner's week
    assert dialog.get_by_text(other).count() == 0  # the other partner's approver is asked on its own
    choice, approver, comment = decision
    choose_decision(page, dialog, choice, classic)
    form_field(dialog, "Your name and email", classic).fill(approver)
    form_field(dialog, "Comment", classic).fill(comment)
    submit_until_resumed(page, dialog, classic, lambda: _paused(api, name), shot)


def test_each_partners_manager_decides_its_own_part_in_the_prefect_ui(
    prefect_env: dict[str, str], tmp_path: Path, browser: Any
) -> None:
    env = {**prefect_env, "PRACTICEWEEK_REHEARSAL_START_S": "5"}
    api = env["PREFECT_API_URL"]
    week = _week(tmp_path)
    log = open(tmp_path / "run.log", "w")
    proc = subprocess.Popen([*PW, "run", str(week), "--rehearse", "--speed", "40000"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(60_000)
    led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
    try:
        _decide(page, api, HANTS, HANTS_NAME, IOW_NAME, ("Approve", JO, "Good to go"), classic=False,
                shot=tmp_path / "hampshire-form.png")
        _decide(page, api, IOW, IOW_NAME, HANTS_NAME, ("Reject", SAM, WHY), classic=True,
                shot=tmp_path / "isle-of-wight-form.png")
        assert proc.wait(180) == 0, (tmp_path / "run.log").read_text()
    finally:
        page.close()
        if proc.poll() is None:
            kill_tree(proc.pid)
        subprocess.run([*PW, "stop"], env=env, cwd=tmp_path, capture_output=True, timeout=60)
    out = (tmp_path / "run.log").read_text()
    assert "isle-of-wight's approver rejected its publications" in out and "Traceback" not in out, out

    # Hampshire's part went out; the Isle of Wight's is held: never scheduled, nothing in its outbox
    rows = led.rows(CID)
    assert len(rows) == 5 and {partner_of(r.id) for r in rows} == {"hampshire"}, [r.id for r in rows]
    assert {r.state for r in rows} == {"sent"}
    outbox = Path(env["PRACTICEWEEK_OUTBOX"])
    receipts = sorted(outbox.joinpath(CID).rglob("receipt.json"))
    assert len(receipts) == 5 and all(p.relative_to(outbox / CID).parts[0] == "hampshire" for p in receipts)
    assert not (outbox / CID / "isle-of-wight").exists()
    decided = led.partner_decisions(CID)
    assert (decided["hampshire"].verdict, decided["hampshire"].approver) == (Verdict.APPROVED, JO)
    assert (decided["isle-of-wight"].verdict, decided["isle-of-wight"].approver,
            decided["isle-of-wight"].comment) == (Verdict.REJECTED, SAM, WHY)
    assert led.approved_partners(CID) == {"hampshire"}
    alerts = [json.loads(p.read_text()) for p in (outbox / "operators").rglob("message.json")]
    assert any(WHY in json.dumps(a) and "IOWSCP" in json.dumps(a) for a in alerts), alerts

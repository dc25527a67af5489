"""``practiceweek demo`` of two seed weeks together on a real Prefect server: both weeks are rendered ahead
in one batch before anything is due, and every publication goes out once. One of them is the joint
Safeguarding Children Week 2023: each partner's publications go out under its own name, to its own list."""

from __future__ import annotations

import email
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

WEEKS = [ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml",
         ROOT / "campaigns" / "safeguarding-children-week-2023.yaml"]  # the joint week (the IOW week alone:
# test_demo_outcome.py)
LISTS = {"hampshire": "hscp-practitioners@hants.gov.uk", "isle-of-wight": "iowscp-practitioners@iow.gov.uk"}


def test_a_demo_of_two_weeks_renders_both_ahead_and_sends_each_publication_once(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    # the week starts a minute after scheduling: rendering both weeks ahead takes ~8 s on an idle 2-core
    # machine and 40 s when it is crowded (the suite runs in parallel); the property is "rendered before
    # anything is due", not how fast rendering is
    env = {**prefect_env, "PRACTICEWEEK_REHEARSAL_START_S": "60"}
    cmd = [sys.executable, "-m", "cli", "demo", *map(str, WEEKS), "--speed", "80000", "--timeout", "240"]
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "failed 0, skipped 0, cancelled 0, open 0" in done.stdout, done.stdout
    batch = re.search(r"rendered (\d+) publication\(s\) of 2 weeks ahead", done.stdout)
    [ledger] = (Path(env["PRACTICEWEEK_STATE"]) / "demo").rglob("ledger.sqlite3")
    with sqlite3.connect(ledger) as db:
        sent = db.execute("SELECT id, campaign, sending_at FROM publications WHERE state='sent'").fetchall()
        stored = db.execute("SELECT key, created_at FROM renderings").fetchall()
        zones = {cid: tz for cid, tz in db.execute("SELECT id, timezone FROM campaigns")}
    assert {cid for _, cid, _ in sent} == {"hscp-lfr-2024", "scw-2023"}
    assert zones == {"hscp-lfr-2024": "Europe/London", "scw-2023": "Europe/London"}
    rendered_at = {key.split(":")[1]: at for key, at in stored}  # publication:<id>:<fingerprint>:<digest>
    first_send = min(at for _, _, at in sent)
    assert {pid for pid, _, _ in sent} <= set(rendered_at), "every publication is stored rendered"
    assert batch and int(batch.group(1)) == len(sent), done.stdout  # all of them, in one batch
    assert max(rendered_at.values()) < first_send, "both weeks were rendered before the first send"
    receipts = [json.loads(p.read_text())["publication_id"]
                for p in Path(env["PRACTICEWEEK_OUTBOX"]).rglob("receipt.json")]
    assert sorted(receipts) == sorted(pid for pid, _, _ in sent)  # each sent one in the outbox, once
    outbox = Path(env["PRACTICEWEEK_OUTBOX"]) / "scw-2023"
    for partner, mailing_list in LISTS.items():  # the joint week: each partner's own folder, list and page
        sent_for = sorted(pid for pid, cid, _ in sent if cid == "scw-2023" and pid.endswith(f"/{partner}"))
        assert len(sent_for) == 31, sent_for
        emails = sorted((outbox / partner).glob("*/email-daily/message.eml"))
        assert len(emails) == 5, partner
        assert {email.message_from_bytes(p.read_bytes())["To"] for p in emails} == {mailing_list}
        assert len(list((outbox / partner).glob("*/web_page-daily/**/index.html"))) == 5, partner

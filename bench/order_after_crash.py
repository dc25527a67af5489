"""Stress loop for the catch-up order: rehearse a seed week, edit it mid-week (a trigger re-plans it), kill -9
everything at a random moment, restart, and check that every channel went out in its planned order, each
publication once. Reports how many runs kept order (target: all of them).

    .venv/bin/python bench/order_after_crash.py --runs 20

Each run takes about a minute (the seed week rehearsed in ~30 s, the kill, the catch-up).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.runtime.embedded import start_server  # noqa: E402
from ledger import Ledger, Row  # noqa: E402

SEED = ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml"
CID = "hscp-lfr-2024"
PW = [sys.executable, "-m", "cli"]
SPEED = "12000"  # the seed week (Mon 08:00 → Fri 12:00) in about 30 s


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    until = time.time() + seconds
    while time.time() < until:
        if check():
            return True
        time.sleep(0.2)
    return False


def _kill_tree(pid: int) -> None:
    """kill -9 a process and everything below it (flow-run processes have process groups of their own)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    todo, found = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    for p in found:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _order_problems(rows: list[Row], outbox: Path) -> list[str]:
    """Channels delivered out of their planned order, and publications delivered twice or not at all."""
    delivered: dict[str, str] = {}
    problems = []
    for receipt in (outbox / CID).rglob("receipt.json"):
        body = json.loads(receipt.read_text())
        if body["publication_id"] in delivered:
            problems.append(f"{body['publication_id']} delivered twice")
        delivered[body["publication_id"]] = body["at"]
    sent = [r for r in rows if r.state == "sent"]
    if sorted(delivered) != sorted(r.id for r in sent):
        problems.append(f"outbox holds {len(delivered)} publications, the ledger says {len(sent)} sent")
    for channel in sorted({r.channel for r in sent}):
        mine = [r for r in sent if r.channel == channel and r.id in delivered]
        by_delivery = [r.id for r in sorted(mine, key=lambda r: delivered[r.id])]
        by_plan = [r.id for r in sorted(mine, key=lambda r: (r.scheduled_at, r.id))]  # the channel's order
        if by_delivery != by_plan:
            problems.append(f"{channel}: delivered {by_delivery}, planned {by_plan}")
    return problems


def one_run(api_url: str, work: Path, kill_after_s: float) -> dict[str, object]:
    env = {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PREFECT_UI_API_URL": api_url,
        "PREFECT_HOME": str(work / "prefect-client"),
        "PRACTICEWEEK_STATE": str(work / "state"),
        "PRACTICEWEEK_LEDGER_URL": f"sqlite:///{work / 'state' / 'ledger.sqlite3'}",
        "PRACTICEWEEK_OUTBOX": str(work / "outbox"),
        "PRACTICEWEEK_REHEARSAL_START_S": "8",
        "PYTHONPATH": str(ROOT),
    }
    folder = work / "campaigns"
    folder.mkdir(parents=True)
    camp = folder / "week.yaml"
    camp.write_text(SEED.read_text())
    cmd = [*PW, "run", str(camp), "--rehearse", "--speed", SPEED, "--timeout", "150"]
    watcher = subprocess.Popen([*PW, "watch", str(folder), "--once"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
    try:
        assert watcher.stdout is not None and "watching" in watcher.stdout.readline()
        if not _wait(lambda: any(r.state == "sent" for r in led.rows(CID)), 90):
            return {"ok": False, "problems": ["nothing went out in 90 s"]}
        text = re.sub(r"^  bluesky: .*\n", "", camp.read_text(), flags=re.M)
        camp.write_text(text.replace("  - weekday: thursday\n",
                                     '  - weekday: thursday\n    channels: { email: { at: "10:30" } }\n'))
        time.sleep(kill_after_s)  # the random moment
    finally:
        _kill_tree(first.pid)
        _kill_tree(watcher.pid)
    first.wait(10)
    open_before = sum(r.state not in ("sent", "cancelled", "skipped", "failed") for r in led.rows(CID))
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    rows = led.rows(CID)
    problems = _order_problems(rows, work / "outbox")
    if second.returncode != 0:
        problems.append(f"the restarted run exited {second.returncode}")
    states: dict[str, int] = {}
    for r in rows:
        states[str(r.state)] = states.get(str(r.state), 0) + 1
    return {"ok": not problems, "problems": problems, "open_at_kill": open_before, "states": states}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="random seed for the kill moments")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    home = Path(tempfile.mkdtemp(prefix="practiceweek-order-"))
    server = start_server(home / "prefect")
    kept = 0
    try:
        for i in range(1, args.runs + 1):
            kill_after = round(rng.uniform(0.0, 20.0), 1)
            started = time.time()
            result = one_run(server.api_url, home / f"run-{i}", kill_after)
            kept += bool(result["ok"])
            print(f"run {i:2}: kill {kill_after:4.1f} s after the edit · {time.time() - started:5.1f} s · "
                  f"open at the kill {result.get('open_at_kill')} · {result.get('states')} · "
                  + ("in order" if result["ok"] else f"PROBLEMS {result['problems']}"), flush=True)
    finally:
        if server.pid:
            os.killpg(server.pid, signal.SIGTERM)
    print(f"\n{kept}/{args.runs} runs kept every channel in order, each publication once")
    print("reproduce: .venv/bin/python bench/order_after_crash.py --runs", args.runs)
    sys.exit(0 if kept == args.runs else 1)


if __name__ == "__main__":
    main()

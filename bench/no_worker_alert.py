"""How soon operators are told that no worker polls the work pool, on the production set-up.

Brings up deploy/'s stack (PostgreSQL ×2, the authenticated Prefect server, the process pool, the workers,
the four deployments) and supervises it as ``deploy/production.py run`` does (restarts, heal every 3 s).
Once the pool is READY, every worker is stopped with kill -9 and held down (an operator's stop, or a lost
host), and the script times how long until Prefect marks the pool NOT_READY and until the operators' alert
naming the pool is in the outbox (``PRACTICEWEEK_OPERATORS_CONNECTOR``, default outbox).
``--prefect-defaults`` runs the workers and server with Prefect's default heartbeat (30 s) and foreman
loop (15 s) instead of the production set-up's (10 s, 5 s), for comparison.

    .venv/bin/python bench/no_worker_alert.py [--workers 2] [--prefect-defaults] [--timeout 300]
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from deploy.production import POOL, Stack, open_stack, snapshot_repo  # noqa: E402

PREFECT_DEFAULTS = {"worker_heartbeat_s": 30, "foreman_loop_s": 15}


def pool_status(stack: Stack) -> str:
    """The pool's status as the Prefect server reports it (READY, NOT_READY, PAUSED)."""
    req = urllib.request.Request(f"{stack.api_url}/work_pools/{POOL}")
    req.add_header("Authorization", "Basic " + base64.b64encode(stack.auth_string.encode()).decode())
    with urllib.request.urlopen(req, timeout=5) as resp:
        return str(json.load(resp)["status"])


def alert_files(outbox: Path) -> list[Path]:
    """The operators' alerts in the outbox that name the pool as having no worker."""
    needle = f"no worker is polling the work pool {POOL}"
    return [p for p in (outbox / "operators").rglob("message.json") if needle in p.read_text()]


def wait(predicate: object, timeout: float, what: str) -> float:
    """Poll ``predicate`` every 0.2 s; the time it first held (raises after ``timeout``)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():  # type: ignore[operator]
            return time.time()
        time.sleep(0.2)
    raise TimeoutError(f"{what}: not after {timeout:.0f} s")


def measure(stack: Stack, workers: int, outbox: Path, timeout: float) -> dict[str, float]:
    """Stop every worker once the pool is READY; seconds until NOT_READY and until the alert."""
    stop = threading.Event()
    supervisor = threading.Thread(target=stack.supervise, args=(workers,), kwargs={"stop": stop}, daemon=True)
    supervisor.start()
    try:
        wait(lambda: pool_status(stack) == "READY", 120, "the pool to be READY")
        names = [f"worker-{i}" for i in range(1, workers + 1)]
        stack.held.update(names)  # the supervisor leaves them down
        stopped = time.time()
        for name in names:
            stack.kill(name)
        not_ready = wait(lambda: pool_status(stack) == "NOT_READY", timeout, "the pool to be NOT_READY")
        alerted = wait(lambda: alert_files(outbox), timeout, "the operators' alert naming the pool")
    finally:
        stop.set()
        supervisor.join(timeout=60)
    return {"not_ready_s": round(not_ready - stopped, 1), "alert_s": round(alerted - stopped, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--prefect-defaults", action="store_true",
                        help="Prefect's default worker heartbeat (30 s) and foreman loop (15 s)")
    parser.add_argument("--timeout", type=float, default=300, help="give up after this long (seconds)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="practiceweek-noworker-"))
    root.chmod(0o711)
    outbox = root / "outbox"
    stack = open_stack(root / "stack")
    if args.prefect_defaults:
        stack.worker_heartbeat_s = PREFECT_DEFAULTS["worker_heartbeat_s"]
        stack.foreman_loop_s = PREFECT_DEFAULTS["foreman_loop_s"]
    stack.extra_env = {"PRACTICEWEEK_REPO": snapshot_repo(ROOT, root / "repo"), "PRACTICEWEEK_BRANCH": "main",
                       "PRACTICEWEEK_STATE": str(root / "state"), "PRACTICEWEEK_OUTBOX": str(outbox)}
    try:
        stack.up(args.workers)
        stack.deploy()
        figures = measure(stack, args.workers, outbox, args.timeout)
    finally:
        stack.down()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    settings = f"worker heartbeat {stack.worker_heartbeat_s:g} s, foreman loop {stack.foreman_loop_s:g} s"
    print(f"{args.workers} worker(s) stopped (kill -9, held down); {settings}")
    print(f"pool {POOL} NOT_READY after {figures['not_ready_s']} s; "
          f"operators' alert naming it after {figures['alert_s']} s (target: within 120 s)")
    print("command: .venv/bin/python bench/no_worker_alert.py " + " ".join(argv or sys.argv[1:]))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

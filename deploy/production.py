"""Bring up the production stack: PostgreSQL → authenticated Prefect server → process pool → workers.

    python deploy/production.py run --dir /var/lib/practiceweek --workers 2 [--repo URL]   # supervised
    python deploy/production.py run --ha --api-servers 2 --dir …   # HA: HAProxy, API servers, services, Redis
    python deploy/production.py up --dir /var/lib/practiceweek --workers 2 [--repo URL]    # detached
    python deploy/production.py env --dir /var/lib/practiceweek                           # client settings
    python deploy/production.py down --dir /var/lib/practiceweek

Everything here is standard library plus the ``prefect`` CLI in subprocesses, so the same
code serves operators, ``tests/test_production.py`` and the benchmarks in ``bench/``.

Security:
- PostgreSQL listens on loopback only; ``pg_hba.conf`` admits exactly one role (the Prefect
  server's) to exactly one database, with ``scram-sha-256``. The bootstrap superuser has no
  entry at all once set-up is done, and the socket directory is private. The publications
  ledger (``PRACTICEWEEK_LEDGER_URL``, used by workers) is a second cluster locked down the
  same way to its own role, so the workers' credentials cannot reach Prefect's database.
- The Prefect server runs with ``PREFECT_SERVER_API_AUTH_STRING``; workers and other clients
  get ``PREFECT_API_AUTH_STRING`` and never the database URL.
- With ``--ha`` (deploy/ha.py): every API server and the services process get the same settings plus
  Redis's; Redis listens on 127.0.0.1 and requires its password; HAProxy listens on 127.0.0.1 and is
  the only address clients are given. Nothing listens beyond loopback.
- Secrets are generated with :mod:`secrets`, stored in ``<dir>/secrets.env`` (mode 0600) and
  passed to children through the environment, never on command lines or in logs.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

if __package__ in (None, ""):  # run as `python deploy/production.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy.common import ROOT, deploy_settings, free_port, pg_bin
from deploy.ha import HAStack
from deploy.postgres import Postgres
from deploy.stack import DEPLOYMENTS, POOL, Stack, load_state

__all__ = ["DEPLOYMENTS", "POOL", "HAStack", "Postgres", "Stack", "free_port", "load_state", "open_stack",
           "snapshot_repo"]


def __getattr__(name: str) -> object:
    """``PG_BIN`` and ``HEAL_EVERY_S`` stay importable, read from the environment when asked for."""
    if name == "PG_BIN":
        return pg_bin()
    if name == "HEAL_EVERY_S":
        return deploy_settings().heal_every_s
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_stack(root: Path, ha: bool | None = None, servers: int = 2) -> Stack:
    """The stack in ``root``: HA when asked, or (``ha=None``) when its state says it was set up so."""
    state = root / "secrets.env"
    known = state.read_text().split() if state.exists() else []
    found = sum(1 for line in known if line.startswith("API_") and line.split("=")[0].endswith("_PORT")
                and line.split("=")[0] != "API_PORT")
    if ha or (ha is None and found):
        return HAStack.create(root, servers=found or servers)
    return Stack.create(root)


def snapshot_repo(source: Path, dest: Path) -> str:
    """A git repository holding the working tree of ``source`` (committed or not), for pull steps to clone."""
    if dest.exists():
        shutil.rmtree(dest)
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=source, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = source / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git = ["git", "-c", "user.name=practiceweek", "-c", "user.email=deploy@practiceweek.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], cwd=dest, check=True)
    return f"file://{dest}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("run", "up", "down", "env"),
                        help="run: start, deploy and supervise in the foreground (Ctrl-C stops everything); "
                        "up: start detached; down: stop; env: print a client's settings")
    env = deploy_settings()
    parser.add_argument("--dir", type=Path, default=env.deploy_dir)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repo", default=env.repo,
                        help="git URL the workers' pull step clones (default: a snapshot of this checkout)")
    parser.add_argument("--branch", default=env.branch)
    parser.add_argument("--no-deploy", action="store_true", help="skip `prefect deploy`")
    parser.add_argument("--ha", action="store_true",
                        help="Prefect's high-availability topology: API servers behind HAProxy, a services "
                        "process, Redis (default: one `prefect server start`, for small partnerships)")
    parser.add_argument("--api-servers", type=int, default=2, help="API servers behind HAProxy (with --ha)")
    args = parser.parse_args(argv)
    stack = open_stack(args.dir.resolve(), True if args.ha else None, args.api_servers)
    if args.action == "down":
        stack.down()
        print(f"stopped the stack in {stack.root}")
        return 0
    if args.action == "env":  # for `eval $(python deploy/production.py env)`: a client's settings
        print(f"export PREFECT_API_URL={stack.api_url}")
        print(f"export PREFECT_API_AUTH_STRING='{stack.auth_string}'")
        print(f"export PRACTICEWEEK_LEDGER_URL='{stack.ledger.url()}'")
        stack.workers = args.workers  # window runs it schedules get standbys on the workers' own queues
        for key, value in stack.standby_env().items():
            print(f"export {key}={value}")
        return 0
    repo = args.repo or snapshot_repo(ROOT, stack.root / "repo")
    stack.extra_env = {"PRACTICEWEEK_REPO": repo, "PRACTICEWEEK_BRANCH": args.branch}
    stack.up(args.workers)
    if not args.no_deploy:
        stack.deploy()
    print(json.dumps({"api": stack.api_url, "ui": stack.api_url.removesuffix("/api"), "pool": POOL,
                      "workers": args.workers, "postgres_port": stack.pg.port,
                      "ledger_port": stack.ledger.port, "parts": [name for name, _ in stack.parts()],
                      "repo": repo, "secrets": str(stack.root / "secrets.env"), "logs": str(stack.logs)},
                     indent=2), flush=True)
    if args.action == "up":  # detached: `down` stops the processes through their pid files
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stack.supervise(args.workers, stop=stop)
    except KeyboardInterrupt:
        pass
    finally:
        stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Bring up the production stack: PostgreSQL → authenticated Prefect server → process pool → workers.

    python deploy/production.py run --dir /var/lib/practiceweek --workers 2 [--repo URL]   # supervised
    python deploy/production.py run --ha --api-servers 2 --dir …   # HA: HAProxy, API servers, services, Redis
    python deploy/production.py up --dir /var/lib/practiceweek --workers 2 [--repo URL]    # detached
    python deploy/production.py env --dir /var/lib/practiceweek                           # client settings
    python deploy/production.py down --dir /var/lib/practiceweek
    python deploy/production.py units --ha --dir /var/lib/practiceweek --out /etc/systemd/system   # systemd

``units`` writes a systemd unit per part (deploy/units.py) from the same descriptions the supervisor
starts; those units run ``setup``, ``register`` and ``heal``, the supervisor's steps on their own.

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
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as `python deploy/production.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy.common import ROOT, answers, deploy_settings, pg_bin, wait_for
from deploy.ha import HAStack
from deploy.postgres import Postgres
from deploy.stack import DEPLOYMENTS, POOL, Stack, load_state
from deploy.units import Units
from flows.runtime.embedded import free_port

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


ACTIONS = {
    "run": "start, deploy and supervise in the foreground (Ctrl-C stops everything)",
    "up": "start detached", "down": "stop", "env": "print a client's settings",
    "units": "write systemd units, one per part, and practiceweek.target into --out",
    "setup": "(systemd) initialise both databases, migrate, write Redis's and HAProxy's files",
    "register": "(systemd) once the API answers: the pool, the workers' queues, the deployments",
    "heal": "(systemd) the supervisor's heal loop on its own",
    "ready": "(systemd) wait until --url answers 200 (at most 5 minutes)",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line: an action and the stack's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=tuple(ACTIONS),
                        help="; ".join(f"{name}: {what}" for name, what in ACTIONS.items()))
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
    parser.add_argument("--out", type=Path, help="units: where to write them (default: <dir>/systemd)")
    parser.add_argument("--user", default="practiceweek", help="units: the user the services run as")
    parser.add_argument("--group", default="practiceweek", help="units: their group")
    parser.add_argument("--url", help="ready: the health check to wait for")
    return parser.parse_args(argv)


def until_stopped(work: Callable[[threading.Event], object]) -> None:
    """Run ``work(stop)`` until SIGTERM or Ctrl-C sets ``stop``."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        work(stop)


def write_units(stack: Stack, args: argparse.Namespace) -> int:
    """``units``: the workers' repository as ``run`` would give it, then every unit into ``--out``."""
    stack.extra_env = {"PRACTICEWEEK_REPO": args.repo or snapshot_repo(ROOT, stack.root / "repo"),
                       "PRACTICEWEEK_BRANCH": args.branch}
    out = (args.out or stack.root / "systemd").resolve()
    written = Units(stack, args.user, args.group, deploy=not args.no_deploy).write(out)
    print(f"wrote {len(written)} units into {out}; secrets stay in {stack.root / 'secrets.env'}")
    return 0


def systemd_step(stack: Stack, args: argparse.Namespace) -> int:
    """What a unit runs besides the parts themselves: ``setup``, ``register`` or ``heal``."""
    if args.action == "setup":
        stack.prepare()
    elif args.action == "register":
        stack.extra_env = {"PRACTICEWEEK_REPO": args.repo, "PRACTICEWEEK_BRANCH": args.branch}
        stack.register(deploy=not args.no_deploy)
    else:
        until_stopped(lambda stop: stack.heal_forever(deploy_settings().heal_every_s, stop))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.action == "ready":  # an API server's ExecStartPost: no stack needed
        wait_for(lambda: answers(args.url), 300, args.url)
        return 0
    stack = open_stack(args.dir.resolve(), True if args.ha else None, args.api_servers)
    stack.workers = args.workers  # window runs get standbys on the workers' own queues
    if args.action == "down":
        stack.down()
        print(f"stopped the stack in {stack.root}")
        return 0
    if args.action == "env":  # for `eval $(python deploy/production.py env)`: a client's settings
        print(f"export PREFECT_API_URL={stack.api_url}")
        print(f"export PREFECT_API_AUTH_STRING='{stack.auth_string}'")
        print(f"export PRACTICEWEEK_LEDGER_URL='{stack.ledger.url()}'")
        for key, value in stack.standby_env().items():
            print(f"export {key}={value}")
        return 0
    if args.action == "units":
        return write_units(stack, args)
    if args.action in ("setup", "register", "heal"):
        return systemd_step(stack, args)
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
    try:
        until_stopped(lambda stop: stack.supervise(args.workers, stop=stop))
    finally:
        stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Bring up the production stack: PostgreSQL → authenticated Prefect server → process pool → workers.

    python deploy/production.py run --dir /var/lib/practiceweek --workers 2 [--repo URL]   # supervised
    python deploy/production.py up --dir /var/lib/practiceweek --workers 2 [--repo URL]    # detached
    python deploy/production.py env --dir /var/lib/practiceweek                           # client settings
    python deploy/production.py down --dir /var/lib/practiceweek

Everything here is standard library plus the ``prefect`` CLI in subprocesses, so the same
code serves operators, ``tests/e2e/test_production.py`` and the benchmarks in ``bench/``.

Security:
- PostgreSQL listens on loopback only; ``pg_hba.conf`` admits exactly one role (the Prefect
  server's) to exactly one database, with ``scram-sha-256``. The bootstrap superuser has no
  entry at all once set-up is done, and the socket directory is private. The publications
  ledger (``PRACTICEWEEK_LEDGER_URL``, used by workers) is a second cluster locked down the
  same way to its own role, so the workers' credentials cannot reach Prefect's database.
- The Prefect server runs with ``PREFECT_SERVER_API_AUTH_STRING``; workers and other clients
  get ``PREFECT_API_AUTH_STRING`` and never the database URL.
- Secrets are generated with :mod:`secrets`, stored in ``<dir>/secrets.env`` (mode 0600) and
  passed to children through the environment, never on command lines or in logs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from practiceweek.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
POOL = "practiceweek"
PREFECT_FILE = ROOT / "deploy" / "prefect.yaml"
DEPLOYMENTS = ("schedule-campaign/practiceweek", "publish-window/practiceweek",
               "alert-operators/practiceweek", "collect-engagement/practiceweek")


def _settings() -> Settings:
    """practiceweek's settings (``PRACTICEWEEK_*`` variables), read now. Imported late, and from this
    checkout when practiceweek is not installed (``python deploy/production.py``)."""
    try:
        from practiceweek.settings import settings
    except ModuleNotFoundError:
        sys.path.insert(0, str(ROOT))
        from practiceweek.settings import settings
    return settings()


def pg_bin() -> Path:
    """PostgreSQL's binaries (``PRACTICEWEEK_PG_BIN``)."""
    return _settings().pg_bin


def __getattr__(name: str) -> object:
    """``PG_BIN`` and ``HEAL_EVERY_S`` stay importable, read from the environment when asked for."""
    if name == "PG_BIN":
        return pg_bin()
    if name == "HEAL_EVERY_S":
        return _settings().heal_every_s
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user(user: str | None, cmd: list[str]) -> list[str]:
    """Run ``cmd`` as ``user`` when we are root (initdb and postgres refuse to run as root)."""
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def _os_user() -> str | None:
    if os.geteuid() != 0:
        return None
    return _settings().pg_os_user


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent counts as gone)."""
    try:
        return not Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


# --- PostgreSQL --------------------------------------------------------------------------------


@dataclass
class Postgres:
    """A PostgreSQL cluster in ``root`` that admits only ``role`` to ``database`` over loopback."""

    root: Path
    port: int
    password: str
    role: str = "prefect"
    database: str = "prefect"
    os_user: str | None = field(default_factory=_os_user)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def url(self, driver: str = "postgresql") -> str:
        pw = urllib.parse.quote(self.password, safe="")
        return f"{driver}://{self.role}:{pw}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *cmd: str, stdin: str | None = None) -> None:
        subprocess.run(_as_user(self.os_user, list(cmd)), input=stdin, text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")

    def init(self) -> None:
        """initdb, create the role and database, then lock ``pg_hba.conf`` down to that role."""
        if (self.data / "PG_VERSION").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        os.chmod(self.root, 0o700)
        os.chmod(self.socket_dir, 0o700)
        if self.os_user:
            _chown_tree(self.root, self.os_user)
        # The bootstrap superuser may connect through the private socket during set-up only.
        self._run(str(pg_bin() / "initdb"), "-D", str(self.data), "--username=pgsetup", "--auth-local=trust",
                  "--auth-host=reject", "--encoding=UTF8", "--locale=C")
        conf = (f"\n# practiceweek\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\nunix_socket_permissions = 0700\n"
                "password_encryption = 'scram-sha-256'\nmax_connections = 200\nlog_connections = on\n")
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write(conf)
        self.start()
        sql = (f"CREATE ROLE {self.role} LOGIN PASSWORD '{self.password}';\n"
               f"CREATE DATABASE {self.database} OWNER {self.role};\n"
               f"REVOKE ALL ON DATABASE {self.database} FROM PUBLIC;\n"
               f"GRANT CONNECT ON DATABASE {self.database} TO {self.role};\n")
        self._run(str(pg_bin() / "psql"), "-q", "-h", str(self.socket_dir), "-p", str(self.port),
                  "-U", "pgsetup", "-d", "postgres", "-v", "ON_ERROR_STOP=1", stdin=sql)
        hba = ("# practiceweek: only the Prefect server's role, its database, over loopback, with SCRAM.\n"
               "# No 'local' lines: nobody, not even the bootstrap superuser, gets in through the socket.\n"
               f"host  {self.database}  {self.role}  127.0.0.1/32  scram-sha-256\n"
               f"host  {self.database}  {self.role}  ::1/128       scram-sha-256\n")
        (self.data / "pg_hba.conf").write_text(hba)
        self._run(str(pg_bin() / "pg_ctl"), "-D", str(self.data), "reload")

    def running(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
            return True
        return False

    def start(self) -> None:
        if self.running():
            return
        self._run(str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


# --- Prefect server, pool, workers ------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    """The caller's environment without any Prefect or database settings."""
    drop = ("PREFECT_", "PRACTICEWEEK_LEDGER_URL")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@dataclass
class Stack:
    """The whole production set-up rooted in one directory."""

    root: Path
    api_port: int
    auth_string: str
    pg: Postgres
    ledger: Postgres  # the publications ledger: its own cluster, its own single role, used by workers
    extra_env: dict[str, str] = field(default_factory=dict)  # for workers: provider URLs, ledger, repo
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # -- creation ------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, *, pg_port: int | None = None, api_port: int | None = None) -> Stack:
        """Load ``root/secrets.env`` or make new secrets and ports."""
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o711)  # the PostgreSQL user must be able to reach root/postgres
        state = root / "secrets.env"
        if state.exists():
            values = dict(line.split("=", 1) for line in state.read_text().splitlines() if "=" in line)
        else:
            values = {"PG_PORT": str(pg_port or free_port()), "API_PORT": str(api_port or free_port()),
                      "PG_PASSWORD": secrets.token_hex(24), "LEDGER_PORT": str(free_port()),
                      "LEDGER_PASSWORD": secrets.token_hex(24),
                      "AUTH_STRING": f"practiceweek:{secrets.token_urlsafe(24)}"}
            fd = os.open(state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write("".join(f"{k}={v}\n" for k, v in values.items()))
        pg = Postgres(root / "postgres", int(values["PG_PORT"]), values["PG_PASSWORD"])
        ledger = Postgres(root / "ledger-postgres", int(values["LEDGER_PORT"]), values["LEDGER_PASSWORD"],
                          role="practiceweek", database="practiceweek")
        return cls(root=root, api_port=int(values["API_PORT"]), auth_string=values["AUTH_STRING"], pg=pg,
                   ledger=ledger)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api"

    @property
    def logs(self) -> Path:
        path = self.root / "logs"
        path.mkdir(exist_ok=True)
        return path

    def server_env(self) -> dict[str, str]:
        return {**_clean_env(), "PREFECT_HOME": str(self.root / "prefect-server"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_API_DATABASE_CONNECTION_URL": self.pg.url("postgresql+asyncpg"),
                "PREFECT_SERVER_API_AUTH_STRING": self.auth_string,
                "PREFECT_UI_API_URL": self.api_url,
                "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(self.api_port),
                "PREFECT_LOGGING_LEVEL": "WARNING"}

    def client_env(self, home: str = "prefect-client") -> dict[str, str]:
        """Environment of a worker or any other client: API URL and auth string, no database URL."""
        return {**_clean_env(), **self.extra_env, "PREFECT_HOME": str(self.root / home),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_API_URL": self.api_url,
                "PREFECT_API_AUTH_STRING": self.auth_string, "PRACTICEWEEK_LEDGER_URL": self.ledger.url()}

    # -- processes -----------------------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # owned by the child
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(self.root), start_new_session=True)
        log.close()
        self.procs[name] = proc
        (self.root / f"{name}.pid").write_text(str(proc.pid))
        return proc

    def running(self, name: str) -> bool:
        """Whether process ``name`` runs (started here, or by another process: through its pid file)."""
        proc = self.procs.get(name)
        if proc is not None:
            return proc.poll() is None
        pidfile = self.root / f"{name}.pid"
        try:
            return _alive(int(pidfile.read_text()))
        except (OSError, ValueError):
            return False

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def start_postgres(self) -> None:
        for cluster in (self.pg, self.ledger):
            cluster.init()
            cluster.start()
        # Create the ledger's tables once, before any flow run does: concurrent CREATE TABLE IF NOT EXISTS
        # from several first runs races in PostgreSQL (duplicate key on pg_type).
        from ledger import Ledger

        Ledger(self.ledger.url()).close()

    def start_server(self, timeout: float = 120) -> None:
        cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
               "--port", str(self.api_port)]
        proc = self._spawn("server", cmd, self.server_env())
        _wait(lambda: proc.poll() is not None or self.healthy(), timeout, "Prefect server")
        if proc.poll() is not None:  # killed (or failed) while starting
            raise TimeoutError(f"Prefect server exited while starting; see {self.logs / 'server.log'}")

    def prefect(self, *args: str, check: bool = True,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a ``prefect`` CLI command as an authenticated client."""
        return subprocess.run([sys.executable, "-m", "prefect", *args], env=self.client_env(), text=True,
                              capture_output=True, check=check, timeout=timeout, cwd=str(ROOT))

    def create_pool(self, name: str = POOL) -> None:
        done = self.prefect("work-pool", "create", name, "--type", "process", "--overwrite", check=False)
        if done.returncode != 0 and "already exists" not in done.stdout + done.stderr:
            raise RuntimeError(f"could not create work pool {name}: {done.stdout}{done.stderr}")

    def start_worker(self, index: int, pool: str = POOL, limit: int | None = None) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process",
               "--name", f"worker-{index}"]
        if limit:
            cmd += ["--limit", str(limit)]
        env = {"PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_WORKER_PREFETCH_SECONDS": "20",
               **self.client_env(f"prefect-worker-{index}")}
        return self._spawn(f"worker-{index}", cmd, env)

    def deploy(self, prefect_file: Path = PREFECT_FILE, names: tuple[str, ...] = DEPLOYMENTS) -> None:
        """Register the deployments of ``prefect_file`` (its pull steps deliver the code to workers).

        One ``prefect deploy --name`` per deployment: Prefect 3.8.8's ``deploy`` asks the server for the
        pool's online workers with ``limit: null``, which the server (FastAPI 0.154) refuses with 422 *after*
        the deployment and its triggers were created, so ``--all`` would stop after the first one.
        """
        for name in names:
            done = self.prefect("--no-prompt", "deploy", "--prefect-file", str(prefect_file), "--name", name,
                                check=False)
            if "successfully created" not in done.stdout:
                raise RuntimeError(f"prefect deploy {name} failed:\n{done.stdout}\n{done.stderr}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a process and everything it started (a worker's flow runs, the server's services)."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        elif proc is None and (self.root / f"{name}.pid").exists():  # started by another process
            pid = int((self.root / f"{name}.pid").read_text())
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            with contextlib.suppress(TimeoutError):
                _wait(lambda: not _alive(pid), 30, f"process {pid}")

    def down(self) -> None:
        for name in [n for n in self.procs if n != "server"] + ["server"]:
            self.kill(name, signal.SIGTERM)
            self.kill(name, signal.SIGKILL)
        for pidfile in self.root.glob("*.pid"):  # processes started by an earlier `up`
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
                os.killpg(int(pidfile.read_text()), signal.SIGTERM)
            pidfile.unlink(missing_ok=True)
        self.pg.stop()
        self.ledger.stop()

    def up(self, workers: int = 2) -> None:
        self.start_postgres()
        self.start_server()
        self.create_pool()
        for i in range(1, workers + 1):
            self.start_worker(i)


    def supervise(
        self, workers: int, heal_every: float | None = None, stop: threading.Event | None = None
    ) -> None:
        """Keep the server and workers running (like systemd's Restart=always) and heal after crashes.

        Healing (``flows.heal``) runs in its own thread every ``heal_every`` seconds, and at once after a
        restart: it needs only the ledger to reconcile, skip and alert, so it carries on while the
        Prefect server restarts.
        """
        os.environ.update({k: v for k, v in self.client_env().items()
                           if k.startswith(("PREFECT_", "PRACTICEWEEK_"))})
        heal_every = _settings().heal_every_s if heal_every is None else heal_every
        stop = stop or threading.Event()
        wake = threading.Event()
        healer = threading.Thread(target=self._heal_loop, args=(heal_every, stop, wake), daemon=True,
                                  name="heal")
        healer.start()
        while not stop.is_set():
            if not self.running("server"):
                try:
                    self.start_server()
                except TimeoutError as exc:  # killed again while starting: next round
                    print(f"server restart: {exc}", file=sys.stderr)
                wake.set()
            for i in range(1, workers + 1):
                if not self.running(f"worker-{i}"):
                    self.start_worker(i)
                    wake.set()
            stop.wait(0.5)
        wake.set()
        healer.join(timeout=30)

    def _heal_loop(self, every: float, stop: threading.Event, wake: threading.Event) -> None:
        from flows.heal import heal

        while not stop.is_set():
            done = heal()
            for error in done.errors:
                print(f"heal: {error}", file=sys.stderr)
            if done.windows or done.skipped or done.reconciling:
                print(f"heal: {len(done.windows)} window run(s) re-armed, {len(done.skipped)} skipped, "
                      f"{len(done.reconciling)} to reconcile", file=sys.stderr, flush=True)
            wake.wait(every)
            wake.clear()


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
    env = _settings()
    parser.add_argument("--dir", type=Path, default=env.deploy_dir)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repo", default=env.repo,
                        help="git URL the workers' pull step clones (default: a snapshot of this checkout)")
    parser.add_argument("--branch", default=env.branch)
    parser.add_argument("--no-deploy", action="store_true", help="skip `prefect deploy`")
    args = parser.parse_args(argv)
    stack = Stack.create(args.dir.resolve())
    if args.action == "down":
        stack.down()
        print(f"stopped the stack in {stack.root}")
        return 0
    if args.action == "env":  # for `eval $(python deploy/production.py env)`: a client's settings
        print(f"export PREFECT_API_URL={stack.api_url}")
        print(f"export PREFECT_API_AUTH_STRING='{stack.auth_string}'")
        print(f"export PRACTICEWEEK_LEDGER_URL='{stack.ledger.url()}'")
        return 0
    repo = args.repo or snapshot_repo(ROOT, stack.root / "repo")
    stack.extra_env = {"PRACTICEWEEK_REPO": repo, "PRACTICEWEEK_BRANCH": args.branch}
    stack.up(args.workers)
    if not args.no_deploy:
        stack.deploy()
    print(json.dumps({"api": stack.api_url, "ui": stack.api_url.removesuffix("/api"), "pool": POOL,
                      "workers": args.workers, "postgres_port": stack.pg.port,
                      "ledger_port": stack.ledger.port,
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

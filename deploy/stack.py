"""The production stack's processes: PostgreSQL ×2, an authenticated Prefect server, a process pool and
workers, started, supervised and stopped as children of one process (see deploy/production.py)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deploy.common import ROOT, Process, alive, answers, deploy_settings, wait_for
from deploy.postgres import Postgres
from flows.runtime.embedded import free_port
from flows.runtime.names import DEPLOYMENTS as NAMES

POOL = "practiceweek"
PRODUCTION = ROOT / "deploy" / "production.py"
PREFECT_FILE = ROOT / "deploy" / "prefect.yaml"
DEPLOYMENTS = tuple(NAMES.values())  # named by role: schedule-campaign/schedule-campaign, ...
# How soon Prefect notices that no worker polls the pool: a worker is offline after 3 missed heartbeats,
# checked every foreman loop. Prefect's defaults (30 s heartbeats, a 15 s loop) take 90-105 s after the last
# heartbeat; these take 30-35 s, so the operators' alert naming the pool arrives well within 2 minutes.
WORKER_HEARTBEAT_S = 10
FOREMAN_LOOP_S = 5


# --- Prefect server, pool, workers ------------------------------------------------------------


def worker_queue(index: int) -> str:
    """The work queue only worker ``index`` polls (besides the pool's default queue): where a window's run
    or its standby is put so that the two run on different workers."""
    return f"worker-{index}"


def _clean_env() -> dict[str, str]:
    """The caller's environment without any Prefect or database settings."""
    drop = ("PREFECT_", "PRACTICEWEEK_LEDGER_URL")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def load_state(root: Path, defaults: dict[str, str] | None = None) -> dict[str, str]:
    """Ports and secrets of the stack in ``root`` (``root/secrets.env``, mode 0600); missing ones are made
    now (from ``defaults`` first) and written back, so a stack keeps its ports and passwords across runs."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o711)  # the PostgreSQL user must be able to reach root/postgres
    state = root / "secrets.env"
    values: dict[str, str] = {}
    if state.exists():
        values = dict(line.split("=", 1) for line in state.read_text().splitlines() if "=" in line)
    fresh = {"PG_PORT": lambda: str(free_port()), "API_PORT": lambda: str(free_port()),
             "PG_PASSWORD": lambda: secrets.token_hex(24), "LEDGER_PORT": lambda: str(free_port()),
             "LEDGER_PASSWORD": lambda: secrets.token_hex(24),
             "AUTH_STRING": lambda: f"practiceweek:{secrets.token_urlsafe(24)}"}
    missing = {k: v for k, v in (defaults or {}).items() if k not in values}
    missing.update({k: make() for k, make in fresh.items() if k not in values and k not in missing})
    if missing or not state.exists():
        values.update(missing)
        write_state(root, values)
    return values


def write_state(root: Path, values: dict[str, str]) -> None:
    """Write ``root/secrets.env`` (mode 0600, also when it existed with another mode)."""
    state = root / "secrets.env"
    fd = os.open(state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{k}={v}\n" for k, v in values.items()))


def _clusters(root: Path, values: dict[str, str]) -> tuple[Postgres, Postgres]:
    """Prefect's PostgreSQL and the ledger's, from the stack's state."""
    return (Postgres(root / "postgres", int(values["PG_PORT"]), values["PG_PASSWORD"]),
            Postgres(root / "ledger-postgres", int(values["LEDGER_PORT"]),
                     values["LEDGER_PASSWORD"], role="practiceweek", database="practiceweek"))


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
    held: set[str] = field(default_factory=set)  # parts the supervisor leaves down (an operator's stop)
    worker_heartbeat_s: float = WORKER_HEARTBEAT_S  # PREFECT_WORKER_HEARTBEAT_SECONDS of the workers
    foreman_loop_s: float = FOREMAN_LOOP_S  # PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS of the server
    workers: int = 0  # how many workers it runs (each also polls a work queue of its own: see start_worker)

    # -- creation ------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, *, pg_port: int | None = None, api_port: int | None = None) -> Stack:
        """Load ``root/secrets.env`` or make new secrets and ports."""
        values = load_state(root, {"PG_PORT": str(pg_port or free_port()),
                                   "API_PORT": str(api_port or free_port())})
        pg, ledger = _clusters(root, values)
        return cls(root=root, api_port=int(values["API_PORT"]), auth_string=values["AUTH_STRING"],
                   pg=pg, ledger=ledger)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api"

    @property
    def logs(self) -> Path:
        path = self.root / "logs"
        path.mkdir(exist_ok=True)
        return path

    def server_env(self) -> dict[str, str]:
        """A Prefect server's whole environment: the caller's, without Prefect settings, plus the stack's."""
        return {**_clean_env(), **self.server_settings()}

    def server_settings(self) -> dict[str, str]:
        """What the stack sets for every Prefect server process (database URL and auth string included)."""
        return {"PREFECT_HOME": str(self.root / "prefect-server"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_API_DATABASE_CONNECTION_URL": self.pg.url("postgresql+asyncpg"),
                "PREFECT_SERVER_API_AUTH_STRING": self.auth_string,
                "PREFECT_UI_API_URL": self.api_url,
                "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(self.api_port),
                "PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS": str(self.foreman_loop_s),
                "PREFECT_LOGGING_LEVEL": "WARNING"}

    def standby_env(self) -> dict[str, str]:
        """Each window run gets a standby run, in another worker's own work queue (flows/plan/windows.py);
        from three workers on, one on each of two other workers' queues (``PRACTICEWEEK_WINDOW_SPARES=2``),
        so a lane keeps a live spare when a host is lost while its other spare is lost or still starting
        (bench/RESULTS.md, chaos-hosts)."""
        env = {"PRACTICEWEEK_WINDOW_STANDBY": "true"}
        if self.workers:
            env["PRACTICEWEEK_WINDOW_QUEUES"] = ",".join(worker_queue(i) for i in range(1, self.workers + 1))
        if self.workers >= 3:
            env["PRACTICEWEEK_WINDOW_SPARES"] = "2"
        return env

    def client_env(self, home: str = "prefect-client") -> dict[str, str]:
        """Environment of a worker or any other client: API URL and auth string, no database URL."""
        return {**_clean_env(), **self.client_settings(home)}

    def client_settings(self, home: str = "prefect-client") -> dict[str, str]:
        """What the stack sets for a worker or any other client (the caller's environment left out)."""
        return {**self.standby_env(), **self.extra_env, "PREFECT_HOME": str(self.root / home),
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

    def spawn(self, process: Process) -> subprocess.Popen[bytes]:
        """Start ``process`` as a child: its settings over the caller's environment (or over PATH alone)."""
        base = _clean_env() if process.inherit else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for stale in process.clears:
            stale.unlink(missing_ok=True)
        return self._spawn(process.name, process.argv, {**base, **process.settings})

    def running(self, name: str) -> bool:
        """Whether process ``name`` runs: started here, or by another process (through its pid file, which
        names the latest start: another process attached to this stack may have restarted it)."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            return True
        pidfile = self.root / f"{name}.pid"
        try:
            return alive(int(pidfile.read_text()))
        except (OSError, ValueError):
            return False

    def healthy(self) -> bool:
        """Whether the API answers its health check (through the balancer, with HA)."""
        return answers(f"{self.api_url}/health")

    def start_postgres(self) -> None:
        for cluster in (self.pg, self.ledger):
            cluster.init()
            cluster.start()
        # Create the ledger's tables once, before any flow run does: concurrent CREATE TABLE IF NOT EXISTS
        # from several first runs races in PostgreSQL (duplicate key on pg_type).
        from ledger import Ledger

        Ledger(self.ledger.url()).close()

    def server_process(self) -> Process:
        """The single Prefect server (API, UI and services in one process)."""
        cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
               "--port", str(self.api_port)]
        return Process("server", cmd, self.server_settings(), requires=(self.pg.name,),
                       writes=(self.root / "prefect-server",), ready=f"{self.api_url}/health")

    def start_server(self, timeout: float = 120) -> None:
        proc = self.spawn(self.server_process())
        wait_for(lambda: proc.poll() is not None or self.healthy(), timeout, "Prefect server")
        if proc.poll() is not None:  # killed (or failed) while starting
            raise TimeoutError(f"Prefect server exited while starting; see {self.logs / 'server.log'}")

    def prefect(self, *args: str, check: bool = True,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a ``prefect`` CLI command as an authenticated client."""
        return subprocess.run([sys.executable, "-m", "prefect", *args], env=self.client_env(), text=True,
                              capture_output=True, check=check, timeout=timeout, cwd=str(ROOT))

    def create_pool(self, name: str = POOL) -> None:
        """The process pool, with Prefect's job template for process workers (what ``prefect work-pool
        create --type process --overwrite`` writes), and each worker's own work queue (a worker asking for a
        queue the pool lacks is answered 'not found' and, silently, polls nothing at all). Through Prefect's
        client in this process: a ``prefect`` CLI command per pool and queue cost 1.7-2.3 CPU s each."""
        from prefect.client.orchestration import SyncPrefectClient
        from prefect.client.schemas.actions import WorkPoolCreate
        from prefect.exceptions import ObjectAlreadyExists
        from prefect.workers.process import ProcessWorker

        pool = WorkPoolCreate(name=name, type=ProcessWorker.type,
                              base_job_template=ProcessWorker.get_default_base_job_template())
        with SyncPrefectClient(self.api_url, auth_string=self.auth_string) as client:
            client.create_work_pool(pool, overwrite=True)
            for i in range(1, max(self.workers, 1) + 1):
                with contextlib.suppress(ObjectAlreadyExists):
                    client.create_work_queue(worker_queue(i), work_pool_name=name)

    def worker_process(self, index: int, pool: str = POOL, limit: int | None = None) -> Process:
        """Worker ``index``: the pool's default queue and its own (see :func:`worker_queue`)."""
        cmd = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process",
               "--name", f"worker-{index}", "--work-queue", "default", "--work-queue", worker_queue(index)]
        if limit:
            cmd += ["--limit", str(limit)]
        env = {"PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_WORKER_PREFETCH_SECONDS": "20",
               "PREFECT_WORKER_HEARTBEAT_SECONDS": str(self.worker_heartbeat_s),
               **self.client_settings(f"prefect-worker-{index}")}
        return Process(f"worker-{index}", cmd, env, after=self._client_after(), writes=(self.root,))

    def start_worker(self, index: int, pool: str = POOL, limit: int | None = None) -> subprocess.Popen[bytes]:
        return self.spawn(self.worker_process(index, pool, limit))

    def heal_process(self) -> Process:
        """The heal loop in a process of its own (``production.py heal``): the supervisor runs it in a
        thread of its own process instead (:meth:`supervise`)."""
        cmd = [sys.executable, str(PRODUCTION), "heal", "--dir", str(self.root),
               "--workers", str(self.workers)]
        return Process("heal", cmd, self.client_settings("prefect-heal"), after=self._client_after(),
                       writes=(self.root,))

    def _client_after(self) -> tuple[str, ...]:
        """What a client starts after: the ledger and Prefect's processes. Not required: a client carries
        on through their restarts (a window run retries the ledger, Prefect's client retries the API)."""
        return (self.ledger.name, *(name for name, _ in self.parts()))

    def processes(self) -> list[Process]:
        """Every long-running part in start order: both PostgreSQL clusters, Prefect's processes, the
        workers and the heal loop (what ``production.py units`` writes a systemd unit for)."""
        return [self.pg.process(), self.ledger.process(), *self.prefect_processes(),
                *(self.worker_process(i) for i in range(1, self.workers + 1)), self.heal_process()]

    def prefect_processes(self) -> list[Process]:
        """Prefect's own processes, as :meth:`parts` starts them."""
        return [self.server_process()]

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

    def kill(self, name: str, sig: int = signal.SIGKILL, wait: float = 30) -> None:
        """Signal a process and everything it started (a worker's flow runs, the server's services), and
        wait up to ``wait`` seconds for it to end."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait)
        elif proc is None and (self.root / f"{name}.pid").exists():  # started by another process
            pid = int((self.root / f"{name}.pid").read_text())
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: not alive(pid), wait, f"process {pid}")

    def parts(self) -> list[tuple[str, Callable[[], object]]]:
        """Prefect's own processes in start order, each with what (re)starts it; workers come after."""
        return [("server", self.start_server)]

    def down(self, grace: float = 30) -> None:
        """Stop every part: workers first, then Prefect's processes in reverse start order, each given
        ``grace`` seconds to end on SIGTERM before SIGKILL; then the databases."""
        parts = [name for name, _ in self.parts()]
        for name in [n for n in self.procs if n not in parts] + parts[::-1]:
            self.kill(name, signal.SIGTERM, wait=grace)
            self.kill(name, signal.SIGKILL)
        for pidfile in self.root.glob("*.pid"):  # processes started by an earlier `up`
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
                os.killpg(int(pidfile.read_text()), signal.SIGTERM)
            pidfile.unlink(missing_ok=True)
        self.pg.stop()
        self.ledger.stop()

    def up(self, workers: int = 2) -> None:
        self.workers = workers
        self.start_postgres()
        for _name, start in self.parts():
            start()
        self.create_pool()
        for i in range(1, workers + 1):
            self.start_worker(i)

    def prepare(self) -> None:
        """What must exist before any part starts on its own (``production.py setup``, a systemd oneshot):
        both clusters initialised with their role, the ledger's tables. A cluster that was not running is
        stopped again, for its unit to start."""
        stopped = [cluster for cluster in (self.pg, self.ledger) if not cluster.running()]
        self.start_postgres()
        for cluster in stopped:
            cluster.stop()

    def register(self, deploy: bool = True, timeout: float = 600) -> None:
        """Once the API answers (``production.py register``): the pool, each worker's queue and, if
        ``deploy``, the deployments."""
        wait_for(self.healthy, timeout, "the Prefect API")
        self.create_pool()
        if deploy:
            self.deploy()

    def heal_forever(self, every: float, stop: threading.Event) -> None:
        """The supervisor's heal loop on its own (``production.py heal``), until ``stop`` is set."""
        os.environ.update({k: v for k, v in self.client_env().items()
                           if k.startswith(("PREFECT_", "PRACTICEWEEK_"))})
        self._heal_loop(every, stop, threading.Event())

    def supervise(
        self, workers: int, heal_every: float | None = None, stop: threading.Event | None = None
    ) -> None:
        """Keep PostgreSQL, Prefect's processes and the workers running (like systemd's Restart=always) and
        heal after crashes.

        Healing (``flows.serving.heal``) runs in its own thread every ``heal_every`` seconds, and at once
        after a restart: it needs only the ledger to reconcile, skip and alert, so it carries on while the
        Prefect server restarts.
        """
        self.workers = workers
        os.environ.update({k: v for k, v in self.client_env().items()
                           if k.startswith(("PREFECT_", "PRACTICEWEEK_"))})
        heal_every = deploy_settings().heal_every_s if heal_every is None else heal_every
        stop = stop or threading.Event()
        wake = threading.Event()
        healer = threading.Thread(target=self._heal_loop, args=(heal_every, stop, wake), daemon=True,
                                  name="heal")
        healer.start()
        workers_ = [(f"worker-{i}", lambda i=i: self.start_worker(i)) for i in range(1, workers + 1)]
        while not stop.is_set():
            for cluster in (self.pg, self.ledger):
                if not cluster.running():
                    with contextlib.suppress(subprocess.CalledProcessError):
                        cluster.start()
                    wake.set()
            for name, start in [*self.parts(), *workers_]:
                if name not in self.held and not self.running(name):
                    try:
                        start()
                    except TimeoutError as exc:  # killed again while starting: next round
                        print(f"{name} restart: {exc}", file=sys.stderr)
                    wake.set()
            stop.wait(0.5)
        wake.set()
        healer.join(timeout=30)

    def _heal_loop(self, every: float, stop: threading.Event, wake: threading.Event) -> None:
        from flows.serving.heal import heal

        while not stop.is_set():
            try:
                done = heal()
            except Exception as exc:  # noqa: BLE001 - a round that raised (the ledger restarting): next round
                print(f"heal: {type(exc).__name__}: {exc}"[:300], file=sys.stderr)
                wake.wait(every)
                wake.clear()
                continue
            for error in done.errors:
                print(f"heal: {error}", file=sys.stderr)
            for pool in done.idle_pools:
                print(f"heal: no worker is polling the work pool {pool}; operators alerted", file=sys.stderr,
                      flush=True)
            for name in done.handed_back:
                print(f"heal: {name} handed back to its queue (its worker stopped before starting it)",
                      file=sys.stderr, flush=True)
            if done.windows or done.skipped or done.reconciling:
                print(f"heal: {len(done.windows)} window run(s) re-armed, {len(done.skipped)} skipped, "
                      f"{len(done.reconciling)} to reconcile", file=sys.stderr, flush=True)
            wake.wait(every)
            wake.clear()

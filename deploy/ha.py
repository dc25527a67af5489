"""Prefect's high-availability topology ("scale self-hosted Prefect"), on one machine, loopback only.

    HAProxy 127.0.0.1:API_PORT  (health check GET /api/health every second)
        ├── api-1: prefect server start --no-services   ─┐
        └── api-2: prefect server start --no-services   ─┼── PostgreSQL (Prefect's), Redis
    services: prefect server services start             ─┘
    workers, the UI, every client → HAProxy only

Redis (Debian ``redis-server``) carries Prefect's messaging broker, cache, causal ordering, lease
storage and Docket, as the guide configures them through ``prefect-redis``; it listens on 127.0.0.1,
requires its password (``requirepass``) and keeps an append-only file, so a restart loses at most a
second. Migrations run once before the API servers start (``PREFECT_API_DATABASE_MIGRATE_ON_START``
off on each). Every part is a child the supervisor restarts; an API server that is down or starting
is out of the balancer's rotation until its health check answers.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deploy.common import Process, answers, wait_for
from deploy.stack import Stack, load_state
from flows.runtime.embedded import free_port

REDIS_MODULES = {  # the "scale self-hosted Prefect" guide's settings, names checked against prefect 3.8.8
    "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
    "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
    "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
}


def _binary(name: str, *fallbacks: str) -> str:
    found = shutil.which(name) or next((f for f in fallbacks if Path(f).exists()), None)
    if not found:
        raise FileNotFoundError(f"{name} is missing: apt-get install {name} (.ci/system-deps does)")
    return found


@dataclass
class Redis:
    """A Redis server on 127.0.0.1:``port`` that answers only clients sending ``password``."""

    root: Path
    port: int
    password: str

    @property
    def conf(self) -> Path:
        return self.root / "redis.conf"

    def url(self, db: int = 0) -> str:
        return f"redis://:{urllib.parse.quote(self.password, safe='')}@127.0.0.1:{self.port}/{db}"

    def write_conf(self) -> None:
        """Loopback only, protected mode, a password, an append-only file; mode 0600 (holds the password)."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        text = (f"bind 127.0.0.1\nport {self.port}\nprotected-mode yes\nrequirepass {self.password}\n"
                f"dir {self.root}\nappendonly yes\nappendfsync everysec\nsave \"\"\ndaemonize no\n"
                "logfile \"\"\nunixsocket \"\"\n")
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)

    def command(self) -> list[str]:
        return [_binary("redis-server", "/usr/bin/redis-server"), str(self.conf)]

    def ask(self, *commands: str, password: str | None = None) -> list[str]:
        """Send inline commands (after ``AUTH password`` if given) and return each first reply line."""
        sent = ([f"AUTH {password}"] if password is not None else []) + list(commands)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall("".join(f"{c}\r\n" for c in sent).encode())
            buf = b""
            while buf.count(b"\r\n") < len(sent):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                buf += chunk
        return [line.decode(errors="replace") for line in buf.split(b"\r\n")[: len(sent)]]

    def answers(self) -> bool:
        with contextlib.suppress(OSError):
            return self.ask("PING", password=self.password)[-1:] == ["+PONG"]
        return False


@dataclass
class Balancer:
    """HAProxy on 127.0.0.1:``port`` in front of the API servers, checking ``/api/health`` every second."""

    root: Path
    port: int
    backends: list[int]

    @property
    def conf(self) -> Path:
        return self.root / "haproxy.cfg"

    def write_conf(self) -> None:
        servers = "".join(f"    server api-{i} 127.0.0.1:{p} check\n" for i, p in enumerate(self.backends, 1))
        text = (
            "global\n    maxconn 2000\n\n"
            "defaults\n    mode http\n    option redispatch 1\n    retries 3\n"
            "    timeout connect 2s\n    timeout client 90s\n    timeout server 90s\n"
            "    timeout tunnel 1h\n    timeout http-keep-alive 10s\n\n"
            f"frontend prefect\n    bind 127.0.0.1:{self.port}\n    default_backend prefect_api\n\n"
            # a server that is alive but slow to answer (a loaded machine) stays in: its check may take 4 s,
            # and it is out after 3 misses; a killed one refuses connections, which are redispatched at once
            "backend prefect_api\n    balance leastconn\n    option httpchk GET /api/health\n"
            "    http-check expect status 200\n    timeout check 4s\n"
            "    default-server inter 1s fastinter 500ms downinter 1s fall 3 rise 1 "
            "on-marked-down shutdown-sessions\n" + servers
        )
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(text)
        subprocess.run([_binary("haproxy", "/usr/sbin/haproxy"), "-c", "-q", "-f", str(self.conf)],
                       check=True, capture_output=True)

    def command(self) -> list[str]:
        return [_binary("haproxy", "/usr/sbin/haproxy"), "-db", "-f", str(self.conf)]


@dataclass
class HAStack(Stack):
    """:class:`Stack` with N API servers, a services process and Redis behind HAProxy (``api_port``)."""

    redis: Redis | None = None
    api_ports: list[int] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, *, pg_port: int | None = None, api_port: int | None = None,
               servers: int = 2) -> HAStack:
        defaults = {"PG_PORT": str(pg_port or free_port()), "API_PORT": str(api_port or free_port()),
                    "REDIS_PORT": str(free_port()), "REDIS_PASSWORD": secrets.token_hex(24),
                    **{f"API_{i}_PORT": str(free_port()) for i in range(1, servers + 1)}}
        values = load_state(root, defaults)
        base = Stack.create(root)
        return cls(root=root, api_port=base.api_port, auth_string=base.auth_string, pg=base.pg,
                   ledger=base.ledger, redis=Redis(root / "redis", int(values["REDIS_PORT"]),
                                                   values["REDIS_PASSWORD"]),
                   api_ports=[int(values[f"API_{i}_PORT"]) for i in range(1, servers + 1)])

    @property
    def balancer(self) -> Balancer:
        return Balancer(self.root / "haproxy", self.api_port, self.api_ports)

    def server_settings(self) -> dict[str, str]:
        """Every Prefect server process's settings: the single server's, plus Redis and no migrations."""
        assert self.redis is not None
        return {**super().server_settings(), **REDIS_MODULES,
                "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1",
                "PREFECT_REDIS_MESSAGING_PORT": str(self.redis.port),
                "PREFECT_REDIS_MESSAGING_DB": "0", "PREFECT_REDIS_MESSAGING_PASSWORD": self.redis.password,
                "PREFECT_SERVER_DOCKET_URL": self.redis.url(1),
                "PREFECT_API_DATABASE_MIGRATE_ON_START": "false"}

    # -- the parts ------------------------------------------------------------------------------------------
    def parts(self) -> list[tuple[str, Callable[[], object]]]:
        """Redis, the API servers, the services and the balancer; each start returns without waiting."""
        apis = [(f"api-{i}", lambda i=i: self.start_api(i)) for i in range(1, len(self.api_ports) + 1)]
        return [("redis", self.start_redis), *apis, ("services", self.start_services),
                ("haproxy", self.start_balancer)]

    def start_postgres(self) -> None:
        """Both clusters, then Prefect's schema migrated once (the API servers do not migrate)."""
        super().start_postgres()
        done = subprocess.run([sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
                              env={**self.server_env(), "PREFECT_HOME": str(self.root / "prefect-migrate")},
                              capture_output=True, text=True, timeout=600, cwd=str(self.root))
        if done.returncode != 0:
            raise RuntimeError(f"prefect server database upgrade failed:\n{done.stdout}\n{done.stderr}")

    def prefect_processes(self) -> list[Process]:
        """Redis, the API servers, the services and the balancer, as :meth:`parts` starts them."""
        apis = [self.api_process(i) for i in range(1, len(self.api_ports) + 1)]
        return [self.redis_process(), *apis, self.services_process(), self.balancer_process()]

    def redis_process(self) -> Process:
        assert self.redis is not None
        return Process("redis", self.redis.command(), {}, inherit=False, writes=(self.redis.root,))

    def api_process(self, index: int) -> Process:
        """API server ``index``, started after the one before (first starts race on block types)."""
        port = self.api_ports[index - 1]
        home = self.root / f"prefect-api-{index}"
        env = {**self.server_settings(), "PREFECT_HOME": str(home), "PREFECT_SERVER_API_PORT": str(port)}
        cmd = [sys.executable, "-m", "prefect", "server", "start", "--no-services", "--host", "127.0.0.1",
               "--port", str(port)]
        return Process(f"api-{index}", cmd, env, requires=(self.pg.name, "redis"),
                       after=(f"api-{index - 1}",) if index > 1 else (), writes=(home,),
                       ready=f"http://127.0.0.1:{port}/api/health")

    def services_process(self) -> Process:
        home = self.root / "prefect-services"
        env = {**self.server_settings(), "PREFECT_HOME": str(home)}
        return Process("services", [sys.executable, "-m", "prefect", "server", "services", "start"], env,
                       requires=(self.pg.name, "redis"), writes=(home,), clears=(home / "services.pid",))

    def balancer_process(self) -> Process:
        apis = tuple(f"api-{i}" for i in range(1, len(self.api_ports) + 1))
        return Process("haproxy", self.balancer.command(), {}, inherit=False, after=apis)

    def prepare(self) -> None:
        """The single server's preparation, Prefect's schema migrated, and Redis's and HAProxy's files."""
        assert self.redis is not None
        super().prepare()
        self.redis.write_conf()
        self.balancer.write_conf()

    def start_redis(self) -> None:
        assert self.redis is not None
        self.redis.write_conf()
        self.spawn(self.redis_process())

    def start_api(self, index: int) -> None:
        self.spawn(self.api_process(index))

    def start_services(self) -> None:
        self.spawn(self.services_process())  # without the services.pid a kill -9 left

    def start_balancer(self) -> None:
        self.balancer.write_conf()
        self.spawn(self.balancer_process())

    def _started_or_gone(self, index: int) -> bool:
        """An API server being started answers, or its process has exited (no point waiting)."""
        return self.api_healthy(index) or not self.running(f"api-{index}")

    def api_healthy(self, index: int) -> bool:
        """Whether API server ``index`` answers its health check directly (not through the balancer)."""
        return answers(self.api_process(index).ready)

    def start_server(self, timeout: float = 180) -> None:
        """Start every part not running, in order, each API server once the one before answers (two first
        starts at once race on registering Prefect's block types); then wait until HAProxy answers."""
        assert self.redis is not None
        for name, start in self.parts():
            if self.running(name):
                continue
            start()
            if name == "redis":
                wait_for(self.redis.answers, 30, "Redis")
            elif name.startswith("api-"):
                index = int(name.split("-")[1])
                wait_for(functools.partial(self._started_or_gone, index), timeout, name)
                if not self.running(name):
                    raise TimeoutError(f"{name} exited while starting; see {self.logs / f'{name}.log'}")
        wait_for(self.healthy, 30, "HAProxy")

    def up(self, workers: int = 2) -> None:
        self.workers = workers
        self.start_postgres()
        self.start_server()
        self.create_pool()
        for i in range(1, workers + 1):
            self.start_worker(i)

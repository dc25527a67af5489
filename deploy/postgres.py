"""A PostgreSQL cluster from Debian's binaries that admits one role to one database over loopback."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from deploy.common import Process, as_user, chown_tree, pg_bin
from deploy.common import os_user as _default_os_user


@dataclass
class Postgres:
    """A PostgreSQL cluster in ``root`` that admits only ``role`` to ``database`` over loopback."""

    root: Path
    port: int
    password: str
    role: str = "prefect"
    database: str = "prefect"
    os_user: str | None = field(default_factory=_default_os_user)

    @property
    def name(self) -> str:
        """The part's name: its folder's (``postgres``, ``ledger-postgres``)."""
        return self.root.name

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
        subprocess.run(as_user(self.os_user, list(cmd)), input=stdin, text=True, check=True,
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
            chown_tree(self.root, self.os_user)
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

    def process(self) -> Process:
        """The server in the foreground, as a systemd unit runs it (``pg_ctl start`` runs the same
        ``postgres -D``, detached); port and addresses are in its ``postgresql.conf``."""
        return Process(self.name, [str(pg_bin() / "postgres"), "-D", str(self.data)], {}, inherit=False,
                       writes=(self.root,))

    def running(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
            return True
        return False

    def start(self) -> None:
        if self.running():
            return
        self._run(str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop``; ``mode="immediate"`` stops as a crash would (recovery at the next start)."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

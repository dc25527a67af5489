"""systemd units for the production set-up (``production.py units``): one service per part the supervisor
of ``production.py run`` starts, read from the same :class:`~deploy.common.Process` descriptions, plus two
oneshots (``setup`` before the parts, ``register`` once the API answers) and ``practiceweek.target``.

Secrets stay in ``<dir>/secrets.env`` (mode 0600), which every unit names as its ``EnvironmentFile=``: a
setting whose value holds a password or the auth string (a database URL, ``PREFECT_API_AUTH_STRING``, ...)
is written there under its own name, and each unit drops with ``UnsetEnvironment=`` what of that file it
does not need, so a part gets exactly the settings the supervisor gives it. No secret is written into a unit.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from deploy.common import ROOT, Process, pg_bin
from deploy.stack import PRODUCTION, Stack, load_state, write_state

TARGET = "practiceweek.target"
SECRET_KEYS = ("PASSWORD", "AUTH_STRING")  # keys of secrets.env whose values are secrets
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
             "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
             "RestrictSUIDSGID": "yes", "LockPersonality": "yes", "UMask": "0077"}
DESCRIPTIONS = {"postgres": "PostgreSQL for Prefect",
                "ledger-postgres": "PostgreSQL for the publications ledger",
                "redis": "Redis for Prefect's messaging, leases and Docket",
                "haproxy": "HAProxy in front of the Prefect API servers", "server": "Prefect server",
                "services": "Prefect services (scheduler, triggers, event persister)",
                "heal": "heal loop (re-arms window runs, reconciles, skips, alerts)",
                "setup": "set-up (databases initialised and migrated, Redis and HAProxy files)",
                "register": "work pool, work queues and deployments"}


def unit_name(part: str) -> str:
    """The service of part ``part``."""
    return f"practiceweek-{part}.service"


def describe(part: str) -> str:
    """A unit's Description=."""
    kind, _, number = part.rpartition("-")
    if number.isdigit():
        return {"api": f"Prefect API server {number}", "worker": f"Prefect worker {number}"}[kind]
    return DESCRIPTIONS[part]


def escape(value: str, variables: bool = False) -> str:
    """A value as a unit file reads it literally: escapes, quotes, specifiers (%) and, in commands only,
    variables ($: Environment= expands none)."""
    value = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return value.replace("$", "$$") if variables else value


def command(argv: list[str], variables: bool = True) -> str:
    """``argv`` as an Exec line (or a list of paths): each word escaped, quoted if it holds a blank."""
    return " ".join(f'"{escape(a, variables)}"' if not a or any(c.isspace() for c in a)
                    else escape(a, variables) for a in argv)


@dataclass
class Units:
    """The units of ``stack``'s parts, run as ``user``:``group``."""

    stack: Stack
    user: str = "practiceweek"
    group: str = "practiceweek"
    deploy: bool = True  # whether the register oneshot runs `prefect deploy`
    state: dict[str, str] = field(default_factory=dict)  # secrets.env, with the secret settings added

    @property
    def env_file(self) -> Path:
        return self.stack.root / "secrets.env"

    def secrets(self) -> set[str]:
        """Every secret value of the stack (passwords and the auth string)."""
        return {v for k, v in self.state.items() if k.endswith(SECRET_KEYS) and v}

    def store_secret_settings(self, processes: list[Process]) -> None:
        """Add to secrets.env every setting a part gets whose value holds a secret, under its own name."""
        self.state = load_state(self.stack.root)
        secrets = self.secrets()
        found: dict[str, str] = {}
        for process in processes:
            for key, value in process.settings.items():
                if any(secret in value for secret in secrets):
                    if found.setdefault(key, value) != value:
                        raise ValueError(f"{key} differs between parts: it cannot be one line of secrets.env")
        if any(self.state.get(k) != v for k, v in found.items()):
            self.state.update(found)
            write_state(self.stack.root, self.state)

    def protect_home(self) -> str:
        """``yes`` unless the virtual environment, its Python, the checkout or the stack's folder is under
        /home or /root (then ``read-only``: readable, never writable)."""
        used = (Path(sys.executable).parent, Path(sys.executable).resolve(), ROOT, self.stack.root)
        homes = (Path("/home"), Path("/root"))
        return "read-only" if any(home in (p, *p.parents) for p in used for home in homes) else "yes"

    def service(self, process: Process, kind: str = "simple", extra: dict[str, str] | None = None) -> str:
        """The unit running ``process``: its dependencies, environment, restart policy and hardening."""
        requires = [] if process.name == "setup" else [unit_name("setup"), *map(unit_name, process.requires)]
        wants = [unit_name(p) for p in process.after]
        lines = ["[Unit]", f"Description=practiceweek: {describe(process.name)}", f"PartOf={TARGET}"]
        lines += [f"Requires={' '.join(requires)}"] if requires else []
        lines += [f"Wants={' '.join(wants)}"] if wants else []
        lines += [f"After={' '.join([*requires, *wants])}"] if requires or wants else []
        lines += ["StartLimitIntervalSec=0", "", "[Service]", f"Type={kind}", f"User={self.user}",
                  f"Group={self.group}", f"WorkingDirectory={escape(str(self.stack.root))}",
                  f"EnvironmentFile={escape(str(self.env_file))}"]
        unset = sorted(k for k in self.state if k not in process.settings)
        lines += [f"UnsetEnvironment={' '.join(unset)}"] if unset else []
        lines += [f'Environment="{escape(k)}={escape(v)}"' for k, v in process.settings.items()
                  if k not in self.state]
        lines += [f"ExecStartPre=-{command([shutil.which('rm') or '/bin/rm', '-f', str(f)])}"
                  for f in process.clears]
        lines += [f"ExecStart={command(process.argv)}"]
        if process.ready:  # active once it answers, so what starts after it finds it serving
            ready = [sys.executable, str(PRODUCTION), "ready", "--url", process.ready]
            lines += [f"ExecStartPost={command(ready)}", "TimeoutStartSec=5min"]
        lines += [f"{k}={v}" for k, v in (extra or {"Restart": "always", "RestartSec": "1"}).items()]
        lines += ["TimeoutStopSec=30", *(f"{k}={v}" for k, v in HARDENING.items()),
                  f"ProtectHome={self.protect_home()}"]
        paths = command([str(p) for p in process.writes], variables=False)
        lines += [f"ReadWritePaths={paths}"] if process.writes else []
        return "\n".join([*lines, "", "[Install]", f"WantedBy={TARGET}", ""])

    def oneshot(self, name: str, argv: list[str], settings: dict[str, str], after: tuple[str, ...]) -> str:
        """A step run once per start of the target (RemainAfterExit), tried again until it succeeds."""
        process = Process(name, argv, settings, after=after, writes=(self.stack.root,))
        return self.service(process, "oneshot", {"RemainAfterExit": "yes", "Restart": "on-failure",
                                                 "RestartSec": "5", "TimeoutStartSec": "15min"})

    def render(self) -> dict[str, str]:
        """Every unit's file name and text: the target, the oneshots and one service per part."""
        processes = self.stack.processes()
        clients = [p.name for p in processes if p.name.startswith("worker-") or p.name == "heal"]
        register_settings = self.stack.client_settings()
        self.store_secret_settings([*processes, Process("register", [], register_settings)])
        base = [sys.executable, str(PRODUCTION)]
        where = ["--dir", str(self.stack.root), "--workers", str(self.stack.workers)]
        prefect = tuple(p.name for p in self.stack.prefect_processes())
        units = {unit_name("setup"): self.oneshot("setup", [*base, "setup", *where],
                                                  {"PRACTICEWEEK_PG_BIN": str(pg_bin())}, ()),
                 unit_name("register"): self.oneshot(
                     "register", [*base, "register", *where, *([] if self.deploy else ["--no-deploy"])],
                     register_settings, prefect)}
        for process in processes:
            if process.name in clients:  # a worker asking for a queue not yet made polls nothing
                process = replace(process, after=(*process.after, "register"))
            units[unit_name(process.name)] = self.service(process, *self._kind(process))
        units[TARGET] = self.target(list(units))
        leaked = [name for name, text in units.items() if any(s in text for s in self.secrets())]
        if leaked:  # a setting the stack makes from a secret under a key not seen above
            raise ValueError(f"a secret would be written into {', '.join(leaked)}")
        return units

    @staticmethod
    def _kind(process: Process) -> tuple[str, dict[str, str] | None]:
        """PostgreSQL tells systemd when it is ready and stops fast on SIGINT (its documented unit)."""
        if process.argv[0] == str(pg_bin() / "postgres"):
            return "notify", {"Restart": "always", "RestartSec": "1", "KillMode": "mixed",
                              "KillSignal": "SIGINT"}
        return "simple", None

    @staticmethod
    def target(services: list[str]) -> str:
        """practiceweek.target: wants every service, so ``systemctl enable --now`` on it starts them all."""
        return ("[Unit]\nDescription=practiceweek: every part of the production set-up\n"
                f"Wants={' '.join(services)}\n\n[Install]\nWantedBy=multi-user.target\n")

    def write(self, out: Path) -> list[Path]:
        """Write every unit into ``out`` (mode 0644: they hold no secret); return their paths."""
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in self.render().items():
            path = out / name
            path.write_text(text)
            path.chmod(0o644)
            written.append(path)
        return written

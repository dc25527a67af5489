"""``deploy/production.py units``: one systemd unit per part of the production set-up, checked by systemd's
own ``systemd-analyze verify`` (unit syntax, dependencies, that every ExecStart binary exists) and read back:
each part runs the supervisor's command with the supervisor's settings, secrets only through the 0600
secrets file, restarted, ordered and hardened.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from deploy.common import pg_bin
from deploy.production import main, open_stack

pytestmark = pytest.mark.skipif(
    not ((pg_bin() / "postgres").exists() and shutil.which("redis-server") and shutil.which("haproxy")),
    reason="PostgreSQL, redis-server or haproxy is missing (.ci/system-deps installs them)")

KNOWN = {"PG_PASSWORD": "pg-known-secret-4f1c", "LEDGER_PASSWORD": "ledger-known-secret-9b2e",
         "AUTH_STRING": "practiceweek:auth-known-secret-77d0", "REDIS_PASSWORD": "redis-known-secret-1a6f"}
REPO = "https://git.example.org/comms/practiceweek.git"
CALLER_SECRET = "caller-known-secret-5c3b"  # a connector credential in the environment of who runs `units`
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "User": "practiceweek",
             "Group": "practiceweek"}


def read_unit(path: Path) -> dict[str, list[str]]:
    """A unit's directives, ``Section.Key`` → values in order (Environment= may repeat)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line:
            key, value = line.split("=", 1)
            found.setdefault(f"{section}.{key}", []).append(value)
    return found


def generate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *ha: str) -> tuple[Path, dict[str, dict]]:
    """Write the units of a stack whose secrets are known; return its folder and every unit read back."""
    root = tmp_path / "stack"
    root.mkdir()
    (root / "secrets.env").write_text("".join(f"{k}={v}\n" for k, v in KNOWN.items()))
    monkeypatch.setenv("PRACTICEWEEK_GRAPH_CLIENT_SECRET", CALLER_SECRET)
    out = tmp_path / "units"
    assert main(["units", *ha, "--dir", str(root), "--workers", "2", "--out", str(out),
                 "--repo", REPO]) == 0
    return root, {path.name: read_unit(path) for path in sorted(out.iterdir())}


def verify(folder: Path) -> None:
    """Debian's systemd-analyze verify on every unit in ``folder``: no error, and no warning about ours."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt-get install systemd (.ci/system-deps does)"
    done = subprocess.run([analyze, "verify", "--man=no", *sorted(str(p) for p in folder.iterdir())],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "practiceweek" not in done.stdout + done.stderr, done.stdout + done.stderr


def environment(unit: dict[str, list[str]], env_file: Path) -> dict[str, str]:
    """What systemd gives its process: the secrets file and Environment= lines, minus UnsetEnvironment=."""
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    env.update(line.strip('"').split("=", 1) for line in unit.get("Service.Environment", []))
    for key in " ".join(unit.get("Service.UnsetEnvironment", [])).split():
        env.pop(key)
    return env


def test_units_verify_and_match_the_supervisor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, units = generate(tmp_path, monkeypatch, "--ha", "--api-servers", "2")
    parts = ["postgres", "ledger-postgres", "redis", "api-1", "api-2", "services", "haproxy", "worker-1",
             "worker-2", "heal", "setup", "register"]
    assert set(units) == {f"practiceweek-{p}.service" for p in parts} | {"practiceweek.target"}

    verify(tmp_path / "units")

    env_file = root / "secrets.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    text = "".join((tmp_path / "units" / name).read_text() for name in units)
    for secret in [*KNOWN.values(), CALLER_SECRET]:
        assert secret not in text
    services = set(units) - {"practiceweek.target"}
    assert sorted(units["practiceweek.target"]["Unit.Wants"][0].split()) == sorted(services)

    stack = open_stack(root)
    stack.workers = 2
    stack.extra_env = {"PRACTICEWEEK_REPO": REPO, "PRACTICEWEEK_BRANCH": "main"}  # as `run --repo` gives them
    for process in stack.processes():  # each part: the supervisor's command and settings, nothing more
        unit = units[f"practiceweek-{process.name}.service"]
        assert unit["Service.ExecStart"] == [" ".join(process.argv)]
        assert Path(process.argv[0]).is_absolute()
        assert unit["Service.EnvironmentFile"] == [str(env_file)]
        assert environment(unit, env_file) == process.settings, process.name
        assert unit["Service.Restart"] == ["always"]
        assert unit["Install.WantedBy"] == ["practiceweek.target"]
        for key, value in HARDENING.items():
            assert unit[f"Service.{key}"] == [value], (process.name, key)
        assert unit.get("Service.ReadWritePaths", [""])[0].split() == [str(p) for p in process.writes]
        assert bool(process.ready) == bool(unit.get("Service.ExecStartPost")), process.name
    for oneshot in ("setup", "register"):
        assert units[f"practiceweek-{oneshot}.service"]["Service.Restart"] == ["on-failure"]
    assert "--port" in units["practiceweek-api-2.service"]["Service.ExecStart"][0]
    assert str(stack.api_ports[1]) in units["practiceweek-api-2.service"]["Service.ExecStart"][0]


def test_dependencies_order_the_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """setup → PostgreSQL ×2 and Redis → API servers (one after the other) and services → HAProxy →
    register → workers and heal, as the supervisor starts them."""
    _root, units = generate(tmp_path, monkeypatch, "--ha", "--api-servers", "2")

    def after(part: str) -> set[str]:
        unit = units[f"practiceweek-{part}.service"]
        names = " ".join(unit.get("Unit.After", [])).split()
        return {n.removeprefix("practiceweek-").removesuffix(".service") for n in names}

    def requires(part: str) -> set[str]:
        names = " ".join(units[f"practiceweek-{part}.service"].get("Unit.Requires", [])).split()
        return {n.removeprefix("practiceweek-").removesuffix(".service") for n in names}

    assert after("setup") == set()
    for part in ("postgres", "ledger-postgres", "redis"):
        assert after(part) == {"setup"} and requires(part) == {"setup"}
    assert requires("api-1") == {"setup", "postgres", "redis"} == after("api-1")
    assert after("api-2") == {"setup", "postgres", "redis", "api-1"}
    assert requires("services") == {"setup", "postgres", "redis"}
    assert after("haproxy") >= {"api-1", "api-2"}
    assert after("register") >= {"redis", "api-1", "api-2", "services", "haproxy"}
    for client in ("worker-1", "worker-2", "heal"):
        assert after(client) >= {"ledger-postgres", "api-1", "api-2", "haproxy", "register"}, client
        assert requires(client) == {"setup"}  # a restart of a database or an API server leaves them running
    def before(part: str) -> set[str]:
        """Every unit ``part`` starts after, directly or through another."""
        seen: set[str] = set()
        todo = [part]
        while todo:
            for name in after(todo.pop()) - seen:
                seen.add(name)
                todo.append(name)
        return seen

    first = {"postgres": "setup", "ledger-postgres": "setup", "redis": "setup", "api-1": "postgres redis",
             "api-2": "api-1", "services": "postgres redis", "haproxy": "api-1 api-2",
             "register": "haproxy services", "worker-1": "register ledger-postgres",
             "worker-2": "register ledger-postgres", "heal": "register ledger-postgres"}
    for part, earlier in first.items():
        assert set(earlier.split()) <= before(part), part
        assert part not in before(part), part  # no cycle


def test_single_server_units_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --ha: one `prefect server start` unit instead of Redis, the API servers, services, HAProxy."""
    root, units = generate(tmp_path, monkeypatch)
    assert "practiceweek-server.service" in units and "practiceweek-haproxy.service" not in units
    assert units["practiceweek-server.service"]["Unit.Requires"][0].split() == [
        "practiceweek-setup.service", "practiceweek-postgres.service"]
    verify(tmp_path / "units")
    assert not any(s in (tmp_path / "units" / n).read_text() for n in units for s in KNOWN.values())
    assert os.access(root / "secrets.env", os.R_OK)

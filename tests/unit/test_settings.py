"""One settings object: documented in the site, read at call time, clear errors, no stray env reads."""

from __future__ import annotations

import ast
import re
import runpy
from pathlib import Path

import pytest
from pydantic import SecretStr

from cli.settings_doc import markdown_table
from connectors.credentials import BLOCKS, SETTINGS
from connectors.settings import SETTINGS_CLASSES, GraphSettings, SmtpSettings, XSettings, reveal, secret_names
from practiceweek.settings import Settings, SettingsError, settings
from tests.helpers import ROOT


def test_the_sites_settings_page_is_the_generated_table() -> None:
    """docs/reference/settings.md holds no copy: the site's hook puts the generated table in at build time."""
    page = (ROOT / "docs" / "reference" / "settings.md").read_text(encoding="utf-8")
    assert "<!-- generate:settings -->" in page and "| `PRACTICEWEEK_" not in page
    hooks = runpy.run_path(str(ROOT / "docs" / "hooks.py"))
    assert markdown_table() in hooks["generate"](page)


def test_table_lists_every_setting_and_marks_secrets() -> None:
    table = markdown_table()
    for name in Settings.model_fields:
        if name != "rate_limits":
            assert f"`PRACTICEWEEK_{name.upper()}`" in table
    assert "`PRACTICEWEEK_RATE_LIMIT_<CONNECTOR>`" in table
    for cls in SETTINGS_CLASSES:
        for f in cls.setting_fields():
            line = next(li for li in table.splitlines() if f"`{cls.env_name(f.name)}`" in li)
            assert ("**Secret**" in line) == (f.name in cls.secret_fields()), line
            assert f.metadata.get("doc"), f"{cls.env_name(f.name)} has no description"
    for name, info in Settings.model_fields.items():
        assert info.description, f"{name} has no description"


def test_read_at_call_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PRACTICEWEEK_WINDOW_S", raising=False)
    assert settings().window_s == 60.0
    monkeypatch.setenv("PRACTICEWEEK_WINDOW_S", "12.5")
    monkeypatch.setenv("PRACTICEWEEK_OUTBOX", str(tmp_path))
    monkeypatch.setenv("PRACTICEWEEK_RATE_LIMIT_X", "17/86400")
    monkeypatch.setenv("PRACTICEWEEK_SMTP_PORT", "2525")
    s = settings()
    assert s.window_s == 12.5
    assert s.outbox == tmp_path
    assert s.rate_limit("x") == "17/86400" and s.rate_limit("mastodon") is None
    assert SmtpSettings.from_env().port == 2525
    monkeypatch.setenv("PRACTICEWEEK_OUTBOX", "")  # empty counts as unset
    assert settings().outbox is None


def test_connector_env_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRACTICEWEEK_GRAPH_SENDER", "sender@example.org")
    monkeypatch.delenv("PRACTICEWEEK_GRAPH_ORGANISER", raising=False)
    monkeypatch.setenv("PRACTICEWEEK_X_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("PRACTICEWEEK_X_UPLOAD_URL", raising=False)
    assert GraphSettings.from_env().organiser == "sender@example.org"
    assert XSettings.from_env().upload_url == "http://127.0.0.1:9"


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRACTICEWEEK_PREPARE_S", "soon")
    with pytest.raises(SettingsError, match=r"PRACTICEWEEK_PREPARE_S='soon'.*number"):
        settings()
    monkeypatch.delenv("PRACTICEWEEK_PREPARE_S")
    monkeypatch.setenv("PRACTICEWEEK_SMTP_PORT", "twenty-five")
    with pytest.raises(ValueError, match="PRACTICEWEEK_SMTP_PORT='twenty-five'"):
        SmtpSettings.from_env()


def test_secrets_are_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRACTICEWEEK_LEDGER_URL", "postgresql://pw:hunter2-ledger@db/pw")
    s = settings()
    assert "hunter2-ledger" not in repr(s) and "hunter2-ledger" not in str(s)
    assert s.ledger_url is not None and "hunter2-ledger" in s.ledger_url.get_secret_value()


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_blocks_match_settings(kind: str) -> None:
    """A credentials block and its settings class are made of one model: no field of their own, every
    field described, secrets as SecretStr in both."""
    block, cls = BLOCKS[kind], SETTINGS[kind]
    (fields,) = {base for base in block.__mro__ if base.__name__.endswith("Fields")}
    assert issubclass(cls, fields)
    assert set(block.model_fields) == set(cls.model_fields) == set(fields.model_fields)
    for name in fields.model_fields:
        assert name not in block.__dict__.get("__annotations__", {}), f"{block.__name__} redeclares {name}"
        assert name not in cls.__dict__.get("__annotations__", {}), f"{cls.__name__} redeclares {name}"
        assert fields.model_fields[name].description, f"{fields.__name__}.{name} has no description"
    assert secret_names(block) == secret_names(cls) == cls.secret_fields() != ()


def test_block_type_slugs_and_variable_names_stay() -> None:
    """Saved blocks and deployed environments keep working: the slugs and a variable of each backend."""
    slugs = {kind: block.get_block_type_slug() for kind, block in BLOCKS.items()}
    assert slugs == {
        "graph": "practiceweek-graph-credentials", "smtp": "practiceweek-smtp-credentials",
        "teams": "practiceweek-teams-webhook", "x": "practiceweek-x-credentials",
        "bluesky": "practiceweek-bluesky-credentials", "mastodon": "practiceweek-mastodon-credentials",
    }
    names = {cls.env_name(f.name) for cls in SETTINGS_CLASSES for f in cls.setting_fields()}
    assert {
        "PRACTICEWEEK_GRAPH_CLIENT_SECRET", "PRACTICEWEEK_SMTP_PASSWORD", "PRACTICEWEEK_TEAMS_WEBHOOK_URL",
        "PRACTICEWEEK_X_ACCESS_TOKEN_SECRET", "PRACTICEWEEK_BLUESKY_APP_PASSWORD",
        "PRACTICEWEEK_MASTODON_ACCESS_TOKEN",
    } <= names


def test_a_secret_read_from_the_environment_stays_a_secretstr(monkeypatch: pytest.MonkeyPatch) -> None:
    """From the environment as from a block, a secret is held as SecretStr, never in a repr or an error."""
    monkeypatch.setenv("PRACTICEWEEK_SMTP_PASSWORD", "env-secret-9d8c7b")
    monkeypatch.setenv("PRACTICEWEEK_SMTP_USERNAME", "comms")
    smtp = SmtpSettings.from_env()
    assert isinstance(smtp.password, SecretStr) and reveal(smtp.password) == "env-secret-9d8c7b"
    assert "env-secret-9d8c7b" not in repr(smtp) and "env-secret-9d8c7b" not in str(smtp.model_dump())
    monkeypatch.setenv("PRACTICEWEEK_SMTP_PORT", "twenty-five")
    with pytest.raises(SettingsError) as caught:
        SmtpSettings.from_env()
    assert "env-secret-9d8c7b" not in str(caught.value)


def test_block_settings_copies_every_field() -> None:
    from connectors.credentials import SmtpCredentials, TeamsWebhook, XCredentials

    smtp = SmtpCredentials(host="relay", password=SecretStr("pw-1234"), ca_file="/ca.pem").settings()
    assert (smtp.host, reveal(smtp.password), smtp.ca_file) == ("relay", "pw-1234", "/ca.pem")
    teams = TeamsWebhook(webhook_url=SecretStr("https://h/x?sig=s"), team_id="t", channel_id="c").settings()
    assert (teams.team_id, teams.channel_id) == ("t", "c")
    x = XCredentials(
        consumer_key="k", consumer_secret=SecretStr("a"), access_token=SecretStr("b"),
        access_token_secret=SecretStr("c"), base_url="http://127.0.0.1:9",
    ).settings()
    assert x.base_url == "http://127.0.0.1:9" and reveal(x.access_token) == "b"
    assert x.upload_url == "https://api.x.com"  # a block holds its default: no fallback


ALLOWED = {Path("practiceweek/settings.py")}  # the one environment reader (pydantic-settings)
PRODUCTION = ("practiceweek", "ledger", "connectors", "flows", "deploy", "cli")


def _names_a_setting(node: ast.AST | None) -> bool:
    """``"PRACTICEWEEK_X"``, ``f"PRACTICEWEEK_{kind}_BLOCK"`` or ``"PRACTICEWEEK_" + name``."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.startswith("PRACTICEWEEK_")
    if isinstance(node, ast.JoinedStr):
        return bool(node.values) and _names_a_setting(node.values[0])
    if isinstance(node, ast.BinOp):
        return _names_a_setting(node.left)
    return False


def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or a bare ``environ`` (``from os import environ``)."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _env_read(node: ast.AST) -> bool:
    """Whether ``node`` reads a PRACTICEWEEK_ variable from the environment (writing one is fine)."""
    if isinstance(node, ast.Call) and node.args and _names_a_setting(node.args[0]):
        func = node.func
        getenv = (isinstance(func, ast.Attribute) and func.attr == "getenv") or (
            isinstance(func, ast.Name) and func.id == "getenv"
        )
        env_method = (
            isinstance(func, ast.Attribute) and func.attr in ("get", "pop") and _is_environ(func.value)
        )
        return getenv or env_method
    return (
        isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
        and _is_environ(node.value) and _names_a_setting(node.slice)
    )


def _offenders_in(path: Path, base: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.relative_to(base)}:{node.lineno}" for node in ast.walk(tree) if _env_read(node)]


def _offenders(folders: tuple[str, ...]) -> list[str]:
    return [
        line
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.relative_to(ROOT) not in ALLOWED
        for line in _offenders_in(path, ROOT)
    ]


def test_no_environment_reads_outside_settings() -> None:
    offenders = _offenders(tuple(f for f in PRODUCTION if (ROOT / f).is_dir()))
    assert not offenders, "read these through practiceweek.settings.settings():\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("source", "reads"),
    [
        ('os.environ.get("PRACTICEWEEK_OUTBOX")', True),
        ('os.getenv("PRACTICEWEEK_OUTBOX", "outbox")', True),
        ('os.environ["PRACTICEWEEK_LEDGER_URL"]', True),
        ('environ.get(f"PRACTICEWEEK_{kind.upper()}_BLOCK")', True),
        ('getenv("PRACTICEWEEK_" + name)', True),
        ('os.environ.pop("PRACTICEWEEK_STATE", None)', True),
        ('os.environ["PRACTICEWEEK_OUTBOX"] = str(path)', False),  # a command pins a path for what it runs
        ('os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")', False),
        ('os.environ.get("PREFECT_API_URL")', False),
        ('message = "set PRACTICEWEEK_GRAPH_SENDER"', False),
    ],
)
def test_the_environment_check_finds_reads(tmp_path: Path, source: str, reads: bool) -> None:
    """Each way of reading a PRACTICEWEEK_ variable is found; writes and other variables are not."""
    module = tmp_path / "probe.py"
    module.write_text(f"import os\nfrom os import environ, getenv\n{source}\n", encoding="utf-8")
    assert bool(_offenders_in(module, tmp_path)) == reads, source


def test_settings_declares_what_flows_and_ledger_read() -> None:
    """Every PRACTICEWEEK_ name read anywhere in production code is a declared setting."""
    declared = {f"PRACTICEWEEK_{n.upper()}" for n in Settings.model_fields}
    for cls in SETTINGS_CLASSES:
        declared |= {cls.env_name(f.name) for f in cls.setting_fields()}
    name = re.compile(r"""os\.(?:environ\.get|getenv)\(\s*["'](PRACTICEWEEK_[A-Z0-9_]+)["']""")
    for folder in (f for f in PRODUCTION if (ROOT / f).is_dir()):
        for path in (ROOT / folder).rglob("*.py"):
            for var in name.findall(path.read_text(encoding="utf-8")):
                assert var in declared, f"{path.relative_to(ROOT)} reads undeclared {var}"


def test_defaults_match_what_flows_and_ledger_read() -> None:
    """``os.environ.get("PRACTICEWEEK_X", "default")`` not yet switched keeps Settings' default."""
    pattern = re.compile(r"""os\.environ\.get\(\s*["']PRACTICEWEEK_([A-Z0-9_]+)["']\s*,\s*["']([^"']*)["']""")
    defaults = settings().model_dump()
    for folder in (f for f in PRODUCTION if (ROOT / f).is_dir()):
        for path in (ROOT / folder).rglob("*.py"):
            for name, default in pattern.findall(path.read_text(encoding="utf-8")):
                ours = defaults[name.lower()]
                same = float(default) == ours if isinstance(ours, int | float) else str(ours) == default
                where = path.relative_to(ROOT)
                assert same, f"{where}: PRACTICEWEEK_{name} defaults to {default!r}, not {ours!r}"

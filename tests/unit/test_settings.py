"""One settings object: documented in the site, read at call time, clear errors, no stray env reads."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from pydantic import SecretStr

from cli.settings_doc import markdown_table
from connectors.credentials import BLOCKS, SETTINGS
from connectors.settings import SETTINGS_CLASSES, GraphSettings, SmtpSettings, XSettings
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
    """A credentials block declares exactly its settings dataclass's fields, secrets as SecretStr."""
    block, cls = BLOCKS[kind], SETTINGS[kind]
    assert set(block.model_fields) == {f.name for f in cls.setting_fields()}
    secret_in_block = {n for n, info in block.model_fields.items() if "SecretStr" in str(info.annotation)}
    assert secret_in_block == set(cls.secret_fields())


def test_block_settings_copies_every_field() -> None:
    from connectors.credentials import SmtpCredentials, TeamsWebhook, XCredentials

    smtp = SmtpCredentials(host="relay", password=SecretStr("pw"), ca_file="/ca.pem").settings()
    assert (smtp.host, smtp.password, smtp.ca_file) == ("relay", "pw", "/ca.pem")
    teams = TeamsWebhook(webhook_url=SecretStr("https://h/x?sig=s"), team_id="t", channel_id="c").settings()
    assert (teams.team_id, teams.channel_id) == ("t", "c")
    x = XCredentials(
        consumer_key="k", consumer_secret=SecretStr("a"), access_token=SecretStr("b"),
        access_token_secret=SecretStr("c"), base_url="http://127.0.0.1:9",
    ).settings()
    assert x.base_url == "http://127.0.0.1:9" and x.access_token == "b"


# os.environ.get("PRACTICEWEEK_..."), os.environ["PRACTICEWEEK_..."] (reads, not assignments),
# os.getenv("PRACTICEWEEK_...") and f-string names
_READ = re.compile(
    r"""os\.(?:environ\.get|getenv)\(\s*f?["']PRACTICEWEEK_"""
    r"""|os\.environ\[\s*f?["']PRACTICEWEEK_[^]]*\](?!\s*=[^=])"""
)
ALLOWED = {Path("practiceweek/settings.py"), Path("connectors/settings.py")}
PRODUCTION = ("practiceweek", "ledger", "connectors", "flows", "deploy", "cli")


def _offenders(folders: tuple[str, ...]) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel in ALLOWED:
                continue
            for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _READ.search(line):
                    found.append(f"{rel}:{no}: {line.strip()}")
    return found


def test_no_environment_reads_outside_settings() -> None:
    offenders = _offenders(tuple(f for f in PRODUCTION if (ROOT / f).is_dir()))
    assert not offenders, "read these through practiceweek.settings.settings():\n" + "\n".join(offenders)


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

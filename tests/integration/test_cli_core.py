"""`practiceweek validate / plan / schema` as a person (or pre-commit) runs them: real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, ROOT

BASE = (FIXTURES / "good_base.yaml").read_text()
SEEDS = sorted(str(p) for p in (ROOT / "campaigns").glob("*.yaml"))
HEAVY = ("prefect", "msgraph", "tweepy", "atproto", "mastodon", "typst", "mjml", "jinja2", "psycopg")


def run(*args: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    flags = ["-X", "importtime"] if importtime else []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, *flags, "-m", "cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_validate_the_seed_weeks() -> None:
    done = run("validate", *SEEDS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ok: ") == len(SEEDS) == 3


def test_a_bad_file_exits_2_without_a_traceback() -> None:
    bad = FIXTURES / "bad" / "21_javascript_url.yaml"
    done = run("validate", str(bad))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert (
        f"{bad}:30:18: error: Monday (days[0]).themes[0].resources[0].url: expected an http:// or https://"
        in done.stderr
    )


def test_every_error_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        BASE.replace("start: 2024-06-24", "start: 2024-02-30")
        .replace("url: https://example.gov.uk/toolkit", "url: javascript:alert(1)")
        .replace("    email: tscp@example.gov.uk", "    email: tscp-at-example.gov.uk")
    )
    path = tmp_path / "three.yaml"
    path.write_text(text)
    done = run("validate", str(path))
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert [line.split(":")[1] for line in errors] == ["7", "11", "30"], done.stderr  # in file order
    assert "Traceback" not in done.stderr


def test_good_and_bad_files_together(tmp_path: Path) -> None:
    bad = FIXTURES / "bad" / "08_impossible_date.yaml"
    done = run("validate", SEEDS[0], str(bad), str(tmp_path / "missing.yaml"))
    assert done.returncode == 2
    assert "ok: " in done.stdout
    assert "2024-02-30 is not a real date" in done.stderr
    assert "missing.yaml:1:1: error: cannot read the file" in done.stderr
    assert f"{bad}: 1 error, 0 warnings; nothing was scheduled or sent" in done.stderr
    assert done.stderr.splitlines()[-1] == "2 of 3 files invalid; nothing was scheduled or sent"


def test_validate_and_plan_end_with_the_same_line(tmp_path: Path) -> None:
    august = tmp_path / "august.yaml"  # a bank holiday: one warning
    august.write_text(
        BASE.replace("start: 2024-06-24", "start: 2024-08-26").replace("end: 2024-06-28", "end: 2024-08-30")
    )
    for path, ends in ((SEEDS[0], ", 0 warnings"), (str(august), ", 1 warning")):
        validated, planned, as_json = run("validate", path), run("plan", path), run("plan", path, "--json")
        last = validated.stdout.splitlines()[-1]
        assert last.startswith(f"{path}: ok: ") and " publications over " in last and last.endswith(ends)
        assert planned.stdout.splitlines()[-1] == last
        assert as_json.stderr.splitlines()[-1] == last  # stdout stays JSON
        assert f"{len(json.loads(as_json.stdout))} publications" in last
    bad = str(FIXTURES / "bad" / "21_javascript_url.yaml")
    failed = [run(command, bad) for command in ("validate", "plan")]
    assert [done.returncode for done in failed] == [2, 2]
    assert {done.stderr.splitlines()[-1] for done in failed} == {
        f"{bad}: 1 error, 0 warnings; nothing was scheduled or sent"
    }


def test_a_bank_holiday_warns_but_passes(tmp_path: Path) -> None:
    path = tmp_path / "august.yaml"
    path.write_text(
        BASE.replace("start: 2024-06-24", "start: 2024-08-26").replace("end: 2024-06-28", "end: 2024-08-30")
    )
    done = run("validate", str(path))
    assert done.returncode == 0, done.stderr
    holiday = f"{path}:24:14: warning: Monday (days[0]).weekday: Monday 26 August 2024 is a bank holiday"
    assert holiday in done.stderr
    assert "Summer Bank Holiday" in done.stderr


def test_plan_json_items_carry_id_channel_day_and_offset_times() -> None:
    june = json.loads(run("plan", SEEDS[0], "--json").stdout)
    november = json.loads(
        run("plan", str(ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml"), "--json").stdout
    )
    for items, offset in ((june, "+01:00"), (november, "+00:00")):
        assert items
        for item in items:
            assert {"id", "channel", "day", "at", "depends_on", "fingerprint"} <= item.keys()
            assert item["at"].endswith(offset), item
            assert item["id"].split("/")[1:3] == [item["day"], item["channel"]]
    event = next(i for i in november if i["channel"] == "teams_event")
    email = next(i for i in november if i["id"] == "iowscp-da-2024/wed/email/daily")
    assert event["id"] in email["depends_on"]


def test_plan_of_a_bad_file_exits_2() -> None:
    done = run("plan", str(FIXTURES / "bad" / "17_event_ends_before_start.yaml"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert ":41:10: error: events[0].end" in done.stderr


@pytest.mark.parametrize(
    "command",
    [["validate", *SEEDS], ["plan", SEEDS[0], "--json"], ["schema"]],
    ids=["validate", "plan", "schema"],
)
def test_read_only_commands_import_no_prefect_and_no_sdk(command: list[str]) -> None:
    done = run(*command, importtime=True)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "practiceweek.loader" in modules or command == ["schema"]
    imported = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert imported == []

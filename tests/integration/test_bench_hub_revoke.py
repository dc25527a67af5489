"""The provider hub the chaos benchmark starts (``python -m tests.servers.hub``, bench/chaos.py) revokes one
account's Mastodon token when its control file says ``revoke mastodon ACCOUNT`` (``--revoke-partner``): that
account's requests are refused (401), the default account's and another partnership's are still answered,
and the hub's log names the one account revoked. ``revoke mastodon`` alone revokes every account's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import ROOT, kill_tree, wait_until


def _answer(url: str, token: str) -> int:
    return httpx.get(f"{url}/api/v1/accounts/verify_credentials",
                     headers={"Authorization": f"Bearer {token}"}).status_code


def test_the_hub_revokes_one_accounts_mastodon_token_and_then_every_accounts(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tests.servers.hub", "--dir", str(tmp_path), "--accounts", "2"]
    hub = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until((tmp_path / "providers.env.json").exists, 60, "the hub to write its settings")
        env = json.loads((tmp_path / "providers.env.json").read_text())
        blocks = json.loads((tmp_path / "providers.accounts.json").read_text())
        tokens = {a: (b["mastodon"]["base_url"], b["mastodon"]["access_token"]) for a, b in blocks.items()}
        tokens[""] = (env["PRACTICEWEEK_MASTODON_BASE_URL"], env["PRACTICEWEEK_MASTODON_ACCESS_TOKEN"])
        assert sorted(tokens) == ["", "p00", "p01"]

        def answers() -> dict[str, int]:
            return {account: _answer(*url_token) for account, url_token in tokens.items()}

        assert set(answers().values()) == {200}
        control = tmp_path / "providers.control"
        control.write_text("revoke mastodon p01\n")
        wait_until(lambda: answers()["p01"] == 401, 20, "p01's token to be refused", seen=answers)
        assert answers() == {"": 200, "p00": 200, "p01": 401}  # only that partnership's account
        control.write_text("revoke mastodon p01\nrevoke mastodon\n")  # the whole provider, as --revoke-at
        wait_until(lambda: set(answers().values()) == {401}, 20, "every token refused", seen=answers)
    finally:
        kill_tree(hub.pid)
        hub.wait()
    log = [json.loads(line) for line in (tmp_path / "providers.jsonl").read_text().splitlines()]
    revoked = [(r["provider"], r["account"]) for r in log if r["type"] == "revoked"]
    assert revoked[0] == ("mastodon", "p01")
    assert sorted(revoked[1:]) == [("mastodon", ""), ("mastodon", "p00"), ("mastodon", "p01")]

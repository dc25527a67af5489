"""Fixtures of the integration layer: publishing through the flows' own task in this process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.publishing import Publishing, week
from tests.servers.harness import Harness


@pytest.fixture()
def publishing(
    prefect_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Harness], Publishing]]:
    """``publishing(harness)``: the harness's connector as this process's connector of its name, and a
    week through it in this test's ledger, due now. Events go to the session's Prefect server; operators'
    alerts to this test's outbox. Retries wait at most 0.05 s: the tests check what the task does, not how
    long it waits (tests/e2e/test_e2e_rehearsal.py retries a 429 and a 503 on a real Prefect server)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows import process, timing

    Path(prefect_env["PRACTICEWEEK_STATE"]).mkdir(parents=True, exist_ok=True)
    monkeypatch.delenv("PRACTICEWEEK_OPERATORS_CONNECTOR", raising=False)
    # an injected fault is one-shot: waiting the provider's full delay (SMTP asks 60 s) adds nothing here
    monkeypatch.setattr(timing, "wait_before_retry", lambda seconds: time.sleep(min(seconds, 0.05)))
    process.reset()

    def start(harness: Harness) -> Publishing:
        name = harness.connector.name
        process.use_connector(name, harness.connector)
        return Publishing.schedule(process.ledger(), week(tmp_path, name))

    # Prefect read its settings when first imported in this process: point its events at the session's server
    with temporary_settings(updates={PREFECT_API_URL: prefect_env["PREFECT_API_URL"]}):
        yield start
    process.reset()

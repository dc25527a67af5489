"""Fixtures of the integration layer: publishing through the flows' own task in this process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger import Ledger
from tests.helpers import prefect_in_this_process
from tests.publishing import Publishing, week
from tests.servers.harness import Harness


@pytest.fixture()
def on_own_server(prefect_env: dict[str, str]) -> Iterator[Ledger]:
    """This process's ledger, and its Prefect client on the test's own server with the deployments
    registered there (as ``schedule`` leaves them); the process forgets both afterwards."""
    from flows.runtime import process
    from flows.serving.deployments import register

    process.reset()
    try:
        with prefect_in_this_process(prefect_env["PREFECT_API_URL"]):
            register()
            yield process.ledger()
    finally:
        process.reset()


@pytest.fixture()
def publishing(
    local_env: dict[str, str], events_server: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Harness], Publishing]]:
    """``publishing(harness)``: the harness's connector as this process's connector of its name, and a
    week through it in this test's ledger, due now. Events go to this process's events server; operators'
    alerts to this test's outbox. Retries wait at most 0.05 s: the tests check what the task does, not how
    long it waits (tests/e2e/test_e2e_rehearsal.py retries a 429 and a 503 on a real Prefect server)."""
    from flows.plan import timing
    from flows.runtime import process

    Path(local_env["PRACTICEWEEK_STATE"]).mkdir(parents=True, exist_ok=True)
    monkeypatch.delenv("PRACTICEWEEK_OPERATORS_CONNECTOR", raising=False)
    # an injected fault is one-shot: waiting the provider's full delay (SMTP asks 60 s) adds nothing here
    monkeypatch.setattr(timing, "wait_before_retry", lambda seconds: time.sleep(min(seconds, 0.05)))
    process.reset()

    def start(harness: Harness) -> Publishing:
        name = harness.connector.name
        process.use_connector(name, harness.connector)
        return Publishing.schedule(process.ledger(), week(tmp_path, name))

    with prefect_in_this_process(events_server["api_url"]):
        yield start
    process.reset()

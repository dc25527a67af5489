"""Healing without the Prefect server: skips what nobody could send in time and sends every recorded alert."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger, Planned
from tests.helpers import prefect_in_this_process


def _row(pid: str, at: float, window: float = 60.0, connector: str = "outbox") -> Planned:
    return Planned(
        id=pid,
        campaign="c",
        day=pid.split("/")[1],
        channel=pid.split("/")[2],
        connector=connector,
        title=pid,
        fingerprint="f",
        planned_at=at,
        scheduled_at=at,
        missed_window_s=window,
        snapshot="{}",
    )


@pytest.fixture()
def healing(
    prefect_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Ledger, Path]]:
    """The flows' runtime pointed at this test's ledger and outbox (events go to the test's own server)."""
    from flows.runtime import process

    url = prefect_env["PRACTICEWEEK_LEDGER_URL"]
    Path(prefect_env["PRACTICEWEEK_STATE"]).mkdir(parents=True, exist_ok=True)
    monkeypatch.delenv("PRACTICEWEEK_OPERATORS_CONNECTOR", raising=False)
    process.reset()
    led = Ledger(url)
    led.set_campaign("c", str(tmp_path / "c.yaml"))
    with prefect_in_this_process(prefect_env["PREFECT_API_URL"]):
        yield led, Path(prefect_env["PRACTICEWEEK_OUTBOX"]) / "operators"
    process.reset()


def _alerts(folder: Path) -> list[str]:
    return sorted(json.loads(p.read_text())["text"] for p in folder.rglob("message.json"))


def test_heal_skips_what_missed_its_window_and_tells_the_operators(healing: tuple[Ledger, Path]) -> None:
    from flows.serving.heal import heal

    led, alerts = healing
    now = time.time()
    led.apply(
        "c",
        [
            _row("c/mon/email/daily", now - 600),  # nobody sent it, its window closed 9 minutes ago
            _row("c/tue/email/daily", now - 30, window=3600),  # late, inside its window: for a window run
            _row("c/wed/x/daily", now - 600, connector="mastodon"),  # held by a stopped connector, too late
        ],
    )
    assert led.stop_connector("mastodon", "Mastodon 401: the access token is invalid", 401)
    done = heal(windows=False)
    assert sorted(done.skipped) == ["c/mon/email/daily", "c/wed/x/daily"]
    assert led.get("c/tue/email/daily").state == "pending"  # type: ignore[union-attr]
    assert "while the mastodon connector was stopped" in (led.get("c/wed/x/daily").error or "")  # type: ignore[union-attr]
    texts = _alerts(alerts)
    assert done.alerts == 3 and len(texts) == 3  # two skips and the connector stop
    assert any("connectors resume mastodon" in t for t in texts)
    assert any("c/mon/email/daily was skipped" in t and "missed its window" in t for t in texts)
    assert heal(windows=False).empty  # nothing twice


def test_an_alert_claimed_by_a_process_that_died_is_sent_by_the_next_sweep(
    healing: tuple[Ledger, Path],
) -> None:
    from flows.operators.alerts import send_due_alerts

    led, alerts = healing
    led.apply("c", [_row("c/mon/email/daily", time.time())])
    assert led.claim("c/mon/email/daily") and led.mark_failed("c/mon/email/daily", "Graph 400: bad recipient")
    (alert,) = led.alerts(unsent_only=True)
    assert led.claim_alert(alert.key, lease_s=-1)  # a sweeper took it, then died before sending
    assert send_due_alerts() == 1
    assert led.alerts(unsent_only=True) == [] and len(_alerts(alerts)) == 1
    assert "Graph 400: bad recipient" in _alerts(alerts)[0]
    assert send_due_alerts() == 0


def test_events_that_no_failure_records_become_one_alert_each(healing: tuple[Ledger, Path]) -> None:
    """A late publication, a deployment nothing serves, a window run that has not started: one alert each
    (once per resource and minute), sent."""
    from flows.operators.alerts import record_event_alert, send_due_alerts

    _, folder = healing
    late = ("practiceweek.publication.late", "practiceweek.publication.c/mon/email/daily", "Monday's email")
    assert record_event_alert(*late, "went out 95 s after its time", now=1000.0)
    assert not record_event_alert(*late, "went out 95 s after its time", now=1001.0)  # once
    served = "prefect.deployment.8f0c"
    assert record_event_alert("prefect.deployment.not-ready", served, "publish-window", "", now=960.0)
    assert not record_event_alert("prefect.deployment.not-ready", served, "publish-window", "", now=1010.0)
    assert record_event_alert("prefect.deployment.not-ready", served, "publish-window", "", now=1090.0)
    assert not record_event_alert("prefect.flow-run.Completed", "prefect.flow-run.1", "x", "")  # no alert
    assert send_due_alerts() == 3
    texts = _alerts(folder)
    assert any("nothing is serving the deployment publish-window" in t for t in texts), texts
    assert any("went out 95 s after its time" in t for t in texts), texts


def test_a_pool_no_worker_polls_is_one_alert_per_outage_and_none_once_a_worker_is_back(
    healing: tuple[Ledger, Path],
) -> None:
    """Prefect marks a pool with no online worker NOT_READY: the heal round's check and the triggered flow
    (which can only run once a worker is back) record one alert naming it between them, none when stale."""
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from flows.operators.alerts import POOL_EVENT, record_event_alert, record_idle_pool, send_due_alerts
    from flows.operators.pools import idle_pool

    _, folder = healing
    name = f"idle-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        pool = client.create_work_pool(WorkPoolCreate(name=name, type="process"))
        resource = f"prefect.work-pool.{pool.id}"
        found = idle_pool(name)  # no worker has ever polled it
        assert found is not None and found.name == name and found.resource == resource
        assert record_idle_pool(found)  # what the heal round does
        assert not record_event_alert(POOL_EVENT, resource, name, "")  # the trigger's run: same outage
        assert send_due_alerts() == 1
        client.send_worker_heartbeat(name, "worker-1", heartbeat_interval_seconds=10)
        assert idle_pool(name) is None  # polled again: READY
        assert not record_event_alert(POOL_EVENT, resource, name, "")  # a stale event: no alert
        client.delete_work_pool(name)
    (text,) = _alerts(folder)
    assert f"no worker is polling the work pool {name}" in text and f"--pool {name}" in text

"""Publication events leave the publishing threads at once and reach Prefect, in order, with the time
they happened and the run that emitted them (a background thread hands them over)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow
from prefect.context import FlowRunContext
from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.testing.fixtures import asserting_events_worker  # noqa: F401 - a fixture

from flows.runtime import events
from flows.runtime.runs import name_this_run
from ledger import Ledger, Planned


@pytest.fixture()
def a_server_for_events(events_server: dict[str, str]) -> Iterator[None]:
    """Prefect emits events only where a server is set, and its events worker makes its client when it is
    made: set one before ``asserting_events_worker`` (this test passed before only when an earlier test in
    the same process had left PREFECT_API_URL in Prefect's settings; without one, Prefect started a
    temporary server of its own). A flow run's logs are sent before the server is paused again: sent from
    the log worker at this process's exit, they found no server ("Error logging to API")."""
    with temporary_settings(updates={PREFECT_API_URL: events_server["api_url"]}):
        yield
        APILogWorker.drain_all(timeout=30)


def test_events_are_handed_over_in_order_with_their_own_time(
    a_server_for_events: None,
    asserting_events_worker: EventsWorker,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    _hand_over_twenty_events(asserting_events_worker, tmp_path)


def _hand_over_twenty_events(worker: EventsWorker, tmp_path: Path) -> None:
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    led.apply("c", [Planned(id=f"c/mon/x/{i}", campaign="c", day="mon", channel="x", connector="outbox",
                            title=f"post {i}", fingerprint="f", planned_at=1.0, scheduled_at=1.0,
                            missed_window_s=60.0) for i in range(20)])
    rows = [led.get(f"c/mon/x/{i}") for i in range(20)]
    before = dt.datetime.now(dt.UTC)
    threads = [threading.Thread(target=events.emit, args=("published", r), kwargs={"n": i})
               for i, r in enumerate(rows)]
    for t in threads:
        t.start()
        t.join()  # one after the other: their order is known
    emitted_by = dt.datetime.now(dt.UTC)
    time.sleep(0.2)
    assert events.flush(30)
    worker.drain()
    client = worker._client
    assert isinstance(client, AssertingEventsClient)
    got = [e for e in client.events if e.event == "practiceweek.publication.published"]
    assert [e.payload["n"] for e in got] == list(range(20))
    assert all(before <= e.occurred <= emitted_by for e in got)  # when emitted, not when handed over
    assert got[0].resource.id == "practiceweek.publication.c/mon/x/0"


def test_an_event_relates_its_run_and_only_its_own_campaigns_tag(
    a_server_for_events: None,
    asserting_events_worker: EventsWorker,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    """A window run carries a tag per campaign it publishes; its publication's event relates the run (as
    Prefect does) but, of the run's tags, only ``practiceweek`` and the publication's own campaign: each
    related resource is a row per event in the server (most of its CPU per publication in a burst)."""
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    led.apply("c7", [Planned(id="c7/mon/x/0", campaign="c7", day="mon", channel="x", connector="outbox",
                             title="post", fingerprint="f", planned_at=1.0, scheduled_at=1.0,
                             missed_window_s=60.0)])
    row = led.get("c7/mon/x/0")
    assert row is not None

    @flow(name="a-crowded-window")
    def window() -> str:
        name_this_run("a crowded window", ["practiceweek", *(f"campaign:c{i}" for i in range(40))])
        run = FlowRunContext.get()
        assert run is not None and len(run.flow_run.tags) == 41  # the run itself keeps every tag
        events.emit("published", row)
        assert events.flush(30)
        return str(run.flow_run.id)

    run_id = window()
    asserting_events_worker.drain()
    client = asserting_events_worker._client
    assert isinstance(client, AssertingEventsClient)
    got = [e for e in client.events if e.event == "practiceweek.publication.published"]
    assert len(got) == 1
    related = {r.id: r.role for r in got[0].related}
    assert related[f"prefect.flow-run.{run_id}"] == "flow-run"
    assert "flow" in related.values()
    assert {rid for rid, role in related.items() if role == "tag"} == {
        "prefect.tag.practiceweek", "prefect.tag.campaign:c7"
    }
    assert related["practiceweek.campaign.c7"] == "campaign"

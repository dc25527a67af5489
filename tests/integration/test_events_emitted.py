"""Publication events leave the publishing threads at once and reach Prefect, in order, with the time
they happened and the run that emitted them (a background thread hands them over)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker
from prefect.testing.fixtures import asserting_events_worker  # noqa: F401 - a fixture

from flows import events
from ledger import Ledger, Planned


def test_events_are_handed_over_in_order_with_their_own_time(
    asserting_events_worker: EventsWorker,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
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
    asserting_events_worker.drain()
    client = asserting_events_worker._client
    assert isinstance(client, AssertingEventsClient)
    got = [e for e in client.events if e.event == "practiceweek.publication.published"]
    assert [e.payload["n"] for e in got] == list(range(20))
    assert all(before <= e.occurred <= emitted_by for e in got)  # when emitted, not when handed over
    assert got[0].resource.id == "practiceweek.publication.c/mon/x/0"

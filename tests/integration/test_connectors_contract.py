"""One contract, every connector: publish, safe republish, find, and every injected fault classified
and recovered with no duplicate and no loss, as counted by the provider's local server. Republishing and
recovery go through the production path: ``flows.publishing.publish_one.publish`` on a ledger row."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from connectors.base import OutcomeUnknownError, PermanentError, Receipt, RetryableError
from connectors.registry import NAMES
from flows.publishing.outcomes import Outcome
from tests.publishing import Publishing
from tests.servers.harness import Harness

VARIANTS = [*NAMES, "teams_channel+graph"]  # the Teams webhook alone cannot be queried; with Graph it can
NETWORKED = [n for n in VARIANTS if n not in ("outbox", "web_page")]
FAULTS = ["throttle", "unavailable", "server_error", "timeout", "reset", "permanent"]

pytestmark = pytest.mark.timeout(60)
THROUGH_FLOWS = pytest.mark.timeout(180)  # the first to run starts the session's Prefect server


@pytest.fixture(params=VARIANTS)
def harness(request: pytest.FixtureRequest, harness_for: Callable[[str], Harness]) -> Harness:
    return harness_for(request.param)


@pytest.fixture(params=NETWORKED)
def net(request: pytest.FixtureRequest, harness_for: Callable[[str], Harness]) -> Harness:
    return harness_for(request.param)


def test_limits_are_declared(harness: Harness) -> None:
    cls = type(harness.connector)
    assert cls.name == harness.name and cls.channels
    for attr in ("requests_per_interval", "max_recipients", "max_text_length", "max_attachment_bytes"):
        assert hasattr(cls, attr)
    assert cls.interval_seconds > 0


def test_publish_then_find(harness: Harness) -> None:
    item = harness.item("daily")
    conn = harness.connector
    assert conn.find(item) is None
    receipt = conn.publish(item)
    assert isinstance(receipt, Receipt) and receipt.publication_id == item.id and receipt.remote_id
    assert harness.effects() == harness.expected_effects
    found = conn.find(item)
    if getattr(conn, "can_find", True):
        assert found is not None and found.publication_id == item.id
        assert found.remote_id == receipt.remote_id
    else:
        assert found is None  # documented: SMTP and the Teams webhook cannot be queried


@THROUGH_FLOWS
def test_safe_republish_has_no_second_effect(
    harness: Harness, publishing: Callable[[Harness], Publishing]
) -> None:
    """Through the flows' own task: published once, asked again nothing more goes out; a worker that died
    while sending is reconciled (``find``) before anything is sent again, or, where the provider cannot be
    asked, the publication is handed to a person (never sent twice)."""
    week = publishing(harness)
    first, second, third = week.ids[:3]
    can_find = getattr(harness.connector, "can_find", True)
    assert week.publish(first) is Outcome.SENT
    effects = harness.effects_of(week.rendered(first))
    assert harness.effects() == effects
    remote_id = week.row(first).remote_id
    assert remote_id and week.publish(first) is Outcome.SENT  # the ledger has it: nothing more is sent
    assert harness.effects() == effects and week.row(first).remote_id == remote_id

    # the worker died after claiming `second`, before the provider had it
    assert week.ledger.claim(second) and week.ledger.recover(everything=True) == [second]
    if can_find:
        assert week.publish(second) is Outcome.SENT  # not found at the provider: sent once now
        effects += harness.effects_of(week.rendered(second))
    else:
        assert week.publish(second) is Outcome.FAILED
        assert "confirm with the recipients" in (week.row(second).error or "")
    assert harness.effects() == effects

    # the worker died after the provider had `third`, before the ledger recorded it
    assert week.ledger.claim(third)
    harness.connector.publish(week.rendered(third))
    effects += harness.effects_of(week.rendered(third))
    assert week.ledger.recover(everything=True) == [third]
    assert week.publish(third) is (Outcome.SENT if can_find else Outcome.FAILED)
    assert harness.effects() == effects  # found, not sent a second time


@THROUGH_FLOWS
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_is_classified_and_recovered(
    net: Harness, fault: str, publishing: Callable[[Harness], Publishing]
) -> None:
    """The connector classifies the fault (one attempt at a hand-built item); the flows' task then recovers
    from the same fault: retried after the provider's delay, reconciled before any resend, or handed to
    a person; counted by the provider's server, no duplicate and no loss."""
    item = net.item("daily")
    net.inject(fault)
    expected = net.expect[fault]
    with pytest.raises(expected) as caught:
        assert net.connector.find(item) is None
        net.connector.publish(item)  # one attempt: see the class
    error = caught.value
    assert str(error)
    if fault == "throttle":
        assert isinstance(error, RetryableError) and error.retry_after is not None
        assert 0.0 < error.retry_after <= 61

    week = publishing(net)
    pid = week.ids[0]
    before = net.effects()
    net.inject(fault)
    if expected is PermanentError:
        with contextlib.suppress(PermanentError):  # failed (raised), or its connector stopped (held)
            assert week.publish(pid) is Outcome.HELD
        assert week.row(pid).state in ("failed", "pending")
        assert net.effects() == before
        return
    outcome = week.publish(pid)
    once = net.effects_of(week.rendered(pid))
    if expected is OutcomeUnknownError and not getattr(net.connector, "can_find", True):
        # Nothing to reconcile with: the task refuses to guess and hands the case to a person.
        assert outcome is Outcome.FAILED
        assert "confirm with the recipients" in (week.row(pid).error or "")
        assert net.effects() - before <= once  # at most once: never a duplicate
        return
    assert outcome is Outcome.SENT and week.row(pid).state == "sent"
    assert net.effects() - before == once  # no duplicate, no loss


@pytest.fixture(params=["graph_mail", "bluesky", "mastodon", "outbox"])
def shared(request: pytest.FixtureRequest, harness_for: Callable[[str], Harness]) -> Harness:
    return harness_for(request.param)


def test_one_connector_shared_by_plain_threads(shared: Harness) -> None:
    """Connectors are sync objects usable from many threads at once (Graph runs its SDK on a private loop)."""
    import threading

    todo = [shared.item(f"t{i:02d}") for i in range(12)]
    errors: list[BaseException] = []

    def work(chunk: list) -> None:
        try:
            for item in chunk:
                assert shared.connector.find(item) is None
                shared.connector.publish(item)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(todo[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert shared.effects() == 12 * shared.expected_effects

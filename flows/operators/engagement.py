"""Engagement collected after publishing: +1 hour, +1 day and +7 days after each publication went out
(after a meeting's end, for Teams meetings), through the connector that published it.

Deployment ``collect-engagement/collect-engagement``: each run plans the readings of newly sent publications
(ledger table ``readings``), takes every reading that is due, and schedules a run at each time a
reading is due next, so the coming readings show in the UI as scheduled runs; an interval schedule
catches anything missed. Requests are paced by the connectors' own per-account pacers (shared through
the ledger). A provider that refuses or does not answer is asked again later (its ``retry_after``, else
``RETRY_S``); publications are never changed here, so collection cannot affect publishing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.deployments import run_deployment

from connectors.base import ConnectorError, NotAvailable, RetryableError, Sent
from ledger import Ledger, ReadingRow, Row
from practiceweek.dates import exact
from practiceweek.planner import Publication

from ..runtime import process
from ..runtime.campaigns import campaign_of, scheduled_publication_of, zone_of
from ..runtime.logs import outlive_lost_output
from ..runtime.names import DEPLOYMENTS
from . import report

MARKS = (("1h", 3600.0), ("1d", 86400.0), ("7d", 7 * 86400.0))
COLLECT = DEPLOYMENTS["engagement"]
RETRY_S = 900.0  # a refusal without a named delay is tried again after this long
GIVE_UP_AFTER = 8  # attempts at one reading before it is recorded as unavailable
SCHEDULE_AHEAD = 50  # scheduled runs kept in the UI for the next reading times
SAFETY_NET_S = 900  # the deployment's interval schedule


@dataclass
class Collected:
    """What one collection did: readings stored, providers asked, readings left for a retry."""

    readings: int = 0
    requests: int = 0
    retries: int = 0
    by_connector: dict[str, int] = field(default_factory=dict)
    campaigns: set[str] = field(default_factory=set)


def plan_readings(lg: Ledger) -> int:
    """Plan the readings of every sent publication that has none yet; returns how many were planned."""
    added = 0
    for pid in lg.unplanned_sent():
        row = lg.get(pid)
        if row is None or row.sent_at is None:
            continue
        camp = lg.campaign(row.campaign)
        speed = camp.speed if camp is not None and camp.speed else 1.0  # a rehearsal compresses time
        base = _meeting_end(lg, row) or row.sent_at
        added += lg.add_readings(pid, {mark: base + seconds / speed for mark, seconds in MARKS})
    return added


def _publication(lg: Ledger, row: Row) -> Publication | None:
    """The publication as it was scheduled (None when the ledger kept no readable snapshot)."""
    try:
        return Publication.from_snapshot(json.loads(lg.snapshot(row.id) or "null"))
    except (KeyError, ValueError, TypeError, AttributeError):
        return None


def _meeting_end(lg: Ledger, row: Row) -> float | None:
    """When a Teams meeting ends (attendance is known only after it), as the ledger's clock runs."""
    pub = _publication(lg, row) if row.channel == "teams_event" else None
    event = (pub.content.get("event") if pub else None) or {}
    camp = lg.campaign(row.campaign)
    if pub is None or "end" not in event or camp is None:
        return None
    end = exact(pub.date, dt.time.fromisoformat(event["end"]), zone_of(row.campaign) or ZoneInfo("UTC"))
    return max(row.sent_at or 0.0, camp.effective(end.timestamp()))


def sent_of(lg: Ledger, row: Row) -> Sent:
    """What a connector needs to ask its provider about ``row``: ids, the account and recipients."""
    pub = _publication(lg, row)
    content = pub.content if pub else {}
    account = ((content.get("event") or {}).get("organiser")
               or ((content.get("campaign") or {}).get("organiser") or {}).get("email"))
    recipients = None
    if row.channel == "email":
        found = scheduled_publication_of(row)
        audience = pub.audience if pub else None
        audiences = found[0].for_partner(found[1].partner).model.campaign.audiences if found else {}
        recipients = len(audiences[audience].recipients) if audience in audiences else None
    return Sent(row.id, row.channel, row.remote_id or "", dt.datetime.fromtimestamp(row.sent_at or 0, dt.UTC),
                url=row.url, join_url=row.join_url, account=account, recipients=recipients)


def collect(lg: Ledger, now: float | None = None) -> Collected:
    """Take every reading due by ``now``: one batch per connector and account, each publication asked once."""
    now = time.time() if now is None else now
    done = Collected()
    by_route: dict[tuple[str, str], dict[str, list[ReadingRow]]] = {}
    for reading in lg.due_readings(now):
        row = lg.get(reading.publication)
        if row is not None:
            by_route.setdefault(row.route, {}).setdefault(row.id, []).append(reading)
    for (name, account), pubs in by_route.items():
        _collect_one(lg, name, pubs, done, now, account)
    return done


def _collect_one(lg: Ledger, name: str, pubs: dict[str, list[ReadingRow]], done: Collected,
                 now: float, account: str = "") -> None:
    rows = [r for r in (lg.get(pid) for pid in pubs) if r is not None]
    try:
        conn = process.connector(name, account)
        done.requests += 1
        got = conn.engagement([sent_of(lg, r) for r in rows])
    except ConnectorError as exc:  # refused, throttled, timed out, or no credentials: ask again later
        delay = exc.retry_after if isinstance(exc, RetryableError) and exc.retry_after else RETRY_S
        for readings in pubs.values():
            for reading in readings:
                _failed(lg, reading, f"{type(exc).__name__}: {exc}", now + max(delay, 1.0))
                done.retries += 1
        return
    for pid, readings in pubs.items():
        result = got.get(pid) or NotAvailable(f"{name} returned nothing for this publication")
        for reading in readings:
            if isinstance(result, NotAvailable):
                lg.record_reading(pid, reading.mark, None, result.reason)
            else:
                lg.record_reading(pid, reading.mark, result.figures, at=result.at.timestamp())
            done.readings += 1
            done.by_connector[name] = done.by_connector.get(name, 0) + 1
    done.campaigns.update(r.campaign for r in rows)


def _failed(lg: Ledger, reading: ReadingRow, error: str, retry_at: float) -> None:
    if reading.attempts + 1 >= GIVE_UP_AFTER:
        lg.record_reading(reading.publication, reading.mark, None, f"gave up after {GIVE_UP_AFTER} attempts: "
                          f"{error}")
    else:
        lg.reading_failed(reading.publication, reading.mark, error, retry_at)


def schedule_next(lg: Ledger, now: float | None = None) -> int:
    """A scheduled ``collect-engagement`` run at each coming reading time (one per minute at most)."""
    now = time.time() if now is None else now
    minutes = sorted({int(at // 60) for at in lg.next_reading_times(now)})[:SCHEDULE_AHEAD]
    for minute in minutes:
        at = dt.datetime.fromtimestamp(minute * 60 + 60, dt.UTC)  # the minute after: every reading is due
        run_deployment(COLLECT, scheduled_time=at, timeout=0, as_subflow=False,
                       idempotency_key=f"engagement:{lg.key}:{minute}",
                       flow_run_name=f"engagement {at:%a %d %b %H:%M} UTC")
    return len(minutes)


def _report_artifact(lg: Ledger, cid: str) -> None:
    """The campaign's report (``report-<campaign>``) with the figures just read."""
    camp = lg.campaign(cid)
    if camp is None:
        return
    try:
        loaded = campaign_of(camp.path).loaded
    except Exception:  # noqa: BLE001 - a file broken since: the readings are stored all the same
        return
    report.record_artifact(report.build(lg, loaded))


@flow(name="collect-engagement", log_prints=True)
def collect_engagement() -> dict[str, object]:
    """Plan readings for what went out, take those due, schedule runs for the next ones."""
    outlive_lost_output()
    lg = process.ledger()
    planned = plan_readings(lg)
    done = collect(lg)
    scheduled = schedule_next(lg)
    for cid in sorted(done.campaigns):
        _report_artifact(lg, cid)
    get_run_logger().info("planned %d readings, took %d in %d requests (%s), %d left for a retry, "
                          "%d runs scheduled", planned, done.readings, done.requests, done.by_connector,
                          done.retries, scheduled)
    return {"planned": planned, "readings": done.readings, "requests": done.requests,
            "retries": done.retries, "scheduled": scheduled}

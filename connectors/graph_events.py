"""Teams meetings as calendar events through Microsoft Graph.

``POST /users/{organiser}/events`` with ``isOnlineMeeting`` and ``onlineMeetingProvider:
teamsForBusiness``; ``transactionId`` (a GUID derived from the publication id) makes Graph return the
same event when a create is retried. The publication id and content fingerprint ride on single-value
extended properties: ``find`` filters on the id, and an event whose fingerprint differs is PATCHed by
``publish`` instead of created again. ``cancel`` posts ``/events/{id}/cancel`` (attendees are told).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any, ClassVar

from msgraph.generated.models.event import Event
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody

from practiceweek.artifacts import Rendered

from . import graph_reads
from ._graph import PROPERTY_ID, GraphSession, property_filter, query, to_model
from .base import Connector, Engagement, NotAvailable, PermanentError, Reading, Receipt, Sent
from .pacing import shared_bucket
from .settings import GraphSettings

FINGERPRINT_ID = "String {8b4a6c1e-2f5d-4e07-9c3a-6d1b0e7f5a42} Name x-practiceweek-fingerprint"
NAMESPACE = uuid.UUID("8b4a6c1e-2f5d-4e07-9c3a-6d1b0e7f5a42")
HINTS = {
    403: "the app registration lacks Calendars.ReadWrite (application permission with admin consent), or "
    "an application access policy excludes the organiser's mailbox",
    404: "the organiser mailbox or the event does not exist; check PRACTICEWEEK_GRAPH_ORGANISER",
    400: "Graph refused the event body",
}


def transaction_id(publication_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, publication_id))


class GraphEventsConnector(Connector):
    """Creates, updates and cancels Teams meetings in the organiser's calendar."""

    name: ClassVar[str] = "graph_events"
    channels: ClassVar[tuple[str, ...]] = ("teams_event",)
    requests_per_interval: int | None = 10_000  # Exchange: 10,000 requests / 10 min per mailbox
    interval_seconds: float = 600.0
    max_recipients: ClassVar[int | None] = 500  # attendees per meeting invitation
    max_text_length: ClassVar[int | None] = 255  # subject

    def __init__(
        self, settings: GraphSettings | None = None, *, timeout: float = 30.0, sdk_retries: int = 0
    ) -> None:
        self.settings = settings or GraphSettings.from_env()
        self.graph = GraphSession(self.settings, timeout=timeout, sdk_retries=sdk_retries, hints=HINTS)

    def _organiser(self, item: Rendered) -> str:
        who = self.settings.organiser or self.settings.sender or item.sender
        if not who:
            raise PermanentError(
                "Graph events need an organiser mailbox: set PRACTICEWEEK_GRAPH_ORGANISER", provider="Graph"
            )
        return who

    def _pace(self, organiser: str) -> None:
        bucket = shared_bucket(
            ("graph", self.graph.base_url, organiser.lower()),
            self.requests_per_interval,
            self.interval_seconds,
        )
        if bucket is not None:
            bucket.acquire()

    def _body(self, item: Rendered, *, create: bool) -> Event:
        if not item.event:
            raise PermanentError(
                f"{item.id}: no event body was rendered for this Teams meeting", provider="Graph"
            )
        body: dict[str, Any] = dict(item.event)
        body.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
        if create:
            body["transactionId"] = transaction_id(item.id)
        event: Event = to_model(body, Event)
        event.online_meeting_provider = OnlineMeetingProviderType.TeamsForBusiness
        event.single_value_extended_properties = [
            SingleValueLegacyExtendedProperty(id=PROPERTY_ID, value=item.id),
            SingleValueLegacyExtendedProperty(id=FINGERPRINT_ID, value=item.publication.fingerprint),
        ]
        return event

    def _lookup(self, item: Rendered) -> Event | None:
        organiser = self._organiser(item)
        config = query(
            EventsRequestBuilder,
            filter=property_filter(item.id),
            top=5,
            expand=[f"singleValueExtendedProperties($filter=id eq '{FINGERPRINT_ID}')"],
            select=["id", "webLink", "onlineMeeting", "isCancelled", "createdDateTime", "subject"],
        )
        self._pace(organiser)
        page = self.graph.call(
            self.graph.client.users.by_user_id(organiser).events.get(request_configuration=config),
            f"search events for {item.id}",
            write=False,
        )
        live = [e for e in ((page.value if page else None) or []) if not e.is_cancelled]
        return live[0] if live else None

    @staticmethod
    def _fingerprint(event: Event) -> str | None:
        for prop in event.single_value_extended_properties or []:
            if (prop.id or "").lower() == FINGERPRINT_ID.lower():
                return prop.value
        return None

    def _receipt(self, item: Rendered, event: Event) -> Receipt:
        join = event.online_meeting.join_url if event.online_meeting else None
        extra: dict[str, Any] = {
            "join_url": join,
            "fingerprint": self._fingerprint(event) or item.publication.fingerprint,
        }
        return Receipt(publication_id=item.id, remote_id=event.id or "", url=event.web_link, extra=extra)

    # ------------------------------------------------------------------ contract
    def publish(self, item: Rendered) -> Receipt:
        organiser = self._organiser(item)
        events = self.graph.client.users.by_user_id(organiser).events
        existing = self._lookup(item)
        self._pace(organiser)
        if existing is not None and existing.id:
            if self._fingerprint(existing) == item.publication.fingerprint:
                return self._receipt(item, existing)
            updated = self.graph.call(
                events.by_event_id(existing.id).patch(self._body(item, create=False)),
                f"update event {item.id}",
            )
            return self._receipt(item, updated or existing)
        created = self.graph.call(events.post(self._body(item, create=True)), f"create event {item.id}")
        assert created is not None
        return self._receipt(item, created)

    def find(self, item: Rendered) -> Receipt | None:
        """The live event of this publication with the same content fingerprint, else None."""
        event = self._lookup(item)
        if event is None or self._fingerprint(event) not in (None, item.publication.fingerprint):
            return None
        return self._receipt(item, event)

    def cancel(self, item: Rendered) -> None:
        event = self._lookup(item)
        if event is None or not event.id:
            return
        organiser = self._organiser(item)
        self._pace(organiser)
        comment = f"Cancelled: {item.subject}" if item.subject else "This session has been cancelled."
        self.graph.call(
            self.graph.client.users.by_user_id(organiser)
            .events.by_event_id(event.id)
            .cancel.post(CancelPostRequestBody(comment=comment)),
            f"cancel event {item.id}",
        )

    def engagement(self, items: list[Sent]) -> dict[str, Engagement]:
        """Attendance of each meeting (sessions, distinct attendees, minutes) from its attendance reports,
        paced by the organiser's mailbox limit like every other Graph request."""
        out: dict[str, Engagement] = {}
        for sent in items:
            organiser = self.settings.organiser or self.settings.sender or sent.account  # as publish() does
            if not sent.join_url or not organiser:
                out[sent.publication_id] = NotAvailable("the meeting has no Teams join link")
                continue
            figures = graph_reads.attendance(self.graph, organiser, sent.join_url,
                                             functools.partial(self._pace, organiser))
            out[sent.publication_id] = Reading(figures)
        return out

    def close(self) -> None:
        self.graph.close()

"""What the ledger stores, as read-only records; column lists are derived from their fields."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import FrozenInstanceError, dataclass, field, fields
from typing import Any, NamedTuple

from .states import State, Verdict, WindowState


@dataclass
class PlanItem:
    """A publication as a plan has it: what goes out, when, through which connector and account, and what it
    links to. ``Planned`` (what the ledger is given) and ``Row`` (what it holds) are both built on it."""

    id: str
    campaign: str
    day: str
    channel: str
    connector: str
    title: str
    fingerprint: str
    planned_at: float
    scheduled_at: float
    missed_window_s: float
    depends_on: tuple[str, ...] = ()
    event_id: str | None = None
    account: str = ""  # the Prefect block its connector publishes through; '' for the deployment's default


@dataclass(kw_only=True, unsafe_hash=True)
class Row(PlanItem):
    """One publication as the ledger knows it: its plan item, then where it stands. Read-only once made
    (a dataclass cannot be frozen on a base that ``Planned`` keeps mutable, so assignment is refused here)."""

    state: State
    attempts: int
    owner: str | None
    lease_until: float | None
    remote_id: str | None
    url: str | None
    join_url: str | None
    error: str | None
    revision: int
    created_at: float
    updated_at: float
    sending_at: float | None
    sent_at: float | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_made", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_made" in self.__dict__:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super().__setattr__(name, value)

    @property
    def route(self) -> tuple[str, str]:
        """(connector, account): what publishes it, and what a refused credential stops."""
        return self.connector, self.account

    @property
    def deadline(self) -> float:
        """Latest moment the publication may still go out."""
        return self.scheduled_at + self.missed_window_s

    @classmethod
    def from_db(cls, values: Iterable[Any]) -> Row:
        data = dict(zip(PUBLICATION_COLUMNS, values, strict=True))
        data["depends_on"] = tuple(json.loads(data["depends_on"] or "[]"))
        data["state"] = State(data["state"])
        return cls(**data)


class DueRef(NamedTuple):
    """What a window run needs to know of an open publication each time it looks (cheap to read)."""

    id: str
    campaign: str
    scheduled_at: float
    fingerprint: str  # which version of it is planned (its rendering ahead is stored under it)


@dataclass(frozen=True)
class CampaignRow:
    """A campaign the ledger schedules, with its rehearsal time mapping if any."""

    id: str
    path: str
    revision: int
    origin_real: float | None
    origin_at: float | None
    speed: float | None
    window_floor_s: float | None
    approval: str
    approver: str | None
    approved_at: float | None
    updated_at: float
    timezone: str | None = None  # the week's IANA time zone (None: scheduled by an older version)

    @property
    def rehearsal(self) -> bool:
        return self.speed is not None

    def effective(self, planned_at: float) -> float:
        """Where a planned time falls: itself, or compressed towards now in a rehearsal."""
        if self.speed is None or self.origin_real is None or self.origin_at is None:
            return planned_at
        return self.origin_at + (planned_at - self.origin_real) / self.speed

    def window(self, missed_window_s: float) -> float:
        if self.speed is None:
            return missed_window_s
        return max(missed_window_s / self.speed, self.window_floor_s or 0.0)


@dataclass(frozen=True)
class Window:
    """One window lane's row: its generation, state, owner (the run publishing it) and standby."""

    start: float
    lane: int
    gen: int
    state: WindowState
    owner: str | None
    heartbeat: float | None
    queue: str | None  # the work queue of the owner's run (its standby is started on another)
    standby_gen: int
    standby_at: float | None  # the standby's last beat (or, until it beats, how long it may take to start)
    fence: int = 0  # the fencing token: advanced by every change of owner (ledger/fences.py)
    standby_queue: str | None = None  # the work queue of the lane's standby (where it beat, or was put)
    lost_queue: str | None = None  # the work queue of the lane's last run found lost (stopped beating) …
    lost_at: float | None = None  # … and its last beat (bench and healing: ``Ledger.lost_queues``)

    @classmethod
    def from_db(cls, values: Iterable[Any]) -> Window:
        start, lane, gen, state, *rest = values
        return cls(start, lane, gen, WindowState(state), *rest)


class Fence(NamedTuple):
    """The token a window run claims and sends under: its window lane, and the lane's ``fence`` when the
    run took it. A takeover advances the lane's fence, so the old run's token is refused from then on."""

    start: float
    lane: int
    token: int


@dataclass(frozen=True)
class Alert:
    """One message for the operators, recorded with the failure it reports."""

    key: str
    kind: str  # failed | skipped | connector-stopped
    subject: str
    publication: str | None
    connector: str | None
    reason: str
    created_at: float
    sent_at: float | None


@dataclass(frozen=True)
class Decision:
    """An approver's decision on a week: who, when, what, why (kept for rehearsals too)."""

    campaign: str
    verdict: Verdict
    approver: str
    decided_at: float
    comment: str
    flow_run_id: str
    partner: str = ""  # approval per partner: the partner of a joint week it decides for ('' the whole week)


@dataclass(frozen=True)
class Stopped:
    """A connector's account stopped because the provider refused its credentials or permissions."""

    connector: str
    account: str  # '' for the deployment's default account
    reason: str
    status: int | None
    stopped_at: float


@dataclass
class Planned(PlanItem):
    """A publication to put in the ledger (from the planner, with its effective time)."""

    snapshot: str | None = None  # the publication as JSON, to withdraw it after it left the plan


@dataclass
class Diff:
    """What applying a new plan changed."""

    added: list[str] = field(default_factory=list)
    moved: list[tuple[str, float, float]] = field(default_factory=list)  # id, old, new scheduled_at
    updated: list[str] = field(default_factory=list)  # content changed, still pending
    cancelled: list[Row] = field(default_factory=list)  # removed before it went out (or a sent event)
    removed_sent: list[str] = field(default_factory=list)  # removed but already out: left alone
    changed_sent: list[str] = field(default_factory=list)  # edited after it went out: left alone
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.moved
            or self.updated
            or self.cancelled
            or self.removed_sent
            or self.changed_sent
        )


def _columns(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record))


# the columns each record is read from, in field order (table ``publications`` also holds ``snapshot``)
PUBLICATION_COLUMNS = _columns(Row)
CAMPAIGN_COLUMNS = _columns(CampaignRow)
ALERT_COLUMNS = _columns(Alert)
STOPPED_COLUMNS = _columns(Stopped)
DECISION_COLUMNS = _columns(Decision)


def new_publication(planned: Planned, revision: int, now: float) -> dict[str, Any]:
    """Column → value of the pending publication row that ``planned`` becomes (unset columns NULL)."""
    record: dict[str, Any] = dict.fromkeys(PUBLICATION_COLUMNS)
    record.update((f.name, getattr(planned, f.name)) for f in fields(Planned))
    record.update(
        depends_on=json.dumps(list(planned.depends_on)),
        state=State.PENDING,
        attempts=0,
        revision=revision,
        created_at=now,
        updated_at=now,
    )
    return record

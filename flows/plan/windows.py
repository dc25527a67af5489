"""Window runs: one prefetched ``publish-window`` flow run per window of time with something due, and in a
crowded window one per lane (each its own process, sharing the window's publications by campaign).

With ``PRACTICEWEEK_WINDOW_STANDBY`` each lane also gets a standby run, put in another worker's work queue
(``PRACTICEWEEK_WINDOW_QUEUES``): it takes the window over when the publishing run dies
(flows/publishing/publish.py), and a standby that died or took over is replaced here, so a window keeps a
spare while it lasts; with ``PRACTICEWEEK_WINDOW_SPARES=2`` one on each of two other queues. No new run goes
to a queue whose runs were lost and nothing beats since (``Ledger.lost_queues``: its host is down)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterEndTime,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled, Crashed, Scheduled

from ledger import WAITING, Ledger, Row
from practiceweek.settings import settings

from ..runtime.campaigns import zone_of
from ..runtime.names import DEPLOYMENTS, MANY_CAMPAIGNS, ROLES, tags_for, window_name
from .timing import lane_of, lanes_for, window_of
from .waiting import WINDOW_FLOW, run_waits, window_run_key

PUBLISH_WINDOW = DEPLOYMENTS["window"]  # the deployment every window run comes from
OPEN = [StateType.RUNNING, StateType.PENDING]
CUT_OFF = [StateType.CRASHED, StateType.CANCELLED, StateType.FAILED]  # ended without waiting for its tasks
ENDED = [*CUT_OFF, StateType.COMPLETED]
CREATE_SLACK_S = 3.0  # a run due now is scheduled this far ahead: a busy API server creates it late


class DeploymentsMissing(RuntimeError):
    """Nothing has registered the practiceweek deployments on this Prefect server yet."""


def ensure_windows(
    led: Ledger, rows: list[Row], now: float | None = None, register: Callable[[], None] | None = None
) -> list[str]:
    """Make sure a (prefetched) publish_window run covers each open publication. Returns run names.

    ``register`` creates the deployments if the server has none yet (else DeploymentsMissing is raised).
    """
    now = time.time() if now is None else now
    cfg = settings()
    by_window: dict[float, list[Row]] = {}
    for r in rows:
        if r.state in WAITING:
            by_window.setdefault(window_of(max(r.scheduled_at, now), cfg.window_s), []).append(r)
    names = []
    queues = work_queues(cfg.window_queues)
    down = frozenset(led.lost_queues(now)) if by_window and queues else frozenset()
    spares = cfg.window_spares > 1 and len(queues) > 2  # else one standby: ``_ensure_lane``
    for start, items in sorted(by_window.items()):
        lanes = max(led.window_lanes(start), lanes_for(len(items), cfg.window_lanes, cfg.lane_size))
        for lane in range(lanes):
            mine = [r for r in items if lane_of(r.campaign, lanes) == lane]
            if mine:
                ensure = _ensure_spares if cfg.window_standby and spares else _ensure_lane
                names += ensure(led, start, Lane(lane, lanes), mine, now, register, down)
    return names


@dataclass(frozen=True)
class Lane:
    """Which share of a window's publications a run publishes: campaigns whose ``lane_of`` is ``index``."""

    index: int = 0
    of: int = 1


def _ensure_lane(
    led: Ledger, start: float, lane: Lane, items: list[Row], now: float, register: Callable[[], None] | None,
    down: frozenset[str] = frozenset(),
) -> list[str]:
    """A live run for the window's lane: none yet, or its last one lost (marked Crashed, replaced); and with
    standbys on, a live standby beside it. ``down``: work queues whose runs were lost and nothing on them
    beats since (``Ledger.lost_queues``: a host down): no new run goes there while another queue is left,
    and a standby put there that has not started yet is replaced at once."""
    cfg = settings()
    lost = led.window_run(start, lane.index)
    gen = _new_generation(led, start, lane.index, now)
    queues = work_queues(cfg.window_queues)
    movable = down if len(set(queues) - down) >= 2 else frozenset()  # a live queue beside the owner's
    standby = (
        led.standby_needed(start, now, lead_s=cfg.lead_s, lane=lane.index, down=movable)
        if cfg.window_standby else None
    )
    if gen is None and standby is None:
        return []
    name = _lane_name(items, lane)
    held = led.window_held(start, lane.index)
    current = gen or (held.gen if held else 1)
    lost_queue = held.queue if gen is not None and gen > 1 and held is not None else None
    first = place(queues, int(start // cfg.window_s) + lane.index + current, avoid=lost_queue, down=down)
    names = []
    if gen is not None:
        if lost and gen > 1:
            mark_crashed(lost)
        _start_window_run(led, start, Spare(gen, f"{int(start)}:{gen}", first), lane, name, items, register)
        names.append(name)
    if standby is not None:  # on another worker than the run publishing the window (or about to)
        owner_queue = held.queue if held is not None and held.owner and gen is None else None
        replaced = {held.standby_queue} if held is not None and held.standby_queue else set()
        queue = standby_queue(queues, owner_queue or first, standby, down=down | replaced)
        led.standby_placed(start, lane.index, queue)
        spare = Spare(current, f"{int(start)}:standby-{standby}", queue, standby=True)
        _start_window_run(led, start, spare, lane, f"{name} · standby", items, register)
        names.append(f"{name} · standby")
    return names


def _new_generation(led: Ledger, start: float, lane: int, now: float) -> int | None:
    """The generation of a new run for the window's lane, or None while a live run covers it: one that
    beats, or one not started yet, in time or only waiting for its live poller (``waiting.run_waits``)."""
    lead_s = settings().lead_s
    overdue = led.window_overdue(start, now, lead_s=lead_s, lane=lane)
    waiting = overdue if overdue is not None and run_waits(led.key, start, lane, overdue, now) else None
    return led.window_needed(start, now, lead_s=lead_s, lane=lane, waiting_gen=waiting)


def _ensure_spares(
    led: Ledger, start: float, lane: Lane, items: list[Row], now: float, register: Callable[[], None] | None,
    down: frozenset[str],
) -> list[str]:
    """With several spares per lane (``PRACTICEWEEK_WINDOW_SPARES``): a live run for the window's lane as
    :func:`_ensure_lane`, and live standbys on that many queues other than its owner's, one per queue
    (``Ledger.spares_needed``), none on a queue that is down. A spare put where its host is down would
    wait for that host to come back; with one spare only, a lane whose spare was lost (a worker killed, a
    host down) has none until another has started (tens of seconds on a loaded host), and a loss of its
    owner's host meanwhile waits for that."""
    cfg = settings()
    queues = work_queues(cfg.window_queues)
    lost = led.window_run(start, lane.index)
    gen = _new_generation(led, start, lane.index, now)
    held = led.window_held(start, lane.index)
    current = gen or (held.gen if held else 1)
    name = _lane_name(items, lane)
    names = []
    if gen is not None:
        if lost and gen > 1:
            mark_crashed(lost)
        lost_queue = held.queue if gen > 1 and held is not None else None
        first = place(queues, int(start // cfg.window_s) + lane.index + gen, avoid=lost_queue, down=down)
        led.window_placed(start, lane.index, first)
        _start_window_run(led, start, Spare(gen, f"{int(start)}:{gen}", first), lane, name, items, register)
        names.append(name)
        owner = first
    else:
        owner = held.queue if held is not None else None
    others = [q for q in _after(queues, owner) if q != owner]
    count = min(cfg.window_spares, len(others))
    needed = led.spares_needed(start, lane.index, others, count, now, lead_s=cfg.lead_s, down=down)
    for queue, number in needed:
        spare = Spare(current, f"{int(start)}:standby-{queue}-{number}", queue, standby=True)
        _start_window_run(led, start, spare, lane, f"{name} · standby", items, register)
        names.append(f"{name} · standby")
    return names


def _lane_name(items: list[Row], lane: Lane) -> str:
    """The name of a lane's runs: its window's, and which lane of how many in a crowded window."""
    items.sort(key=lambda r: r.scheduled_at)
    name = window_name(items, items[0].planned_at, zone_of(items[0].campaign))
    return name + (f" · lane {lane.index + 1}/{lane.of}" if lane.of > 1 else "")


def _after(queues: list[str], owner: str | None) -> list[str]:
    """``queues`` in turn from the one after ``owner`` (from the first when it is none of them)."""
    start = queues.index(owner) + 1 if owner in queues else 0
    return [queues[(start + k) % len(queues)] for k in range(len(queues))]


@dataclass(frozen=True)
class Spare:
    """Which run of a window lane to start: its generation, idempotency key, work queue and role."""

    gen: int
    key: str  # unique per window lane: the generation, or the standby's number
    queue: str | None = None  # None: the deployment's own work queue
    standby: bool = False


def work_queues(setting: str) -> list[str]:
    """``PRACTICEWEEK_WINDOW_QUEUES`` as a list (empty: no placement)."""
    return [q.strip() for q in setting.split(",") if q.strip()]


def place(queues: list[str], index: int, avoid: str | None = None, down: Collection[str] = ()) -> str | None:
    """The queue of a window's (new generation of) run: the window's turn in ``queues``, skipping
    ``avoid``, the queue of the run presumed lost (its host may be the one that died: a run put there would
    wait for the host to come back before it could take the window), and while another is left the queues
    ``down`` (``Ledger.lost_queues``). None: no placement."""
    candidates = ([q for q in queues if q != avoid and q not in down] or [q for q in queues if q != avoid]
                  or queues)
    return candidates[index % len(candidates)] if candidates else None


def standby_queue(
    queues: list[str], owner: str | None, number: int, down: Collection[str] = ()
) -> str | None:
    """The queue of a lane's standby number ``number``: never its owner's (``owner``), so the two run on
    different workers; while another is left, none of ``down``: the queue of the standby it replaces (it
    died there, or never started) and the queues whose runs were lost and nothing beats since
    (``Ledger.lost_queues``: a host down, a worker killed). A standby put where its host is down would
    wait for the host to come back, leaving the window no live spare. Among the queues left, each new
    standby of the lane goes to the next one after its owner's."""
    if not queues:
        return None
    start = queues.index(owner) + 1 if owner in queues else 0
    others = [queues[(start + k) % len(queues)] for k in range(len(queues))]
    others = [q for q in others if q != owner] or queues
    live = [q for q in others if q not in down] or others
    return live[(max(number, 1) - 1) % len(live)]


def _start_window_run(
    led: Ledger,
    start: float,
    spare: Spare,
    lane: Lane,
    name: str,
    items: list[Row],
    register: Callable[[], None] | None,
) -> None:
    """Create the window's run on the server, to start ``lead_s`` before the window, or in a few seconds
    when that is past (idempotent per generation or standby, and lane). Never scheduled in the past: the UI
    would label an on-time run "late" by the time the window had been open (a week approved or scheduled
    mid-window), or by the seconds a busy API server took to create it (``CREATE_SLACK_S``)."""
    run_at = max(start - settings().lead_s, time.time() + CREATE_SLACK_S)
    kwargs: dict[str, Any] = dict(
        parameters={"window_start": start, "ledger_key": led.key, "generation": spare.gen,
                    "lane": lane.index, "lanes": lane.of} | ({"standby": True} if spare.standby else {}),
        scheduled_time=dt.datetime.fromtimestamp(run_at, dt.UTC),
        timeout=0,
        idempotency_key=window_run_key(led.key, spare.key, lane.index),
        flow_run_name=name,
        tags=tags_for(items),
        as_subflow=False,
        work_queue_name=spare.queue,
    )
    try:
        run_deployment(PUBLISH_WINDOW, **kwargs)
    except ObjectNotFound:
        if register is None:
            raise DeploymentsMissing(
                f"the Prefect server has no {PUBLISH_WINDOW} deployment: start `practiceweek serve` "
                "(or `practiceweek run`) so that window runs have somewhere to run"
            ) from None
        register()  # nothing served them yet: create the deployments, then schedule
        run_deployment(PUBLISH_WINDOW, **kwargs)


def campaigns_of(run: Any) -> set[str]:
    """The campaigns a window run publishes, from its tags (``campaign:<id>``)."""
    return {tag.removeprefix("campaign:") for tag in run.tags if tag.startswith("campaign:")}


def publishes_only(run: Any, campaigns: set[str]) -> bool:
    """Whether ``run`` publishes nothing but ``campaigns``: never known of a run tagged ``MANY_CAMPAIGNS``
    (too many to list), which a command of only some campaigns must leave to the others."""
    return MANY_CAMPAIGNS not in run.tags and campaigns_of(run) <= campaigns


def _open_window_runs(
    client: Any, ledger_key: str, states: list[StateType], ended_after: dt.datetime | None = None,
    campaigns: set[str] | None = None,
) -> list[Any]:
    """This ledger's window runs in ``states`` (at most 200, earliest first), with ``ended_after`` only
    those that ended after it, with ``campaigns`` only those publishing nothing but theirs."""
    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[WINDOW_FLOW])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states)),
            end_time=FlowRunFilterEndTime(after_=ended_after) if ended_after else None,
        ),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC,  # None is sent as null, which the API refuses
        limit=200,
        offset=0,
    )
    return [run for run in runs if run.parameters.get("ledger_key") == ledger_key
            and (campaigns is None or publishes_only(run, campaigns))]


def await_window_runs(ledger_key: str, timeout: float, campaigns: set[str] | None = None) -> int:
    """Wait up to ``timeout`` seconds for this ledger's window runs that are running or starting to end by
    themselves (their work done, they are finishing: they end Completed), and for the task states of those
    that ended to reach the server; with ``campaigns``, only runs of those campaigns alone. Returns how many
    runs are still open."""
    deadline = time.time() + timeout
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    with get_client(sync_client=True) as client:
        while True:
            running = len(_open_window_runs(client, ledger_key, OPEN, campaigns=campaigns))
            if time.time() >= deadline or not (running or _unreported_tasks(client, ledger_key, since)):
                return running
            time.sleep(0.5)


def _unreported_tasks(client: Any, ledger_key: str, since: dt.datetime) -> int:
    """Task runs still shown open in this ledger's window runs that Completed after ``since``: a Completed
    run waited for all its tasks, but their states reach the server as events, after the run's own."""
    done = _open_window_runs(client, ledger_key, [StateType.COMPLETED], ended_after=since)
    if not done:
        return 0
    tasks = client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id for run in done])),
        task_run_filter=TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(any_=OPEN))),
        sort=TaskRunSort.ID_DESC,
        limit=200,
        offset=0,
    )
    return len(tasks)


def cancel_open_window_runs(ledger_key: str, message: str, campaigns: set[str] | None = None) -> int:
    """End every window run of this ledger not yet finished (a rehearsal or demo that is over), so the
    UI shows none left Running, Pending or Late; with ``campaigns``, only the runs publishing nothing but
    those campaigns' (another command sharing the ledger serves the others). Returns how many."""
    ended = 0
    with get_client(sync_client=True) as client:
        for _ in range(100):  # the server returns at most 200 at a time; the ones ended leave the filter
            mine = _open_window_runs(client, ledger_key, [StateType.SCHEDULED, *OPEN], campaigns=campaigns)
            for run in mine:
                client.set_flow_run_state(run.id, Cancelled(message=message), force=True)
            ended += len(mine)
            if not mine:
                break
    return ended


def requeue_stranded_submissions(message: str) -> int:
    """After a serving process stopped: the runs of the practiceweek deployments it left Pending (it was
    stopped while submitting them; nothing would ever move them on) go back to Scheduled, for the next
    serving process or worker (an operators' alert run is not lost). Returns how many."""
    pending = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PENDING])))
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=list(ROLES.values()))),
            flow_run_filter=pending,
            sort=FlowRunSort.ID_DESC,
            limit=200,
            offset=0,
        )
        for run in runs:
            client.set_flow_run_state(run.id, Scheduled(message=message), force=True)
    return len(runs)


def end_orphaned_task_runs(settled_s: float = 0.0, runs_in: list[StateType] = ENDED) -> int:
    """Task runs still Running or Pending inside a window run that ended (killed, crashed, cancelled; with
    ``runs_in``, only runs in those states) at least ``settled_s`` ago: nothing will finish them, so they end
    Crashed and the dashboard counts none as Running. (Task states reach the server as events: a margin
    keeps a late Completed from being overwritten.) Returns how many."""
    ended_runs = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=runs_in)),
        end_time=FlowRunFilterEndTime(before_=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settled_s)),
    )
    open_tasks = TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(any_=OPEN)))
    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[WINDOW_FLOW])),
            flow_run_filter=ended_runs,
            task_run_filter=open_tasks,
            sort=TaskRunSort.ID_DESC,  # FastAPI 0.154 refuses null
            limit=200,
            offset=0,
        )
        for task in tasks:
            client.set_task_run_state(
                task.id, Crashed(message="its window run ended without it (killed, crashed or cancelled)"),
                force=True,
            )
    return len(tasks)


LOST = "stopped beating: its process died; a new run took over the window"


def mark_crashed(flow_run_id: str, message: str = LOST) -> None:
    """A window run that stopped beating (its process died): show it as Crashed, not Running forever."""
    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(flow_run_id))
            if run.state is not None and not run.state.is_final():
                client.set_flow_run_state(
                    flow_run_id,
                    Crashed(message=message),
                    force=True,
                )
    except Exception:  # noqa: BLE001 - cosmetic
        pass

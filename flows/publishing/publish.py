"""The ``publish-window`` flow: one window of time, each publication at its own time.

A window run starts before its window opens (its start-up cost paid early), renders what is coming,
and submits each publication as its own ``publish`` task (``flows.publishing.publish_one``) just before the
publication's time. It publishes everything the ledger holds as due and not yet out, so a moved
publication or a missed run heals at the next run.

With standbys on (``PRACTICEWEEK_WINDOW_STANDBY``, the production set-up) a window lane has two runs. The
ledger's windows row says which one publishes (its ``owner``): the first to take it, by compare-and-set. The
other stands by, publishing nothing, and takes the window over as soon as the owner's beat is stale
(``TAKEOVER_AFTER_S``: its process died, or its host froze): the takeover advances the window's fencing
token, so the old run's claims are void at once and reconciled (``orphans``), and should it wake, its
claims and sends are refused (``flows/runtime/fencing.py``); the standby publishes the rest, each publication
claimed once. An owner whose beat finds another owner (it was only slow) stops submitting and ends; a
standby that was not needed ends "stood by; the primary finished".

The run outlives a restart of the ledger's database: a step that could not reach it is tried again
every second (for up to ``LEDGER_OUTAGE_S``), and a publication whose task ended without a record
(the database was down) is submitted again, so a restart of PostgreSQL costs seconds, not the window.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import get_run_context
from prefect.states import Completed
from prefect.states import State as RunState
from prefect.task_runners import ThreadPoolTaskRunner

from ledger import WAITING, DueRef, Fence, Ledger, Row, State, Window, WindowState, unavailable, worker_id
from practiceweek.settings import Settings, settings

from ..operators import orphans
from ..operators.status import publish_plan_tables
from ..plan.timing import dependencies_first, lane_of
from ..plan.windows import mark_crashed
from ..runtime import campaigns, cpu, events, names, process
from ..runtime.logs import outlive_lost_output, run_logger
from ..runtime.runs import name_this_run
from .content import is_prepared, prepare
from .crowded import Threads
from .outcomes import Outcome, alert_now
from .publish_one import publish

RENDER_SLICE_S = 0.3  # render ahead for at most this long between two looks at what is due
LEDGER_OUTAGE_S = 300.0  # a window run waits this long for its ledger's database to come back
RESUBMITS = 20  # times a publication whose task ended without a record is submitted again
TAKEOVER_AFTER_S = 5.0  # a standby takes the window over once its owner's beat (every 2 s) is this old
STANDBY_POLL_S = 0.5  # how often a standby looks at the owner's beat
STOOD_BY = "stood by; the primary finished"
TAKEN_OVER = "stopped beating: its process died; its standby took the window over"
T = TypeVar("T")


class LostWindow(Exception):
    """Another run owns this window now (this one was presumed dead): it must stop submitting."""


@flow(
    name="publish-window",
    # TaskRunner's future type is invariant, so Prefect's own runner does not match @flow's annotation
    # (PrefectHQ/prefect#16938)
    task_runner=ThreadPoolTaskRunner(max_workers=settings().task_threads),  # type: ignore[arg-type]
    log_prints=True,
    persist_result=False,
)
def publish_window(
    window_start: float,
    ledger_key: str | None = None,
    generation: int = 1,
    lane: int = 0,
    lanes: int = 1,
    standby: bool = False,
) -> dict[str, int] | RunState:
    """Publish every publication due by the end of this window (of its lane's campaigns, in a crowded
    window), each at its own time; as its ``standby``, only once the run publishing it stops beating."""
    outlive_lost_output()  # a window run stands by for minutes: its worker may die meanwhile
    cpu.watch_api()  # with PRACTICEWEEK_SEND_CPU_REPORT: the Prefect API requests it makes, by route
    log = get_run_logger()
    led = process.ledger()
    if ledger_key and led.key != ledger_key:
        log.info("this run belongs to another ledger (%s); nothing to do here", ledger_key)
        return {}
    run = WindowRun(led, window_start, _flow_run_id(), lane=lane, lanes=lanes, standby=standby,
                    queue=_work_queue())
    if not through_outages(run.stand_by):
        log.info(STOOD_BY)
        return Completed(message=STOOD_BY, data={})
    try:
        with cpu.part("window.start"):
            through_outages(run.start)
        while True:  # one look at least, even when the run starts after its window closed (a busy host)
            through_outages(run.step)
            if through_outages(run.finished):
                break
    except LostWindow as lost:
        log.warning("%s; submitting nothing more (what it submitted is claimed once, as always)", lost)
    results = through_outages(run.finish)
    log.info("window done: %s", results)
    cpu.report(f"window-{run.owner}")  # with PRACTICEWEEK_SEND_CPU_REPORT: the send path's CPU, by part
    return results


def through_outages(step: Callable[[], T], limit_s: float = LEDGER_OUTAGE_S) -> T:
    """``step()``, tried again every second while the ledger's database cannot be reached (restarting),
    for up to ``limit_s`` seconds. Each step can be repeated: it looks at the ledger afresh."""
    since = None
    while True:
        try:
            return step()
        except Exception as exc:
            if not unavailable(exc) or (since is not None and time.time() - since > limit_s):
                raise
            if since is None:
                since = time.time()
                run_logger().warning("the ledger's database is not answering (%s); trying again", exc)
            time.sleep(1.0)


def _this_process() -> str:
    """The prefix of every claim this process's threads make (``ledger.worker_id``: host:pid:thread)."""
    return worker_id().rsplit(":", 1)[0] + ":"


def _flow_run_id() -> str | None:
    ctx = get_run_context()
    flow_run = getattr(ctx, "flow_run", None)
    return str(flow_run.id) if flow_run is not None else None


def _work_queue() -> str | None:
    """The work queue this run came from (its standby is put in another), if a worker runs it."""
    flow_run = getattr(get_run_context(), "flow_run", None)
    return getattr(flow_run, "work_queue_name", None) if flow_run is not None else None


@dataclass
class WindowRun:
    """The state of one window run's loop."""

    led: Ledger
    window_start: float
    flow_run_id: str | None
    cfg: Settings = field(default_factory=settings)  # read once per run
    submitted: dict[str, Any] = field(default_factory=dict)  # publication id → its task's future
    unrenderable: set[str] = field(default_factory=set)  # waiting on a dependency, or broken
    held: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # finished tasks looked at →
    # the (connector, account) that held them, or None
    campaigns_seen: set[str] = field(default_factory=set)
    record: bool = True
    ahead_s: float = 2.0  # how long before its time a task is submitted (longer in a crowded window)
    resubmitted: dict[str, int] = field(default_factory=dict)  # publication id → times submitted again
    progress_id: Any = None
    last_progress: float = -1.0
    last_beat: float = 0.0
    next_at: float | None = None
    rendered_one: bool = False
    took_over: bool = False  # a standby that took the window over from a dead run …
    dead_owner: str = ""  # … this one (its flow run id; '' when nobody had taken the window)
    lane: int = 0  # in a crowded window: this run publishes the campaigns of its lane …
    lanes: int = 1  # … of this many (more may be added while it runs: it looks each step)
    standby: bool = False  # started as the window's spare: takes it only once its owner stops beating
    queue: str | None = None  # the work queue it came from (recorded with the window's owner)
    owner: str = ""  # who this run is in the windows row (its flow run id); made in __post_init__
    fence: Fence | None = None  # the window's token when this run took it: its tasks claim and send under it
    threads: Threads | None = None  # a crowded window's publications run on these, not as task runs

    def __post_init__(self) -> None:
        self.owner = self.owner or self.flow_run_id or f"run-{uuid.uuid4().hex}"

    @property
    def end(self) -> float:
        return self.window_start + self.cfg.window_s

    def _ours(self, row: Row | DueRef, now: float) -> bool:
        """This window's publications of this lane, and earlier ones left behind (a lost or crashed run)."""
        if lane_of(row.campaign, self.lanes) != self.lane:
            return False
        return row.scheduled_at >= self.window_start or row.scheduled_at < now - self.cfg.heal_s

    # --- stand by ---------------------------------------------------------------------------------------
    def stand_by(self) -> bool:
        """Wait until this run owns the window: a primary at once if nobody does; a standby (or a primary
        that found another owner) once the owner's beat is ``TAKEOVER_AFTER_S`` old, or once the window
        opened and nobody took it. False when the owner finished the window (nothing for this run)."""
        waiting = False
        while True:
            held = self.led.window_held(self.window_start, self.lane)
            if held is not None and held.state == WindowState.DONE:
                return False
            unowned = not self.standby or time.time() >= self.window_start or _presumed_lost(held)
            if self.led.window_take(self.window_start, self.owner, lane=self.lane, stale_s=TAKEOVER_AFTER_S,
                                    unowned=unowned, flow_run_id=self.flow_run_id, queue=self.queue) and (
                self._fenced_in()
            ):
                before = held.owner if held is not None else None
                if before != self.owner and (before or self.standby):  # from a dead run, or as a spare
                    self._took_over(before or "")
                return True
            if not waiting:
                run_logger().info(
                    "standing by: %s", f"run {held.owner} publishes this window"
                    if held is not None and held.owner else "no run has taken this window yet"
                )
                waiting = True
            if time.time() - self.last_beat > 2 and not self._beside_owner(held):
                self.led.standby_beat(self.window_start, self.lane, self.queue)  # a spare: heal starts none
                self.last_beat = time.time()
            time.sleep(STANDBY_POLL_S)

    def _beside_owner(self, held: Window | None) -> bool:
        """Whether this waiting run came from its owner's work queue (so runs on its worker, its host): it
        is no spare then, since the blow that stops the owner (a host lost) stops it too. It does not beat as
        the standby, so healing puts one on another worker's queue."""
        return bool(self.queue and held is not None and held.owner and held.queue == self.queue)

    def _fenced_in(self) -> bool:
        """Read the token this run took the window with (False: another run took it in between)."""
        self.fence = self.led.window_fence(self.window_start, self.owner, self.lane)
        return self.fence is not None

    def _took_over(self, dead: str) -> None:
        """Say so in the log (``start`` shows the dead run Crashed, and the run's name says so too)."""
        self.took_over, self.dead_owner = True, dead
        if dead:
            run_logger().warning(
                "the window's run %s stopped beating (its process died?): this run takes the window over, "
                "reconciles what it left 'sending' and publishes the rest", dead
            )
        else:
            run_logger().warning("the window opened and no run had taken it: this run takes it")

    def _show_dead_owner_crashed(self) -> None:
        """The run this one took over from shows Crashed, not Running for ever (a flow run's id only)."""
        if self.dead_owner and not self.dead_owner.startswith("run-"):
            mark_crashed(self.dead_owner, TAKEN_OVER)

    # --- start ------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Beat, reconcile what a dead worker left, send pending alerts, name the run, show progress."""
        log = get_run_logger()
        self._beat(force=True)
        recovered = orphans.recover_orphans()
        if recovered:
            log.warning(
                "%d publication(s) were being sent when a worker stopped; reconciling them", len(recovered)
            )
        upcoming = [r for r in self.led.due(self.end) if self._ours(r, time.time())]
        self.campaigns_seen = {r.campaign for r in upcoming}
        self.record = len(upcoming) <= self.cfg.record_limit  # crowded: one summary, not an artifact each
        self.ahead_s = self.cfg.submit_ahead_s if self.record else self.cfg.burst_ahead_s
        if not self.record and not self.cfg.crowded_task_runs:
            self.threads = Threads()  # flows/publishing/crowded.py
        if self.took_over:  # what is due now goes out first; the server calls below can take seconds
            self.step()
            self._show_dead_owner_crashed()
        alert_now()  # alerts recorded while no process could send them (a crash, the server down)
        _rename(self.window_start, upcoming, self._role())
        try:
            self.progress_id = create_progress_artifact(
                0.0, key=None, description=f"window of {len(upcoming)} publication(s)"
            )
        except Exception:  # noqa: BLE001 - the server is restarting: publish anyway, without the progress bar
            self.progress_id = None

    def _role(self) -> str:
        """What the run's name adds: nothing for a primary, ' · standby' (and whether it took over)."""
        if not self.standby:
            return ""
        return " · standby, took over" if self.took_over else " · standby"

    # --- the loop ---------------------------------------------------------------------------------------
    def step(self) -> None:
        """One look at what is due: submit, render ahead, show progress, then sleep a little."""
        with cpu.part("window.reads"):
            self._beat()
            now = time.time()
            fresh = [  # what this run has not submitted yet; a row is read whole only to submit or render it
                d
                for d in self.led.due_refs(min(self.end, now + self.cfg.prepare_s))
                if d.id not in self.submitted and self._ours(d, now)
            ]
        with cpu.part("prefect.submit"):
            self._submit_due(fresh)
        with cpu.part("window.render_ahead"):
            self._render_ahead(fresh)
        with cpu.part("window.reads"):
            self._release_resumed()
        with cpu.part("prefect.progress"):
            self._show_progress()
        if not self.rendered_one and not self._closing():
            wake = min(self.end, self.next_at if self.next_at is not None else self.end, time.time() + 0.5)
            time.sleep(max(0.0, min(wake - time.time(), 0.5)))

    def _beat(self, force: bool = False, state: WindowState = WindowState.RUNNING) -> None:
        """Say this run is alive (every 2 s), and look whether the window gained lanes meanwhile."""
        if force or time.time() - self.last_beat > 2:
            if not self.led.window_beat(
                self.window_start, self.flow_run_id, state=state, lane=self.lane, owner=self.owner
            ):
                raise LostWindow("another run took this window over (this one was presumed dead)")
            self.lanes = max(self.lanes, self.led.window_lanes(self.window_start))
            self.last_beat = time.time()

    def _submit_due(self, fresh: list[DueRef]) -> None:
        """Submit each publication as its task just before its time; note when the next one is."""
        self.next_at = None
        ready = []
        for d in fresh:
            if d.scheduled_at <= time.time() + self.ahead_s:
                ready.append(d.id)
            else:
                due_at = d.scheduled_at - self.ahead_s
                self.next_at = due_at if self.next_at is None else min(self.next_at, due_at)
        # read whole once, as it is submitted; a task waiting on another must not hold a thread it needs
        for r in dependencies_first(self.led.get_many(ready) if ready else []):
            self.submitted[r.id] = self._submit(r)
            self.campaigns_seen.add(r.campaign)

    def _submit(self, r: Row) -> Any:
        """Its ``publish`` task (a crowded window: on this run's own threads, no task run each)."""
        if self.threads is not None:
            return self.threads.submit(r.id, self.fence)
        label = names.task_name(r, campaigns.zone_of(r.campaign))
        return publish.submit(r.id, record=self.record, label=label, fence=self.fence)

    def _render_ahead(self, fresh: list[DueRef]) -> None:
        """Render what is not yet due, one at a time, while nothing is about to be due."""
        self.rendered_one = False
        budget = time.time() + RENDER_SLICE_S
        for d in fresh:
            soon = self.next_at is not None and self.next_at - time.time() < RENDER_SLICE_S
            if soon or time.time() > budget:
                return
            if d.id in self.submitted or d.id in self.unrenderable or is_prepared(d):
                continue
            r = self.led.get(d.id)
            if r is None or r.state not in WAITING:
                continue
            self.rendered_one = True
            try:
                if not prepare(r):
                    self.unrenderable.add(r.id)
            except Exception as exc:  # noqa: BLE001 - the task renders again and reports it
                self.unrenderable.add(r.id)
                get_run_logger().warning("could not render %s ahead: %s", r.id, exc)

    def _release_resumed(self) -> None:
        """A task that came back HELD is submitted again once its connector's account is resumed."""
        lost = []
        for pid, fut in self.submitted.items():
            if pid not in self.held and fut.wrapped_future.done():
                outcome = _outcome(fut)
                if outcome is None and self._unrecorded(pid):
                    lost.append(pid)
                    continue
                row = self.led.get(pid) if outcome == Outcome.HELD else None
                self.held[pid] = row.route if row else None
        for pid in lost:  # its task raised before it could record anything (the ledger was down): again
            self.resubmitted[pid] = self.resubmitted.get(pid, 0) + 1
            del self.submitted[pid]
        waiting = {pid: route for pid, route in self.held.items() if route and pid in self.submitted}
        if not waiting:
            return
        stopped = self.led.stopped()
        for pid, route in waiting.items():
            if route not in stopped:
                del self.submitted[pid]
                del self.held[pid]

    def _unrecorded(self, pid: str) -> bool:
        """A task that raised left its publication pending (nothing recorded), or 'sending' under this
        process's claim (the ledger went down as it recorded: it may have gone out, so it becomes 'unknown'
        and is reconciled, at once rather than when its lease runs out); either may be submitted again."""
        row = self.led.get(pid)
        if row is None or self.resubmitted.get(pid, 0) >= RESUBMITS:
            return False
        if row.state == State.SENDING and (row.owner or "").startswith(_this_process()):
            return self.led.mark_unknown(pid, "its task stopped as the ledger went down; reconciling")
        return row.state == State.PENDING

    def _done(self) -> int:
        return sum(1 for f in self.submitted.values() if f.wrapped_future.done())  # no API call per future

    def _show_progress(self) -> None:
        total = max(1, len(self.submitted))
        progress = round(100.0 * self._done() / total, 1)
        if progress != self.last_progress and self.progress_id is not None:
            try:
                update_progress_artifact(self.progress_id, progress)
            except Exception:  # noqa: BLE001 - cosmetic
                pass
            self.last_progress = progress

    def _closing(self) -> bool:
        """Every task is done, and the window is over or nothing of this lane is left to publish in it."""
        if self._done() != len(self.submitted):
            return False
        return time.time() >= self.end or self._nothing_left()

    def _nothing_left(self) -> bool:
        """No publication of this run's lane due by the window's end is still open: its work is done, so
        it ends now (Completed) instead of idling to the window's end, where the command that served it
        would find it still running. One arriving later makes a new run (a 'done' window is re-armed)."""
        now = time.time()
        return not any(self._ours(d, now) for d in self.led.due_refs(self.end))

    def finished(self) -> bool:
        """The window is over, every task is done, and nothing more arrived for it meanwhile."""
        if not self._closing():
            return False
        self._beat(force=True, state=WindowState.DONE)
        late_arrivals = [
            r
            for r in self.led.due(self.end)
            if r.id not in self.submitted and r.scheduled_at >= self.window_start
            and lane_of(r.campaign, self.lanes) == self.lane
        ]
        if not late_arrivals:
            return True
        self._beat(force=True)  # more arrived while closing: keep going
        return False

    # --- finish -----------------------------------------------------------------------------------------
    def finish(self) -> dict[str, int]:
        """Count the outcomes, record what went out, refresh the plan tables."""
        if self.threads is not None:
            self.threads.close()
        events.flush()
        alert_now()
        results: dict[str, int] = {}
        for fut in self.submitted.values():
            outcome = _outcome(fut) or Outcome.FAILED
            results[outcome] = results.get(outcome, 0) + 1
        if self.progress_id is not None:
            try:
                update_progress_artifact(self.progress_id, 100.0)
            except Exception:  # noqa: BLE001 - cosmetic
                pass
        with cpu.part("readback"):
            publish_plan_tables(self.campaigns_seen | {pid.split("/", 1)[0] for pid in self.submitted})
        return {str(k): v for k, v in results.items()}


def _presumed_lost(held: Window | None) -> bool:
    """Healing presumed the window's owner lost and re-armed the window (no owner, a later generation):
    a standby takes it at once, even before the window opens, rather than leave it to the new generation's
    run, which must first be scheduled, picked up by a worker and started."""
    return held is not None and not held.owner and held.gen > 1 and held.state != WindowState.DONE


def _outcome(fut: Any) -> Outcome | None:
    """A finished task's outcome (None if it raised)."""
    try:
        value = fut.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - a failed task
        return None
    return Outcome(value) if isinstance(value, str) and value in Outcome._value2member_map_ else None


def _rename(window_start: float, rows: list[Row], role: str = "") -> None:
    """Name and tag this run after what it publishes (and its ``role``: a standby says so)."""
    zone = campaigns.zone_of(rows[0].campaign) if rows else None
    name_this_run(names.window_name(rows, window_start, zone) + role, names.tags_for(rows))

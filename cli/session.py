"""What the orchestration commands share: the state folder, the embedded server and its serving process,
waiting for a week to settle, and the summary printed at the end.

Prefect and the flows are imported inside functions (start-up cost only), so ``validate``/``plan`` stay fast.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer

from ledger import TERMINAL, Ledger, Row, State
from practiceweek.settings import settings


def state_folder() -> Path:
    state = settings().state.resolve()
    state.mkdir(parents=True, exist_ok=True)
    os.environ["PRACTICEWEEK_STATE"] = str(state)
    return state


def pin_paths(state: Path, sandbox: Path | None = None) -> None:
    """Make the ledger and outbox absolute, so every process (serving, runs) uses the same ones."""
    base = sandbox or state
    if not settings().ledger_url or sandbox:
        os.environ["PRACTICEWEEK_LEDGER_URL"] = f"sqlite:///{(base / 'ledger.sqlite3').resolve()}"
    outbox = settings().outbox
    if sandbox and not outbox:
        outbox = base / "outbox"
    os.environ["PRACTICEWEEK_OUTBOX"] = str(Path(outbox or "outbox").resolve())


def remember_run(state: Path) -> None:
    """Record the ledger and outbox this command uses, for ``status`` and ``connectors`` to find later."""
    cfg = settings()
    ledger_url = cfg.ledger_url.get_secret_value() if cfg.ledger_url else ""
    record = {"ledger_url": ledger_url, "outbox": str(cfg.outbox or "")}
    (state / "last-run.json").write_text(json.dumps(record))


def local_time(ts: float | None, zone: ZoneInfo) -> str:
    """``Tue 26 Nov 08:00:03 GMT`` in the campaign's zone."""
    return dt.datetime.fromtimestamp(ts, zone).strftime("%a %d %b %H:%M:%S %Z") if ts else "-"


def fmt_time(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%a %d %b %H:%M:%S") if ts else "-"


WIND_DOWN_S = 30.0  # how long a command that is done waits for its window runs to end by themselves
CUT_SHORT = "the command that served this week stopped before this run finished"


class Embedded:
    """A Prefect server (started or reused) and a serving process, for the length of a command."""

    def __init__(self, state: Path) -> None:
        from flows.runtime.embedded import ensure_server, serve_folder, start_serving, wait_served

        self.state = state
        self.server = ensure_server(state)
        os.environ["PREFECT_API_URL"] = self.server.api_url
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        outbox = Path(settings().outbox or "outbox")
        outbox.mkdir(parents=True, exist_ok=True)
        os.environ["PRACTICEWEEK_OUTBOX_URL"] = serve_folder(outbox, state)
        self._start_serving = start_serving
        started = time.time()
        self.proc = start_serving(self.server.api_url, log=state / "serve.log")
        if not wait_served(self.server.api_url, timeout=90, since=started):
            raise RuntimeError(f"the deployments were not served; see {state / 'serve.log'}")

    def keep_alive(self) -> None:
        if self.proc.poll() is not None:
            print("serving process stopped; restarting it", file=sys.stderr)
            self.proc = self._start_serving(self.server.api_url, log=self.state / "serve.log")

    def stop(self, cids: set[str] | None = None) -> None:
        """Let the window runs whose work is done finish (Completed), end the ones still open (a week cut
        short: shown Cancelled, not Running for ever), stop serving, then rewrite the status tables of
        ``cids`` (a run cancelled before its end did not). The outbox stays served while the Prefect server
        runs, so the status tables' links open."""
        from flows.operators.status import publish_plan_tables
        from flows.plan.windows import (
            CUT_OFF,
            cancel_open_window_runs,
            end_orphaned_task_runs,
            requeue_stranded_submissions,
        )
        from flows.runtime import process

        try:
            led = process.ledger()
            if cids and all(r.state in TERMINAL for cid in cids for r in led.rows(cid)):
                self._wind_down(led.key, cids)
            ended = cancel_open_window_runs(led.key, CUT_SHORT, cids)  # not another command's
        except Exception as exc:  # noqa: BLE001 - shutting down: report and carry on
            print(f"could not cancel the open window runs: {exc}", file=sys.stderr)
            ended = 0
        if ended:
            print(f"cancelled {ended} window run(s) left open", file=sys.stderr)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._pause_safety_net()
        with contextlib.suppress(Exception):  # a run it was submitting as it stopped stays Pending for ever
            requeue_stranded_submissions("the serving process stopped while starting it: queued again")
        with contextlib.suppress(Exception):  # the tasks of runs killed or cancelled meanwhile (a Completed
            end_orphaned_task_runs(runs_in=CUT_OFF)  # run waited for its tasks: their states may lag)
        with warnings.catch_warnings():  # Prefect 3.8 deprecates artifacts made outside a run (still works)
            warnings.simplefilter("ignore", FutureWarning)
            publish_plan_tables(cids or set())  # the last word: every publication's final state

    def _pause_safety_net(self) -> None:
        """Nothing serves the deployments now: pause the engagement safety net's interval schedule, unless
        another command's serving process still polls (two serving polls' worth of waiting)."""
        from flows.runtime.embedded import pause_unserved_safety_net

        try:
            pause_unserved_safety_net(self.server.api_url, time.time(), 2 * settings().poll_s + 1)
        except Exception as exc:  # noqa: BLE001 - shutting down: report and carry on
            print(f"could not pause the engagement safety net: {exc}", file=sys.stderr)

    def _wind_down(self, ledger_key: str, cids: set[str]) -> None:
        """Every publication settled: wait (up to ``WIND_DOWN_S``) for the window runs still running to
        finish their work and end Completed, as they do once nothing of their window is left."""
        from flows.plan.windows import await_window_runs
        from flows.runtime.embedded import child_processes

        if self.proc.poll() is not None:  # only a serving process can finish them
            return
        deadline = time.time() + WIND_DOWN_S
        left = await_window_runs(ledger_key, WIND_DOWN_S, cids)
        if left:
            print(f"{left} window run(s) still running after {WIND_DOWN_S:.0f} s", file=sys.stderr)
        while child_processes(self.proc.pid) and time.time() < deadline:  # a run that ended still sends
            time.sleep(0.2)  # its last log lines and events to the server: stopping serving would lose them


EXIT_REJECTED = 3  # the approver rejected the week: nothing was scheduled or sent
EXIT_UNANSWERED = 4  # no decision within PRACTICEWEEK_APPROVAL_TIMEOUT_S: nothing was scheduled or sent


def schedule_or_exit(file: Path, **options: Any) -> Any:
    """Run the schedule flow here (waiting for approval if the week needs it) and return its result;
    a rejected week exits 3 at once with who rejected it and why, instead of waiting for its timeout; an
    approval left unanswered for PRACTICEWEEK_APPROVAL_TIMEOUT_S exits 4 saying so."""
    from flows.planning.approval import REJECTED, UNANSWERED, timed_out, unanswered_message
    from flows.planning.schedule import schedule_campaign

    state = schedule_campaign(str(Path(file).resolve()), return_state=True, **options)
    if state.is_cancelled() and state.name == REJECTED:
        sys.stderr.write(
            f"{file}: {state.message}\nNothing was scheduled or sent; the comms team was alerted. "
            f"`practiceweek status {file}` shows the decision.\n"
        )
        raise typer.Exit(EXIT_REJECTED)
    if timed_out(state):
        said = state.message if state.name == UNANSWERED and state.message else unanswered_message()
        sys.stderr.write(f"{file}: {said} Run this command again to ask for approval again.\n")
        raise typer.Exit(EXIT_UNANSWERED)
    result = state.result()
    for partner in result.get("rejected_partners", []) if isinstance(result, dict) else []:  # per partner
        sys.stderr.write(f"{file}: {partner}'s approver rejected its publications: none of them was "
                         f"scheduled (the other partners' were). `practiceweek status {file}` shows why.\n")
    return result


def quiet_prefect(verbose: bool) -> None:
    """Keep Prefect's log lines out of the terminal unless asked (before Prefect is imported): its console
    shows warnings only. The runs still log from INFO to the Prefect API (their Logs tab): the level of the
    loggers is left alone, only what the console prints is raised."""
    if not verbose:
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "WARNING"


class Progress:
    """One progress bar per campaign while a week plays out (``--verbose``: a line per publication)."""

    def __init__(self, cids: list[str], verbose: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self.verbose = verbose
        self.seen: set[str] = set()
        self.bars = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                         TimeElapsedColumn(), transient=True, disable=verbose)
        self.tasks = {cid: self.bars.add_task(cid, total=None) for cid in cids}

    def show(self, rows: list[Row]) -> None:
        for cid, task in self.tasks.items():
            mine = [r for r in rows if r.campaign == cid]
            self.bars.update(task, total=len(mine), completed=sum(r.state in TERMINAL for r in mine))
        if self.verbose:
            for r in rows:
                if r.state in TERMINAL and r.id not in self.seen:
                    self.seen.add(r.id)
                    late = f" {r.sent_at - r.scheduled_at:+.2f} s" if r.sent_at else ""
                    print(f"  {r.state:9} {r.id}{late}", flush=True)


def wait_settled(
    led: Ledger, cids: list[str], timeout: float, embedded: Embedded | None, verbose: bool = True
) -> list[Row]:
    """Show the week playing out; return when every publication has settled (or on timeout)."""
    progress = Progress(cids, verbose)
    with progress.bars:
        return _wait_settled(led, cids, timeout, embedded, progress)


def _wait_settled(
    led: Ledger, cids: list[str], timeout: float, embedded: Embedded | None, progress: Progress
) -> list[Row]:
    from flows.serving.heal import heal

    deadline = time.time() + timeout
    last_check = time.time()
    while True:
        rows = [r for cid in cids for r in led.rows(cid)]
        progress.show(rows)
        if rows and all(r.state in TERMINAL for r in rows):
            return rows
        if time.time() > deadline:
            print(f"timed out after {timeout:.0f} s", file=sys.stderr)
            return rows
        if embedded is not None:
            embedded.keep_alive()
        if time.time() - last_check > 3:  # a window run that died (kill -9, lost host) is replaced, …
            last_check = time.time()
            for error in heal().errors:  # … and what no process could skip or alert meanwhile is done
                print(f"heal: {error}", file=sys.stderr)
        time.sleep(0.5)


def summary(rows: list[Row]) -> dict[str, Any]:
    from flows.operators.status import lateness, percentiles

    counts: dict[State, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    return {"counts": counts, "lateness": percentiles(lateness(rows))}


def print_summary(rows: list[Row], ui_url: str | None, verbose: bool = True) -> bool:
    """What went out: every publication with ``verbose``, else one line per campaign; then the totals."""
    from rich.console import Console
    from rich.table import Table

    if verbose:
        table = Table(title="practiceweek: what went out", title_justify="left")
        for col in ("publication", "state", "due (UTC)", "sent (UTC)", "late s", "attempts"):
            table.add_column(col, overflow="fold")
        for r in sorted(rows, key=lambda r: (r.scheduled_at, r.id)):
            late = f"{r.sent_at - r.scheduled_at:.2f}" if r.sent_at else "-"
            table.add_row(r.id, r.state, fmt_time(r.scheduled_at), fmt_time(r.sent_at), late, str(r.attempts))
        Console(width=150).print(table)
    else:
        for cid in sorted({r.campaign for r in rows}):
            mine = summary([r for r in rows if r.campaign == cid])
            counts, lat = mine["counts"], mine["lateness"]
            print(f"  {cid}: {counts.get(State.SENT, 0)} sent, {counts.get(State.FAILED, 0)} failed, "
                  f"{counts.get(State.SKIPPED, 0)} skipped; lateness p50 {lat['p50']:.2f} s, "
                  f"p99 {lat['p99']:.2f} s")
    s = summary(rows)
    c, lat = s["counts"], s["lateness"]
    print(
        f"published {c.get(State.SENT, 0)}, failed {c.get(State.FAILED, 0)}, "
        f"skipped {c.get(State.SKIPPED, 0)}, cancelled {c.get(State.CANCELLED, 0)}, "
        f"open {sum(v for k, v in c.items() if k not in TERMINAL)}; "
        f"lateness p50 {lat['p50']:.2f} s, p99 {lat['p99']:.2f} s, max {lat['max']:.2f} s"
    )
    if ui_url:
        print(f"Prefect UI: {ui_url}   (the local server keeps running: `practiceweek stop` stops it)")
    print(f"outbox: {settings().outbox}   details: `practiceweek status FILE`, or `--verbose`")
    return bool(rows) and all(r.state in (State.SENT, State.CANCELLED) for r in rows)

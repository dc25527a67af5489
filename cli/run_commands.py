"""The orchestration commands: run, demo, schedule, status, cancel, watch."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from ledger import ENDED, TERMINAL, Ledger, Row, State, Verdict
from practiceweek.accounts import route_label
from practiceweek.partners import approving_partners
from practiceweek.planner import partner_of
from practiceweek.settings import settings

from .common import load_or_exit
from .ledgers import LEDGER_HELP, existing_ledger
from .session import (
    Embedded,
    local_time,
    pin_paths,
    print_summary,
    quiet_prefect,
    remember_run,
    schedule_or_exit,
    state_folder,
    wait_settled,
)


def run(
    file: Annotated[Path, typer.Argument(help="Campaign YAML file.")],
    rehearse: Annotated[
        bool, typer.Option("--rehearse", help="Play the week from now, compressed, to the outbox.")
    ] = False,
    speed: Annotated[
        float | None,
        typer.Option(
            "--speed", help="Rehearsal: real seconds per second (default: the week in about a minute)."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Stop waiting after this many seconds.")] = 10 * 86400,
) -> None:
    """Run the week on the embedded default: local Prefect server, served deployments, the ledger."""
    loaded = load_or_exit(file)
    state = state_folder()
    pin_paths(state)
    remember_run(state)
    embedded = Embedded(state)
    try:
        from flows.operators import orphans
        from flows.runtime import process

        orphans.recover_orphans()
        schedule_or_exit(file, rehearse=rehearse, speed=speed, real=not rehearse)
        print(f"Prefect UI: {embedded.server.ui_url}", flush=True)
        rows = wait_settled(process.ledger(), [loaded.id], timeout, embedded)
    finally:
        embedded.stop({loaded.id})
    ok = print_summary(rows, embedded.server.ui_url)
    raise typer.Exit(0 if ok else 1)


def demo(
    files: Annotated[list[Path], typer.Argument(help="Campaign YAML files.")],
    speed: Annotated[float | None, typer.Option("--speed", help="Real seconds per second.")] = None,
    timeout: Annotated[float, typer.Option(help="Stop waiting after this many seconds.")] = 600,
    verbose: Annotated[bool, typer.Option("--verbose", help="Every log line and publication.")] = False,
) -> None:
    """Rehearse all the given weeks together on the embedded default; print the UI URL and a summary."""
    quiet_prefect(verbose)
    loaded = [load_or_exit(f) for f in files]
    state = state_folder()
    sandbox = state / "demo" / time.strftime("%Y%m%d-%H%M%S")
    sandbox.mkdir(parents=True, exist_ok=True)
    pin_paths(state, sandbox)
    remember_run(state)
    embedded = Embedded(state)
    try:
        from flows.runtime import process

        print(
            f"Prefect UI: {embedded.server.ui_url}   outbox: {settings().outbox}",
            flush=True,
        )
        for f in files:  # several weeks are rendered ahead together, on every core
            schedule_or_exit(f, rehearse=True, speed=speed, render_ahead=len(files) == 1)
        if len(files) > 1:
            from flows.planning.schedule import render_weeks_ahead

            done = render_weeks_ahead([str(f) for f in files])
            print(f"rendered {done.rendered} publication(s) of {len(files)} weeks ahead in "
                  f"{done.wall_s:.1f} s on {done.cores_used:.1f} core(s)", flush=True)
        rows = wait_settled(process.ledger(), [x.id for x in loaded], timeout, embedded, verbose)
    finally:
        embedded.stop({x.id for x in loaded})
    ok = print_summary(rows, embedded.server.ui_url, verbose)
    raise typer.Exit(0 if ok else 1)


def schedule(
    file: Annotated[Path, typer.Argument(help="Campaign YAML file.")],
    rehearse: Annotated[
        bool, typer.Option("--rehearse", help="Play the week from now, compressed.")
    ] = False,
    speed: Annotated[
        float | None, typer.Option("--speed", help="Rehearsal: real seconds per second.")
    ] = None,
) -> None:
    """Apply the campaign to the ledger and schedule its runs on the Prefect server at PREFECT_API_URL."""
    load_or_exit(file)
    state = state_folder()
    pin_paths(state)
    remember_run(state)
    if not os.environ.get("PREFECT_API_URL"):
        from flows.runtime.embedded import ensure_server

        os.environ["PREFECT_API_URL"] = ensure_server(state).api_url
    from flows.serving.deployments import register

    register()  # window runs need the deployments, even before anything serves them
    result = schedule_or_exit(file, rehearse=rehearse, speed=speed)
    print(result.get("diff", result) if isinstance(result, dict) else result)


def status(
    file: Annotated[Path, typer.Argument(help="Campaign YAML file.")],
    ledger: Annotated[str | None, typer.Option("--ledger", help=LEDGER_HELP)] = None,
) -> None:
    """What went out, what is next, what is late: from the ledger that holds the week (times local)."""
    loaded = load_or_exit(file)
    led = existing_ledger(state_folder(), loaded.id, ledger)
    zone = ZoneInfo(loaded.model.campaign.timezone)
    rows = led.rows(loaded.id)
    now = time.time()
    late = [r for r in rows if r.state not in TERMINAL and r.scheduled_at < now]
    upcoming = [r for r in rows if r.state not in TERMINAL and r.scheduled_at >= now]
    print(f"{loaded.id}: {_counts(rows, now)}")
    for partner in loaded.partners:  # a joint week: each partner's part, then (above) the total
        own = [r for r in rows if partner_of(r.id) == partner]
        short = loaded.for_partner(partner).model.campaign.organiser.short_name
        print(f"  {partner} ({short}): {_counts(own, now)}")
    print_decision(led, loaded.id, zone, approving_partners(loaded.model))
    for r in rows:
        when = local_time(r.sent_at if r.state == State.SENT else r.scheduled_at, zone)
        late_by = f"late by {(r.sent_at or 0) - r.scheduled_at:.1f} s" if r.state == State.SENT else ""
        flag = "LATE " if r in late else ""
        print(f"  {flag}{r.state:9} {when}  {r.id}  {late_by}  {r.url or ''}".rstrip())
    if upcoming:
        nxt = upcoming[0]
        print(f"  next: {local_time(nxt.scheduled_at, zone)} {nxt.id}")
    if not rows:
        print("  nothing scheduled")
    stopped = led.stopped()
    for route in sorted({r.route for r in rows} & set(stopped)):
        info, name = stopped[route], route_label(*route)
        print(f"  STOPPED connector {name} since {local_time(info.stopped_at, zone)}: {info.reason}")
        print(f"    fix it, then: practiceweek connectors resume {name}")


def _counts(rows: list[Row], now: float) -> str:
    """"12 sent, 0 failed, …, 3 upcoming" for ``rows``."""
    late = [r for r in rows if r.state not in TERMINAL and r.scheduled_at < now]
    late_after = settings().late_after_s
    sent_late = [r for r in rows if r.state == State.SENT and (r.sent_at or 0) - r.scheduled_at > late_after]
    upcoming = [r for r in rows if r.state not in TERMINAL and r.scheduled_at >= now]
    counts = {s: sum(r.state == s for r in rows) for s in ENDED}
    return (", ".join(f"{n} {s}" for s, n in counts.items())
            + f", {len(sent_late)} sent late, {len(late)} overdue, {len(upcoming)} upcoming")


def print_decision(led: Ledger, cid: str, zone: ZoneInfo, waiting: list[str] | None = None) -> None:
    """The approver's latest decision on the week (who, when, why), if it needed one; approval per
    partner (``waiting``: the partners that need their own approver's): each partner's."""
    if waiting:
        print_partner_decisions(led, cid, zone, waiting)
        return
    decisions = [d for d in led.decisions(cid) if not d.partner]
    camp = led.campaign(cid)
    if not decisions:
        if camp is not None and camp.approver:  # approved before decisions were kept
            print(f"  approved by {camp.approver} at {local_time(camp.approved_at, zone)}")
        return
    last = decisions[0]
    why = f": {last.comment}" if last.comment else ""
    rejected = last.verdict == Verdict.REJECTED
    print(f"  {'REJECTED' if rejected else 'approved'} by {last.approver} at "
          f"{local_time(last.decided_at, zone)}{why}" + ("; nothing scheduled" if rejected else ""))


def print_partner_decisions(led: Ledger, cid: str, zone: ZoneInfo, waiting: list[str]) -> None:
    """Each partner's latest decision on its publications, or that it still waits for one."""
    decided = led.partner_decisions(cid)
    for partner in waiting:
        last = decided.get(partner)
        if last is None:
            print(f"  {partner}: awaiting approval; none of its publications is scheduled")
            continue
        why = f": {last.comment}" if last.comment else ""
        rejected = last.verdict == Verdict.REJECTED
        print(f"  {partner}: {'REJECTED' if rejected else 'approved'} by {last.approver} at "
              f"{local_time(last.decided_at, zone)}{why}"
              + ("; none of its publications is scheduled" if rejected else ""))


def cancel(file: Annotated[Path, typer.Argument(help="Campaign YAML file.")]) -> None:
    """Cancel everything of the campaign not yet out, and withdraw its Teams events."""
    loaded = load_or_exit(file)
    pin_paths(state_folder())
    from flows.plan.apply import withdraw
    from flows.runtime import process

    cancelled = process.ledger().cancel_campaign(loaded.id)
    for row in cancelled:
        if row.state == State.SENT:
            withdraw(loaded, row)
    print(f"{loaded.id}: cancelled {len(cancelled)} publication(s)")


def watch(
    folder: Annotated[Path, typer.Argument(help="Folder of campaign YAML files.")],
    once: Annotated[bool, typer.Option("--once", help="Stop after the first change posted.")] = False,
) -> None:
    """Post practiceweek.campaign.changed when a campaign file changes (a trigger re-plans it)."""
    from watchfiles import watch as watch_files

    from practiceweek.errors import CampaignError
    from practiceweek.loader import load

    state = state_folder()
    if not os.environ.get("PREFECT_API_URL"):
        from flows.runtime.embedded import ensure_server

        os.environ["PREFECT_API_URL"] = ensure_server(state).api_url
    from flows.runtime.embedded import post_event

    api_url = os.environ["PREFECT_API_URL"]

    print(f"watching {folder} for campaign changes", flush=True)
    for changes in watch_files(folder):
        for _, changed in sorted(changes):
            if not changed.endswith((".yaml", ".yml")) or not Path(changed).exists():
                continue
            try:
                loaded = load(changed)
            except CampaignError as exc:
                for p in exc.problems:
                    print(p.render(), file=sys.stderr)
                print(f"{changed}: not re-planned (errors above)", file=sys.stderr)
                continue
            path = str(Path(changed).resolve())
            post_event(
                api_url,
                "practiceweek.campaign.changed",
                {
                    "prefect.resource.id": f"practiceweek.campaign.{loaded.id}",
                    "prefect.resource.name": loaded.model.campaign.title,
                },
                {"path": path},
            )
            print(f"posted practiceweek.campaign.changed for {loaded.id} ({path})", flush=True)
            if once:
                return


def stop() -> None:
    """Stop the local Prefect server and the outbox's file server that `run`/`demo` left running."""
    from flows.runtime.embedded import stop_server

    state = state_folder()
    stop_server(state)
    print(f"stopped the local servers recorded in {state}")

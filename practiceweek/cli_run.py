"""The orchestration commands: run, demo, schedule, status, cancel, watch.

Prefect and the flows are imported inside the commands, so ``validate``/``plan`` stay fast.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger import TERMINAL, Ledger, Row

from .settings import settings


def _state() -> Path:
    state = settings().state.resolve()
    state.mkdir(parents=True, exist_ok=True)
    os.environ["PRACTICEWEEK_STATE"] = str(state)
    return state


def _pin_paths(state: Path, sandbox: Path | None = None) -> None:
    """Make the ledger and outbox absolute, so every process (serving, runs) uses the same ones."""
    base = sandbox or state
    if not settings().ledger_url or sandbox:
        os.environ["PRACTICEWEEK_LEDGER_URL"] = f"sqlite:///{(base / 'ledger.sqlite3').resolve()}"
    outbox = settings().outbox
    if sandbox and not outbox:
        outbox = str(base / "outbox")
    os.environ["PRACTICEWEEK_OUTBOX"] = str(Path(outbox or "outbox").resolve())


def _fmt(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%a %d %b %H:%M:%S") if ts else "-"


class _Embedded:
    """A Prefect server (started or reused) and a serving process, for the length of a command."""

    def __init__(self, state: Path) -> None:
        from flows.embedded import ensure_server, start_serving, wait_served

        self.state = state
        self.server = ensure_server(state)
        os.environ["PREFECT_API_URL"] = self.server.api_url
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        self._start_serving = start_serving
        self.proc = start_serving(self.server.api_url, log=state / "serve.log")
        if not wait_served(self.server.api_url, timeout=90):
            raise RuntimeError(f"the deployments were not served; see {state / 'serve.log'}")

    def keep_alive(self) -> None:
        if self.proc.poll() is not None:
            print("serving process stopped; restarting it", file=sys.stderr)
            self.proc = self._start_serving(self.server.api_url, log=self.state / "serve.log")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _wait(led: Ledger, cids: list[str], timeout: float, embedded: _Embedded | None) -> list[Row]:
    """Print each publication as it settles; return when every one has (or on timeout)."""
    from flows.heal import heal

    seen: set[str] = set()
    deadline = time.time() + timeout
    last_check = time.time()
    while True:
        rows = [r for cid in cids for r in led.rows(cid)]
        for r in rows:
            if r.state in TERMINAL and r.id not in seen:
                seen.add(r.id)
                late = f" {r.sent_at - r.scheduled_at:+.2f} s" if r.sent_at else ""
                print(f"  {r.state:9} {r.id}{late}", flush=True)
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


def _summary(rows: list[Row]) -> dict[str, Any]:
    from flows.status import lateness, percentiles

    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    return {"counts": counts, "lateness": percentiles(lateness(rows))}


def _print_summary(rows: list[Row], ui_url: str | None) -> bool:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="practiceweek: what went out", title_justify="left")
    for col in ("publication", "state", "due (UTC)", "sent (UTC)", "late s", "attempts"):
        table.add_column(col, overflow="fold")
    for r in sorted(rows, key=lambda r: (r.scheduled_at, r.id)):
        late = f"{r.sent_at - r.scheduled_at:.2f}" if r.sent_at else "-"
        table.add_row(r.id, r.state, _fmt(r.scheduled_at), _fmt(r.sent_at), late, str(r.attempts))
    Console(width=150).print(table)
    s = _summary(rows)
    c, lat = s["counts"], s["lateness"]
    print(
        f"published {c.get('sent', 0)}, failed {c.get('failed', 0)}, skipped {c.get('skipped', 0)}, "
        f"cancelled {c.get('cancelled', 0)}, open {sum(v for k, v in c.items() if k not in TERMINAL)}; "
        f"lateness p50 {lat['p50']:.2f} s, p99 {lat['p99']:.2f} s, max {lat['max']:.2f} s"
    )
    if ui_url:
        print(f"Prefect UI: {ui_url}")
    return bool(rows) and all(r.state in ("sent", "cancelled") for r in rows)


def register(app: typer.Typer) -> None:
    from .cli import _load

    @app.command()
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
        loaded = _load(file)
        state = _state()
        _pin_paths(state)
        embedded = _Embedded(state)
        try:
            from flows import orphans, process
            from flows.schedule import schedule_campaign

            orphans.recover_orphans()
            schedule_campaign(str(Path(file).resolve()), rehearse=rehearse, speed=speed, real=not rehearse)
            print(f"Prefect UI: {embedded.server.ui_url}", flush=True)
            rows = _wait(process.ledger(), [loaded.id], timeout, embedded)
        finally:
            embedded.stop()
        ok = _print_summary(rows, embedded.server.ui_url)
        raise typer.Exit(0 if ok else 1)

    @app.command()
    def demo(
        files: Annotated[list[Path], typer.Argument(help="Campaign YAML files.")],
        speed: Annotated[float | None, typer.Option("--speed", help="Real seconds per second.")] = None,
        timeout: Annotated[float, typer.Option(help="Stop waiting after this many seconds.")] = 600,
    ) -> None:
        """Rehearse all the given weeks together on the embedded default; print the UI URL and a summary."""
        loaded = [_load(f) for f in files]
        state = _state()
        sandbox = state / "demo" / time.strftime("%Y%m%d-%H%M%S")
        sandbox.mkdir(parents=True, exist_ok=True)
        _pin_paths(state, sandbox)
        embedded = _Embedded(state)
        try:
            from flows import process
            from flows.schedule import schedule_campaign

            print(
                f"Prefect UI: {embedded.server.ui_url}   outbox: {settings().outbox}",
                flush=True,
            )
            for f in files:
                schedule_campaign(str(Path(f).resolve()), rehearse=True, speed=speed)
            rows = _wait(process.ledger(), [x.id for x in loaded], timeout, embedded)
        finally:
            embedded.stop()
        ok = _print_summary(rows, embedded.server.ui_url)
        raise typer.Exit(0 if ok else 1)

    @app.command()
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
        _load(file)
        state = _state()
        _pin_paths(state)
        if not os.environ.get("PREFECT_API_URL"):
            from flows.embedded import ensure_server

            os.environ["PREFECT_API_URL"] = ensure_server(state).api_url
        from flows.deployments import register
        from flows.schedule import schedule_campaign

        register()  # window runs need the deployments, even before anything serves them
        result = schedule_campaign(str(Path(file).resolve()), rehearse=rehearse, speed=speed)
        print(result.get("diff", result) if isinstance(result, dict) else result)

    @app.command()
    def status(file: Annotated[Path, typer.Argument(help="Campaign YAML file.")]) -> None:
        """What went out, what is next, what is late: from the ledger."""
        loaded = _load(file)
        _pin_paths(_state())
        rows = Ledger().rows(loaded.id)
        now = time.time()
        done = [r for r in rows if r.state in TERMINAL]
        late = [r for r in rows if r.state not in TERMINAL and r.scheduled_at < now]
        upcoming = [r for r in rows if r.state not in TERMINAL and r.scheduled_at >= now]
        print(f"{loaded.id}: {len(done)} done, {len(upcoming)} upcoming, {len(late)} late")
        for r in done:
            print(f"  done  {r.state:9} {_fmt(r.sent_at or r.updated_at)}  {r.id}")
        for r in late:
            print(f"  LATE  {r.state:9} {_fmt(r.scheduled_at)}  {r.id}")
        if upcoming:
            r = upcoming[0]
            print(f"  next  {r.state:9} {_fmt(r.scheduled_at)}  {r.id}")
        if not rows:
            print("  nothing scheduled")
        stopped = Ledger().stopped()
        for name in sorted({r.connector for r in rows} & set(stopped)):
            info = stopped[name]
            print(f"  STOPPED connector {name} since {_fmt(info.stopped_at)}: {info.reason}")
            print(f"    fix it, then: practiceweek connectors resume {name}")

    connectors = typer.Typer(help="Connectors stopped because a provider refused their credentials.")
    app.add_typer(connectors, name="connectors")

    @connectors.command("list")
    def connectors_list() -> None:
        """Show the stopped connectors and why (from the ledger)."""
        _pin_paths(_state())
        stopped = Ledger().stopped()
        if not stopped:
            print("no connector is stopped")
        for name, info in sorted(stopped.items()):
            print(f"{name}: stopped since {_fmt(info.stopped_at)}: {info.reason}")

    @connectors.command("resume")
    def connectors_resume(
        name: Annotated[str, typer.Argument(help="Connector name, e.g. mastodon or graph_mail.")],
    ) -> None:
        """Resume a stopped connector once its credentials are fixed: held publications go out if still in
        their window (their runs are scheduled again), the others are skipped and reported."""
        _pin_paths(_state())
        led = Ledger()
        if not led.resume_connector(name):
            known = ", ".join(sorted(led.stopped())) or "none"
            print(f"{name} is not stopped (stopped connectors: {known})", file=sys.stderr)
            raise typer.Exit(2)
        print(f"resumed {name}")
        if os.environ.get("PREFECT_API_URL"):
            from flows.heal import heal

            healed = heal()
            print(f"scheduled {len(healed.windows)} window run(s), skipped {len(healed.skipped)} expired")
        else:
            print("held publications are picked up by the next heal round or publish-window run")

    @app.command()
    def cancel(file: Annotated[Path, typer.Argument(help="Campaign YAML file.")]) -> None:
        """Cancel everything of the campaign not yet out, and withdraw its Teams events."""
        loaded = _load(file)
        _pin_paths(_state())
        from flows import process
        from flows.schedule import withdraw

        cancelled = process.ledger().cancel_campaign(loaded.id)
        for row in cancelled:
            if row.state == "sent":
                withdraw(loaded, row)
        print(f"{loaded.id}: cancelled {len(cancelled)} publication(s)")

    @app.command()
    def watch(
        folder: Annotated[Path, typer.Argument(help="Folder of campaign YAML files.")],
        once: Annotated[bool, typer.Option("--once", help="Stop after the first change posted.")] = False,
    ) -> None:
        """Post practiceweek.campaign.changed when a campaign file changes (a trigger re-plans it)."""
        from watchfiles import watch as watch_files

        from .errors import CampaignError
        from .loader import load

        state = _state()
        if not os.environ.get("PREFECT_API_URL"):
            from flows.embedded import ensure_server

            os.environ["PREFECT_API_URL"] = ensure_server(state).api_url
        from flows.embedded import post_event

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

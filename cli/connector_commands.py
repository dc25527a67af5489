"""``practiceweek connectors list|resume``: connectors stopped because a provider refused credentials.

A connector is stopped per account: ``mastodon@iowscp-mastodon`` is the Isle of Wight partnership's
Mastodon account (Prefect block ``iowscp-mastodon``), plain ``mastodon`` the deployment's default one.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from practiceweek.accounts import parse_route, route_label

from .ledgers import existing_ledger
from .session import fmt_time, state_folder


def list_stopped() -> None:
    """Show the stopped connectors (NAME@ACCOUNT for a campaign's own account) and why (from the ledger)."""
    stopped = existing_ledger(state_folder()).stopped()
    if not stopped:
        print("no connector is stopped")
    for route, info in sorted(stopped.items()):
        print(f"{route_label(*route)}: stopped since {fmt_time(info.stopped_at)}: {info.reason}")


def resume(
    name: Annotated[
        str,
        typer.Argument(
            help="NAME[@ACCOUNT] as `connectors list` shows it, e.g. mastodon, graph_mail or "
            "mastodon@iowscp-mastodon (ACCOUNT: the Prefect block a campaign's `accounts:` names)."
        ),
    ],
) -> None:
    """Resume a stopped connector once its credentials are fixed: held publications go out if still in
    their window (their runs are scheduled again), the others are skipped and reported."""
    led = existing_ledger(state_folder())
    if not led.resume_connector(*parse_route(name)):
        known = ", ".join(sorted(route_label(*route) for route in led.stopped())) or "none"
        print(f"{name} is not stopped (stopped connectors: {known})", file=sys.stderr)
        raise typer.Exit(2)
    print(f"resumed {name}")
    if os.environ.get("PREFECT_API_URL"):
        from flows.serving.heal import heal

        healed = heal()
        print(f"scheduled {len(healed.windows)} window run(s), skipped {len(healed.skipped)} expired")
    else:
        print("held publications are picked up by the next heal round or publish-window run")

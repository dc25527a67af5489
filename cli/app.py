"""The ``practiceweek`` command: every command registered on one Typer application."""

from __future__ import annotations

import sys

import typer

from flows.runtime.embedded import ServerUnreachable

from . import calendar_command, campaign_commands, connector_commands, report_command, run_commands
from .common import err

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Plan, preview and publish Safeguarding Practice Weeks defined in YAML.",
)
for command in (
    campaign_commands.validate,
    campaign_commands.plan,
    campaign_commands.preview,
    calendar_command.calendar,
    campaign_commands.schema,
    campaign_commands.settings,
    run_commands.run,
    run_commands.demo,
    run_commands.schedule,
    run_commands.status,
    run_commands.cancel,
    run_commands.watch,
    run_commands.stop,
    report_command.report,
):
    app.command()(command)

connectors = typer.Typer(help="Connectors stopped because a provider refused their credentials.")
connectors.command("list")(connector_commands.list_stopped)
connectors.command("resume")(connector_commands.resume)
app.add_typer(connectors, name="connectors")


def main() -> None:
    try:
        app()
    except ServerUnreachable as exc:
        err(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

"""The ``practiceweek`` command.

Commands that only read campaigns (validate, plan, schema) import neither
Prefect nor any provider SDK, so they start fast enough for a pre-commit hook.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import CampaignError, Problem

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Plan, preview and publish Safeguarding Practice Weeks defined in YAML.")

EXIT_INVALID = 2


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _show(problems: list[Problem]) -> None:
    for problem in problems:
        _err(problem.render())


def _load(path: Path):  # type: ignore[no-untyped-def]
    from .loader import load

    try:
        loaded = load(path)
    except CampaignError as exc:
        _show(exc.problems)
        errors = len(exc.errors)
        _err(f"{path}: {errors} error{'s' if errors != 1 else ''}; nothing was scheduled or sent")
        raise typer.Exit(EXIT_INVALID) from None
    _show(loaded.warnings)
    return loaded


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Campaign YAML files.")]) -> None:
    """Check campaign files; report every problem with file:line:column. Exit 2 if any is invalid."""
    from .validate_cmd import validate_files

    code = validate_files(files)
    if code:
        raise typer.Exit(code)


@app.command()
def plan(file: Annotated[Path, typer.Argument(help="Campaign YAML file.")],
         as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False) -> None:
    """Show every publication of the week: when, day, channel, what."""
    from .planner import plan as make_plan

    loaded = _load(file)
    pubs = make_plan(loaded.model)
    if as_json:
        print(json.dumps([p.to_json() for p in pubs], indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{loaded.model.campaign.title} ({loaded.id})", title_justify="left")
    for column in ("when", "day", "channel", "via", "what", "id"):
        table.add_column(column, overflow="fold")
    for p in pubs:
        table.add_row(p.at.strftime("%a %d %b %H:%M %Z"), p.day, p.channel, p.connector, p.title, p.id)
    Console(width=160).print(table)


@app.command()
def preview(file: Annotated[Path, typer.Argument(help="Campaign YAML file.")],
            out: Annotated[Path, typer.Option("--out", help="Folder to write the preview site into.")] = Path(
                "preview")) -> None:
    """Write the week as a static offline site beside the exact artifacts (.eml, .pdf, .png, .ics, .json)."""
    from .render import preview as write_preview

    loaded = _load(file)
    try:
        index = write_preview(loaded, out)
    except CampaignError as exc:
        _show(exc.problems)
        _err(f"{file}: templates cannot be rendered; nothing was scheduled or sent")
        raise typer.Exit(EXIT_INVALID) from None
    print(f"preview: {index}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of campaign files (for editor autocompletion)."""
    from .schema import campaign_schema

    print(json.dumps(campaign_schema(), indent=2, ensure_ascii=False))


from .cli_run import register as _register_run  # noqa: E402 - run/demo/schedule/status/cancel/watch

_register_run(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

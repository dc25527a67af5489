"""The commands that only read campaigns: validate, plan, preview, schema.

They import neither Prefect nor any provider SDK, so they start fast enough for a pre-commit hook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from practiceweek.accounts import route_label
from practiceweek.errors import CampaignError
from practiceweek.planner import Publication
from practiceweek.planner import plan as make_plan
from practiceweek.schema import campaign_schema

from . import settings_doc
from .common import err, load_or_exit
from .validate import EXIT_INVALID, show, summary, validate_files

PREVIEW = Path("preview")


def validate(
    files: Annotated[list[Path], typer.Argument(help="Campaign YAML files.")],
    online: Annotated[
        bool,
        typer.Option("--online", help="Also check that every account (Prefect block) a file names exists "
                     "on the Prefect server at PREFECT_API_URL."),
    ] = False,
) -> None:
    """Check campaign files; report every problem with file:line:column. Exit 2 if any is invalid."""
    code = validate_files(files, online=online)
    if code:
        raise typer.Exit(code)


def plan(
    file: Annotated[Path, typer.Argument(help="Campaign YAML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Show every publication of the week: when, day, channel, what."""
    loaded = load_or_exit(file)
    pubs = make_plan(loaded.model)
    if as_json:
        print(json.dumps([p.to_json() for p in pubs], indent=2, ensure_ascii=False))
        err(summary(file, loaded.warnings, pubs))  # stdout stays JSON
        return
    console = Console(width=160)
    for partner in loaded.partners or [""]:  # a joint week: one section per partner, in file order
        own = [p for p in pubs if p.partner == partner]
        title = f"{loaded.model.campaign.title} ({loaded.id})"
        if partner:
            organiser = loaded.for_partner(partner).model.campaign.organiser
            title = f"{title}: {organiser.name} ({partner}), {len(own)} publications"
        console.print(_plan_table(title, own))
    print(summary(file, loaded.warnings, pubs))


def _plan_table(title: str, pubs: list[Publication]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("when", "day", "channel", "via", "what", "id"):
        table.add_column(column, overflow="fold")
    for p in pubs:
        via = route_label(p.connector, p.account)  # connector@account for a campaign's own account
        table.add_row(p.at.strftime("%a %d %b %H:%M %Z"), p.day, p.channel, via, p.title, p.id)
    return table


def preview(
    file: Annotated[Path, typer.Argument(help="Campaign YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the preview site into.")] = PREVIEW,
) -> None:
    """Write the week as a static offline site beside the exact artifacts (.eml, .pdf, .png, .ics, .json)."""
    from practiceweek.render import preview as write_preview  # start-up cost: the renderers' libraries

    loaded = load_or_exit(file)
    try:
        index = write_preview(loaded, out)
    except CampaignError as exc:
        show(exc.problems)
        err(f"{file}: templates cannot be rendered; nothing was scheduled or sent")
        raise typer.Exit(EXIT_INVALID) from None
    print(f"preview: {index}")


def settings() -> None:
    """Print every PRACTICEWEEK_* setting (variable, default, description) as a Markdown table."""
    raise typer.Exit(settings_doc.main([]))


def schema() -> None:
    """Print the JSON Schema of campaign files (for editor autocompletion)."""
    print(json.dumps(campaign_schema(), indent=2, ensure_ascii=False))

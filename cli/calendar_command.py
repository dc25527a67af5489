"""``practiceweek calendar FILE… --out week.ics``: the weeks as a calendar feed the comms team subscribes to.

The feed is written atomically; the file it replaces is its memory (see
``practiceweek.render.week_calendar``), so run it again after every edit and the entries move in place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from practiceweek.loader import Loaded
from practiceweek.settings import settings

from .common import err, load_or_exit
from .validate import EXIT_INVALID

FEED = Path("week.ics")
PREVIEW_HELP = (
    "Where the week's preview (`practiceweek preview --out`) is: a folder or an http(s) address; "
    "`{campaign}` in it becomes the campaign id (with several files and no `{campaign}`, `/<campaign id>` is "
    "added). Default: PRACTICEWEEK_PREVIEW_URL/<campaign id> when set, else the folder `preview`."
)


def preview_base(option: str | None, several: bool) -> tuple[str, bool]:
    """The preview address with ``{campaign}`` still in it, and whether it needs a campaign folder added."""
    if option is None:
        url = settings().preview_url
        if url:
            return f"{url.rstrip('/')}/{{campaign}}", False
        option = "preview"
    if "://" not in option:
        option = Path(option).resolve().as_uri().replace("%7Bcampaign%7D", "{campaign}")
    return option, several and "{campaign}" not in option


def calendar(
    files: Annotated[list[Path], typer.Argument(help="Campaign YAML files.")],
    out: Annotated[Path, typer.Option("--out", help="The .ics file to write (and update next time).")] = FEED,
    preview: Annotated[str | None, typer.Option("--preview", help=PREVIEW_HELP)] = None,
) -> None:
    """Write every publication of the weeks as a calendar (.ics): what, where, when and a link to its preview.

    Run it again after an edit: each entry keeps its UID and moves in place with a higher SEQUENCE; a
    publication no longer planned stays as cancelled. Subscribe to the file's web address in Outlook or
    Google Calendar (docs: Run a week > The week as a calendar)."""
    from practiceweek.render.week_calendar import FeedError, week_calendar  # start-up cost: icalendar

    weeks = [load_or_exit(path) for path in files]
    template, add_folder = preview_base(preview, len(files) > 1)

    def link_base(loaded: Loaded) -> str:
        base = template.replace("{campaign}", loaded.id)
        return f"{base.rstrip('/')}/{loaded.id}" if add_folder else base

    try:
        data = week_calendar(weeks, link_base, out.read_bytes() if out.exists() else None)
        _write(out, data)
    except FeedError as exc:
        err(f"{out}: {exc}; choose another --out or delete it; nothing was written")
        raise typer.Exit(EXIT_INVALID) from None
    except OSError as exc:
        err(f"{out}: cannot be read or written ({exc.strerror or exc}); nothing was written")
        raise typer.Exit(EXIT_INVALID) from None
    count = len(weeks)
    print(f"calendar: {out} ({data.count(b'BEGIN:VEVENT')} entries from {count} file{'s' * (count != 1)})")


def _write(out: Path, data: bytes) -> None:
    """Replace ``out`` atomically: a subscriber fetching meanwhile gets the old feed or the new."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        partial.write_bytes(data)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)

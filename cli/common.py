"""What every command shares: loading a campaign or exiting 2 with every problem listed."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from practiceweek.errors import CampaignError
from practiceweek.loader import Loaded, load

from .validate import EXIT_INVALID, show, summary


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


def load_or_exit(path: Path) -> Loaded:
    """The campaign, or exit 2 listing every problem (file:line:column) and saying nothing was sent."""
    try:
        loaded = load(path)
    except CampaignError as exc:
        show(exc.problems)
        err(summary(path, exc.problems))
        raise typer.Exit(EXIT_INVALID) from None
    show(loaded.warnings)
    return loaded

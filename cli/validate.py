"""``practiceweek validate``: shared by the full command line and the fast entry point.

Imports only the loader (YAML + pydantic), so a pre-commit hook stays quick.
"""

from __future__ import annotations

import sys
from pathlib import Path

from practiceweek.errors import CampaignError, Problem
from practiceweek.loader import load

EXIT_INVALID = 2  # bad input: nothing was scheduled or sent


def show(problems: list[Problem]) -> None:
    """Print problems for the person who must fix them, one per line with file:line:column."""
    for problem in problems:
        sys.stderr.write(problem.render() + "\n")


def validate_files(files: list[Path]) -> int:
    """Check every file, print its problems; return the exit code (0, or 2 if any is invalid)."""
    failed = 0
    for path in files:
        try:
            loaded = load(path)
        except CampaignError as exc:
            show(exc.problems)
            failed += 1
            continue
        show(loaded.warnings)
        cf = loaded.model
        print(f"ok: {path} — {cf.campaign.id}: {len(cf.days)} days, {len(cf.events)} events")
    if failed:
        sys.stderr.write(f"{failed} of {len(files)} file(s) invalid; nothing was scheduled or sent\n")
        return EXIT_INVALID
    return 0

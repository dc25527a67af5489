"""``practiceweek validate``: shared by the full command line and the fast entry point.

Imports only the loader (YAML + pydantic), so a pre-commit hook stays quick; ``--online`` alone imports
Prefect, to ask the server at PREFECT_API_URL whether the accounts a campaign names exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

from practiceweek.errors import CampaignError, Problem
from practiceweek.loader import Loaded, load

EXIT_INVALID = 2  # bad input: nothing was scheduled or sent


def show(problems: list[Problem]) -> None:
    """Print problems for the person who must fix them, one per line with file:line:column."""
    for problem in problems:
        sys.stderr.write(problem.render() + "\n")


def validate_files(files: list[Path], online: bool = False) -> int:
    """Check every file, print its problems; return the exit code (0, or 2 if any is invalid).
    ``online``: also check that every account a file names exists on the Prefect server."""
    failed = 0
    for path in files:
        try:
            loaded = load(path)
        except CampaignError as exc:
            show(exc.problems)
            failed += 1
            continue
        show(loaded.warnings)
        missing = missing_accounts(loaded) if online else []
        if missing:
            show(missing)
            failed += 1
            continue
        cf = loaded.model
        print(f"ok: {path} — {cf.campaign.id}: {len(cf.days)} days, {len(cf.events)} events")
    if failed:
        sys.stderr.write(f"{failed} of {len(files)} file(s) invalid; nothing was scheduled or sent\n")
        return EXIT_INVALID
    return 0


def missing_accounts(loaded: Loaded) -> list[Problem]:
    """The accounts (Prefect blocks) ``loaded`` names that the server at PREFECT_API_URL does not hold."""
    wanted = loaded.model.campaign.accounts.model_dump(exclude_none=True)
    if not wanted:
        return []
    from prefect.settings import PREFECT_API_URL  # start-up cost: only `validate --online` needs Prefect

    from connectors.credentials import missing_blocks

    url = PREFECT_API_URL.value()
    where = ("campaign", "accounts")
    if not url:
        return [loaded.source.problem(where, "cannot check the accounts online: PREFECT_API_URL is not set",
                                      hint="set it to the Prefect server the week will run on")]
    try:
        missing = missing_blocks(wanted)
    except Exception as exc:  # noqa: BLE001 - unreachable, refused, timed out: say so, name the server
        return [loaded.source.problem(where, f"cannot check the accounts: the Prefect server at {url} did "
                                      f"not answer ({type(exc).__name__})")]
    return [
        loaded.source.problem(
            (*where, kind), f"{why} on the Prefect server at {url}",
            hint="create it (one block per partnership and provider; see docs/deploy/"
            "credentials.md) or correct the name",
        )
        for kind, why in missing.items()
    ]

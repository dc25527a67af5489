"""``practiceweek validate``: shared by the full command line and the fast entry point.

Imports only the loader (YAML + pydantic), so a pre-commit hook stays quick; ``--online`` alone imports
Prefect, to ask the server at PREFECT_API_URL whether the accounts a campaign names exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

from practiceweek.errors import CampaignError, Problem
from practiceweek.loader import Loaded, load
from practiceweek.planner import Publication, plan

EXIT_INVALID = 2  # bad input: nothing was scheduled or sent


def show(problems: list[Problem]) -> None:
    """Print problems for the person who must fix them, one per line with file:line:column."""
    for problem in problems:
        sys.stderr.write(problem.render() + "\n")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def summary(path: Path | str, problems: list[Problem], publications: list[Publication] | None = None) -> str:
    """The line `validate` and `plan` end a file with: "x.yaml: ok: 37 publications over 5 days, 0 warnings",
    or, with errors (or no plan), "x.yaml: 2 errors, 0 warnings; nothing was scheduled or sent"."""
    errors = sum(p.severity == "error" for p in problems)
    warnings = _count(len(problems) - errors, "warning")
    if errors or publications is None:
        return f"{path}: {_count(errors, 'error')}, {warnings}; nothing was scheduled or sent"
    days = len({p.at.date() for p in publications})  # local dates something goes out on
    return f"{path}: ok: {_count(len(publications), 'publication')} over {_count(days, 'day')}, {warnings}"


def validate_files(files: list[Path], online: bool = False) -> int:
    """Check every file, print its problems; return the exit code (0, or 2 if any is invalid).
    ``online``: also check that every account a file names exists on the Prefect server."""
    failed = 0
    for path in files:
        try:
            loaded = load(path)
        except CampaignError as exc:
            show(exc.problems)
            sys.stderr.write(summary(path, exc.problems) + "\n")
            failed += 1
            continue
        show(loaded.warnings)
        missing = missing_accounts(loaded) if online else []
        show(missing)
        if missing:
            sys.stderr.write(summary(path, [*loaded.warnings, *missing]) + "\n")
            failed += 1
            continue
        print(summary(path, loaded.warnings, plan(loaded.model)))
    if failed and len(files) > 1:  # one file: its own line above says it all
        sys.stderr.write(f"{failed} of {len(files)} files invalid; nothing was scheduled or sent\n")
    return EXIT_INVALID if failed else 0


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

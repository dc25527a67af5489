"""Console entry point: ``practiceweek validate FILE...`` skips loading the full command line (Typer, rich).

Anything else, including ``validate --help``, goes to the full Typer application.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    args = sys.argv[1:]
    if len(args) > 1 and args[0] == "validate" and not any(a.startswith("-") for a in args[1:]):
        from .validate import validate_files  # start-up cost: a pre-commit hook needs only the loader

        sys.exit(validate_files([Path(a) for a in args[1:]]))
    from .app import main as full_cli  # start-up cost

    full_cli()

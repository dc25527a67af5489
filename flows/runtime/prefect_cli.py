"""Prefect's own command line, with cyclic garbage collection on a thread of its own
(``practiceweek.collector``): how practiceweek starts its embedded Prefect server on SQLite, whose event
loop a collection could otherwise stop for up to a minute.

    python -m flows.runtime.prefect_cli server start --host 127.0.0.1 --port 4200
"""

from __future__ import annotations

import sys

from practiceweek.collector import collect_on_own_thread


def main() -> None:
    """Run ``prefect`` with the arguments given (it exits with its own status), collecting garbage off the
    event loop's thread."""
    collect_on_own_thread()
    from prefect.cli import app

    app()


if __name__ == "__main__":
    sys.argv[0] = "prefect"
    main()

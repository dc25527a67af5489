"""Serve the practiceweek deployments from this process (``python -m flows.serve``)."""

from __future__ import annotations

import os

from prefect import serve

from .deployments import deployments
from .process import ledger
from .timing import LEAD_S

RUN_LIMIT = int(os.environ.get("PRACTICEWEEK_RUN_LIMIT", "20"))


def main() -> None:
    ledger()  # create it before any run needs it
    serve(
        *deployments(),
        pause_on_shutdown=False,
        print_starting_message=False,
        limit=RUN_LIMIT,
        query_seconds=float(os.environ.get("PRACTICEWEEK_POLL_S", "2")),
        prefetch_seconds=LEAD_S,
    )


if __name__ == "__main__":
    main()

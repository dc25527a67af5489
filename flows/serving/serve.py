"""Serve the practiceweek deployments from this process (``python -m flows.serving.serve``)."""

from __future__ import annotations

from prefect import serve

from practiceweek.settings import settings

from ..runtime.process import ledger
from .deployments import deployments


def main() -> None:
    ledger()  # create it before any run needs it
    cfg = settings()
    serve(
        *deployments(),
        pause_on_shutdown=False,
        print_starting_message=False,
        limit=cfg.run_limit,
        query_seconds=cfg.poll_s,
        prefetch_seconds=cfg.lead_s,
    )


if __name__ == "__main__":
    main()

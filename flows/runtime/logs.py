"""The logger of the current Prefect run, or a standard one outside any run."""

from __future__ import annotations

import logging
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError

FALLBACK = logging.getLogger("practiceweek.flows")


def run_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The run's logger inside a flow or task run; outside one (``publish.fn(...)`` called directly, as the
    tests and embedding code do), the standard ``practiceweek.flows`` logger."""
    try:
        return get_run_logger()
    except MissingContextError:
        return FALLBACK

"""The logger of the current Prefect run, or a standard one outside any run; and a run's console that
survives the worker reading it."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
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


def outlive_lost_output() -> int:
    """Let this process carry on when what reads its output is gone. A worker reads a flow run's output
    through a pipe; when the worker dies and its runs live on (a worker killed or crashed on its own, as the
    chaos benchmark's worker kills do), a run's next console log line meets a broken pipe, and Prefect's
    console (rich) then ends the whole process (``SystemExit``): a window run standing by would die at the
    moment it takes its window over.
    Here each console of this process's log handlers goes quiet instead, and the process's output goes to
    /dev/null; the run's logs still reach the Prefect API. Done when this module is imported (before the
    flow engine's first log lines: a run whose worker dies while it starts) and again by every practiceweek
    flow as it begins. Returns how many consoles were changed."""
    from rich.console import Console

    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict.values()
                                      if isinstance(logger, logging.Logger))]
    consoles = {id(c): c for lg in loggers for h in lg.handlers
                if isinstance(c := getattr(h, "console", None), Console)}
    for console in consoles.values():
        console.on_broken_pipe = functools.partial(_output_lost, console)  # type: ignore[method-assign]
    return len(consoles)


def _output_lost(console: Any) -> None:
    """What a console does on a broken pipe here: nothing more to it, and nothing more to the pipes."""
    console.quiet = True
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


outlive_lost_output()  # at import: the engine imports a flow's module before it logs "Beginning flow run"

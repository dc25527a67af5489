"""``practiceweek report FILE [--out DIR]``: what went out and when, and what reached people, for a board."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import err, load_or_exit
from .ledgers import LEDGER_HELP, existing_ledger
from .session import state_folder

REPORT = Path("report")


def report(
    file: Annotated[Path, typer.Argument(help="Campaign YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html, .pdf and .csv.")] = REPORT,
    ledger: Annotated[str | None, typer.Option("--ledger", help=LEDGER_HELP)] = None,
) -> None:
    """The week's report from the ledger (during the week: figures so far): an accessible HTML page, a PDF
    of it and a CSV with one row per publication; the same figures as the Prefect artifact report-<id>."""
    loaded = load_or_exit(file)
    led = existing_ledger(state_folder(), loaded.id, ledger)
    from flows.operators.report import build, record_artifact, write  # start-up cost: Prefect

    result = build(led, loaded)
    paths = write(result, out)
    counts = result.counts()
    print(f"{loaded.id}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for partner, own in result.partner_counts().items():  # a joint week: each partner's part of the total
        print(f"  {partner}: " + ", ".join(f"{n} {k}" for k, n in own.items()))
    for kind, path in paths.items():
        print(f"  {kind}: {path}")
    if "pdf" not in paths:
        err("no Chromium found: the PDF was not printed (the HTML prints the same from any browser)")
    _artifact(record_artifact, result)


def _artifact(record, result) -> None:  # type: ignore[no-untyped-def]
    """The Prefect artifact, when a Prefect server is configured (PREFECT_API_URL); never fails the report."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return
    try:
        record(result)
        print(f"  Prefect artifact: report-{result.campaign_id}")
    except Exception as exc:  # noqa: BLE001 - the files are the report; the artifact is a copy
        err(f"the Prefect artifact was not recorded: {exc}")

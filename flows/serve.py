"""Serve the practiceweek deployments from this process (``python -m flows.serve``)."""

from __future__ import annotations

import os

from prefect import serve
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger

from . import _runtime as rt
from .alerts import alert_operators
from .publish import publish_window
from .schedule import schedule_campaign

RUN_LIMIT = int(os.environ.get("PRACTICEWEEK_RUN_LIMIT", "20"))


def deployments() -> list:  # type: ignore[type-arg]
    """The three deployments, with the triggers that make the week event-driven."""
    replan = DeploymentEventTrigger(
        name="re-plan a changed campaign",
        expect={"practiceweek.campaign.changed"},
        parameters={"path": "{{ event.payload.path }}"},
    )
    alert = DeploymentEventTrigger(
        name="alert operators",
        expect={"practiceweek.publication.failed", "practiceweek.publication.skipped"},
        parameters={
            "event": "{{ event.event }}",
            "publication": "{{ event.resource.id }}",
            "reason": "{{ event.payload.reason }}",
        },
    )
    return [
        schedule_campaign.to_deployment("practiceweek", triggers=[replan], tags=["practiceweek"]),
        publish_window.to_deployment("practiceweek", tags=["practiceweek"]),
        alert_operators.to_deployment("practiceweek", triggers=[alert], tags=["practiceweek"]),
    ]


def register() -> None:
    """Create (or update) the deployments without serving them: runs wait for a served process or worker."""
    for deployment in deployments():
        deployment.apply()


def main() -> None:
    rt.ledger()  # create it before any run needs it
    serve(
        *deployments(),
        pause_on_shutdown=False,
        print_starting_message=False,
        limit=RUN_LIMIT,
        query_seconds=float(os.environ.get("PRACTICEWEEK_POLL_S", "2")),
        prefetch_seconds=rt.LEAD_S,
    )


if __name__ == "__main__":
    main()

"""The four deployments, each named after its role, with the triggers that make the week event-driven."""

from __future__ import annotations

from typing import Any

from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from prefect.types.entrypoint import EntrypointType

from ..operators.alerts import INFRASTRUCTURE_EVENTS, LATE_EVENT, alert_operators
from ..operators.engagement import SAFETY_NET_S, collect_engagement
from ..planning.schedule import schedule_campaign
from ..publishing.publish import publish_window
from ..runtime.names import ROLES


def deployments() -> list[Any]:
    """schedule-campaign (re-planned when a file changes), publish-window, alert-operators."""
    replan = DeploymentEventTrigger(
        name="re-plan a changed campaign",
        expect={"practiceweek.campaign.changed"},
        parameters={"path": "{{ event.payload.path }}"},
    )
    alert = DeploymentEventTrigger(
        name="alert operators",
        expect={
            "practiceweek.publication.failed",
            "practiceweek.publication.skipped",
            LATE_EVENT,
            *INFRASTRUCTURE_EVENTS,
        },
        parameters={
            "event": "{{ event.event }}",
            "publication": "{{ event.resource.id }}",
            "reason": "{{ event.payload.reason | default('', true) }}",
            "name": "{{ event.resource.name | default('', true) }}",
        },
    )
    # module paths, as in prefect.yaml: Prefect loads a file entrypoint as a package of its own name, where
    # the role packages' imports of each other (``from ..runtime import process``) cannot resolve
    by_module: dict[str, Any] = {"tags": ["practiceweek"], "entrypoint_type": EntrypointType.MODULE_PATH}
    return [
        schedule_campaign.to_deployment(ROLES["schedule"], triggers=[replan], **by_module),
        publish_window.to_deployment(ROLES["window"], **by_module),
        alert_operators.to_deployment(ROLES["alert"], triggers=[alert], **by_module),
        collect_engagement.to_deployment(ROLES["engagement"], interval=SAFETY_NET_S, **by_module),
    ]


def register() -> None:
    """Create (or update) the deployments without serving them: runs wait for a served process or worker."""
    for deployment in deployments():
        deployment.apply()

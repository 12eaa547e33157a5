"""Prefect automations that tell the secretariat when the follow-up stops, fails, or cannot deliver mail.

Each notifies through a Prefect notification block the operator names (e-mail, Slack, a webhook...).
Automations are found again by their name, so installing twice updates them instead of adding copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from workflows import prefect_env  # noqa: F401  (sets Prefect's defaults before Prefect is imported)

# isort: split
from prefect.automations import Automation, EventTrigger, Posture, SendNotification

from domain.errors import ValidationError
from workflows import flow_reports, flows

OUR_FLOWS = [
    flows.daily_follow_up.name,
    flows.collect_replies.name,
    flows.close_stocktake_cycle.name,
    flows.launch_stocktake_cycle.name,
]
# The daily follow-up runs every 24 hours; two more hours let a late or slow run finish before alerting.
STALE_AFTER = timedelta(hours=26)
MAIL_FAILED_EVENT = flow_reports.MAIL_FAILED_EVENT


def wanted_automations(block_document_id: UUID) -> list[Automation]:
    """The three automations, each sending its notification through the given block."""

    def notify(subject: str, body: str) -> list[Any]:
        return [SendNotification(block_document_id=block_document_id, subject=subject, body=body)]

    return [
        Automation(
            name="followup: no daily follow-up in 26 hours",
            description="No run of daily-follow-up completed in 26 hours: reminders and escalations stopped.",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Completed"},
                match_related={
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": flows.daily_follow_up.name,
                },
                posture=Posture.Proactive,
                threshold=1,
                within=STALE_AFTER,
            ),
            actions=notify(
                "Follow-up: no daily follow-up completed in 26 hours",
                "No run of the flow daily-follow-up completed in the last 26 hours, so no reminder or "
                "escalation went out. Check that a worker is running for the work pool "
                "(`prefect worker start --pool ...`) and that the deployment's schedule is active.",
            ),
        ),
        Automation(
            name="followup: a flow run failed",
            description="A run of a Follow-up flow failed, crashed or timed out.",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut"},
                match={"prefect.resource.id": "prefect.flow-run.*"},
                match_related={"prefect.resource.role": "flow", "prefect.resource.name": OUR_FLOWS},
                posture=Posture.Reactive,
                threshold=1,
            ),
            actions=notify(
                "Follow-up: {{ flow.name }} run {{ flow_run.name }} ended {{ flow_run.state.name }}",
                "The run {{ flow_run.name }} of {{ flow.name }} ended {{ flow_run.state.name }}: "
                "{{ flow_run.state.message }}\n{{ flow_run|ui_url }}",
            ),
        ),
        Automation(
            name="followup: mail failed",
            description="A run left e-mail undelivered (event followup.mail.failed): retried, or given up.",
            trigger=EventTrigger(expect={MAIL_FAILED_EVENT}, posture=Posture.Reactive, threshold=1),
            actions=notify(
                "Follow-up: e-mail could not be delivered",
                "{{ event.event }} on {{ event.resource.id }} at {{ event.occurred }}: {{ event.payload }}\n"
                "See `followup mail status` for the messages and their last error.",
            ),
        ),
    ]


@dataclass(frozen=True)
class Installed:
    """An automation as `followup automations install` left it."""

    name: str
    created: bool
    duplicates_removed: int


def install(block: str) -> list[Installed]:
    """Create the automations, or update those of the same names (copies beyond the first are removed)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        block_id = _notification_block_id(client, block)
        done = []
        for wanted in wanted_automations(block_id):
            existing = client.read_automations_by_name(wanted.name)
            if not existing:
                wanted.create()
                done.append(Installed(wanted.name, created=True, duplicates_removed=0))
                continue
            keep, *copies = existing
            wanted.id = keep.id
            wanted.update()
            for copy in copies:
                client.delete_automation(copy.id)
            done.append(Installed(wanted.name, created=False, duplicates_removed=len(copies)))
    return done


def _notification_block_id(client: Any, reference: str) -> UUID:
    """The id of the block `TYPE/NAME` (as `prefect block ls` shows it) or `NAME`, if it can notify."""
    from prefect.exceptions import ObjectNotFound

    hint = (
        "create one in the Prefect UI (Blocks) or with `prefect block create`; `prefect block ls` lists them"
    )
    if "/" in reference:
        slug, name = reference.split("/", 1)
        try:
            found = [client.read_block_document_by_name(name, slug, include_secrets=False)]
        except ObjectNotFound:
            found = []
    else:
        found = [doc for doc in client.read_block_documents(include_secrets=False) if doc.name == reference]
    if not found:
        raise ValidationError(
            "--block", f"no block '{reference}' on {str(client.api_url).rstrip('/')}: {hint}"
        )
    notifiers = [
        doc for doc in found if "notify" in (doc.block_schema.capabilities if doc.block_schema else [])
    ]
    if not notifiers:
        raise ValidationError("--block", f"'{reference}' is not a notification block (it cannot notify)")
    if len(notifiers) > 1:
        kinds = ", ".join(sorted(f"{doc.block_type.slug}/{doc.name}" for doc in notifiers if doc.block_type))
        raise ValidationError("--block", f"'{reference}' names several blocks ({kinds}): give TYPE/NAME")
    block_id: UUID = notifiers[0].id
    return block_id

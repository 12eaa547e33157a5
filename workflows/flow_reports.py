"""What the flows show in Prefect: events about cycles, agencies and mail, and the runs' summaries.

Events and summaries are plain data (dicts, markdown), so that they travel between tasks; the flows
in `flows` publish them as Prefect events and artifacts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from workflows import prefect_env  # noqa: F401  (sets Prefect's defaults before Prefect is imported)

# isort: split
from prefect.events import emit_event

from workflows.services import closing, follow_up
from workflows.services.review import Returned

MAIL_FAILED_EVENT = "followup.mail.failed"


@dataclass(frozen=True)
class FollowUpEvent:
    """A Prefect event to emit (plain data, so that it can travel between tasks)."""

    event: str
    resource: dict[str, str]
    related: list[dict[str, str]]
    payload: dict[str, Any]


def _resource(role: str, name: str) -> dict[str, str]:
    return {
        "prefect.resource.id": f"followup.{role}.{name}",
        "prefect.resource.role": role,
        "prefect.resource.name": name,
    }


# Prefect events carry at most this many related recommendations or milestones (the table artifact
# lists every agency, `followup cycle show` counts every milestone): an event has a size limit.
_MAX_RELATED_ITEMS = 50


def cycle_event(
    name: str, cycle_name: str, agency_code: str, items: Sequence[str], payload: Mapping[str, Any]
) -> FollowUpEvent:
    """An event about one agency in one cycle, naming the recommendations concerned (up to a cap)."""
    related = [_resource("agency", agency_code)]
    related += [_resource("recommendation", code) for code in items[:_MAX_RELATED_ITEMS]]
    return FollowUpEvent(
        name,
        {"prefect.resource.id": f"followup.cycle.{cycle_name}", "prefect.resource.name": cycle_name},
        related,
        {"cycle": cycle_name, "agency": agency_code, **payload},
    )


def follow_up_events(report: follow_up.FollowUpReport) -> list[FollowUpEvent]:
    """What a daily follow-up found, as events: replies received, requests and milestones newly overdue."""
    events = []
    for received in report.replies_received:
        cycle_name, _, agency = received.rpartition(":")  # agency codes never hold a colon
        events.append(cycle_event("followup.reply.received", cycle_name, agency, [], {}))
    for late in report.late_requests:
        payload = {"deadline": late.deadline.isoformat(), "unanswered": len(late.items)}
        events.append(cycle_event("followup.request.overdue", late.cycle, late.agency, late.items, payload))
    return events + milestone_events(report.late_milestones)


def milestone_events(late: Sequence[follow_up.LateMilestone]) -> list[FollowUpEvent]:
    """One event per agency with milestones newly overdue: how many, and the first of them.

    Not one per milestone: at 100,000 items the Prefect server took in a thousand events a day while
    the flow waited on it (`docs/performance.md`), and an automation wants to tell an agency once a
    day, not once per milestone.
    """
    by_owner: dict[str, list[follow_up.LateMilestone]] = {}
    for milestone in late:
        by_owner.setdefault(milestone.owner, []).append(milestone)
    return [
        FollowUpEvent(
            "followup.milestone.overdue",
            {"prefect.resource.id": f"followup.agency.{owner}", "prefect.resource.name": owner},
            [
                _resource("recommendation", code)
                for code in dict.fromkeys(m.code for m in milestones[:_MAX_RELATED_ITEMS])
            ],
            {
                "agency": owner,
                "overdue": len(milestones),
                "milestones": [
                    {"recommendation": m.code, "milestone": m.title, "due_date": m.due_date.isoformat()}
                    for m in milestones[:_MAX_RELATED_ITEMS]
                ],
            },
        )
        for owner, milestones in sorted(by_owner.items())
    ]


def escalation_events(report: follow_up.FollowUpReport) -> list[FollowUpEvent]:
    """The requests escalated to the head of office in this run."""
    return [
        cycle_event(
            "followup.request.escalated",
            late.cycle,
            late.agency,
            late.items,
            {"deadline": late.deadline.isoformat(), "unanswered": len(late.items)},
        )
        for late in report.escalated_requests
    ]


def mail_failed_event(flow_name: str, left: list[dict[str, Any]]) -> FollowUpEvent:
    """The event of a run that leaves mail undelivered: who, how many, and the last error."""
    agencies = sorted({group["agency"] for group in left if group["agency"]})
    return FollowUpEvent(
        MAIL_FAILED_EVENT,
        {"prefect.resource.id": "followup.outbox", "prefect.resource.name": "outbox"},
        [_resource("agency", code) for code in agencies],
        {
            "flow": flow_name,
            "agencies": agencies,
            "waiting": sum(g["count"] for g in left if g["state"] == "queued"),
            "given_up": sum(g["count"] for g in left if g["state"] == "failed"),
            "last_error": left[-1]["last_error"],
        },
    )


def returned_event(returned: Returned) -> FollowUpEvent:
    """The event announcing an answer the secretariat returned with a question."""
    payload = {"item": returned.code, "question": returned.question}
    return cycle_event("followup.reply.returned", returned.cycle, returned.agency, [returned.code], payload)


def publish_events(events: list[dict[str, Any]]) -> None:
    """Emit the events (as made by the functions above, through `asdict`) to Prefect."""
    for event in events:
        emit_event(
            event=event["event"],
            resource=event["resource"],
            related=event["related"],
            payload=event["payload"],
        )


def collect_summary(report: closing.CollectReport) -> dict[str, Any]:
    """A collect's result as plain data: files taken in, replies newly complete, what is missing."""
    return {
        "files": [
            {"name": f.name, "accepted": f.accepted, "moved_to": str(f.moved_to), "error": f.error}
            for f in report.files
        ],
        "newly_answered": report.newly_answered,
        # Agencies whose reply has a version not announced before: each version is announced once.
        "replied": report.replies_received,
        "missing": [{"code": p.code, "missing": p.missing, "requested": p.requested} for p in report.missing],
    }


def publish_replies(cycle_name: str, agencies: list[str]) -> None:
    """Emit one reply-received event per agency whose reply has a new version."""
    publish_events(
        [asdict(cycle_event("followup.reply.received", cycle_name, code, [], {})) for code in agencies]
    )


def collect_markdown(cycle_name: str, collected: dict[str, Any]) -> str:
    """The collect run's summary artifact: files, replies complete, items missing, review queue."""
    missing = collected["missing"]
    lines = [
        f"# Replies to {cycle_name}",
        "",
        f"- Spreadsheets imported: {sum(1 for f in collected['files'] if f['accepted'])}, "
        f"rejected: {sum(1 for f in collected['files'] if not f['accepted'])}",
        f"- Replies newly complete: {', '.join(collected['newly_answered']) or 'none'}",
        f"- Agencies with items still missing: {len(missing)} "
        f"({sum(line['missing'] for line in missing)} items)",
        f"- Answers waiting for the secretariat's review: {collected['review_queue']}",
        f"- Answers returned to agencies since the last run: {len(collected['returned'])}",
    ]
    return "\n".join(lines) + "\n"

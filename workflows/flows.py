"""Prefect flows of a stock-take cycle: thin orchestration over the cycle use cases.

Tasks take and return plain values (names, ids, dates, dicts), never ORM objects, and wrap the
I/O (database, SMTP) with retries. Task count grows with agencies (chunks of CHUNK), never with
recommendations. Follow-up's database is the record; Prefect shows runs, artifacts and events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from workflows import prefect_env  # noqa: F401  (sets Prefect's defaults before Prefect is imported)

# isort: split
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.client.schemas.objects import TaskRun
from prefect.events import emit_event
from prefect.runtime import task_run as current_task_run
from prefect.states import State
from prefect.tasks import Task

from domain.errors import DomainError
from notifications.outbox import dispatch, pending_count
from workflows import bootstrap
from workflows.queries import review as review_reads
from workflows.services import closing, follow_up, launch, review
from workflows.services.review import Returned
from workflows.settings import get_settings

CHUNK = 20  # agencies per sending task
OVERDUE_ARTIFACT = "overdue-items"
# The table artifact is for a quick look; the full list stays in `followup cycle show` and the report.
MAX_ARTIFACT_ROWS = 1000


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


# Prefect events carry at most this many related recommendations (the table artifact lists them all).
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
    events += [
        FollowUpEvent(
            "followup.milestone.overdue",
            {"prefect.resource.id": f"followup.recommendation.{m.code}", "prefect.resource.name": m.code},
            [_resource("agency", m.owner), _resource("recommendation", m.code)],
            {"milestone": m.title, "due_date": m.due_date.isoformat()},
        )
        for m in report.late_milestones
    ]
    return events


def returned_event(returned: Returned) -> FollowUpEvent:
    """The event announcing an answer the secretariat returned with a question."""
    payload = {"item": returned.code, "question": returned.question}
    return cycle_event("followup.reply.returned", returned.cycle, returned.agency, [returned.code], payload)


class MessagesStillQueued(RuntimeError):
    """Some messages of a sending task could not be handed to the mail server yet."""


def _retry_unless_domain_error(_task: Task[Any, Any], _run: TaskRun, state: State[Any]) -> bool:
    # Bad input (a past deadline, an unknown cycle) will not get better by trying again.
    return not isinstance(getattr(state, "data", None), DomainError)


P = ParamSpec("P")
R = TypeVar("R")


def _with_retries(this: Task[P, R]) -> Task[P, R]:
    """The task with the retries configured in settings (FOLLOWUP_TASK_RETRIES / _RETRY_DELAY_SECONDS)."""
    settings = get_settings()
    return this.with_options(
        retries=settings.task_retries,
        retry_delay_seconds=list(settings.task_retry_delay_seconds),
        retry_condition_fn=_retry_unless_domain_error,
    )


@task(name="open-cycle")
def open_cycle(
    name: str, deadline: date, hlcp_session: str | None, allow_unowned: bool, today: date | None
) -> dict[str, Any]:
    """Create the cycle, its requests and their queued messages (one transaction)."""
    clock, uow = bootstrap.clock(today), bootstrap.uow()
    result = launch.launch_cycle(
        uow,
        bootstrap.notifier(uow, clock),
        clock,
        bootstrap.cycle_config(),
        name=name,
        deadline=deadline,
        hlcp_session=hlcp_session,
        allow_unowned=allow_unowned,
    )
    return asdict(result)


@task(name="send-messages")
def send_messages(key_prefixes: list[str], today: date | None) -> int:
    """Hand the queued messages under `key_prefixes` to the mail server; raise if some are left."""
    clock = bootstrap.clock(today)
    if current_task_run.run_count > 1:
        launch.make_queued_messages_due(bootstrap.uow(), clock, key_prefixes)
    # One dispatcher run for the whole chunk: its messages share one connection to the mail server.
    sender, links = bootstrap.sender(), bootstrap.reply_link
    sent = dispatch(bootstrap.uow, sender, clock, links=links, key_prefix=key_prefixes).sent
    with bootstrap.uow() as uow:
        left = pending_count(uow, key_prefix=key_prefixes)
    if left:
        raise MessagesStillQueued(f"{left} message(s) not accepted by the mail server yet ({sent} sent)")
    return sent


@task(name="mark-requests-sent")
def mark_requests_sent(cycle_id: int | None, today: date | None) -> list[str]:
    """Requests whose message has left move to SENT."""
    return launch.mark_requests_sent(bootstrap.uow(), bootstrap.clock(today), cycle_id)


def _send(key_prefixes: list[str], today: date | None) -> int:
    """Send, and if the mail server still refuses after the retries, leave the rest queued for later."""
    state = _with_retries(send_messages)(key_prefixes, today, return_state=True)
    if state.is_completed():
        return int(state.result())
    get_run_logger().warning(
        "Some messages stay queued (%s); the daily follow-up will send them.", state.message
    )
    return 0


@flow(name="launch-stocktake-cycle")
def launch_stocktake_cycle(
    name: str | None = None,
    deadline: date | None = None,
    hlcp_session: str | None = None,
    allow_unowned: bool = False,
    today: date | None = None,
    deadline_days: int = 28,
) -> dict[str, Any]:
    """Open a stock-take cycle and send one consolidated status request per owning agency.

    Without a name (a scheduled launch), the cycle is named after the day it opens and its
    deadline falls `deadline_days` later.
    """
    day = bootstrap.clock(today).today()
    name = name or f"Stock-take {day.isoformat()}"
    deadline = deadline or day + timedelta(days=deadline_days)
    launched = _with_retries(open_cycle)(name, deadline, hlcp_session, allow_unowned, today)
    agencies = launched["agencies"]
    sent = 0
    for start in range(0, len(agencies), CHUNK):
        prefixes = [
            f"status-request:{launched['cycle_id']}:{code}:" for code in agencies[start : start + CHUNK]
        ]
        sent += _send(prefixes, today)
    marked = _with_retries(mark_requests_sent)(launched["cycle_id"], today)
    get_run_logger().info(
        "Cycle %s: %d agencies, %d items, %d messages queued now, %d sent, %d requests marked sent",
        name,
        len(agencies),
        launched["item_count"],
        launched["enqueued"],
        sent,
        len(marked),
    )
    return {**launched, "sent": sent, "marked_sent": marked}


@task(name="follow-up")
def run_follow_up(today: date | None, cycle_name: str | None) -> dict[str, Any]:
    """Remind, escalate, mark overdue; returns what to publish (rows, events, summary)."""
    clock, uow = bootstrap.clock(today), bootstrap.uow()
    report = follow_up.follow_up(
        uow, bootstrap.notifier(uow, clock), clock, bootstrap.cycle_config(), cycle_name=cycle_name
    )
    return {
        "today": report.today,
        "summary": report.summary_markdown(),
        # The first rows only: they travel through Prefect (the full list is in the database).
        "rows": [row.as_dict() for row in report.overdue[:MAX_ARTIFACT_ROWS]],
        "overdue_count": len(report.overdue),
        "events": [asdict(event) for event in follow_up_events(report)],
        "reminders": report.reminders,
        "escalations": report.escalations,
        "newly_overdue_requests": report.newly_overdue_requests,
        "newly_overdue_milestones": report.newly_overdue_milestones,
        "replies_received": report.replies_received,
    }


def _publish_events(events: list[dict[str, Any]]) -> None:
    for event in events:
        emit_event(
            event=event["event"],
            resource=event["resource"],
            related=event["related"],
            payload=event["payload"],
        )


@flow(name="daily-follow-up")
def daily_follow_up(today: date | None = None, cycle_name: str | None = None) -> dict[str, Any]:
    """The daily round: send what is queued, remind, escalate, mark overdue, publish to the Prefect UI."""
    _send([""], today)  # messages left queued by an earlier run (SMTP was down) go first
    _with_retries(mark_requests_sent)(None, today)
    found = _with_retries(run_follow_up)(today, cycle_name)
    _send([""], today)
    shown, total = found["rows"], found["overdue_count"]
    create_table_artifact(
        key=OVERDUE_ARTIFACT,
        table=shown,
        description=f"Overdue on {found['today'].isoformat()}: {total} item(s)"
        + (f", the first {len(shown)} shown" if len(shown) < total else ""),
    )
    create_markdown_artifact(key="follow-up-summary", markdown=found["summary"])
    _publish_events(found["events"])
    return {key: value for key, value in found.items() if key != "events"}


@task(name="collect-replies")
def collect(cycle_name: str, today: date | None) -> dict[str, Any]:
    """Take in spreadsheets from the inbox and count portal replies; returns what is still missing."""
    clock = bootstrap.clock(today)
    report = closing.collect_replies(
        bootstrap.uow,
        lambda uow: bootstrap.notifier(uow, clock),
        clock,
        bootstrap.cycle_config(),
        cycle_name=cycle_name,
        inbox_dir=get_settings().inbox_dir,
    )
    return _collect_summary(report)


def _collect_summary(report: closing.CollectReport) -> dict[str, Any]:
    return {
        "files": [
            {"name": f.name, "accepted": f.accepted, "moved_to": str(f.moved_to), "error": f.error}
            for f in report.files
        ],
        "newly_answered": report.newly_answered,
        # Agencies heard from in this run: a reply now complete, or a spreadsheet taken in.
        "replied": sorted({*report.newly_answered, *(f.agency_code for f in report.files if f.agency_code)}),
        "missing": [{"code": p.code, "missing": p.missing, "requested": p.requested} for p in report.missing],
    }


def _publish_replies(cycle_name: str, agencies: list[str]) -> None:
    _publish_events(
        [asdict(cycle_event("followup.reply.received", cycle_name, code, [], {})) for code in agencies]
    )


@task(name="review-status")
def review_status(cycle_name: str, today: date | None) -> dict[str, Any]:
    """The review queue's size, and the answers returned since the last run (marked announced)."""
    queue_size = review_reads.queue_size(bootstrap.uow(), cycle_name)
    # Last, so that a retry after a failure above cannot find the returns already marked announced.
    returned = review.announce_returns(bootstrap.uow(), bootstrap.clock(today), cycle_name)
    return {
        "queue_size": queue_size,
        "returned": [f"{r.agency}:{r.code}" for r in returned],
        "events": [asdict(returned_event(r)) for r in returned],
    }


def _collect_markdown(cycle_name: str, collected: dict[str, Any]) -> str:
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


@flow(name="collect-replies")
def collect_replies(cycle_name: str, today: date | None = None) -> dict[str, Any]:
    """Gather replies from every channel, send receipts and questions; report what is missing or to review."""
    collected = _with_retries(collect)(cycle_name, today)
    reviewed = _with_retries(review_status)(cycle_name, today)
    collected = {**collected, "review_queue": reviewed["queue_size"], "returned": reviewed["returned"]}
    _send(["receipt:", "returned:"], today)
    _publish_replies(cycle_name, collected["replied"])
    _publish_events(reviewed["events"])
    create_markdown_artifact(
        key="collect-replies-summary",
        markdown=_collect_markdown(cycle_name, collected),
    )
    return collected


@task(name="close-cycle")
def close(cycle_name: str, formats: list[str] | None, today: date | None) -> dict[str, Any]:
    """Collect, close the cycle, write the stock-take, queue the summary."""
    from reporting import FORMATS

    clock, settings = bootstrap.clock(today), get_settings()
    report = closing.close_cycle(
        bootstrap.uow,
        lambda uow: bootstrap.notifier(uow, clock),
        clock,
        bootstrap.cycle_config(),
        cycle_name=cycle_name,
        inbox_dir=settings.inbox_dir,
        reports_dir=settings.reports_dir,
        formats=formats or FORMATS,
    )
    return {
        "closed_now": report.closed_now,
        "collect": _collect_summary(report.collect),
        "report_paths": {fmt: str(path) for fmt, path in report.report_paths.items()},
        "summary_enqueued": report.summary_enqueued,
    }


@flow(name="close-stocktake-cycle")
def close_stocktake_cycle(
    cycle_name: str, formats: list[str] | None = None, today: date | None = None
) -> dict[str, Any]:
    """Close a cycle: collect, write the stock-take report, send the cycle summary, link the report."""
    closed = _with_retries(close)(cycle_name, formats, today)
    _send(["receipt:", "returned:", "cycle-summary:"], today)
    _publish_replies(cycle_name, closed["collect"]["replied"])
    # Answers returned since the last collect are announced before the cycle's story ends.
    _publish_events(_with_retries(review_status)(cycle_name, today)["events"])
    for fmt, path in closed["report_paths"].items():
        create_link_artifact(
            key=f"stock-take-{fmt}",
            link=Path(path).resolve().as_uri(),
            link_text=f"Stock-take of {cycle_name} ({fmt})",
            description=f"The stock-take report of {cycle_name}, {fmt}",
        )
    return closed

"""Prefect flows of a stock-take cycle: thin orchestration over the cycle use cases.

Tasks take and return plain values (names, ids, dates, dicts), never ORM objects, and wrap the
I/O (database, SMTP) with retries. Task count grows with agencies (chunks of CHUNK), never with
recommendations. Follow-up's database is the record; Prefect shows runs, artifacts and events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, ParamSpec, TypeVar, cast

from workflows import prefect_env  # noqa: F401  (sets Prefect's defaults before Prefect is imported)

# isort: split
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.client.schemas.objects import TaskRun
from prefect.runtime import flow_run as current_flow_run
from prefect.states import Failed, State
from prefect.tasks import Task

from domain.errors import DomainError
from domain.figures import headline
from notifications.outbox import dispatch, pending_count, undelivered
from workflows import bootstrap, flow_reports
from workflows.queries import review as review_reads
from workflows.services import closing, follow_up, launch, review
from workflows.settings import get_settings

CHUNK = 20  # agencies per sending task
OVERDUE_ARTIFACT = "overdue-agencies"
UNDELIVERED_ARTIFACT = "mail-undelivered"
# The name of the (failed-type, so not green) state of a run that leaves mail undelivered.
UNDELIVERED_STATE = "Undelivered"
# The table artifact is for a quick look; the full list stays in `followup cycle show` and the report.
MAX_ARTIFACT_ROWS = 1000
# Runs started from the command line wait seconds between sending attempts, never minutes: the
# operator waits for the prompt, and the outbox's own backoff lets the next runs try again.
FOREGROUND_RETRY_DELAY_SECONDS = (1, 2)
_foreground: ContextVar[bool] = ContextVar("followup_foreground", default=False)


@contextmanager
def in_foreground() -> Iterator[None]:
    """Flows called inside run with short retry delays (for the command line)."""
    token = _foreground.set(True)
    try:
        yield
    finally:
        _foreground.reset(token)


def _retry_unless_domain_error(_task: Task[Any, Any], _run: TaskRun, state: State[Any]) -> bool:
    # Bad input (a past deadline, an unknown cycle) will not get better by trying again.
    return not isinstance(getattr(state, "data", None), DomainError)


P = ParamSpec("P")
R = TypeVar("R")


def _with_retries(this: Task[P, R]) -> Task[P, R]:
    """The task with the retries configured in settings (FOLLOWUP_TASK_RETRIES / _RETRY_DELAY_SECONDS)."""
    return this.with_options(
        retries=get_settings().task_retries,
        retry_delay_seconds=list(_retry_delays()),
        retry_condition_fn=_retry_unless_domain_error,
    )


def _retry_delays() -> Sequence[int]:
    """Seconds before each retry (the last repeats): short when the operator waits at the prompt."""
    return FOREGROUND_RETRY_DELAY_SECONDS if _foreground.get() else get_settings().task_retry_delay_seconds


@task(name="open-cycle")
def open_cycle(
    name: str,
    deadline: date,
    hlcp_session: str | None,
    allow_unowned: bool,
    allow_placeholders: bool,
    today: date | None,
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
        allow_placeholders=allow_placeholders,
    )
    return asdict(result)


@task(name="send-messages")
def send_messages(key_prefixes: list[str], today: date | None, again: bool) -> dict[str, Any]:
    """Hand the queued messages under `key_prefixes` to the mail server: how many sent, given up, left."""
    clock = bootstrap.clock(today)
    if again:
        launch.make_queued_messages_due(bootstrap.uow(), clock, key_prefixes)
    # One dispatcher run for the whole chunk: its messages share one connection to the mail server.
    sender, links = bootstrap.sender(), bootstrap.reply_link
    report = dispatch(bootstrap.uow, sender, clock, links=links, key_prefix=key_prefixes)
    with bootstrap.uow() as uow:
        left = pending_count(uow, key_prefix=key_prefixes)
    return {"sent": report.sent, "given_up": report.failed_keys, "left": left}


@task(name="mark-requests-sent")
def mark_requests_sent(cycle_id: int | None, today: date | None) -> list[str]:
    """Requests whose message has left move to SENT."""
    return launch.mark_requests_sent(bootstrap.uow(), bootstrap.clock(today), cycle_id)


@dataclass
class Mail:
    """What a flow run handed to the mail server: sent, and given up (keys), over all its sends."""

    sent: int = 0
    given_up: list[str] = field(default_factory=list)


def _send(key_prefixes: list[str], today: date | None, mail: Mail) -> None:
    """Send; while the mail server refuses, try again after the retry delays; the rest waits for later."""
    delays, retries = _retry_delays(), get_settings().task_retries
    for attempt in range(retries + 1):
        done = _with_retries(send_messages)(key_prefixes, today, attempt > 0)
        mail.sent += done["sent"]
        mail.given_up += done["given_up"]
        if not done["left"]:
            break
        if attempt < retries:
            time.sleep(delays[min(attempt, len(delays) - 1)])
    else:
        get_run_logger().warning(
            "%d message(s) stay queued: the mail server refused them; later runs try again.", done["left"]
        )


@task(name="undelivered-mail")
def undelivered_mail(key_prefixes: list[str], given_up: list[str]) -> list[dict[str, Any]]:
    """The run's refused messages per agency and kind: waiting for a retry, or given up in this run."""
    with bootstrap.uow() as uow:
        return [u.as_dict() for u in undelivered(uow, key_prefix=key_prefixes, failed_keys=given_up)]


def _settled(flow_name: str, key_prefixes: list[str], mail: Mail, result: dict[str, Any]) -> dict[str, Any]:
    """The run's result; if it leaves mail undelivered, a not-green state naming the agencies (and an event).

    Prefect makes a State returned by a flow its run's final state: a caller then gets this state with
    `return_state=True` (the command line does), and its `result(raise_on_failure=False)` is the dict.
    """
    left = _with_retries(undelivered_mail)(key_prefixes, mail.given_up)
    if not left:
        return result
    event = flow_reports.mail_failed_event(flow_name, left)
    flow_reports.publish_events([asdict(event)])
    recipients = sorted({group["agency"] or f"the secretariat ({group['kind']})" for group in left})
    message = (
        f"Mail not delivered to {', '.join(recipients)}: {event.payload['waiting']} message(s) to be "
        f"retried by the next runs, {event.payload['given_up']} given up (`followup mail status`). "
        f"Last error: {left[-1]['last_error'][:300]}"
    )
    create_table_artifact(key=UNDELIVERED_ARTIFACT, table=left, description=message)
    get_run_logger().error(message)
    state: State[Any] = Failed(name=UNDELIVERED_STATE, message=message, data={**result, "undelivered": left})
    return cast(dict[str, Any], state)


def _run_name(label: str, parameter: str) -> Any:
    """A flow run name saying what the run is (`follow-up 2027-03-08`, `launch Spring 2027`)."""

    def name() -> str:
        value = current_flow_run.parameters.get(parameter)
        return f"{label} {value if value else date.today().isoformat()}"

    return name


@flow(name="launch-stocktake-cycle", flow_run_name=_run_name("launch", "name"))
def launch_stocktake_cycle(
    name: str | None = None,
    deadline: date | None = None,
    hlcp_session: str | None = None,
    allow_unowned: bool = False,
    today: date | None = None,
    deadline_days: int = 28,
    allow_placeholders: bool = False,
) -> dict[str, Any]:
    """Open a stock-take cycle and send one consolidated status request per owning agency.

    Without a name (a scheduled launch), the cycle is named after the day it opens and its
    deadline falls `deadline_days` later.
    """
    day = bootstrap.clock(today).today()
    name = name or f"Stock-take {day.isoformat()}"
    deadline = deadline or day + timedelta(days=deadline_days)
    launched = _with_retries(open_cycle)(
        name, deadline, hlcp_session, allow_unowned, allow_placeholders, today
    )
    agencies, mail = launched["agencies"], Mail()
    for start in range(0, len(agencies), CHUNK):
        prefixes = [
            f"status-request:{launched['cycle_id']}:{code}:" for code in agencies[start : start + CHUNK]
        ]
        _send(prefixes, today, mail)
    marked = _with_retries(mark_requests_sent)(launched["cycle_id"], today)
    get_run_logger().info(
        "Cycle %s: %d agencies, %d items, %d messages queued now, %d sent, %d requests marked sent",
        name,
        len(agencies),
        launched["item_count"],
        launched["enqueued"],
        mail.sent,
        len(marked),
    )
    result = {**launched, "sent": mail.sent, "marked_sent": marked}
    return _settled("launch-stocktake-cycle", [f"status-request:{launched['cycle_id']}:"], mail, result)


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
        "lines": report.lines(),
        # The first rows only: they travel through Prefect (the full list is in the database).
        "rows": [row.as_dict() for row in report.overdue_agencies[:MAX_ARTIFACT_ROWS]],
        "overdue_count": len(report.overdue_agencies),
        "events": [
            asdict(event)
            for event in flow_reports.follow_up_events(report) + flow_reports.escalation_events(report)
        ],
        "reminders": report.reminders,
        "escalations": report.escalations,
        "newly_overdue_requests": report.newly_overdue_requests,
        "newly_overdue_milestones": report.newly_overdue_milestones,
        "replies_received": report.replies_received,
    }


@flow(name="daily-follow-up", flow_run_name=_run_name("follow-up", "today"))
def daily_follow_up(today: date | None = None, cycle_name: str | None = None) -> dict[str, Any]:
    """The daily round: send what is queued, remind, escalate, mark overdue, publish to the Prefect UI."""
    mail = Mail()
    _send([""], today, mail)  # messages left queued by an earlier run (SMTP was down) go first
    _with_retries(mark_requests_sent)(None, today)
    found = _with_retries(run_follow_up)(today, cycle_name)
    _send([""], today, mail)
    logger = get_run_logger()
    for line in [*found["lines"], f"Messages sent: {mail.sent}"]:
        logger.info(line)
    shown, total = found["rows"], found["overdue_count"]
    create_table_artifact(
        key=OVERDUE_ARTIFACT,
        table=shown,
        description=f"Agencies overdue on {found['today'].isoformat()}: {total}"
        + (f", the first {len(shown)} shown" if len(shown) < total else ""),
    )
    create_markdown_artifact(key="follow-up-summary", markdown=found["summary"])
    flow_reports.publish_events(found["events"])
    result = {key: value for key, value in found.items() if key != "events"}
    return _settled("daily-follow-up", [""], mail, result)


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
    return flow_reports.collect_summary(report)


@task(name="review-status")
def review_status(cycle_name: str, today: date | None) -> dict[str, Any]:
    """The review queue's size, and the answers returned since the last run (marked announced)."""
    queue_size = review_reads.queue_size(bootstrap.uow(), cycle_name)
    # Last, so that a retry after a failure above cannot find the returns already marked announced.
    returned = review.announce_returns(bootstrap.uow(), bootstrap.clock(today), cycle_name)
    return {
        "queue_size": queue_size,
        "returned": [f"{r.agency}:{r.code}" for r in returned],
        "events": [asdict(flow_reports.returned_event(r)) for r in returned],
    }


@flow(name="collect-replies", flow_run_name=_run_name("collect", "cycle_name"))
def collect_replies(cycle_name: str, today: date | None = None) -> dict[str, Any]:
    """Gather replies from every channel, send receipts and questions; report what is missing or to review."""
    collected = _with_retries(collect)(cycle_name, today)
    reviewed = _with_retries(review_status)(cycle_name, today)
    collected = {**collected, "review_queue": reviewed["queue_size"], "returned": reviewed["returned"]}
    mail = Mail()
    _send(["receipt:", "returned:"], today, mail)
    flow_reports.publish_replies(cycle_name, collected["replied"])
    flow_reports.publish_events(reviewed["events"])
    create_markdown_artifact(
        key="collect-replies-summary",
        markdown=flow_reports.collect_markdown(cycle_name, collected),
    )
    return _settled("collect-replies", ["receipt:", "returned:"], mail, collected)


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
        report_url=lambda path: bootstrap.report_link(cycle_name, path),
    )
    return {
        "closed_now": report.closed_now,
        "collect": flow_reports.collect_summary(report.collect),
        "report_paths": {fmt: str(path) for fmt, path in report.report_paths.items()},
        "report_links": {
            fmt: bootstrap.report_link(cycle_name, path) for fmt, path in report.report_paths.items()
        },
        "figures": [[label, value] for label, value in headline(report.figures)],
        "summary_enqueued": report.summary_enqueued,
    }


@flow(name="close-stocktake-cycle", flow_run_name=_run_name("close", "cycle_name"))
def close_stocktake_cycle(
    cycle_name: str, formats: list[str] | None = None, today: date | None = None
) -> dict[str, Any]:
    """Close a cycle: collect, write the stock-take report, send the cycle summary, link the report."""
    closed = _with_retries(close)(cycle_name, formats, today)
    mail, prefixes = Mail(), ["receipt:", "returned:", "cycle-summary:"]
    _send(prefixes, today, mail)
    flow_reports.publish_replies(cycle_name, closed["collect"]["replied"])
    # Answers returned since the last collect are announced before the cycle's story ends.
    flow_reports.publish_events(_with_retries(review_status)(cycle_name, today)["events"])
    # The portal serves the reports to the secretariat (with its token): a link any browser opens.
    for fmt, link in closed["report_links"].items():
        create_link_artifact(
            key=f"stock-take-{fmt}",
            link=link,
            link_text=f"Stock-take of {cycle_name} ({fmt})",
            description=f"The stock-take report of {cycle_name}, {fmt} (the portal asks for the "
            "secretariat token)",
        )
    figures = "\n".join(f"| {label} | {value} |" for label, value in closed["figures"])
    create_markdown_artifact(
        key="stock-take-figures",
        markdown=f"# Stock-take of {cycle_name}\n\n| Figure | Value |\n|---|---|\n{figures}\n",
        description=f"The figures of the stock-take of {cycle_name}, as its report states them",
    )
    return _settled("close-stocktake-cycle", prefixes, mail, closed)

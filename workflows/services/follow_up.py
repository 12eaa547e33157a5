"""The daily follow-up: remind, escalate, mark requests and milestones overdue, note replies received.

Safe to run any number of times a day: messages carry idempotency keys and state moves happen once.
What it finds is returned as plain facts; `workflows.flows` turns them into Prefect events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from domain.errors import ValidationError
from domain.lifecycle import LATE_REQUEST_STATES, OPEN_REQUEST_STATES, CycleState, RequestState
from domain.model import Agency, ContactRole, Milestone, StatusRequest, StockTakeCycle
from domain.policies import request_overdue
from domain.ports import Clock, Notifier, UnitOfWork
from workflows.config import SYSTEM, CycleConfig
from workflows.queries.emails import agency_context, bodies_of, status_request_key
from workflows.services.launch import enqueue_status_requests

NAMED_IN_A_LIST = 20  # a log line naming 300 agencies is read by nobody


@dataclass(frozen=True)
class OverdueAgency:
    """One line of the operators' `overdue-agencies` table: an agency late in a cycle, or on milestones."""

    agency: str
    cycle: str  # "" for an agency late on milestones only
    request_state: str  # overdue or escalated; "" for milestones only
    items_overdue: int  # the late request's items still unanswered
    milestones_overdue: int
    last_reminder: date | None
    escalated_on: date | None

    def as_dict(self) -> dict[str, str | int]:
        """The row as the table artifact shows it."""
        return {
            "agency": self.agency,
            "cycle": self.cycle,
            "request state": self.request_state,
            "items overdue": self.items_overdue,
            "milestones overdue": self.milestones_overdue,
            "last reminder": self.last_reminder.isoformat() if self.last_reminder else "",
            "escalated on": self.escalated_on.isoformat() if self.escalated_on else "",
        }


@dataclass(frozen=True)
class LateRequest:
    """A request that became overdue in this run, with the codes of the items still unanswered."""

    cycle: str
    agency: str
    deadline: date
    items: list[str]


@dataclass(frozen=True)
class LateMilestone:
    """A milestone that became overdue in this run, and who owns it."""

    code: str
    owner: str
    title: str
    due_date: date


@dataclass
class FollowUpReport:
    """What a daily follow-up did and found."""

    today: date
    cycles: list[str] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)
    newly_overdue_requests: list[str] = field(default_factory=list)
    replies_received: list[str] = field(default_factory=list)
    overdue_agencies: list[OverdueAgency] = field(default_factory=list)
    late_requests: list[LateRequest] = field(default_factory=list)
    escalated_requests: list[LateRequest] = field(default_factory=list)
    late_milestones: list[LateMilestone] = field(default_factory=list)

    @property
    def newly_overdue_milestones(self) -> int:
        """How many milestones became overdue in this run."""
        return len(self.late_milestones)

    def lines(self) -> list[str]:
        """What the run did, one line per kind, naming the agencies (cycle: agencies)."""
        late_milestones = [f"{m.owner} {m.code}" for m in self.late_milestones]
        overdue = [f"{a.cycle or 'milestones'}:{a.agency}" for a in self.overdue_agencies]
        return [
            f"Open cycles: {', '.join(self.cycles) or 'none'}",
            f"Reminders queued: {_named(self.reminders, key_of_agency=2)}",
            f"Escalations queued: {_named(self.escalations, key_of_agency=2)}",
            f"Requests newly overdue: {_named(self.newly_overdue_requests)}",
            f"Milestones newly overdue: {len(late_milestones)}"
            + (f" ({_first_names(late_milestones)})" if late_milestones else ""),
            f"Replies received: {_named(self.replies_received)}",
            f"Agencies overdue: {_named(overdue)}",
        ]

    def summary_markdown(self) -> str:
        """A short markdown summary for the Prefect UI."""
        lines = [f"# Daily follow-up, {self.today.isoformat()}", ""] + [f"- {line}" for line in self.lines()]
        return "\n".join(lines) + "\n"


def _named(keys: Sequence[str], *, key_of_agency: int | None = None) -> str:
    """`3 (Spring 2027: FAO, WHO)` from `cycle:agency` keys; `2 (FAO, WHO)` from outbox keys."""
    if not keys:
        return "0"
    groups: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        if key_of_agency is None:
            group, _, agency = key.rpartition(":")  # agency codes never hold a colon
        else:
            group, agency = "", key.split(":")[key_of_agency]
        groups[group].append(agency)
    distinct = {group: sorted(set(agencies)) for group, agencies in groups.items()}
    named = "; ".join(
        f"{group}: {_first_names(agencies)}" if group else _first_names(agencies)
        for group, agencies in distinct.items()
    )
    # Two open cycles remind an agency twice: the count says so, beside names counted once.
    agencies = sum(map(len, distinct.values()))
    counted = str(len(keys)) if agencies == len(keys) else f"{len(keys)} for {agencies} agencies"
    return f"{counted} ({named})"


def _first_names(names: Sequence[str]) -> str:
    """`FAO, WHO`; past `NAMED_IN_A_LIST` names, the first ones and how many other names."""
    if len(names) <= NAMED_IN_A_LIST:
        return ", ".join(names)
    return f"{', '.join(names[:NAMED_IN_A_LIST])} and {len(names) - NAMED_IN_A_LIST} more"


def follow_up(
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    *,
    cycle_name: str | None = None,
) -> FollowUpReport:
    """Remind, escalate and mark overdue for `clock.today()`, in every open cycle (or the one named).

    Safe to run any number of times a day: messages carry idempotency keys and state moves happen once.
    """
    report = FollowUpReport(today=clock.today())
    with uow:
        if cycle_name:
            cycle = uow.cycles.require(cycle_name)
            if cycle.state != CycleState.OPEN:
                raise ValidationError(
                    "cycle", f"'{cycle_name}' is {cycle.state}: only open cycles are followed up"
                )
            cycles = [cycle]
        else:
            cycles = [c for c in uow.cycles.list() if c.state == CycleState.OPEN]
        for cycle in cycles:
            _follow_up_cycle(uow, notifier, clock, config, cycle, report)
        launches = [c.launched_at.date() for c in cycles if c.launched_at is not None]
        _mark_overdue_milestones(uow, clock, report, min(launches, default=None))
        uow.commit()
    return report


def _follow_up_cycle(
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    cycle: StockTakeCycle,
    report: FollowUpReport,
) -> None:
    assert cycle.id is not None
    today, now = clock.today(), clock.now()
    # Two follow-ups of one cycle at once (two workers), or one beside an extension or a cancellation:
    # the second waits here for the first to commit, then sees its deadline, state, moves and queued
    # messages (row locks on PostgreSQL; SQLite has one writer). The cycle first, then its requests.
    uow.cycles.lock(cycle)
    if cycle.state != CycleState.OPEN:
        return  # cancelled (or closed) meanwhile
    report.cycles.append(cycle.name)
    locked = uow.requests.locked_for_cycle(cycle.id)
    schedule = config.schedule
    for code in _replies_received(uow, cycle, now):
        report.replies_received.append(f"{cycle.name}:{code}")
    answered = uow.cycle_items.answered_per_agency(cycle.id)
    requests = [r for r in locked if r.state in OPEN_REQUEST_STATES]
    escalated_now: set[str] = set()
    bodies = bodies_of(uow.agencies, requests)
    moves, extended_on = uow.cycles.deadline_moves(cycle)
    reminded = _reminders_already_queued(uow, cycle.id, moves)
    for request in requests:
        # A body answering through another (the GMG through its chair): its chair is reminded, escalated to.
        agency, through = bodies[request.agency_code]
        answering = through or agency
        context = _request_context(cycle, config, request, agency, through, answered, today, moves)
        # A request answered through its link before the send was confirmed may lack a send time.
        sent = (request.sent_at or cycle.launched_at or now).date()
        point = schedule.reminder_due(
            deadline=cycle.deadline,
            # The notice of an extended deadline is as good as a request sent that day: only the new
            # deadline's reminder points after it count (one the next morning would repeat it).
            sent_on=max(sent, extended_on) if extended_on else sent,
            today=today,
            already_sent=reminded.get(agency.code, ()),
        )
        if point is not None:
            key = _reminder_key(cycle.id, agency.code, point, moves)
            if _send(notifier, "reminder", key, answering.recipients(), context, cycle, agency):
                report.reminders.append(key)
        if request.state == RequestState.SENT and request_overdue(
            deadline=cycle.deadline, today=today, answered=False
        ):
            request.transition(RequestState.OVERDUE, at=now, by=SYSTEM, why=f"no reply by {cycle.deadline}")
            report.newly_overdue_requests.append(f"{cycle.name}:{agency.code}")
        if request.state == RequestState.OVERDUE and schedule.escalation_due(
            deadline=cycle.deadline, today=today
        ):
            key = _escalation_key(cycle.id, agency.code, moves)
            escalation = {
                **context,
                # Heads of office may read another language than the focal points reminders go to.
                **agency_context(cycle, config, agency, through, language=answering.escalation_language),
                "days_overdue": (today - cycle.deadline).days,
                "focal_points": answering.emails(ContactRole.FOCAL_POINT),
            }
            heads = answering.escalation_recipients()
            if _send(
                notifier,
                "escalation",
                key,
                heads,
                escalation,
                cycle,
                agency,
                cc=[config.secretariat_email, *answering.escalation_copies()],
            ):
                report.escalations.append(key)
            request.transition(
                RequestState.ESCALATED,
                at=now,
                by=SYSTEM,
                why=f"escalated {schedule.escalation_days} days late",
            )
            request.escalated_at = now
            escalated_now.add(agency.code)
    late = [r for r in requests if r.state in LATE_REQUEST_STATES]
    still_missing = uow.cycle_items.unanswered_codes(cycle.id, [r.agency_code for r in late])
    reminded_on = uow.outbox.last_reminders(cycle.id)
    for request in late:
        code = request.agency_code
        items = still_missing.get(code, [])
        report.overdue_agencies.append(
            OverdueAgency(
                agency=code,
                cycle=cycle.name,
                request_state=str(request.state),
                items_overdue=len(items),
                milestones_overdue=0,  # counted once per agency, after every cycle (see follow_up)
                last_reminder=reminded_on[code].date() if code in reminded_on else None,
                escalated_on=request.escalated_at.date() if request.escalated_at else None,
            )
        )
        if f"{cycle.name}:{code}" in report.newly_overdue_requests:
            report.late_requests.append(LateRequest(cycle.name, code, cycle.deadline, items))
        if code in escalated_now:
            report.escalated_requests.append(LateRequest(cycle.name, code, cycle.deadline, items))


def _send(
    notifier: Notifier,
    kind: str,
    key: str,
    to: Sequence[str],
    context: Mapping[str, Any],
    cycle: StockTakeCycle,
    agency: Agency,
    cc: Sequence[str] = (),
) -> bool:
    return notifier.enqueue(
        kind, key=key, to=to, context=context, cc=cc, cycle_id=cycle.id, agency_code=agency.code
    )


def _request_context(
    cycle: StockTakeCycle,
    config: CycleConfig,
    request: StatusRequest,
    agency: Agency,
    through: Agency | None,
    answered: Mapping[str, int],
    today: date,
    moves: int,
) -> dict[str, Any]:
    """What a reminder or a deadline notice says of an agency's request: link, counts, days left."""
    assert cycle.id is not None
    return {
        **agency_context(cycle, config, agency, through),
        "reply_url": config.reply_url(cycle.id, agency.code, request.token_nonce),
        "unanswered_count": request.item_count - answered.get(agency.code, 0),
        "item_count": request.item_count,
        "days_left": (cycle.deadline - today).days,
        "deadline_moves": moves,
    }


# An extended deadline is a new deadline: its reminder points and its escalation are new messages
# (their keys name how often the deadline moved), which the first deadline's keys would suppress.
def _reminder_key(cycle_id: int, agency_code: str, point: int, moves: int) -> str:
    """The outbox key of the reminder `point` days before the deadline after `moves` extensions."""
    key = f"reminder:{cycle_id}:{agency_code}:{point}"
    return f"{key}:{moves}" if moves else key


def _escalation_key(cycle_id: int, agency_code: str, moves: int) -> str:
    """The outbox key of the escalation past the deadline after `moves` extensions."""
    key = f"escalation:{cycle_id}:{agency_code}"
    return f"{key}:{moves}" if moves else key


def _reminders_already_queued(uow: UnitOfWork, cycle_id: int, moves: int) -> dict[str, set[int]]:
    """Reminder points already queued per agency for the current deadline, read back from the outbox keys."""
    points: dict[str, set[int]] = defaultdict(set)
    for key in uow.outbox.queued_keys(f"reminder:{cycle_id}:"):
        _, _, agency_code, days, *moved = key.split(":")
        if int(moved[0] if moved else 0) == moves:
            points[agency_code].add(int(days))
    return points


# The messages that name a deadline and are sent before or after it: voided by a later deadline.
_OF_A_DEADLINE = ("reminder", "escalation", "deadline-extended")


@dataclass(frozen=True)
class DeadlineExtended:
    """What extending a cycle's deadline did."""

    cycle: str
    before: date
    deadline: date
    # The outbox keys of what was queued for the agencies yet to answer: a notice, or the request
    # itself written again with the new date where its e-mail had not left.
    notices: list[str]
    on_time_again: list[str]  # the agencies whose late request is no longer late


def extend_deadline(
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    cycle_name: str,
    to: date,
    *,
    by: str,
    why: str = "",
) -> DeadlineExtended:
    """Extend an open cycle's reply deadline and tell every agency yet to answer (its calendar entry moves).

    Late requests are on time again; reminders and the escalation follow the new deadline.
    """
    today, now = clock.today(), clock.now()
    with uow:
        cycle = uow.cycles.require(cycle_name)
        assert cycle.id is not None
        # Locked as the follow-up locks them (the cycle, then its requests): a follow-up running
        # meanwhile finishes first, or waits and then sees the new deadline.
        uow.cycles.lock(cycle)
        requests = uow.requests.locked_for_cycle(cycle.id)
        # Read before the move: the history stores the new deadline when this transaction commits.
        moves = uow.cycles.deadline_moves(cycle).times + 1
        before = cycle.extend_deadline(to, today=today, at=now, by=by, why=why)
        # What was queued for the old deadline (a reminder, an escalation, an earlier notice) is void.
        uow.outbox.withdraw(cycle.id, kinds=_OF_A_DEADLINE)
        open_requests = [r for r in requests if r.state not in (RequestState.ANSWERED, RequestState.CLOSED)]
        # A revoked link waits for `cycle reissue`, which sends the request with the new date.
        live = [r for r in open_requests if r.token_revoked_at is None]
        # Every request e-mail that has not left (queued, or refused by the mail server) was written
        # with the old date and is withdrawn: the current link's goes again with the new date and the
        # same link; a superseded or revoked link's goes no more. A request whose e-mail left, is
        # leaving or may have arrived (delivery unknown) is told, as the others are.
        withdrawn = uow.outbox.withdraw_unsent(cycle.id, "status-request")
        gone = withdrawn | {key.rpartition(":")[0] for key in withdrawn}  # with or without `:<moves>`
        written_again = [r for r in live if status_request_key(r) in gone]
        enqueue_status_requests(uow, notifier, cycle, config, written_again, moves=moves)
        notices = [status_request_key(r, moves) for r in written_again]
        waiting = [r for r in live if r not in written_again]
        bodies = bodies_of(uow.agencies, waiting)
        answered = uow.cycle_items.answered_per_agency(cycle.id)
        for request in waiting:
            agency, through = bodies[request.agency_code]
            context = {
                **_request_context(cycle, config, request, agency, through, answered, today, moves),
                "previous_deadline": before,
            }
            key = f"deadline-extended:{cycle.id}:{agency.code}:{moves}"
            # An agency whose every item is in (its request not yet marked answered) owes nothing.
            recipients = (through or agency).recipients()
            if context["unanswered_count"] > 0 and _send(
                notifier, "deadline-extended", key, recipients, context, cycle, agency
            ):
                notices.append(key)
        on_time = [r.agency_code for r in open_requests if r.on_time_again(to, at=now, by=by)]
        uow.commit()
    return DeadlineExtended(cycle_name, before, to, notices, on_time)


def _replies_received(uow: UnitOfWork, cycle: StockTakeCycle, now: datetime) -> list[str]:
    """Mark complete replies answered; the agencies with a reply version not announced yet (now marked)."""
    sync_answered(uow, cycle, now)
    return announce_replies(uow, cycle)


def announce_replies(uow: UnitOfWork, cycle: StockTakeCycle) -> list[str]:
    """The agencies whose reply has a version not announced yet, marked announced (the caller commits).

    Each version is announced once whichever run sees it first, however long ago it was given.
    """
    assert cycle.id is not None
    fresh = {
        code: version
        for code, (version, announced) in uow.requests.reply_versions(cycle.id).items()
        if version != announced
    }
    for code, version in fresh.items():
        uow.requests.mark_reply_announced(cycle.id, code, version)
    return sorted(fresh)


def sync_answered(uow: UnitOfWork, cycle: StockTakeCycle, now: datetime) -> list[str]:
    """Mark ANSWERED the open requests whose agency has answered every item; returns those agencies."""
    assert cycle.id is not None
    # A request's items are counted once, at launch (`item_count`): no scan of the cycle's parts here.
    answered = uow.cycle_items.answered_per_agency(cycle.id)
    newly = []
    for request in uow.requests.for_cycle(cycle.id):
        complete = answered.get(request.agency_code, 0) >= request.item_count
        if not complete or request.state not in OPEN_REQUEST_STATES:
            continue
        request.transition(RequestState.ANSWERED, at=now, by=SYSTEM, why="every item answered")
        request.answered_at = request.answered_at or now
        newly.append(request.agency_code)
    return sorted(newly)


def _mark_overdue_milestones(
    uow: UnitOfWork, clock: Clock, report: FollowUpReport, checked_since: date | None
) -> None:
    """Planned milestones past their due date become OVERDUE (by their lifecycle); list every overdue one.

    Only those that fell due since `checked_since` (the earliest open cycle's launch) are news: one
    due before the cycle began is overdue, but was never a milestone this follow-up saw fall due.
    """
    today, now = clock.today(), clock.now()
    moved = []
    for due in uow.milestones.planned_due_before(today):
        move = Milestone.overdue_move(
            due.recommendation_id, due.title, due.due_date, today, at=now, by=SYSTEM
        )
        if move is not None:
            uow.record(move)
            moved.append(due)
    uow.milestones.mark_overdue([due.id for due in moved])
    newly = {due.id for due in moved if checked_since is None or due.due_date >= checked_since}
    per_owner: dict[str, int] = defaultdict(int)
    for line in uow.milestones.overdue():
        owner = line.owner or "(no owner)"
        per_owner[owner] += 1
        if line.id in newly:
            report.late_milestones.append(LateMilestone(line.code, owner, line.title, line.due_date))
    # Each agency's overdue milestones on its first line; an agency late on milestones only gets its own.
    rows = report.overdue_agencies
    for owner, count in sorted(per_owner.items()):
        first = next((i for i, row in enumerate(rows) if row.agency == owner), None)
        if first is None:
            rows.append(OverdueAgency(owner, "", "", 0, count, None, None))
        else:
            rows[first] = replace(rows[first], milestones_overdue=count)

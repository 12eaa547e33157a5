"""Stock-take cycles as use cases: launch, daily follow-up, collect, close, and who answered what.

No Prefect here: flows call these functions. Every function takes a unit of work, the ports it
needs (notifier, clock) and a `CycleConfig`, and reads its inputs from the database in bulk (a
10,000-item cycle is a handful of queries, never one per item). Every message goes through the
notifier with an idempotency key, so running any of these twice sends nothing twice.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, Select, and_, case, func, insert, literal, select, update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.errors import DomainError, ValidationError
from domain.lifecycle import CycleState, MilestoneState, RequestState, ReviewState, Transition
from domain.model import Agency, ContactRole, StatusRequest, StockTakeCycle
from domain.policies import FollowUpSchedule, request_overdue
from domain.ports import Clock, Notifier
from domain.tokens import hash_token, new_nonce

STRATEGIC_TITLE = "Strategic recommendations"
# Answers the secretariat has in hand (a returned answer is back with the agency).
ANSWERED_STATES = (ReviewState.SUBMITTED.value, ReviewState.ACCEPTED.value)
OPEN_REQUEST_STATES = (RequestState.SENT.value, RequestState.OVERDUE.value, RequestState.ESCALATED.value)
SYSTEM = "follow-up"
REPLY_FILE_SUFFIXES = (".xlsx", ".csv")
_MAX_LISTED = 40


@dataclass(frozen=True)
class CycleConfig:
    """What the cycle use cases take from configuration: links, schedule, the secretariat's address."""

    secretariat_email: str
    reply_token: Callable[[int, str, str], str]
    reply_url: Callable[[int, str, str], str]
    schedule: FollowUpSchedule = field(default_factory=FollowUpSchedule)
    # Items on one reply page: a longer request is answered in parts, and its e-mail lists codes only
    # (200 full texts made a 340 KB e-mail that nobody reads through, while the reply page shows them).
    part_size: int = 40


@dataclass(frozen=True)
class LaunchResult:
    """What launching did: the cycle, the agencies asked, the messages newly queued."""

    cycle_id: int
    cycle_name: str
    created: bool
    agencies: list[str]
    item_count: int
    enqueued: int


@dataclass(frozen=True)
class OverdueRow:
    """One line of the operators' `overdue-items` table."""

    item: str
    owner: str
    what: str
    since: date

    def as_dict(self) -> dict[str, str]:
        """The row as the table artifact shows it."""
        return {"item": self.item, "owner": self.owner, "what": self.what, "since": self.since.isoformat()}


@dataclass(frozen=True)
class FollowUpEvent:
    """A Prefect event to emit (plain data: the flow emits it, the use case only decides it)."""

    event: str
    resource: dict[str, str]
    related: list[dict[str, str]]
    payload: dict[str, Any]


@dataclass
class FollowUpReport:
    """What a daily follow-up did and found."""

    today: date
    cycles: list[str] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)
    newly_overdue_requests: list[str] = field(default_factory=list)
    newly_overdue_milestones: int = 0
    replies_received: list[str] = field(default_factory=list)
    overdue: list[OverdueRow] = field(default_factory=list)
    events: list[FollowUpEvent] = field(default_factory=list)

    def summary_markdown(self) -> str:
        """A short markdown summary for the Prefect UI."""
        lines = [
            f"# Daily follow-up, {self.today.isoformat()}",
            "",
            f"- Open cycles: {', '.join(self.cycles) or 'none'}",
            f"- Reminders queued: {len(self.reminders)}",
            f"- Escalations queued: {len(self.escalations)}",
            f"- Requests newly overdue: {len(self.newly_overdue_requests)}",
            f"- Milestones newly overdue: {self.newly_overdue_milestones}",
            f"- Replies received: {len(self.replies_received)}",
            f"- Overdue items in total: {len(self.overdue)}",
        ]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class FileOutcome:
    """One spreadsheet taken from the inbox: where it went, and why when it was rejected."""

    name: str
    accepted: bool
    moved_to: Path
    error: str = ""
    agency_code: str | None = None


@dataclass(frozen=True)
class AgencyProgress:
    """One agency's line in a cycle: items requested, answered, overdue."""

    code: str
    name: str
    state: str
    requested: int
    answered: int
    overdue: int
    sent_at: datetime | None
    answered_at: datetime | None

    @property
    def missing(self) -> int:
        """Items the agency has not answered yet."""
        return self.requested - self.answered


@dataclass(frozen=True)
class CycleOverview:
    """A cycle and, per agency, requested / answered / overdue."""

    name: str
    hlcp_session: str | None
    deadline: date
    state: str
    agencies: list[AgencyProgress]

    @property
    def requested(self) -> int:
        """Items requested across agencies (an item with two owners counts twice)."""
        return sum(a.requested for a in self.agencies)

    @property
    def answered(self) -> int:
        """Items answered across agencies."""
        return sum(a.answered for a in self.agencies)

    @property
    def overdue(self) -> int:
        """Items overdue across agencies."""
        return sum(a.overdue for a in self.agencies)


@dataclass(frozen=True)
class CollectReport:
    """What collecting did: files taken in or rejected, replies newly complete, what is missing."""

    cycle_name: str
    files: list[FileOutcome]
    newly_answered: list[str]
    missing: list[AgencyProgress]


@dataclass(frozen=True)
class CloseReport:
    """What closing did: collection, reports written, the summary queued."""

    cycle_name: str
    closed_now: bool
    collect: CollectReport
    report_paths: dict[str, Path]
    summary_enqueued: bool


# --- launch -------------------------------------------------------------------------------------


def launch_cycle(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    *,
    name: str,
    deadline: date,
    hlcp_session: str | None = None,
    allow_unowned: bool = False,
    by: str = "secretariat",
) -> LaunchResult:
    """Open a cycle: snapshot items and owners, one request per agency, one queued message each.

    Launching a cycle that already exists (same name and deadline) only queues what is not queued yet.
    """
    name = name.strip()
    with uow:
        cycle = _check_launch(uow, clock.today(), name, deadline, allow_unowned)
        created = cycle is None
        if cycle is None:
            cycle = _open_new_cycle(uow, clock, config, name, deadline, hlcp_session, by)
        assert cycle.id is not None
        enqueued = _enqueue_status_requests(uow, notifier, cycle, config)
        counts = _item_counts(uow, cycle.id)
        uow.commit()
    return LaunchResult(cycle.id, cycle.name, created, sorted(counts), sum(counts.values()), enqueued)


def mark_requests_sent(uow: SqlUnitOfWork, clock: Clock, cycle_id: int | None = None) -> list[str]:
    """Move to SENT the pending requests (of one cycle, or of every open one) whose message has left."""
    ob, sr, c = tables.outbox, tables.status_requests, tables.cycles
    with uow:
        sent_at = {
            (row.cycle_id, row.agency_code): row.sent_at
            for row in uow.session.execute(
                select(ob.c.cycle_id, ob.c.agency_code, func.max(ob.c.sent_at).label("sent_at"))
                .join(sr, and_(sr.c.cycle_id == ob.c.cycle_id, sr.c.agency_code == ob.c.agency_code))
                .join(c, c.c.id == sr.c.cycle_id)
                .where(
                    ob.c.kind == "status-request",
                    ob.c.sent_at.is_not(None),
                    sr.c.state == RequestState.PENDING.value,
                    c.c.state == CycleState.OPEN.value,
                    *([sr.c.cycle_id == cycle_id] if cycle_id is not None else []),
                )
                .group_by(ob.c.cycle_id, ob.c.agency_code)
            )
        }
        moved = []
        for cycle_of in sorted({cycle for cycle, _ in sent_at}):
            for request in _locked_requests(uow, cycle_of):
                key = (cycle_of, request.agency_code)
                # Re-checked under the lock: a concurrent run may have moved it meanwhile.
                if key in sent_at and request.state == RequestState.PENDING:
                    request.transition(
                        RequestState.SENT, at=clock.now(), by=SYSTEM, why="status request sent"
                    )
                    request.sent_at = sent_at[key]
                    moved.append(request.agency_code)
        uow.commit()
    return moved


def _locked_requests(uow: SqlUnitOfWork, cycle_id: int) -> list[StatusRequest]:
    """The cycle's requests, locked for this transaction and refreshed from the database."""
    sr = tables.status_requests
    query = (
        select(StatusRequest)
        .where(sr.c.cycle_id == cycle_id)
        .order_by(sr.c.agency_code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(uow.session.scalars(query))


def make_queued_messages_due(uow: SqlUnitOfWork, clock: Clock, key_prefixes: Sequence[str]) -> int:
    """Make this run's queued messages due now, cutting the outbox's own backoff short.

    Used when Prefect retries a sending task: its retry delay already was the wait.
    """
    ob = tables.outbox
    with uow:
        count = 0
        for prefix in key_prefixes:
            result = uow.session.execute(
                update(ob)
                .where(ob.c.state == "queued", ob.c.idempotency_key.startswith(prefix, autoescape=True))
                .values(next_attempt_at=clock.now())
            )
            count += result.rowcount  # type: ignore[attr-defined]
        uow.commit()
    return count


def validate_launch(
    uow: SqlUnitOfWork, clock: Clock, *, name: str, deadline: date, allow_unowned: bool = False
) -> bool:
    """Check a launch before starting it (cheap, no Prefect); True when the cycle already exists."""
    with uow:
        return _check_launch(uow, clock.today(), name.strip(), deadline, allow_unowned) is not None


def _check_launch(
    uow: SqlUnitOfWork, today: date, name: str, deadline: date, allow_unowned: bool
) -> StockTakeCycle | None:
    """The existing cycle of that name (a re-run), or None after checking a new one may open."""
    if not name:
        raise ValidationError("name", "a cycle needs a name")
    existing = uow.cycles.get(name)
    if existing is not None:
        if existing.deadline != deadline:
            raise ValidationError(
                "name",
                f"a cycle named '{name}' already exists with deadline {existing.deadline.isoformat()}; "
                "choose another name",
            )
        if existing.state != CycleState.OPEN:
            raise ValidationError("name", f"a cycle named '{name}' already exists and is {existing.state}")
        return existing
    if deadline < today:
        raise ValidationError(
            "deadline", f"{deadline.isoformat()} is in the past (today is {today.isoformat()})"
        )
    if not allow_unowned:
        _refuse_ownerless_items(uow)
    r, o = tables.recommendations, tables.ownerships
    owners = list(
        uow.session.scalars(
            select(o.c.agency_code)
            .join(r, r.c.id == o.c.recommendation_id)
            .where(r.c.state == "active")
            .distinct()
        )
    )
    if not owners:
        raise ValidationError("catalogue", "no active recommendation has an owner: there is nothing to ask")
    _refuse_agencies_without_contacts(uow, owners)
    return None


def _open_new_cycle(
    uow: SqlUnitOfWork,
    clock: Clock,
    config: CycleConfig,
    name: str,
    deadline: date,
    hlcp_session: str | None,
    by: str,
) -> StockTakeCycle:
    now = clock.now()
    cycle = StockTakeCycle(name=name, deadline=deadline, hlcp_session=hlcp_session, created_at=now)
    uow.cycles.add(cycle)
    cycle.transition(CycleState.OPEN, at=now, by=by, why="cycle launched", deadline=deadline.isoformat())
    cycle.launched_at = now
    uow.session.flush()
    assert cycle.id is not None
    counts = _snapshot_items(uow, cycle.id)
    for agency_code, item_count in sorted(counts.items()):
        nonce = new_nonce()
        uow.requests.add(
            StatusRequest(
                cycle_id=cycle.id,
                agency_code=agency_code,
                item_count=item_count,
                token_nonce=nonce,
                token_hash=hash_token(config.reply_token(cycle.id, agency_code, nonce)),
            )
        )
    return cycle


def _refuse_ownerless_items(uow: SqlUnitOfWork) -> None:
    r, o = tables.recommendations, tables.ownerships
    owned = select(o.c.id).where(o.c.recommendation_id == r.c.id).exists()
    codes = list(
        uow.session.scalars(
            select(r.c.code).where(r.c.state == "active", ~owned).order_by(r.c.source, r.c.position)
        )
    )
    if codes:
        raise ValidationError(
            "owners",
            f"{len(codes)} active recommendation(s) have no owner: {_listing(codes)}. "
            "Assign owners first (`followup owners suggest --apply`, or `followup owners apply FILE.yaml`), "
            "or launch with --allow-unowned",
        )


def _refuse_agencies_without_contacts(uow: SqlUnitOfWork, agencies: Iterable[str]) -> None:
    reachable = set(uow.session.scalars(select(tables.contacts.c.agency_code).distinct()))
    unreachable = sorted(set(agencies) - reachable)
    if unreachable:
        raise ValidationError(
            "contacts", f"owning agencies without any contact: {_listing(unreachable)}; add a focal point"
        )


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown if len(items) <= _MAX_LISTED else f"{shown} and {len(items) - _MAX_LISTED} more"


def _snapshot_items(uow: SqlUnitOfWork, cycle_id: int) -> dict[str, int]:
    """Copy the active items' owners into the cycle with one INSERT ... SELECT; items per agency."""
    r, o = tables.recommendations, tables.ownerships
    owners_of_active_items = (
        select(literal(cycle_id, Integer), o.c.recommendation_id, o.c.agency_code, o.c.role)
        .join(r, r.c.id == o.c.recommendation_id)
        .where(r.c.state == "active")
    )
    uow.session.execute(
        insert(tables.cycle_items).from_select(
            ["cycle_id", "recommendation_id", "agency_code", "role"], owners_of_active_items
        )
    )
    return _item_counts(uow, cycle_id)


def _item_counts(uow: SqlUnitOfWork, cycle_id: int) -> dict[str, int]:
    ci = tables.cycle_items
    query = select(ci.c.agency_code, func.count()).where(ci.c.cycle_id == cycle_id).group_by(ci.c.agency_code)
    return dict(uow.session.execute(query).all())


def status_request_key(request: StatusRequest) -> str:
    return f"status-request:{request.cycle_id}:{request.agency_code}:{request.token_nonce[:8]}"


def _queued_keys(uow: SqlUnitOfWork, prefix: str) -> set[str]:
    ob = tables.outbox
    return set(
        uow.session.scalars(select(ob.c.idempotency_key).where(ob.c.idempotency_key.startswith(prefix)))
    )


def _enqueue_status_requests(
    uow: SqlUnitOfWork, notifier: Notifier, cycle: StockTakeCycle, config: CycleConfig
) -> int:
    assert cycle.id is not None
    queued = _queued_keys(uow, f"status-request:{cycle.id}:")
    todo = [
        r
        for r in uow.requests.for_cycle(cycle.id)
        if r.state == RequestState.PENDING and status_request_key(r) not in queued
    ]
    if not todo:
        return 0
    agencies = _agencies(uow, [r.agency_code for r in todo])
    items = items_by_point(
        uow,
        cycle,
        [r.agency_code for r in todo],
        codes_only=[r.agency_code for r in todo if r.item_count > config.part_size],
    )
    enqueued = 0
    for request in todo:
        agency = agencies[request.agency_code]
        enqueued += notifier.enqueue(
            "status-request",
            key=status_request_key(request),
            to=agency.emails(ContactRole.FOCAL_POINT) or agency.emails(ContactRole.HEAD_OF_OFFICE),
            context=status_request_context(cycle, config, agency, request, items.get(agency.code, [])),
            cycle_id=cycle.id,
            agency_code=agency.code,
        )
    return enqueued


def _agencies(uow: SqlUnitOfWork, codes: Iterable[str]) -> dict[str, Agency]:
    wanted = set(codes)
    return {a.code: a for a in uow.session.scalars(select(Agency).where(tables.agencies.c.code.in_(wanted)))}


def _common_context(cycle: StockTakeCycle, config: CycleConfig) -> dict[str, Any]:
    return {
        "cycle": {"name": cycle.name, "hlcp_session": cycle.hlcp_session, "deadline": cycle.deadline},
        "secretariat_email": config.secretariat_email,
    }


def agency_context(cycle: StockTakeCycle, config: CycleConfig, agency: Agency) -> dict[str, Any]:
    return {**_common_context(cycle, config), "agency": {"code": agency.code, "name": agency.name}}


def status_request_context(
    cycle: StockTakeCycle,
    config: CycleConfig,
    agency: Agency,
    request: StatusRequest,
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    """What the status-request e-mail shows: the link, and the items (codes only if in parts)."""
    assert cycle.id is not None
    return {
        **agency_context(cycle, config, agency),
        "reply_url": config.reply_url(cycle.id, agency.code, request.token_nonce),
        "item_count": request.item_count,
        "in_parts": request.item_count > config.part_size,
        "items_by_point": items,
    }


def previous_cycle_id(uow: SqlUnitOfWork, cycle: StockTakeCycle) -> int | None:
    c = tables.cycles
    return uow.session.scalar(
        select(c.c.id)
        .where(
            c.c.id != cycle.id, c.c.created_at <= cycle.created_at, c.c.state != CycleState.CANCELLED.value
        )
        .order_by(c.c.created_at.desc(), c.c.id.desc())
        .limit(1)
    )


def items_by_point(
    uow: SqlUnitOfWork,
    cycle: StockTakeCycle,
    agency_codes: Sequence[str],
    *,
    codes_only: Iterable[str] = (),
) -> dict[str, list[dict[str, Any]]]:
    """Each agency's items grouped by agenda point, with what it said last cycle.

    Agencies in `codes_only` get their items' codes and roles without texts or last answers: their
    e-mail lists codes only, and 20,000 texts are most of a large launch's reading.
    """
    ci, r, su = tables.cycle_items, tables.recommendations, tables.status_updates
    brief = set(codes_only)
    full = [code for code in agency_codes if code not in brief]
    previous = previous_cycle_id(uow, cycle)
    last = and_(
        su.c.cycle_id == previous,
        su.c.recommendation_id == ci.c.recommendation_id,
        su.c.agency_code == ci.c.agency_code,
        su.c.state != ReviewState.DRAFT.value,
    )
    layout = (ci.c.agency_code, ci.c.role, r.c.code, r.c.agenda_point, r.c.agenda_title)
    details = (r.c.text, su.c.reported_status, su.c.narrative)
    rows = [
        *uow.session.execute(
            select(*layout, *details)
            .join(r, r.c.id == ci.c.recommendation_id)
            .outerjoin(su, last)
            .where(ci.c.cycle_id == cycle.id, ci.c.agency_code.in_(full))
            .order_by(ci.c.agency_code, r.c.source, r.c.position)
        ),
        *uow.session.execute(
            select(*layout, *(literal(None).label(c.name) for c in details))
            .join(r, r.c.id == ci.c.recommendation_id)
            .where(ci.c.cycle_id == cycle.id, ci.c.agency_code.in_([c for c in agency_codes if c in brief]))
            .order_by(ci.c.agency_code, r.c.source, r.c.position)
        ),
    ]
    points: dict[str, dict[int | None, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        point = points[row.agency_code].setdefault(
            row.agenda_point,
            {
                "agenda_point": row.agenda_point,
                "agenda_title": row.agenda_title or STRATEGIC_TITLE,
                "items": [],
            },
        )
        point["items"].append(
            {
                "code": row.code,
                "text": row.text or "",
                "role": row.role,
                "last_status": row.reported_status,
                "last_narrative": row.narrative or "",
            }
        )
    return {code: list(by_point.values()) for code, by_point in points.items()}


# --- progress: who answered what ----------------------------------------------------------------


def _answered_per(column: Any) -> Select[Any]:
    """Count requested items that were answered (submitted or accepted), grouped by `column`."""
    ci, su = tables.cycle_items, tables.status_updates
    answered = and_(
        su.c.cycle_id == ci.c.cycle_id,
        su.c.recommendation_id == ci.c.recommendation_id,
        su.c.agency_code == ci.c.agency_code,
        su.c.state.in_(ANSWERED_STATES),
    )
    return select(column, func.count()).select_from(ci.join(su, answered)).group_by(column)


def _answered_counts(uow: SqlUnitOfWork, cycle_id: int) -> dict[str, int]:
    """Per agency, the requested items it has answered (submitted or accepted)."""
    ci = tables.cycle_items
    return dict(uow.session.execute(_answered_per(ci.c.agency_code).where(ci.c.cycle_id == cycle_id)).all())


def _progress(uow: SqlUnitOfWork, cycle: StockTakeCycle, today: date) -> list[AgencyProgress]:
    assert cycle.id is not None
    sr, a = tables.status_requests, tables.agencies
    requested = _item_counts(uow, cycle.id)
    answered = _answered_counts(uow, cycle.id)
    rows = uow.session.execute(
        select(sr.c.agency_code, a.c.name, sr.c.state, sr.c.sent_at, sr.c.answered_at)
        .join(a, a.c.code == sr.c.agency_code)
        .where(sr.c.cycle_id == cycle.id)
        .order_by(sr.c.agency_code)
    ).all()
    progress = []
    for row in rows:
        asked, done = requested.get(row.agency_code, 0), answered.get(row.agency_code, 0)
        late = cycle.state == CycleState.OPEN and request_overdue(
            deadline=cycle.deadline, today=today, answered=done >= asked
        )
        progress.append(
            AgencyProgress(
                row.agency_code,
                row.name,
                row.state,
                asked,
                done,
                asked - done if late else 0,
                row.sent_at,
                row.answered_at,
            )
        )
    return progress


def _sync_answered(uow: SqlUnitOfWork, cycle: StockTakeCycle, now: datetime) -> list[str]:
    """Mark ANSWERED the open requests whose agency has answered every item; returns those agencies."""
    assert cycle.id is not None
    requested = _item_counts(uow, cycle.id)
    answered = _answered_counts(uow, cycle.id)
    complete = [code for code, asked in requested.items() if answered.get(code, 0) >= asked]
    if not complete:
        return []
    sr = tables.status_requests
    newly = []
    for request in uow.session.scalars(
        select(StatusRequest).where(
            sr.c.cycle_id == cycle.id, sr.c.state.in_(OPEN_REQUEST_STATES), sr.c.agency_code.in_(complete)
        )
    ):
        request.transition(RequestState.ANSWERED, at=now, by=SYSTEM, why="every item answered")
        request.answered_at = request.answered_at or now
        newly.append(request.agency_code)
    return sorted(newly)


def cycle_overview(uow: SqlUnitOfWork, name: str, today: date) -> CycleOverview:
    """A cycle's state and, per agency, requested / answered / overdue items (a few bulk queries)."""
    with uow:
        cycle = uow.cycles.require(name)
        return CycleOverview(
            cycle.name, cycle.hlcp_session, cycle.deadline, cycle.state, _progress(uow, cycle, today)
        )


@dataclass(frozen=True)
class CycleLine:
    """One cycle in the list: totals only."""

    name: str
    hlcp_session: str | None
    deadline: date
    state: str
    agencies: int
    requested: int
    answered: int
    agencies_answered: int


def list_cycles(uow: SqlUnitOfWork) -> list[CycleLine]:
    """Every cycle, oldest first, with its totals (three grouped queries whatever the size)."""
    c, ci, sr = tables.cycles, tables.cycle_items, tables.status_requests
    with uow:
        requested: dict[int, int] = dict(
            uow.session.execute(select(ci.c.cycle_id, func.count()).group_by(ci.c.cycle_id)).all()
        )
        answered: dict[int, int] = dict(uow.session.execute(_answered_per(ci.c.cycle_id)).all())
        agencies = {
            row.cycle_id: (row.total, row.done or 0)
            for row in uow.session.execute(
                select(
                    sr.c.cycle_id,
                    func.count().label("total"),
                    func.sum(case((sr.c.answered_at.is_not(None), 1), else_=0)).label("done"),
                ).group_by(sr.c.cycle_id)
            )
        }
        cycles = uow.session.execute(
            select(c.c.id, c.c.name, c.c.hlcp_session, c.c.deadline, c.c.state).order_by(
                c.c.created_at, c.c.id
            )
        ).all()
        return [
            CycleLine(
                row.name,
                row.hlcp_session,
                row.deadline,
                row.state,
                agencies.get(row.id, (0, 0))[0],
                requested.get(row.id, 0),
                answered.get(row.id, 0),
                agencies.get(row.id, (0, 0))[1],
            )
            for row in cycles
        ]


# --- daily follow-up ----------------------------------------------------------------------------


def follow_up(
    uow: SqlUnitOfWork,
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
        _mark_overdue_milestones(uow, clock, report)
        uow.commit()
    return report


def _follow_up_cycle(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    cycle: StockTakeCycle,
    report: FollowUpReport,
) -> None:
    assert cycle.id is not None
    today, now = clock.today(), clock.now()
    report.cycles.append(cycle.name)
    # Two follow-ups of one cycle at once (two workers): the second waits here for the first to
    # commit, then sees its moves and queued messages (row locks on PostgreSQL; SQLite has one writer).
    locked = _locked_requests(uow, cycle.id)
    schedule = config.schedule
    for code in _replies_received(uow, cycle, now):
        report.replies_received.append(f"{cycle.name}:{code}")
        report.events.append(cycle_event("followup.reply.received", cycle.name, code, [], {}))
    requested, answered = _item_counts(uow, cycle.id), _answered_counts(uow, cycle.id)
    reminded = _reminders_already_queued(uow, cycle.id)
    requests = [r for r in locked if r.state in OPEN_REQUEST_STATES]
    agencies = _agencies(uow, [r.agency_code for r in requests])
    for request in requests:
        agency = agencies[request.agency_code]
        unanswered = requested.get(agency.code, 0) - answered.get(agency.code, 0)
        context = {
            **agency_context(cycle, config, agency),
            "reply_url": config.reply_url(cycle.id, agency.code, request.token_nonce),
            "unanswered_count": unanswered,
            "item_count": request.item_count,
        }
        # A request answered through its link before the send was confirmed may lack a send time.
        sent = request.sent_at or cycle.launched_at or now
        point = schedule.reminder_due(
            deadline=cycle.deadline,
            sent_on=sent.date(),
            today=today,
            already_sent=reminded.get(agency.code, ()),
        )
        if point is not None:
            key = f"reminder:{cycle.id}:{agency.code}:{point}"
            reminder = {**context, "days_left": (cycle.deadline - today).days}
            if _send(notifier, "reminder", key, _focal_points(agency), reminder, cycle, agency):
                report.reminders.append(key)
        if request.state == RequestState.SENT and request_overdue(
            deadline=cycle.deadline, today=today, answered=False
        ):
            request.transition(RequestState.OVERDUE, at=now, by=SYSTEM, why=f"no reply by {cycle.deadline}")
            report.newly_overdue_requests.append(f"{cycle.name}:{agency.code}")
        if request.state == RequestState.OVERDUE and schedule.escalation_due(
            deadline=cycle.deadline, today=today
        ):
            key = f"escalation:{cycle.id}:{agency.code}"
            escalation = {
                **context,
                "days_overdue": (today - cycle.deadline).days,
                "focal_points": agency.emails(ContactRole.FOCAL_POINT),
            }
            heads = agency.emails(ContactRole.HEAD_OF_OFFICE) or _focal_points(agency)
            if _send(
                notifier, "escalation", key, heads, escalation, cycle, agency, cc=[config.secretariat_email]
            ):
                report.escalations.append(key)
            request.transition(
                RequestState.ESCALATED,
                at=now,
                by=SYSTEM,
                why=f"escalated {schedule.escalation_days} days late",
            )
            request.escalated_at = now
    late = [r.agency_code for r in requests if r.state in (RequestState.OVERDUE, RequestState.ESCALATED)]
    unanswered_items = _unanswered_items(uow, cycle.id, late)
    for code in late:
        items = unanswered_items.get(code, [])
        report.overdue.extend(
            OverdueRow(item, code, f"status update ({cycle.name})", cycle.deadline) for item in items
        )
        if f"{cycle.name}:{code}" in report.newly_overdue_requests:
            payload = {"deadline": cycle.deadline.isoformat(), "unanswered": len(items)}
            report.events.append(cycle_event("followup.request.overdue", cycle.name, code, items, payload))


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


def _focal_points(agency: Agency) -> list[str]:
    return agency.emails(ContactRole.FOCAL_POINT) or agency.emails(ContactRole.HEAD_OF_OFFICE)


def _reminders_already_queued(uow: SqlUnitOfWork, cycle_id: int) -> dict[str, set[int]]:
    """Reminder points already queued per agency, read back from the outbox keys."""
    points: dict[str, set[int]] = defaultdict(set)
    for key in _queued_keys(uow, f"reminder:{cycle_id}:"):
        _, _, agency_code, days = key.split(":")
        points[agency_code].add(int(days))
    return points


def _replies_received(uow: SqlUnitOfWork, cycle: StockTakeCycle, now: datetime) -> list[str]:
    """Agencies whose reply became complete now, or was marked answered (by the portal) in the last day."""
    sr = tables.status_requests
    newly = set(_sync_answered(uow, cycle, now))
    recent = uow.session.scalars(
        select(sr.c.agency_code).where(
            sr.c.cycle_id == cycle.id, sr.c.answered_at > now - timedelta(days=1), sr.c.answered_at <= now
        )
    )
    return sorted(newly | set(recent))


def _unanswered_items(uow: SqlUnitOfWork, cycle_id: int, agency_codes: Sequence[str]) -> dict[str, list[str]]:
    """Per agency, the codes of the items it has not answered yet (one query)."""
    if not agency_codes:
        return {}
    ci, r, su = tables.cycle_items, tables.recommendations, tables.status_updates
    rows = uow.session.execute(
        select(ci.c.agency_code, r.c.code)
        .join(r, r.c.id == ci.c.recommendation_id)
        .outerjoin(
            su,
            and_(
                su.c.cycle_id == ci.c.cycle_id,
                su.c.recommendation_id == ci.c.recommendation_id,
                su.c.agency_code == ci.c.agency_code,
                su.c.state.in_(ANSWERED_STATES),
            ),
        )
        .where(ci.c.cycle_id == cycle_id, ci.c.agency_code.in_(list(agency_codes)), su.c.id.is_(None))
        .order_by(ci.c.agency_code, r.c.source, r.c.position)
    ).all()
    items: dict[str, list[str]] = defaultdict(list)
    for agency_code, code in rows:
        items[agency_code].append(code)
    return items


def _mark_overdue_milestones(uow: SqlUnitOfWork, clock: Clock, report: FollowUpReport) -> None:
    """Planned milestones past their due date become OVERDUE (one UPDATE); list every overdue one."""
    m, r, o = tables.milestones, tables.recommendations, tables.ownerships
    today, now = clock.today(), clock.now()
    due = uow.session.execute(
        select(m.c.id, m.c.recommendation_id, m.c.title, m.c.due_date).where(
            m.c.state == MilestoneState.PLANNED.value, m.c.due_date < today
        )
    ).all()
    for chunk in _chunks([row.id for row in due], 500):
        uow.session.execute(update(m).where(m.c.id.in_(chunk)).values(state=MilestoneState.OVERDUE.value))
    for row in due:
        uow.record(
            Transition(
                "milestone",
                f"{row.recommendation_id}:{row.title}",
                MilestoneState.PLANNED.value,
                MilestoneState.OVERDUE.value,
                now,
                SYSTEM,
                f"due {row.due_date.isoformat()}",
            )
        )
    newly = {row.id for row in due}
    report.newly_overdue_milestones = len(newly)
    lead = (
        select(o.c.agency_code)
        .where(o.c.recommendation_id == m.c.recommendation_id, o.c.role == "lead")
        .limit(1)
        .scalar_subquery()
    )
    overdue = uow.session.execute(
        select(m.c.id, r.c.code, m.c.title, m.c.due_date, func.coalesce(m.c.agency_code, lead).label("owner"))
        .join(r, r.c.id == m.c.recommendation_id)
        .where(m.c.state == MilestoneState.OVERDUE.value)
        .order_by(m.c.due_date, r.c.code)
    ).all()
    for line in overdue:
        owner = line.owner or "(no owner)"
        report.overdue.append(OverdueRow(line.code, owner, f"milestone: {line.title}", line.due_date))
        if line.id in newly:
            report.events.append(
                FollowUpEvent(
                    "followup.milestone.overdue",
                    {
                        "prefect.resource.id": f"followup.recommendation.{line.code}",
                        "prefect.resource.name": line.code,
                    },
                    [_resource("agency", owner), _resource("recommendation", line.code)],
                    {"milestone": line.title, "due_date": line.due_date.isoformat()},
                )
            )


def _chunks(values: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    return (values[i : i + size] for i in range(0, len(values), size))


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


# --- collect and close --------------------------------------------------------------------------


def collect_replies(
    new_uow: Callable[[], SqlUnitOfWork],
    new_notifier: Callable[[SqlUnitOfWork], Notifier],
    clock: Clock,
    *,
    cycle_name: str,
    inbox_dir: Path,
) -> CollectReport:
    """Take in the spreadsheets dropped in the inbox, count portal replies, and report what is missing.

    Each file is imported in its own transaction, then moved to `processed/`, or to `rejected/`
    beside a `.errors.txt` that lists every problem found in it.
    """
    with new_uow() as uow:
        uow.cycles.require(cycle_name)
    spreadsheets = sorted(p for p in inbox_dir.glob("*") if p.suffix.lower() in REPLY_FILE_SUFFIXES)
    files = [_take_in(new_uow, new_notifier, clock, path) for path in spreadsheets]
    with new_uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        newly = _sync_answered(uow, cycle, clock.now()) if cycle.state == CycleState.OPEN else []
        missing = [p for p in _progress(uow, cycle, clock.today()) if p.missing]
        uow.commit()
    return CollectReport(cycle_name, files, newly, missing)


def _take_in(
    new_uow: Callable[[], SqlUnitOfWork],
    new_notifier: Callable[[SqlUnitOfWork], Notifier],
    clock: Clock,
    path: Path,
) -> FileOutcome:
    # Imported here: the spreadsheet machinery (openpyxl) is only needed when there is a file to read.
    from workflows.services.spreadsheets import import_reply_file

    uow = new_uow()
    try:
        imported = import_reply_file(uow, new_notifier(uow), clock, path)
    except DomainError as exc:
        moved = _move(path, path.parent / "rejected")
        moved.with_name(moved.name + ".errors.txt").write_text(f"{exc}\n", encoding="utf-8")
        return FileOutcome(path.name, False, moved, str(exc))
    moved = _move(path, path.parent / "processed")
    return FileOutcome(path.name, True, moved, agency_code=imported.agency_code)


def _move(path: Path, folder: Path) -> Path:
    """Move a file into `folder`, never overwriting an earlier file of the same name."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    return Path(shutil.move(str(path), target))


def close_cycle(
    new_uow: Callable[[], SqlUnitOfWork],
    new_notifier: Callable[[SqlUnitOfWork], Notifier],
    clock: Clock,
    config: CycleConfig,
    *,
    cycle_name: str,
    inbox_dir: Path,
    reports_dir: Path,
    formats: Sequence[str],
    report_url: Callable[[Path], str] = lambda path: path.resolve().as_uri(),
    by: str = "secretariat",
) -> CloseReport:
    """Collect, close the cycle and its requests, write the stock-take, queue the cycle summary.

    Closing a closed cycle again rewrites the reports and queues nothing new.
    """
    collected = collect_replies(new_uow, new_notifier, clock, cycle_name=cycle_name, inbox_dir=inbox_dir)
    now = clock.now()
    with new_uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        closed_now = cycle.state == CycleState.OPEN
        if not closed_now and cycle.state != CycleState.CLOSED:
            raise ValidationError(
                "cycle", f"'{cycle_name}' is {cycle.state}: only an open cycle can be closed"
            )
        progress = _progress(uow, cycle, clock.today())
        if closed_now:
            cycle.transition(CycleState.CLOSED, at=now, by=by, why="cycle closed")
            cycle.closed_at = now
            for request in uow.requests.for_cycle(cycle.id or 0):
                if request.state != RequestState.CLOSED:
                    request.transition(RequestState.CLOSED, at=now, by=by, why="cycle closed")
        uow.commit()
    paths = _write_reports(new_uow(), cycle_name, formats=formats, out_dir=reports_dir, clock=clock)
    with new_uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        context = _summary_context(cycle, config, progress, paths, report_url)
        notifier = new_notifier(uow)
        enqueued = notifier.enqueue(
            "cycle-summary",
            key=f"cycle-summary:{cycle.id}",
            to=[config.secretariat_email],
            context=context,
            cycle_id=cycle.id,
        )
        uow.commit()
    return CloseReport(cycle_name, closed_now, collected, paths, enqueued)


def _write_reports(
    uow: SqlUnitOfWork, cycle_name: str, *, formats: Sequence[str], out_dir: Path, clock: Clock
) -> dict[str, Path]:
    # Imported here: report rendering (python-docx, matplotlib) is only loaded by the close.
    from workflows.services.stocktake import write_reports

    return write_reports(uow, cycle_name, formats=formats, out_dir=out_dir, clock=clock)


def _summary_context(
    cycle: StockTakeCycle,
    config: CycleConfig,
    progress: Sequence[AgencyProgress],
    paths: Mapping[str, Path],
    report_url: Callable[[Path], str],
) -> dict[str, Any]:
    answered = [p for p in progress if p.requested and p.missing == 0]
    late = [p for p in progress if p.missing]
    first_report = next(iter(paths.values()), None)
    return {
        **_common_context(cycle, config),
        "requested": len(progress),
        "answered": len(answered),
        "response_rate": round(len(answered) / len(progress), 2) if progress else 0.0,
        "overdue_agencies": [{"code": p.code, "name": p.name} for p in late],
        "overdue_items": sum(p.missing for p in late),
        "report_paths": [str(path) for path in paths.values()],
        "report_url": report_url(first_report) if first_report else None,
    }

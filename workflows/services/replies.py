"""Agency replies: open a request by its secure link, show its items, save drafts, submit answers.

The portal and the spreadsheet import both go through `record_answers`, so the same validation,
the same optimistic concurrency (each item carries the version it was loaded with) and the same
history apply whatever the channel. The rules themselves (parsing, validation, locks, what a save
does with each item) are in `domain.answers`.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select
from sqlalchemy import update as sql_update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.answers import (
    AnswerProblem,
    AnswerView,
    Conflict,
    InvalidAnswers,
    RawAnswer,
    judge_answer,
    lock_reason,
    raw_of,
    stored_answer,
)
from domain.errors import InvalidTransition, NotFound, ValidationError
from domain.lifecycle import CycleState, MilestoneState, ReviewState
from domain.model import (
    Answer,
    Channel,
    Milestone,
    StatusRequest,
    StatusUpdate,
    StockTakeCycle,
    agenda_heading,
)
from domain.ports import Clock, Notifier
from domain.tokens import hash_token, new_nonce
from workflows.config import CycleConfig
from workflows.queries.emails import (
    agency_context,
    items_by_point,
    previous_cycle_id,
    status_request_context,
    status_request_key,
)

# One message for every link that does not open a request: unknown, expired, revoked or cancelled
# look the same from outside, so a guesser learns nothing.
UNKNOWN_LINK = "this reply link is not valid"


class NoSuchPart(NotFound):
    """A part number the reply page does not have (the link itself may be fine)."""


@dataclass(frozen=True)
class MilestoneView:
    """A milestone of an item with its due date and whether it is overdue today."""

    title: str
    due_date: date
    state: str
    overdue: bool


@dataclass(frozen=True)
class VersionView:
    """One stored version of an item's answer (every save is kept)."""

    version: int
    status: str
    narrative: str
    state: str
    at: datetime
    channel: str


@dataclass(frozen=True)
class ReplyItem:
    """One recommendation of the request, with what was said last cycle and what is stored now."""

    recommendation_id: int
    code: str
    text: str
    role: str
    milestones: tuple[MilestoneView, ...]
    previous: AnswerView | None
    previous_cycle: str | None
    current: AnswerView | None
    state: str | None
    version: int
    reviewer_question: str
    lock_reason: str
    versions: tuple[VersionView, ...]

    @property
    def editable(self) -> bool:
        """Whether the agency may still change this item."""
        return not self.lock_reason

    @property
    def prefill(self) -> AnswerView | None:
        """What the form starts with: the stored answer, else last cycle's status and narrative."""
        return self.current or self.previous


@dataclass(frozen=True)
class AgendaGroup:
    """Items under one agenda point (or the strategic recommendations)."""

    title: str
    items: tuple[ReplyItem, ...]


@dataclass(frozen=True)
class PartView:
    """One part of a long request's page, as its navigation lists it."""

    number: int
    title: str
    item_count: int
    saved_count: int


@dataclass(frozen=True)
class ReturnedItem:
    """An item the secretariat returned with a question, and the part of the page that holds it."""

    code: str
    recommendation_id: int
    part: int


@dataclass(frozen=True)
class ReplyPage:
    """Everything the reply page shows for one agency's request (or for one part of a long one)."""

    cycle_name: str
    hlcp_session: str | None
    deadline: date
    agency_code: str
    agency_name: str
    request_state: str
    answered_at: datetime | None
    past_deadline: bool
    cycle_open: bool
    secretariat_email: str
    groups: tuple[AgendaGroup, ...]
    item_count: int
    part: int = 1
    parts: tuple[PartView, ...] = ()
    part_of: dict[int, int] = field(default_factory=dict)
    returned: tuple[ReturnedItem, ...] = ()

    @property
    def items(self) -> list[ReplyItem]:
        """The items shown, in page order."""
        return [item for group in self.groups for item in group.items]

    @property
    def next_part(self) -> int | None:
        """The number of the part after this one, if any."""
        return self.part + 1 if self.part < len(self.parts) else None

    @property
    def any_editable(self) -> bool:
        """Whether the page has anything left to answer or correct."""
        return any(item.editable for item in self.items)


@dataclass(frozen=True)
class SaveResult:
    """What a save or submission did."""

    saved: tuple[str, ...]
    conflicts: tuple[Conflict, ...]
    submitted: bool
    answered_at: datetime | None
    recorded: tuple[dict[str, str], ...] = field(default_factory=tuple)


def open_request(
    uow: SqlUnitOfWork,
    clock: Clock,
    config: CycleConfig,
    token: str,
    *,
    grace_days: int,
    part: int | None = None,
    part_size: int | None = None,
) -> ReplyPage:
    """The reply page of the request the token opens (one part of it if given), or NotFound.

    With a `part_size`, a request of more items is cut into parts (see `plan_parts`); without, it is
    one page.
    """
    with uow:
        request, cycle = _request_for_token(uow, clock, token, grace_days)
        return _page(uow, clock, config, request, cycle, part, part_size)


def plan_parts(items: dict[int, dict[str, Any]], part_size: int | None) -> list[tuple[str, list[int]]]:
    """Split a long request into parts by agenda point, none over `part_size` items; a short one is one part.

    A 200-item page is heavy on a phone and slow to render; a part per agenda point is what a focal
    point works through anyway. An agenda point larger than a part is cut into near-equal pieces.
    """
    if part_size is None or len(items) <= part_size:
        return [("", list(items))]
    groups: dict[str, list[int]] = {}
    for rid, row in items.items():
        groups.setdefault(group_title(row), []).append(rid)
    parts: list[tuple[str, list[int]]] = []
    for title, rids in groups.items():
        pieces = -(-len(rids) // part_size)
        size = -(-len(rids) // pieces)
        for n in range(pieces):
            suffix = f" ({n + 1} of {pieces})" if pieces > 1 else ""
            parts.append((title + suffix, rids[n * size : (n + 1) * size]))
    return parts


def _stamped(*leading: Any) -> Select[Any]:
    """`leading` columns, then a request's stamp columns, over live links (any cycle state)."""
    sr, cy, ag, hc = tables.status_requests, tables.cycles, tables.agencies, tables.history_counts
    return (
        select(
            *leading,
            sr.c.id,
            sr.c.state,
            sr.c.answered_at,
            cy.c.state,
            cy.c.name,
            cy.c.hlcp_session,
            cy.c.deadline,
            ag.c.name,
            # How many shared history entries there are, and how many of this agency's: every
            # answer saved or reviewed records one, while another agency's leave this stamp alone.
            select(hc.c.entries).where(hc.c.scope == tables.SHARED_SCOPE).scalar_subquery(),
            select(hc.c.entries).where(hc.c.scope == sr.c.agency_code).scalar_subquery(),
        )
        .join(cy, cy.c.id == sr.c.cycle_id)
        .join(ag, ag.c.code == sr.c.agency_code)
        .where(sr.c.token_revoked_at.is_(None))
    )


@functools.cache
def _stamp_query() -> Select[Any]:
    """The stamp's statement, built on first use: building it costs more than running it."""
    return _stamped().where(tables.status_requests.c.token_hash == bindparam("token_hash"))


def page_stamp(
    connect: Callable[[], AbstractContextManager[Connection]], clock: Clock, token: str
) -> tuple[Any, ...] | None:
    """A fingerprint of everything the reply page of `token` shows, in one query; None unless it is open.

    It changes with the date (overdue marks, the deadline), the request and cycle rows, the agency's
    name, any shared history entry (texts, milestones, owners and cycles all record one) and any
    entry of this agency's (every answer version, review, reminder and re-issued link records one).
    None means: not an open cycle's live link; the caller then takes `open_request`, which says why.
    Read it *before* the page, so a write in between can only make the stored page newer than its
    stamp, never older. It runs on a plain connection (`connect`, e.g. an engine's): no session to
    build, since it is read on every view.
    """
    if not token or len(token) > 200:
        return None
    with connect() as connection:
        row = connection.execute(_stamp_query(), {"token_hash": hash_token(token)}).first()
    if row is None or row[3] != CycleState.OPEN.value:
        return None
    return (clock.today(), *row)


@dataclass(frozen=True)
class OpenLink:
    """A live link of an open cycle, as the portal's warmer renders its pages ahead of the agency."""

    cycle_id: int
    agency_code: str
    token: str
    stamp: tuple[Any, ...]


def open_links(
    connect: Callable[[], AbstractContextManager[Connection]], clock: Clock, config: CycleConfig
) -> list[OpenLink]:
    """Every live link of every open cycle with its page stamp (the one `page_stamp` gives), in one query."""
    sr, cy = tables.status_requests, tables.cycles
    query = _stamped(sr.c.cycle_id, sr.c.agency_code, sr.c.token_nonce).where(
        cy.c.state == CycleState.OPEN.value
    )
    today = clock.today()
    with connect() as connection:
        rows = connection.execute(query.order_by(sr.c.id)).all()
    return [
        OpenLink(cycle_id, agency, config.reply_token(cycle_id, agency, nonce), (today, *stamp))
        for cycle_id, agency, nonce, *stamp in rows
    ]


def part_count(uow: SqlUnitOfWork, cycle_id: int, agency_code: str, part_size: int | None) -> int:
    """How many parts the agency's reply page has in this cycle (its items, grouped as they stand now)."""
    with uow:
        return len(plan_parts(request_items(uow, cycle_id, agency_code, with_text=False), part_size))


def save_reply(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    token: str,
    answers: Sequence[RawAnswer],
    *,
    submit: bool,
    grace_days: int,
    keep_prefilled: bool = False,
) -> SaveResult:
    """Save the portal's answers as a draft, or submit them; conflicting items are left alone."""
    with uow:
        request, cycle = _request_for_token(uow, clock, token, grace_days)
        result = record_answers(
            uow,
            notifier,
            clock,
            config,
            request,
            cycle,
            answers,
            submit=submit,
            channel=Channel.PORTAL,
            keep_prefilled=keep_prefilled,
        )
        uow.commit()
        return result


def record_answers(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    request: StatusRequest,
    cycle: StockTakeCycle,
    answers: Sequence[RawAnswer],
    *,
    submit: bool,
    channel: Channel,
    keep_prefilled: bool = False,
    partial: bool = False,
) -> SaveResult:
    """Validate every answer (raising InvalidAnswers with all problems), then store the unconflicted ones.

    Runs inside the caller's unit of work; the caller commits. A submission moves the request to
    answered (first time) and queues a receipt. Last cycle's answer, pre-filled and left as it was,
    is not a draft unless `keep_prefilled` (a part of a long page saved: the agency has seen it).
    A `partial` submission submits the items answered and leaves the others alone (not answered yet);
    the request is answered once every item is.
    """
    if cycle.state != CycleState.OPEN:
        raise ValidationError("request", "the cycle is closed: answers can no longer be changed")
    # One save of a request at a time: a second browser tab saving meanwhile waits, then sees this
    # save's versions and gets a conflict, not a duplicate row or a lost update. A write that changes
    # nothing locks the row on PostgreSQL and takes SQLite's write lock before anything is read.
    sr = tables.status_requests
    uow.session.execute(sql_update(sr).where(sr.c.id == request.id).values(state=sr.c.state))
    uow.session.refresh(request)
    now, today = clock.now(), clock.today()
    # Codes are all a save needs: no texts read on every submission.
    items = request_items(uow, cycle.id or 0, request.agency_code, with_text=False)
    previous = previous_answers(uow, cycle, request.agency_code)
    updates = {u.recommendation_id: u for u in uow.updates.for_request(cycle.id or 0, request.agency_code)}
    given = {a.recommendation_id: a for a in answers if a.recommendation_id in items}
    by = f"{request.agency_code} focal point"

    problems: list[AnswerProblem] = []
    to_apply: list[tuple[StatusUpdate | None, Answer, bool, int]] = []
    conflicts: list[Conflict] = []
    for rid, item in items.items():
        update = updates.get(rid)
        verdict = judge_answer(
            given.get(rid) or (raw_of(update) if update and submit and not partial else None),
            code=item["code"],
            recommendation_id=rid,
            update=update,
            previous=previous[rid][0] if rid in previous else None,
            lock=lock_reason(cycle, request, update, today),
            submit=submit,
            keep_prefilled=keep_prefilled,
            partial=partial,
        )
        problems.extend(verdict.problems)
        if verdict.conflict is not None:
            conflicts.append(verdict.conflict)
        if verdict.answer is not None:
            to_apply.append((update, verdict.answer, verdict.submits, rid))
    # Milestones move when an answer is submitted (a draft may still change its mind); a report the
    # milestone refuses is a problem like any other, and the caller's transaction keeps nothing.
    submitted = [
        (answer, rid) for _, answer, item_submits, rid in to_apply if item_submits and answer.milestones
    ]
    problems.extend(
        _move_milestones(
            uow, submitted, {rid: items[rid]["code"] for _, rid in submitted}, request, today, now, by
        )
    )
    if problems:
        raise InvalidAnswers(problems)

    saved = []
    for update, answer, item_submits, rid in to_apply:
        if update is None:
            update = StatusUpdate(
                cycle_id=cycle.id or 0, recommendation_id=rid, agency_code=request.agency_code
            )
            uow.updates.add(update)
            updates[rid] = update
        update.apply(answer, at=now, by=by, channel=channel, submit=item_submits)
        saved.append(items[rid]["code"])

    recorded: tuple[dict[str, str], ...] = ()
    every_item = all(rid in updates and updates[rid].state != ReviewState.DRAFT for rid in items)
    if submit and (every_item or not partial):
        request.mark_answered(at=now, by=by, channel=channel)
    if submit:
        uow.session.flush()
        recorded = _recorded(items, updates)
        if saved:
            _queue_receipt(uow, notifier, config, request, cycle, recorded, updates, now)
    return SaveResult(
        saved=tuple(saved),
        conflicts=tuple(conflicts),
        submitted=submit,
        answered_at=request.answered_at,
        recorded=recorded,
    )


def _move_milestones(
    uow: SqlUnitOfWork,
    answers: Sequence[tuple[Answer, int]],
    codes: dict[int, str],
    request: StatusRequest,
    today: date,
    now: datetime,
    by: str,
) -> list[AnswerProblem]:
    """Apply each submitted milestone report to its milestone; the problems of those it refuses."""
    if not answers:
        return []
    ms = tables.milestones
    milestones = {
        m.id: m
        for m in uow.session.scalars(
            select(Milestone).where(ms.c.recommendation_id.in_([rid for _, rid in answers]))
        )
    }
    problems = []
    for answer, rid in answers:
        for report in answer.milestones:
            milestone = milestones.get(report.milestone_id)
            if (
                milestone is None
                or milestone.recommendation_id != rid
                or milestone.agency_code
                not in (
                    None,
                    request.agency_code,
                )
            ):
                problems.append(AnswerProblem(codes[rid], rid, "milestone", "not a milestone of this item"))
                continue
            try:
                milestone.apply_report(report, today=today, at=now, by=by)
            except ValidationError as exc:
                problems.append(AnswerProblem(codes[rid], rid, "milestone", exc.message))
            except InvalidTransition:
                done = "done" if milestone.state == MilestoneState.DONE else "dropped"
                message = (
                    f"'{milestone.title}' is {done} already: it cannot be {report.outcome.label.lower()}"
                )
                problems.append(AnswerProblem(codes[rid], rid, "milestone", message))
    return problems


def reissue_link(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    cycle_name: str,
    agency_code: str,
    by: str,
) -> str:
    """Give an agency a new reply link (the old one stops working) and send it; returns the new link."""
    with uow:
        cycle = uow.cycles.require(cycle_name)
        request = uow.requests.get(cycle.id or 0, agency_code)
        if request is None:
            raise NotFound(f"cycle '{cycle_name}' has no status request for agency '{agency_code}'")
        if cycle.state != CycleState.OPEN:
            raise ValidationError(
                "cycle", f"cycle '{cycle_name}' is {cycle.state}: its links cannot be re-issued"
            )
        nonce = new_nonce()
        token = config.reply_token(cycle.id or 0, agency_code, nonce)
        request.reissue(token_nonce=nonce, token_hash=hash_token(token), at=clock.now(), by=by)
        agency = uow.agencies.require(agency_code)
        brief = [agency_code] if request.item_count > config.part_size else []
        items = items_by_point(uow, cycle, [agency_code], codes_only=brief).get(agency_code, [])
        context = status_request_context(cycle, config, agency, request, items)
        notifier.enqueue(
            "status-request",
            key=status_request_key(request),
            to=agency.recipients(),
            context=context,
            cycle_id=cycle.id,
            agency_code=agency_code,
        )
        uow.commit()
        return str(context["reply_url"])


def _request_for_token(
    uow: SqlUnitOfWork, clock: Clock, token: str, grace_days: int
) -> tuple[StatusRequest, StockTakeCycle]:
    if not token or len(token) > 200:
        raise NotFound(UNKNOWN_LINK)
    request = uow.requests.by_token_hash(hash_token(token))
    if request is None or request.token_revoked_at is not None:
        raise NotFound(UNKNOWN_LINK)
    cycle = uow.session.get(StockTakeCycle, request.cycle_id)
    if cycle is None or cycle.state in (CycleState.DRAFT, CycleState.CANCELLED):
        raise NotFound(UNKNOWN_LINK)
    if cycle.state == CycleState.CLOSED:
        closed_at = _aware(cycle.closed_at) or datetime.combine(cycle.deadline, datetime.min.time(), UTC)
        if clock.now() > closed_at + timedelta(days=grace_days):
            raise NotFound(UNKNOWN_LINK)
    return request, cycle


def request_items(
    uow: SqlUnitOfWork, cycle_id: int, agency_code: str, *, with_text: bool = True
) -> dict[int, dict[str, Any]]:
    """The request's items (cycle snapshot) with their recommendation, in report order."""
    ci, rec = tables.cycle_items, tables.recommendations
    columns = [
        rec.c.id,
        rec.c.code,
        rec.c.kind,
        rec.c.agenda_point,
        rec.c.agenda_title,
        rec.c.theme,
        ci.c.role,
    ]
    rows = uow.session.execute(
        select(*columns, *([rec.c.text] if with_text else []))
        .join(rec, rec.c.id == ci.c.recommendation_id)
        .where(ci.c.cycle_id == cycle_id, ci.c.agency_code == agency_code)
        .order_by(rec.c.source, rec.c.position)
    ).mappings()
    return {row["id"]: dict(row) for row in rows}


def previous_answers(
    uow: SqlUnitOfWork,
    cycle: StockTakeCycle,
    agency_code: str,
    recommendation_ids: Iterable[int] | None = None,
) -> dict[int, tuple[AnswerView, str]]:
    """Per recommendation (all, or those given), what this agency submitted last cycle, and its name."""
    previous = previous_cycle_id(uow, cycle)
    if previous is None:
        return {}
    su, cy = tables.status_updates, tables.cycles
    query = (
        select(su.c.recommendation_id, su.c.reported_status, su.c.narrative, cy.c.name)
        .join(cy, cy.c.id == su.c.cycle_id)
        .where(
            su.c.cycle_id == previous,
            su.c.agency_code == agency_code,
            su.c.state != ReviewState.DRAFT.value,
            su.c.reported_status.is_not(None),
        )
    )
    if recommendation_ids is not None:
        query = query.where(su.c.recommendation_id.in_(list(recommendation_ids)))
    rows = uow.session.execute(query)
    return {rid: (AnswerView(status, narrative), name) for rid, status, narrative, name in rows}


def _texts(uow: SqlUnitOfWork, recommendation_ids: set[int]) -> dict[int, str]:
    rec = tables.recommendations
    rows = uow.session.execute(select(rec.c.id, rec.c.text).where(rec.c.id.in_(recommendation_ids)))
    return {rid: text for rid, text in rows}


def _page(
    uow: SqlUnitOfWork,
    clock: Clock,
    config: CycleConfig,
    request: StatusRequest,
    cycle: StockTakeCycle,
    part: int | None,
    part_size: int | None,
) -> ReplyPage:
    today = clock.today()
    cycle_id = cycle.id or 0
    # The whole request's layout is light (no texts): only the part shown loads its texts and answers.
    items = request_items(uow, cycle_id, request.agency_code, with_text=False)
    parts = plan_parts(items, part_size)
    if part is not None and not 1 <= part <= len(parts):
        raise NoSuchPart(f"this request has no part {part}")
    shown = set(parts[part - 1][1]) if part is not None else set(items)
    part_of = {rid: n for n, (_, rids) in enumerate(parts, start=1) for rid in rids}
    previous = previous_answers(uow, cycle, request.agency_code, shown)
    texts = _texts(uow, shown)
    updates = {
        u.recommendation_id: u
        for u in uow.updates.for_request(cycle_id, request.agency_code, recommendation_ids=shown)
    }
    milestones = _milestones(uow, shown, request.agency_code, today)
    versions = _versions(uow, updates.values())
    answers = _answer_states(uow, cycle_id, request.agency_code)
    # The name only: the agency's contacts (another query) are not on the page.
    agency_name = uow.session.execute(
        select(tables.agencies.c.name).where(tables.agencies.c.code == request.agency_code)
    ).scalar_one()
    groups: dict[str, list[ReplyItem]] = {}
    for rid, row in items.items():
        if rid not in shown:
            continue
        update = updates.get(rid)
        prev = previous.get(rid)
        item = ReplyItem(
            recommendation_id=rid,
            code=row["code"],
            text=texts[rid],
            role=row["role"],
            milestones=tuple(milestones.get(rid, ())),
            previous=prev[0] if prev else None,
            previous_cycle=prev[1] if prev else None,
            current=stored_answer(update) if update and update.reported_status else None,
            state=update.state if update else None,
            version=update.version if update else 0,
            reviewer_question=update.reviewer_question if update else "",
            lock_reason=lock_reason(cycle, request, update, today),
            versions=tuple(versions.get(update.history_key(), ())) if update else (),
        )
        groups.setdefault(group_title(row), []).append(item)
    return ReplyPage(
        cycle_name=cycle.name,
        hlcp_session=cycle.hlcp_session,
        deadline=cycle.deadline,
        agency_code=request.agency_code,
        agency_name=agency_name,
        request_state=request.state,
        answered_at=request.answered_at,
        past_deadline=today > cycle.deadline,
        cycle_open=cycle.state == CycleState.OPEN,
        secretariat_email=config.secretariat_email,
        groups=tuple(AgendaGroup(title, tuple(group)) for title, group in groups.items()),
        item_count=len(items),
        part=part or 1,
        parts=tuple(
            PartView(n, title, len(rids), sum(1 for rid in rids if rid in answers))
            for n, (title, rids) in enumerate(parts, start=1)
        ),
        part_of=part_of,
        returned=tuple(
            ReturnedItem(items[rid]["code"], rid, part_of[rid])
            for rid in items
            if answers.get(rid) == ReviewState.RETURNED
        ),
    )


def _answer_states(uow: SqlUnitOfWork, cycle_id: int, agency_code: str) -> dict[int, str]:
    """The review state of every item this agency has an answer for (draft or later), in one light query."""
    su = tables.status_updates
    rows = uow.session.execute(
        select(su.c.recommendation_id, su.c.state).where(
            su.c.cycle_id == cycle_id, su.c.agency_code == agency_code, su.c.reported_status.is_not(None)
        )
    )
    return {rid: state for rid, state in rows}


def _milestones(
    uow: SqlUnitOfWork, recommendation_ids: set[int], agency_code: str, today: date
) -> dict[int, list[MilestoneView]]:
    ms = tables.milestones
    rows = uow.session.execute(
        select(ms.c.recommendation_id, ms.c.title, ms.c.due_date, ms.c.state)
        .where(
            ms.c.recommendation_id.in_(recommendation_ids),
            (ms.c.agency_code.is_(None)) | (ms.c.agency_code == agency_code),
        )
        .order_by(ms.c.due_date)
    )
    found: dict[int, list[MilestoneView]] = defaultdict(list)
    for rid, title, due, state in rows:
        overdue = state in (MilestoneState.PLANNED, MilestoneState.OVERDUE) and due < today
        found[rid].append(MilestoneView(title, due, state, overdue))
    return found


def _versions(uow: SqlUnitOfWork, updates: Iterable[StatusUpdate]) -> dict[str, list[VersionView]]:
    keys = [u.history_key() for u in updates if u.version]
    if not keys:
        return {}
    h = tables.history
    rows = uow.session.execute(
        select(h.c.key, h.c.to_state, h.c.at, h.c.data)
        .where(h.c.entity == StatusUpdate.ENTITY, h.c.key.in_(keys))
        .order_by(h.c.id)
    )
    found: dict[str, list[VersionView]] = defaultdict(list)
    for key, state, at, data in rows:
        if "version" in data:
            found[key].append(
                VersionView(data["version"], data["status"], data["narrative"], state, at, data["channel"])
            )
    return found


def group_title(row: dict[str, Any]) -> str:
    """The heading an item is listed under (see `agenda_heading`)."""
    return agenda_heading(row["kind"], row["agenda_point"], row["agenda_title"])


def _recorded(
    items: dict[int, dict[str, Any]], updates: dict[int, StatusUpdate]
) -> tuple[dict[str, str], ...]:
    return tuple(
        {
            "code": row["code"],
            "status": updates[rid].reported_status or "",
            "narrative": updates[rid].narrative,
            "no_change": "yes" if updates[rid].no_change else "",
        }
        for rid, row in items.items()
        if rid in updates and updates[rid].state != ReviewState.DRAFT and updates[rid].reported_status
    )


def _queue_receipt(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    config: CycleConfig,
    request: StatusRequest,
    cycle: StockTakeCycle,
    recorded: tuple[dict[str, str], ...],
    updates: dict[int, StatusUpdate],
    now: datetime,
) -> None:
    """Queue the receipt; the key is the set of versions, so a repeated identical submission sends one."""
    agency = uow.agencies.require(request.agency_code)
    through = uow.agencies.require(request.answered_through) if request.answered_through else None
    fingerprint = ",".join(f"{rid}v{u.version}" for rid, u in sorted(updates.items()))
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    context = {
        **agency_context(cycle, config, agency, through),
        "reply_url": config.reply_url(cycle.id or 0, agency.code, request.token_nonce),
        "submitted_at": now,
        "recorded": list(recorded),
    }
    notifier.enqueue(
        "receipt",
        key=f"receipt:{cycle.id}:{agency.code}:{digest}",
        to=(through or agency).recipients(),
        context=context,
        cycle_id=cycle.id,
        agency_code=agency.code,
    )


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)

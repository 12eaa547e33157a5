"""The record as an audience may read it: recommendations with their history, cycles, pages of them.

The rules of what is visible are `domain.publication`'s; here they become SQL. A recommendation's
history takes three queries whatever the number of recommendations asked for; a page of the API
filtered on the latest status streams the parts in id order and applies the same rule as the pages
(`rolled_up_status`), stopping at the page's last match.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, select, true
from sqlalchemy.orm import Session

from db import tables
from db.evidence import answer_of_file, public_answer
from db.reads import closed_query
from db.unit_of_work import SqlUnitOfWork
from domain.dates import utc_day
from domain.errors import NotFound
from domain.figures import headline
from domain.model import OwnerRole
from domain.publication import (
    AnswerRecord,
    Audience,
    ClosedCycle,
    Closure,
    CycleEntry,
    Owner,
    PublicFile,
    PublicRecord,
    RecommendationRecord,
    answer_order,
    rolled_up_status,
    shown_status,
    visible_cycle_states,
    visible_review_states,
)
from workflows.queries.figures import figures_of

EF = tables.evidence_files.c
R, C, ITEM, U, OWN, A = (
    tables.recommendations.c,
    tables.cycles.c,
    tables.cycle_items.c,
    tables.status_updates.c,
    tables.ownerships.c,
    tables.agencies.c,
)


@dataclass(frozen=True)
class RecommendationFilter:
    """The API's filters on recommendations; None leaves a filter out."""

    report: str | None = None
    agenda_point: int | None = None
    owner: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class CycleLine:
    """A cycle an audience may read."""

    id: int
    name: str
    state: str
    hlcp_session: str | None
    deadline: date
    launched_on: date | None
    closed_on: date | None


def _visible_answers(audience: Audience) -> Select[Any]:
    """Every answer the audience may read, with its cycle and its owner's role in that cycle."""
    return (
        select(
            U.recommendation_id,
            U.cycle_id,
            U.agency_code,
            U.state,
            U.reported_status,
            U.assessed_status,
            U.narrative,
            U.evidence,
            U.reviewed_at,
            ITEM.role,
            C.launched_at,
        )
        .join(tables.cycles, C.id == U.cycle_id)
        .join(
            tables.cycle_items,
            and_(
                ITEM.cycle_id == U.cycle_id,
                ITEM.recommendation_id == U.recommendation_id,
                ITEM.agency_code == U.agency_code,
            ),
        )
        .where(U.state.in_(visible_review_states(audience)), C.state.in_(visible_cycle_states(audience)))
    )


def records(
    uow: SqlUnitOfWork, audience: Audience, ids: Sequence[int] | None = None
) -> list[RecommendationRecord]:
    """The recommendations `ids` (all when None) with owners and history, in report order."""
    with uow:
        session = uow.session

        def chosen(column: ColumnElement[int]) -> ColumnElement[bool]:
            # Every recommendation (the published site) needs no list of ids: it could pass SQLite's limit.
            return column.in_(ids) if ids is not None else true()

        recommendations = session.execute(
            select(tables.recommendations).where(chosen(R.id)).order_by(R.source, R.position, R.id)
        ).all()
        names = dict(session.execute(select(A.code, A.name)).all())
        owners: dict[int, list[Owner]] = defaultdict(list)
        for owner in session.execute(
            select(OWN.recommendation_id, OWN.agency_code, OWN.role)
            .where(chosen(OWN.recommendation_id))
            .order_by(OWN.recommendation_id, OWN.role != OwnerRole.LEAD.value, OWN.agency_code)
        ):
            owners[owner.recommendation_id].append(
                Owner(owner.agency_code, names.get(owner.agency_code, ""), owner.role)
            )
        # Each owner of each recommendation in each cycle the audience may read: its parts, whose
        # status is its visible answer's or none.
        owners_in: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
        in_cycles: dict[tuple[int, int], Any] = {}
        for row in session.execute(
            select(ITEM.recommendation_id, ITEM.agency_code, ITEM.role, C.id, C.name, C.state, C.closed_at)
            .join(tables.cycles, C.id == ITEM.cycle_id)
            .where(chosen(ITEM.recommendation_id), C.state.in_(visible_cycle_states(audience)))
            .order_by(ITEM.recommendation_id, C.launched_at, C.id)
        ):
            in_cycles.setdefault((row.recommendation_id, row.id), row)
            owners_in[(row.recommendation_id, row.id)].append((row.role, row.agency_code))
        answers: dict[tuple[int, int], list[Any]] = defaultdict(list)
        for answer in session.execute(_visible_answers(audience).where(chosen(U.recommendation_id))):
            answers[(answer.recommendation_id, answer.cycle_id)].append(answer)
        files = _public_files(session, audience, chosen(EF.recommendation_id))
        closures = _closures(session, ids)
    timelines: dict[int, list[CycleEntry]] = defaultdict(list)
    for key, row in in_cycles.items():
        given = tuple(
            AnswerRecord(
                agency_code=a.agency_code,
                agency_name=names.get(a.agency_code, ""),
                role=a.role,
                review_state=a.state,
                status=shown_status(a.reported_status, a.assessed_status),
                narrative=a.narrative,
                evidence=tuple(a.evidence or ()),
                reviewed_on=utc_day(a.reviewed_at),
                files=tuple(files[(a.recommendation_id, a.cycle_id, a.agency_code)]),
            )
            for a in sorted(answers[key], key=lambda a: answer_order(a.role, a.agency_code))
        )
        timelines[row.recommendation_id].append(
            CycleEntry(
                cycle=row.name,
                cycle_state=row.state,
                closed_on=utc_day(row.closed_at),
                answers=given,
                status=rolled_up_status(_parts(owners_in[key], {a.agency_code: a.status for a in given})),
            )
        )
    return [
        RecommendationRecord(
            id=r.id,
            source=r.source,
            code=r.code,
            kind=r.kind,
            agenda_point=r.agenda_point,
            agenda_title=r.agenda_title,
            text=r.text,
            state=r.state,
            owners=tuple(owners[r.id]),
            timeline=tuple(timelines[r.id]),
            closure=closures.get(r.id),
        )
        for r in recommendations
    ]


def _closures(session: Session, ids: Sequence[int] | None) -> dict[int, Closure]:
    """How, why and when each closed recommendation of `ids` (all when None) was closed: its latest move."""
    wanted, closures = (None if ids is None else set(ids)), {}
    for row in session.execute(closed_query(None)):  # by move: the latest one wins
        if wanted is None or row.id in wanted:
            closures[row.id] = Closure(row.state, row.why, utc_day(row.at))
    return closures


def _parts(
    owners: Sequence[tuple[str, str]], status_of: dict[str, str | None]
) -> list[tuple[str, str | None]]:
    """(role, shown status or None) of each owner, in `answer_order` (lead first)."""
    # An empty status is no answer, as the stock-take reads it.
    return [
        (role, status_of.get(code) or None) for role, code in sorted(owners, key=lambda o: answer_order(*o))
    ]


def _public_files(
    session: Session, audience: Audience, chosen: ColumnElement[bool]
) -> dict[tuple[int, int, str], list[PublicFile]]:
    """The public evidence files of the chosen recommendations' answers by (recommendation, cycle, agency)."""
    rows = session.execute(
        select(tables.evidence_files)
        .join(tables.status_updates, and_(answer_of_file(), public_answer()))
        .join(tables.cycles, C.id == EF.cycle_id)
        .where(chosen, C.state.in_(visible_cycle_states(audience)))
        .order_by(EF.id)
    ).all()
    found: dict[tuple[int, int, str], list[PublicFile]] = defaultdict(list)
    for row in rows:
        found[(row.recommendation_id, row.cycle_id, row.agency_code)].append(
            PublicFile(
                row.id,
                row.recommendation_id,
                row.agency_code,
                row.name,
                row.kind,
                row.size,
                row.sha256,
                storage_key=row.storage_key,
            )
        )
    return found


def record(uow: SqlUnitOfWork, audience: Audience, recommendation_id: int) -> RecommendationRecord:
    """One recommendation with its owners and history; NotFound if there is none with this id."""
    found = records(uow, audience, [recommendation_id])
    if not found:
        raise NotFound(f"no recommendation {recommendation_id}")
    return found[0]


def _with_latest_status(
    session: Session, audience: Audience, candidates: Select[Any], status: str, wanted: int
) -> list[int]:
    """The first `wanted` of the `candidates` (recommendation ids) whose status at the latest cycle
    that reported on them, as `records` gives it (`rolled_up_status`), is `status`; by id.

    The parts are streamed in id order and the rule applied here, as for every other view of the
    record, so that the filter cannot disagree with the pages; it stops at the `wanted`-th match.
    """
    visible = and_(
        U.cycle_id == ITEM.cycle_id,
        U.recommendation_id == ITEM.recommendation_id,
        U.agency_code == ITEM.agency_code,
        U.state.in_(visible_review_states(audience)),
    )
    result = session.execute(
        select(
            ITEM.recommendation_id,
            ITEM.cycle_id,
            ITEM.role,
            ITEM.agency_code,
            U.reported_status,
            U.assessed_status,
        )
        .join(tables.cycles, C.id == ITEM.cycle_id)
        .outerjoin(tables.status_updates, visible)
        .where(C.state.in_(visible_cycle_states(audience)), ITEM.recommendation_id.in_(candidates))
        .order_by(ITEM.recommendation_id, C.launched_at.desc(), C.id.desc())
        .execution_options(yield_per=2000)
    )
    found: list[int] = []
    try:
        for rec_id, rows in groupby(result, key=lambda row: row.recommendation_id):
            latest = None
            for _, in_cycle in groupby(rows, key=lambda row: row.cycle_id):
                parts = list(in_cycle)
                shown = {
                    row.agency_code: shown_status(row.reported_status, row.assessed_status) for row in parts
                }
                latest = rolled_up_status(_parts([(row.role, row.agency_code) for row in parts], shown))
                if latest is not None:  # the latest cycle that reported on it
                    break
            if latest == status:
                found.append(rec_id)
                if len(found) == wanted:
                    break
    finally:
        result.close()
    return found


def recommendation_page(
    uow: SqlUnitOfWork, audience: Audience, filters: RecommendationFilter, *, after: int, limit: int
) -> tuple[list[RecommendationRecord], int | None]:
    """Up to `limit` recommendations with an id above `after`, by id; and the id to go on after (or None)."""
    conditions: list[ColumnElement[bool]] = [R.id > after]
    if filters.report is not None:
        conditions.append(R.source == filters.report)
    if filters.agenda_point is not None:
        conditions.append(R.agenda_point == filters.agenda_point)
    if filters.owner is not None:
        owned = and_(OWN.recommendation_id == R.id, OWN.agency_code == filters.owner)
        conditions.append(exists(select(OWN.id).where(owned)))
    query = select(R.id).where(*conditions)
    with uow:
        if filters.status is not None:
            ids = _with_latest_status(uow.session, audience, query, filters.status, limit + 1)
        else:
            ids = list(uow.session.scalars(query.order_by(R.id).limit(limit + 1)))
    more = len(ids) > limit
    ids = ids[:limit]
    page = sorted(records(uow, audience, ids), key=lambda r: r.id)
    return page, (ids[-1] if more else None)


def cycle_page(
    uow: SqlUnitOfWork, audience: Audience, *, after: int, limit: int
) -> tuple[list[CycleLine], int | None]:
    """Up to `limit` cycles the audience may read with an id above `after`, by id; and where to continue."""
    query = (
        select(C.id, C.name, C.state, C.hlcp_session, C.deadline, C.launched_at, C.closed_at)
        .where(C.id > after, C.state.in_(visible_cycle_states(audience)))
        .order_by(C.id)
        .limit(limit + 1)
    )
    with uow:
        rows = uow.session.execute(query).all()
    lines = [
        CycleLine(
            r.id, r.name, r.state, r.hlcp_session, r.deadline, utc_day(r.launched_at), utc_day(r.closed_at)
        )
        for r in rows[:limit]
    ]
    return lines, (lines[-1].id if len(rows) > limit else None)


def agencies(uow: SqlUnitOfWork) -> list[tuple[str, str]]:
    """Every agency as (code, name), by code."""
    with uow:
        return [(row.code, row.name) for row in uow.session.execute(select(A.code, A.name).order_by(A.code))]


def public_record_of(uow: SqlUnitOfWork, today: date) -> PublicRecord:
    """The record the public may read: accepted answers of closed cycles, and those cycles' figures
    (each as of the day it closed, as its report)."""
    recommendations = records(uow, Audience.PUBLIC)
    closed: list[ClosedCycle] = []
    after = 0
    while True:
        page, after_id = cycle_page(uow, Audience.PUBLIC, after=after, limit=100)
        for cycle in page:
            with uow:
                figures = figures_of(uow.session, cycle.name, today=today)
            closed.append(
                ClosedCycle(cycle.name, cycle.hlcp_session, cycle.closed_on, tuple(headline(figures)))
            )
        if after_id is None:
            break
        after = after_id
    return PublicRecord(
        recommendations=tuple(recommendations), agencies=tuple(agencies(uow)), cycles=tuple(closed)
    )

"""The stock-take's figures from grouped queries, without assembling the stock-take.

`followup cycle show`, the read API and the public site need the figures only: here the database
counts recommendations by what the figures read of them (`domain.stocktake.ItemTally`, through
`domain.policies.PartsTally`), parts and milestones by what they count, agencies by parts asked
and answered, and `domain.stocktake.tally_figures` turns the counts into figures, as it does for
the assembled stock-take: a handful of queries returning a few hundred rows whatever the size.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, null, select

from db import tables
from db.engine import Reader
from db.reads import ANSWERED_STATES, closed_query, latest_before
from domain.lifecycle import MilestoneState
from domain.model import Answering, OwnerRole, ReportedStatus
from domain.policies import PartsTally, counted_on
from domain.stocktake import (
    REPORTED_STATES,
    CycleInfo,
    ItemTally,
    PartCounts,
    StocktakeFigures,
    agency_responses,
    confirmed_by,
    tally_figures,
)
from workflows.queries.progress import cycle_row

C, ITEM, M = tables.cycles.c, tables.cycle_items.c, tables.milestones.c
LEAD = OwnerRole.LEAD.value
FINISHED = (ReportedStatus.COMPLETED.value, ReportedStatus.NO_LONGER_APPLICABLE.value)
OPEN_MILESTONE = (MilestoneState.PLANNED.value, MilestoneState.OVERDUE.value)


def figures_of(db: Reader, cycle_name: str, *, today: date) -> StocktakeFigures:
    """The stock-take figures of `cycle_name` as of `today`: those its report would state (a closed
    cycle's: as of the day it closed, see `counted_on`)."""
    cycle = cycle_row(db, cycle_name)
    today = counted_on(cycle.closed_at, today)
    previous = db.execute(latest_before(select(C.id, C.deadline), cycle.id, cycle.launched_at)).first()
    previous_id = previous.id if previous else None
    totals = tables.cycle_totals.c
    items = db.execute(select(totals.recommendations).where(totals.cycle_id == cycle.id)).scalar() or 0
    asked: dict[str, int] = {}
    leads = 0
    for code, parts, led in db.execute(_asked_query(cycle.id)):
        asked[code] = parts
        leads += int(led)  # PostgreSQL sums integers as numeric: Decimal here, a string in JSON
    answered: dict[str, int] = dict(db.execute(_answered_query(cycle.id)).all())
    # Recommendations with no part answered are not reported, whatever their previous status: the
    # tally of every part, now and before, is for those with an answer only.
    tallies: Counter[ItemTally] = Counter()
    sums: Counter[str] = Counter()
    irregular = []
    for row in db.execute(_tally_query(cycle.id, previous_id)):
        for name in PART_SUMS:
            sums[name] += int(row._mapping[name] or 0)
        if row.irregular is not None:
            irregular.append(row.irregular)
            continue
        # One lead: reported when it answered, with its status as the roll-up's head (unanswered,
        # the recommendation is not reported whatever the other parts say).
        now = PartsTally(row.head, bool(row.all_finished), bool(row.all_na), row.head is not None)
        before = PartsTally(
            row.head_before,
            bool(row.all_finished_before),
            bool(row.all_na_before),
            row.head_before is not None,
        )
        status = _value(now.reported_status)
        earlier = _value(before.reported_status) if previous else None
        tallies[ItemTally(status, earlier, status is not None and bool(row.confirmed))] += row.items
    tallies.update(_irregular_tallies(db, cycle.id, previous_id, irregular))
    tallies[ItemTally(None, None, False)] += items - sum(tallies.values())
    milestones = db.execute(_milestone_query(cycle.id, today, previous.deadline if previous else None)).one()
    counts = PartCounts(
        contributor_parts=sum(asked.values()) - leads,
        contributor_parts_answered=sums["contributors_answered"],
        disagreements=sums["disagreements"],
        items_with_disagreement=sums["with_disagreement"],
        overdue_milestones=int(milestones.overdue or 0),
        items_with_overdue_milestones=int(milestones.items or 0),
        newly_overdue_items=int(milestones.newly or 0) if previous else 0,
    )
    by_secretariat = frozenset(
        db.execute(
            select(tables.agencies.c.code).where(tables.agencies.c.answers == Answering.SECRETARIAT.value)
        ).scalars()
    )
    info = CycleInfo(cycle.name, cycle.hlcp_session, cycle.deadline)
    closed = db.execute(select(func.count(func.distinct(closed_query(today).subquery().c.code)))).scalar_one()
    return tally_figures(
        tallies,
        counts,
        agency_responses(asked, answered, by_secretariat, cycle=info, today=today),
        compared=previous is not None,
        closed=closed,
    )


PART_SUMS = ("contributors_answered", "disagreements", "with_disagreement")


def _value(status: ReportedStatus | None) -> str | None:
    return status.value if status is not None else None


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where `condition` holds, else 0 (booleans do not aggregate alike on SQLite and PostgreSQL)."""
    return case((condition, 1), else_=0)


def _answered(update: Any) -> ColumnElement[bool]:
    """The answer was sent to the secretariat with a status (`OwnerPart.answered`)."""
    return and_(
        update.c.state.in_([state.value for state in REPORTED_STATES]),
        update.c.reported_status.is_not(None),
        update.c.reported_status != "",
    )


def _effective(update: Any) -> ColumnElement[Any]:
    """An answer's counted status: the secretariat's assessment if any, else the agency's own."""
    assessed = update.c.assessed_status
    return case((and_(assessed.is_not(None), assessed != ""), assessed), else_=update.c.reported_status)


def _parts(cycle_id: int, previous_id: int | None) -> Select[Any]:
    """The cycle's owner parts: recommendation, role, counted status now and in the previous cycle."""
    now, before = tables.status_updates.alias("now"), tables.status_updates.alias("before")
    answered = _answered(now)
    earlier: ColumnElement[Any] = null()
    parts_from = tables.cycle_items.outerjoin(
        now,
        and_(
            now.c.cycle_id == ITEM.cycle_id,
            now.c.recommendation_id == ITEM.recommendation_id,
            now.c.agency_code == ITEM.agency_code,
        ),
    )
    if previous_id is not None:
        reported = [state.value for state in REPORTED_STATES]
        earlier = case((before.c.state.in_(reported), _effective(before)), else_=null())
        parts_from = parts_from.outerjoin(
            before,
            and_(
                before.c.cycle_id == previous_id,
                before.c.recommendation_id == ITEM.recommendation_id,
                before.c.agency_code == ITEM.agency_code,
            ),
        )
    return (
        select(
            ITEM.recommendation_id.label("rec"),
            ITEM.agency_code,
            ITEM.role,
            _flag(ITEM.role == LEAD).label("lead"),
            case((answered, _effective(now)), else_=null()).label("status"),
            earlier.label("earlier"),
            _flag(and_(answered, now.c.no_change)).label("no_change"),
            _flag(
                and_(
                    answered,
                    now.c.assessed_status.is_not(None),
                    now.c.assessed_status != now.c.reported_status,
                )
            ).label("disagrees"),
        )
        .select_from(parts_from)
        .where(ITEM.cycle_id == cycle_id)
    )


def _tally_query(cycle_id: int, previous_id: int | None) -> Select[Any]:
    """The recommendations with an answered part, counted by their tallies now and before and their
    confirmation when they have one lead, each of the others on a row of its own (`irregular`: its
    id); with the sums over their parts."""
    u = tables.status_updates
    answered = select(u.c.recommendation_id).where(u.c.cycle_id == cycle_id, _answered(u))
    p = _parts(cycle_id, previous_id).where(ITEM.recommendation_id.in_(answered)).subquery()
    leads = func.sum(p.c.lead)

    def of_lead(value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.max(case((p.c.lead == 1, value), else_=null()))

    items = (
        select(
            case((leads == 1, null()), else_=p.c.rec).label("irregular"),
            of_lead(p.c.status).label("head"),
            func.min(_flag(p.c.status.in_(FINISHED))).label("all_finished"),
            func.min(_flag(p.c.status == ReportedStatus.NO_LONGER_APPLICABLE.value)).label("all_na"),
            of_lead(p.c.earlier).label("head_before"),
            func.min(_flag(p.c.earlier.in_(FINISHED))).label("all_finished_before"),
            func.min(_flag(p.c.earlier == ReportedStatus.NO_LONGER_APPLICABLE.value)).label("all_na_before"),
            of_lead(p.c.no_change).label("confirmed"),
            func.sum(_flag(and_(p.c.lead == 0, p.c.status.is_not(None)))).label("contributors_answered"),
            func.sum(p.c.disagrees).label("disagreements"),
            func.max(p.c.disagrees).label("with_disagreement"),
        )
        .group_by(p.c.rec)
        .subquery()
    )
    keys = [items.c[name] for name in TALLY_KEYS]
    return select(
        *keys, func.count().label("items"), *(func.sum(items.c[name]).label(name) for name in PART_SUMS)
    ).group_by(*keys)


TALLY_KEYS = (
    "irregular",
    "head",
    "all_finished",
    "all_na",
    "head_before",
    "all_finished_before",
    "all_na_before",
    "confirmed",
)


def _irregular_tallies(
    db: Reader, cycle_id: int, previous_id: int | None, ids: list[int]
) -> Counter[ItemTally]:
    """The tallies of recommendations with no lead or several, from their parts in the listed order."""
    tallies: Counter[ItemTally] = Counter()
    if not ids:
        return tallies
    p = _parts(cycle_id, previous_id).subquery()
    rows = db.execute(
        select(p).where(p.c.rec.in_(ids)).order_by(p.c.rec, p.c.lead.desc(), p.c.agency_code)
    ).all()
    for _rec, parts in groupby(rows, key=lambda row: row.rec):
        listed = list(parts)
        status = _value(PartsTally.of([(part.role, part.status) for part in listed]).reported_status)
        earlier = _value(PartsTally.of([(part.role, part.earlier) for part in listed]).reported_status)
        confirmed = confirmed_by(
            [(part.role, part.status is not None, bool(part.no_change)) for part in listed]
        )
        tallies[ItemTally(status, earlier if previous_id else None, confirmed)] += 1
    return tallies


def _milestone_query(cycle_id: int, today: date, previous_deadline: date | None) -> Select[Any, Any, Any]:
    """Overdue milestones of the cycle's recommendations, the recommendations with one, and those
    with one now that had none at the previous cycle's deadline (`Milestone.is_overdue_on`)."""
    # One index lookup per open milestone: SQLite read `IN (the cycle's 200,000 parts)` in 145 ms at
    # 100,000 items, this in 27 ms (PostgreSQL hashes either way, 140 ms).
    in_cycle = select(ITEM.id).where(ITEM.cycle_id == cycle_id, ITEM.recommendation_id == M.recommendation_id)
    before: ColumnElement[Any] = (
        _flag(M.due_date < previous_deadline) if previous_deadline is not None else literal(0)
    )
    per_item = (
        select(
            func.sum(_flag(M.due_date < today)).label("overdue"),
            func.max(before).label("before"),
        )
        .where(M.state.in_(OPEN_MILESTONE), in_cycle.exists())
        .group_by(M.recommendation_id)
        .subquery()
    )
    late = per_item.c.overdue > 0
    return select(
        func.sum(per_item.c.overdue).label("overdue"),
        func.sum(_flag(late)).label("items"),
        func.sum(_flag(and_(late, per_item.c.before == 0))).label("newly"),
    )


def _asked_query(cycle_id: int) -> Select[Any]:
    """Per agency asked in the cycle: its parts, and those it leads (one index scan)."""
    return (
        select(ITEM.agency_code, func.count(), func.sum(_flag(ITEM.role == LEAD)))
        .where(ITEM.cycle_id == cycle_id)
        .group_by(ITEM.agency_code)
    )


def _answered_query(cycle_id: int) -> Select[Any]:
    """Per agency, the parts it answered and that were not sent back (`OwnerPart.answer_in_hand`)."""
    u = tables.status_updates
    part = select(ITEM.id).where(
        ITEM.cycle_id == u.c.cycle_id,
        ITEM.recommendation_id == u.c.recommendation_id,
        ITEM.agency_code == u.c.agency_code,
    )
    return (
        select(u.c.agency_code, func.count())
        .where(u.c.cycle_id == cycle_id, _answered(u), u.c.state.in_(ANSWERED_STATES), part.exists())
        .group_by(u.c.agency_code)
    )

"""Plain Core SQL read by the repositories and by the read-only commands alike: counts per agency or
per cycle, the previous cycle, the closed recommendations (this module loads no ORM, so `cycle list`
and `cycle show` stay light)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from db import tables
from db.engine import Reader
from domain.lifecycle import CLOSED_STATES, IN_HAND_STATES, CycleState

# `IN_HAND_STATES` as stored, in a fixed order (the statements' text stays the same in every process).
ANSWERED_STATES = tuple(sorted(state.value for state in IN_HAND_STATES))


def answered_per(*group: Any) -> Select[Any]:
    """Count the answers (submitted or accepted) to requested items, grouped by `group` (answers' columns).

    Read from the answers, each checked against the cycle's snapshot, through their covering index
    (migration 0014): a cycle just launched has none, and counting costs nothing whatever its size.
    """
    ci, su = tables.cycle_items, tables.status_updates
    requested = select(ci.c.id).where(
        ci.c.cycle_id == su.c.cycle_id,
        ci.c.recommendation_id == su.c.recommendation_id,
        ci.c.agency_code == su.c.agency_code,
    )
    return (
        select(*group, func.count())
        .where(su.c.state.in_(ANSWERED_STATES), requested.exists())
        .group_by(*group)
    )


def item_counts(db: Reader, cycle_id: int) -> dict[str, int]:
    """Per agency, the items requested of it in the cycle."""
    ci = tables.cycle_items
    query = select(ci.c.agency_code, func.count()).where(ci.c.cycle_id == cycle_id).group_by(ci.c.agency_code)
    return dict(db.execute(query).all())


def answered_counts(db: Reader, cycle_id: int) -> dict[str, int]:
    """Per agency, the requested items it has answered (submitted or accepted)."""
    su = tables.status_updates
    return dict(db.execute(answered_per(su.c.agency_code).where(su.c.cycle_id == cycle_id)).all())


def earlier_than(earlier: Any, cycle_id: Any, launched_at: Any) -> ColumnElement[bool]:
    """Cycles of `earlier` that may be a cycle's previous one: launched before it, not cancelled.

    `cycle_id` and `launched_at` are values or a correlated cycle's columns. Cycles launched at the
    same instant come in the order they were created; a cycle not launched yet comes after all.
    """
    launched = and_(earlier.c.launched_at.is_not(None), earlier.c.state != CycleState.CANCELLED.value)
    if launched_at is None:
        return and_(launched, earlier.c.id != cycle_id)
    before = or_(
        earlier.c.launched_at < launched_at,
        and_(earlier.c.launched_at == launched_at, earlier.c.id < cycle_id),
    )
    return and_(launched, before)


def latest_before(query: Select[Any], cycle_id: int | None, launched_at: datetime | None) -> Select[Any]:
    """`query` of cycles narrowed to the previous cycle: the stock-take's "last cycle", the answers'
    "last time"."""
    return latest_of(query.where(earlier_than(tables.cycles, cycle_id, launched_at)), tables.cycles)


def latest_of(query: Select[Any], earlier: Any) -> Select[Any]:
    """`query` limited to the latest launched of the cycles `earlier` it reads."""
    return query.order_by(earlier.c.launched_at.desc(), earlier.c.id.desc()).limit(1)


def closed_query(until: date | None) -> Select[Any]:
    """The recommendations closed by the end of day `until` (UTC; None: so far), with their moves into
    the state they are in (latest last): a report of an earlier day does not list an item closed after it."""
    from domain.model import Recommendation  # loaded by those who read closed items, not `cycle list`

    r, h = tables.recommendations.c, tables.history.c
    moved = (h.entity == Recommendation.ENTITY) & (h.key == r.source + ":" + r.code) & (h.to_state == r.state)
    if until is not None:
        moved &= h.at < datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
    return (
        select(r.id, r.code, r.text, r.state, h.why, h.at)
        .join(tables.history, moved)
        .where(r.state.in_([state.value for state in CLOSED_STATES]))
        .order_by(r.source, r.position, h.id)
    )

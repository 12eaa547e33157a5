"""Each cycle's kept totals (`tables.cycle_totals`), so that `followup cycle list` reads a row a cycle
instead of counting every cycle's items and answers.

The requested items (owner parts) and their recommendations are written with the cycle's snapshot,
which is taken once, at launch. The answered ones (submitted or accepted, `db.reads.ANSWERED_STATES`)
move with the answers: the unit of work takes, at each flush, how many answers entered or left those
states, and adds them to the totals just before it commits, so every write path through a unit of
work keeps them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Integer, func, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from db import tables
from db.reads import ANSWERED_STATES
from domain.model import StatusUpdate


def write_requested_total(session: Session, cycle_id: int) -> None:
    """Start the cycle's totals once its snapshot is taken: its items and recommendations, none answered."""
    ci = tables.cycle_items
    of_cycle = select(ci.c.recommendation_id).where(ci.c.cycle_id == cycle_id)
    totals = select(
        literal(cycle_id, Integer),
        of_cycle.with_only_columns(func.count()).scalar_subquery(),
        of_cycle.with_only_columns(func.count(func.distinct(ci.c.recommendation_id))).scalar_subquery(),
        literal(0, Integer),
    )
    columns = ["cycle_id", "requested_items", "recommendations", "answered_items"]
    session.execute(insert(tables.cycle_totals).from_select(columns, totals))


def answered_moves(objects: Iterable[object]) -> Counter[int]:
    """Per cycle, the answers among `objects` (new or changed) that entered the answered states, less
    those that left them, since the last flush."""
    moves: Counter[int] = Counter()
    for obj in objects:
        if isinstance(obj, StatusUpdate):
            # The one attribute's history: `inspect(obj).attrs` builds a view of every attribute,
            # 54 µs an answer, a fifth of saving a 200-item request.
            state = get_history(obj, "state")
            moves[obj.cycle_id] += _answered(state.added) - _answered(state.deleted)
    return moves


def add_answered(session: Session, moves: Counter[int]) -> None:
    """Add each cycle's moves to its answered total."""
    totals = tables.cycle_totals
    for cycle_id, moved in sorted(moves.items()):  # one lock order for every transaction
        if moved:
            session.execute(
                update(totals)
                .where(totals.c.cycle_id == cycle_id)
                .values(answered_items=totals.c.answered_items + moved)
            )


def _answered(states: Iterable[object]) -> int:
    return sum(1 for state in states if state in ANSWERED_STATES)

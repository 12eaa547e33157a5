"""The list of cycles with their totals: plain SQL, loading no domain model (`followup cycle list` reads
this module alone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select

from db import tables
from db.engine import Reader


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


def list_cycles(db: Reader) -> list[CycleLine]:
    """Every cycle, oldest first, with its kept totals (`db.totals`) and its requests (two queries, one
    row a cycle and one a request: nothing read grows with the items)."""
    c, totals, sr = tables.cycles, tables.cycle_totals, tables.status_requests
    agencies = {
        row.cycle_id: (row.total, int(row.done or 0))
        for row in db.execute(
            select(
                sr.c.cycle_id,
                func.count().label("total"),
                func.sum(case((sr.c.answered_at.is_not(None), 1), else_=0)).label("done"),
            ).group_by(sr.c.cycle_id)
        )
    }
    cycles = db.execute(
        select(
            c.c.id,
            c.c.name,
            c.c.hlcp_session,
            c.c.deadline,
            c.c.state,
            func.coalesce(totals.c.requested_items, 0).label("requested"),
            func.coalesce(totals.c.answered_items, 0).label("answered"),
        )
        .outerjoin(totals, totals.c.cycle_id == c.c.id)
        .order_by(c.c.created_at, c.c.id)
    ).all()
    return [
        CycleLine(
            row.name,
            row.hlcp_session,
            row.deadline,
            row.state,
            agencies.get(row.id, (0, 0))[0],
            row.requested,
            row.answered,
            agencies.get(row.id, (0, 0))[1],
        )
        for row in cycles
    ]

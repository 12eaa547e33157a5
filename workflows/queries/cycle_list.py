"""The list of cycles with their totals: plain SQL, loading no domain model (`followup cycle list` reads
this module alone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select

from db import tables
from db.engine import Reader
from db.reads import answered_per


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
    """Every cycle, oldest first, with its totals (three grouped queries whatever the size)."""
    c, ci, sr, su = tables.cycles, tables.cycle_items, tables.status_requests, tables.status_updates
    requested: dict[int, int] = dict(
        db.execute(select(ci.c.cycle_id, func.count()).group_by(ci.c.cycle_id)).all()
    )
    answered: dict[int, int] = dict(db.execute(answered_per(su.c.cycle_id)).all())
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
        select(c.c.id, c.c.name, c.c.hlcp_session, c.c.deadline, c.c.state).order_by(c.c.created_at, c.c.id)
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

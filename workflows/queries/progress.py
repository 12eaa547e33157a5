"""Who answered what: per-agency progress of a cycle, the list of cycles.

Read models: a few grouped queries whatever the cycle's size. A cycle's progress is read through the
unit-of-work port, as the close reports it too; the lists of cycles are plain SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select

from db import tables
from db.repositories import answered_per
from db.unit_of_work import SqlUnitOfWork
from domain.errors import NotFound
from domain.launch import cycle_slug
from domain.lifecycle import CycleState
from domain.model import StockTakeCycle
from domain.policies import request_overdue
from domain.ports import UnitOfWork


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
    display: str = ""  # the name in running text ("the World Bank")

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


def progress(uow: UnitOfWork, cycle: StockTakeCycle, today: date) -> list[AgencyProgress]:
    """Per agency of the cycle, in code order: items requested, answered and (late, while open) overdue."""
    assert cycle.id is not None
    requested = uow.cycle_items.requested_per_agency(cycle.id)
    answered = uow.cycle_items.answered_per_agency(cycle.id)
    requests = uow.requests.for_cycle(cycle.id)
    agencies = uow.agencies.by_codes(r.agency_code for r in requests)
    progress = []
    for request in requests:
        agency = agencies[request.agency_code]
        asked, done = requested.get(agency.code, 0), answered.get(agency.code, 0)
        late = cycle.state == CycleState.OPEN and request_overdue(
            deadline=cycle.deadline, today=today, answered=done >= asked
        )
        progress.append(
            AgencyProgress(
                agency.code,
                agency.name,
                str(request.state),
                asked,
                done,
                asked - done if late else 0,
                request.sent_at,
                request.answered_at,
                agency.display_name,
            )
        )
    return progress


def cycle_overview(uow: SqlUnitOfWork, name: str, today: date) -> CycleOverview:
    """A cycle's state and, per agency, requested / answered / overdue items (a few bulk queries)."""
    with uow:
        cycle = uow.cycles.require(name)
        return CycleOverview(
            cycle.name, cycle.hlcp_session, cycle.deadline, cycle.state, progress(uow, cycle, today)
        )


def cycle_name_of_slug(uow: SqlUnitOfWork, slug: str) -> str:
    """The name of the cycle whose URL segment is `slug` (`domain.launch.cycle_slug`), else NotFound."""
    with uow:
        names = uow.session.scalars(select(tables.cycles.c.name)).all()
    found = [name for name in names if cycle_slug(name) == slug]
    if len(found) != 1:  # launch keeps slugs unique; cycles stored before that rule may share one
        raise NotFound(f"no cycle at /cycles/{slug}")
    return found[0]


def list_cycles(uow: SqlUnitOfWork) -> list[CycleLine]:
    """Every cycle, oldest first, with its totals (three grouped queries whatever the size)."""
    c, ci, sr = tables.cycles, tables.cycle_items, tables.status_requests
    with uow:
        requested: dict[int, int] = dict(
            uow.session.execute(select(ci.c.cycle_id, func.count()).group_by(ci.c.cycle_id)).all()
        )
        answered: dict[int, int] = dict(uow.session.execute(answered_per(ci.c.cycle_id)).all())
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

"""Who answered what: per-agency progress of a cycle (the list of cycles is in `cycle_list`).

Read models: a few grouped queries whatever the cycle's size. A cycle's progress is read through the
unit-of-work port, as the close reports it too; the lists of cycles are plain SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from db import tables
from db.engine import Reader
from db.reads import answered_counts
from domain.errors import NotFound
from domain.language import Language
from domain.lifecycle import CycleState
from domain.model import Answering, running_name
from domain.policies import counted_on, request_overdue

if TYPE_CHECKING:  # not imported at run time: `cycle list` and `cycle show` read without the ORM
    from db.unit_of_work import SqlUnitOfWork
    from domain.model import StockTakeCycle
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


def cycle_row(db: Reader, name: str) -> Any:
    """The cycle named `name` (id, name, session, deadline, state, launched_at, closed_at), else NotFound."""
    c = tables.cycles.c
    row = db.execute(
        select(c.id, c.name, c.hlcp_session, c.deadline, c.state, c.launched_at, c.closed_at).where(
            c.name == name
        )
    ).first()
    if row is None:
        raise NotFound(f"no cycle named '{name}' (see `followup cycle list`)")
    return row


def progress(uow: UnitOfWork, cycle: StockTakeCycle, today: date) -> list[AgencyProgress]:
    """Per agency of the cycle, in code order: items requested, answered and overdue (see `_line`)."""
    assert cycle.id is not None
    answered = uow.cycle_items.answered_per_agency(cycle.id)
    requests = uow.requests.for_cycle(cycle.id)
    agencies = uow.agencies.by_codes(r.agency_code for r in requests)
    return [
        _line(
            agencies[request.agency_code].code,
            agencies[request.agency_code].name,
            agencies[request.agency_code].display_name,
            (str(request.state), request.sent_at, request.answered_at),
            (request.item_count, answered.get(request.agency_code, 0)),
            cycle=(str(cycle.state), cycle.deadline, cycle.closed_at),
            today=today,
        )
        for request in requests
    ]


def agency_progress(db: Reader, cycle: Any, today: date) -> list[AgencyProgress]:
    """`progress` of the `cycle` row (`cycle_row`), in a few grouped queries."""
    cycle_id = cycle.id
    sr, a = tables.status_requests, tables.agencies
    answered = answered_counts(db, cycle_id)
    rows = db.execute(
        select(
            sr.c.agency_code,
            sr.c.item_count,
            a.c.name,
            a.c.short_name,
            a.c.article,
            sr.c.state,
            sr.c.sent_at,
            sr.c.answered_at,
        )
        .join(a, a.c.code == sr.c.agency_code)
        .where(sr.c.cycle_id == cycle_id)
        .order_by(sr.c.agency_code)
    ).all()
    lines = [
        _line(
            row.agency_code,
            row.name,
            _display(row),
            (row.state, row.sent_at, row.answered_at),
            (row.item_count, answered.get(row.agency_code, 0)),
            cycle=(cycle.state, cycle.deadline, cycle.closed_at),
            today=today,
        )
        for row in rows
    ]
    bodies = _bodies_answered_by_secretariat(db, cycle_id, answered)
    asked = {line.code for line in lines}  # a body switched to the secretariat after the launch had a request
    return sorted(lines + [b for b in bodies if b.code not in asked], key=lambda line: line.code)


BY_SECRETARIAT = "by secretariat"  # a body's line: no request is sent, the secretariat answers


def _bodies_answered_by_secretariat(
    db: Reader, cycle_id: int, answered: dict[str, int]
) -> list[AgencyProgress]:
    """The lines of the bodies the secretariat answers for (as the report's Annex I lists them): with
    them, the overview's totals are the cycle's (`cycle list`). Never overdue: nobody was asked."""
    a, ci = tables.agencies, tables.cycle_items
    codes = db.execute(select(a.c.code).where(a.c.answers == Answering.SECRETARIAT.value)).scalars().all()
    if not codes:
        return []
    rows = db.execute(
        select(ci.c.agency_code, func.count().label("items"), a.c.name, a.c.short_name, a.c.article)
        .join(a, a.c.code == ci.c.agency_code)
        .where(ci.c.cycle_id == cycle_id, ci.c.agency_code.in_(codes))  # the cycle's index, a few codes
        .group_by(ci.c.agency_code, a.c.name, a.c.short_name, a.c.article)
    ).all()
    return [
        AgencyProgress(
            row.agency_code,
            row.name,
            BY_SECRETARIAT,
            row.items,
            answered.get(row.agency_code, 0),
            0,
            None,
            None,
            _display(row),
        )
        for row in rows
    ]


def _display(row: Any) -> str:
    """An agency row's name in English running text, as `Agency.display_name` ("the World Bank"): its
    name, short name and article (English reads no translation)."""
    return running_name(row, Language.EN)


def _line(
    code: str,
    name: str,
    display: str,
    request: tuple[str, datetime | None, datetime | None],
    counts: tuple[int, int],
    *,
    cycle: tuple[str, date, datetime | None],
    today: date,
) -> AgencyProgress:
    """An agency's line: its request (state, sent, answered), its items (asked, answered), overdue ones.

    `cycle`: its state, reply deadline and close. Items are overdue in an open cycle as of `today`,
    in a closed one as of the day it closed (`counted_on`): as its report counts overdue requests.
    """
    state, sent_at, answered_at = request
    asked, done = counts
    cycle_state, deadline, closed_at = cycle
    late = cycle_state in (CycleState.OPEN, CycleState.CLOSED) and request_overdue(
        deadline=deadline, today=counted_on(closed_at, today), answered=done >= asked
    )
    return AgencyProgress(
        code, name, state, asked, done, asked - done if late else 0, sent_at, answered_at, display
    )


def cycle_overview(db: Reader, name: str, today: date) -> CycleOverview:
    """A cycle's state and, per agency, requested / answered / overdue items (a few bulk queries)."""
    cycle = cycle_row(db, name)
    return CycleOverview(
        cycle.name,
        cycle.hlcp_session,
        cycle.deadline,
        cycle.state,
        agency_progress(db, cycle, today),
    )


def cycle_name_of_slug(uow: SqlUnitOfWork, slug: str) -> str:
    """The name of the cycle whose URL segment is `slug` (`domain.launch.cycle_slug`), else NotFound."""
    from domain.launch import cycle_slug  # with the domain model: `cycle list` needs neither

    with uow:
        names = uow.session.scalars(select(tables.cycles.c.name)).all()
    found = [name for name in names if cycle_slug(name) == slug]
    if len(found) != 1:  # launch keeps slugs unique; cycles stored before that rule may share one
        raise NotFound(f"no cycle at /cycles/{slug}")
    return found[0]

"""Who answered what: per-agency progress of a cycle, the list of cycles, items still unanswered.

Read models: plain SQL over the tables, a few grouped queries whatever the cycle's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, case, func, select

from db import tables
from db.engine import Reader
from domain.errors import NotFound
from domain.launch import cycle_slug
from domain.lifecycle import CycleState, MilestoneState, ReviewState
from domain.policies import request_overdue

if TYPE_CHECKING:  # not imported at run time: `cycle list` and `cycle show` read without the ORM
    from db.unit_of_work import SqlUnitOfWork
    from domain.model import StockTakeCycle

# Answers the secretariat has in hand (a returned answer is back with the agency).
ANSWERED_STATES = (ReviewState.SUBMITTED.value, ReviewState.ACCEPTED.value)


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


def cycle_row(db: Reader, name: str) -> Any:
    """The cycle named `name` (id, name, session, deadline, state, launched_at), else NotFound."""
    c = tables.cycles.c
    row = db.execute(
        select(c.id, c.name, c.hlcp_session, c.deadline, c.state, c.launched_at).where(c.name == name)
    ).first()
    if row is None:
        raise NotFound(f"no cycle named '{name}' (see `followup cycle list`)")
    return row


def item_counts(db: Reader, cycle_id: int) -> dict[str, int]:
    """Per agency, the items requested of it in the cycle."""
    ci = tables.cycle_items
    query = select(ci.c.agency_code, func.count()).where(ci.c.cycle_id == cycle_id).group_by(ci.c.agency_code)
    return dict(db.execute(query).all())


def answered_per(column: Any) -> Select[Any]:
    """Count requested items that were answered (submitted or accepted), grouped by `column`."""
    ci, su = tables.cycle_items, tables.status_updates
    answered = and_(
        su.c.cycle_id == ci.c.cycle_id,
        su.c.recommendation_id == ci.c.recommendation_id,
        su.c.agency_code == ci.c.agency_code,
        su.c.state.in_(ANSWERED_STATES),
    )
    return select(column, func.count()).select_from(ci.join(su, answered)).group_by(column)


def answered_counts(db: Reader, cycle_id: int) -> dict[str, int]:
    """Per agency, the requested items it has answered (submitted or accepted).

    Read from the cycle's answers, each checked against the snapshot: a cycle just launched has
    none, and counting costs nothing whatever the number of items.
    """
    ci, su = tables.cycle_items, tables.status_updates
    requested = select(ci.c.id).where(
        ci.c.cycle_id == su.c.cycle_id,
        ci.c.recommendation_id == su.c.recommendation_id,
        ci.c.agency_code == su.c.agency_code,
    )
    return dict(
        db.execute(
            select(su.c.agency_code, func.count())
            .where(su.c.cycle_id == cycle_id, su.c.state.in_(ANSWERED_STATES), requested.exists())
            .group_by(su.c.agency_code)
        ).all()
    )


def progress(uow: SqlUnitOfWork, cycle: StockTakeCycle, today: date) -> list[AgencyProgress]:
    """Per agency of the cycle, in code order: items requested, answered and (late, while open) overdue."""
    assert cycle.id is not None
    return agency_progress(uow.session, cycle.id, cycle.state, cycle.deadline, today)


def agency_progress(
    db: Reader, cycle_id: int, state: str, deadline: date, today: date
) -> list[AgencyProgress]:
    """`progress` of the cycle `cycle_id` in `state` with its reply `deadline` (a few grouped queries)."""
    sr, a = tables.status_requests, tables.agencies
    requested = item_counts(db, cycle_id)
    answered = answered_counts(db, cycle_id)
    rows = db.execute(
        select(
            sr.c.agency_code,
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
    progress = []
    for row in rows:
        asked, done = requested.get(row.agency_code, 0), answered.get(row.agency_code, 0)
        late = state == CycleState.OPEN and request_overdue(
            deadline=deadline, today=today, answered=done >= asked
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
                f"{row.article} {row.short_name or row.name}".strip(),
            )
        )
    return progress


def cycle_overview(db: Reader, name: str, today: date) -> CycleOverview:
    """A cycle's state and, per agency, requested / answered / overdue items (a few bulk queries)."""
    cycle = cycle_row(db, name)
    return CycleOverview(
        cycle.name,
        cycle.hlcp_session,
        cycle.deadline,
        cycle.state,
        agency_progress(db, cycle.id, cycle.state, cycle.deadline, today),
    )


def cycle_name_of_slug(uow: SqlUnitOfWork, slug: str) -> str:
    """The name of the cycle whose URL segment is `slug` (`domain.launch.cycle_slug`), else NotFound."""
    with uow:
        names = uow.session.scalars(select(tables.cycles.c.name)).all()
    found = [name for name in names if cycle_slug(name) == slug]
    if len(found) != 1:  # launch keeps slugs unique; cycles stored before that rule may share one
        raise NotFound(f"no cycle at /cycles/{slug}")
    return found[0]


def list_cycles(db: Reader) -> list[CycleLine]:
    """Every cycle, oldest first, with its totals (three grouped queries whatever the size)."""
    c, ci, sr = tables.cycles, tables.cycle_items, tables.status_requests
    requested: dict[int, int] = dict(
        db.execute(select(ci.c.cycle_id, func.count()).group_by(ci.c.cycle_id)).all()
    )
    answered: dict[int, int] = dict(db.execute(answered_per(ci.c.cycle_id)).all())
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


def unanswered_items(uow: SqlUnitOfWork, cycle_id: int, agency_codes: Sequence[str]) -> dict[str, list[str]]:
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


def reply_versions(uow: SqlUnitOfWork, cycle_id: int) -> dict[str, tuple[int, int | None]]:
    """Per agency that has answered: (its reply version, the version last announced).

    A reply's version is the sum of its answers' versions: it grows with every answer saved, so an
    answer given again (after a question, or a correction) makes a new version.
    """
    u, sr = tables.status_updates, tables.status_requests
    version = (
        select(func.sum(u.c.version))
        .where(
            u.c.cycle_id == sr.c.cycle_id,
            u.c.agency_code == sr.c.agency_code,
            u.c.state != ReviewState.DRAFT.value,
        )
        .scalar_subquery()
    )
    rows = uow.session.execute(
        select(sr.c.agency_code, version.label("version"), sr.c.reply_announced_version).where(
            sr.c.cycle_id == cycle_id
        )
    )
    return {row.agency_code: (int(row.version), row.reply_announced_version) for row in rows if row.version}


def last_reminders(uow: SqlUnitOfWork, cycle_id: int) -> dict[str, datetime]:
    """When each agency was last reminded in the cycle (sent, or queued while not sent yet)."""
    ob = tables.outbox
    rows = uow.session.execute(
        select(ob.c.agency_code, func.max(func.coalesce(ob.c.sent_at, ob.c.created_at)))
        .where(ob.c.cycle_id == cycle_id, ob.c.kind == "reminder")
        .group_by(ob.c.agency_code)
    )
    return {code: at for code, at in rows if code}


def overdue_milestones(uow: SqlUnitOfWork) -> list[Any]:
    """Every overdue milestone (id, code, title, due_date, owner: its agency or the lead), by date."""
    m, r, o = tables.milestones, tables.recommendations, tables.ownerships
    lead = (
        select(o.c.agency_code)
        .where(o.c.recommendation_id == m.c.recommendation_id, o.c.role == "lead")
        .limit(1)
        .scalar_subquery()
    )
    return list(
        uow.session.execute(
            select(
                m.c.id, r.c.code, m.c.title, m.c.due_date, func.coalesce(m.c.agency_code, lead).label("owner")
            )
            .join(r, r.c.id == m.c.recommendation_id)
            .where(m.c.state == MilestoneState.OVERDUE.value)
            .order_by(m.c.due_date, r.c.code)
        ).all()
    )

"""The unit of work: repositories over one session, one transaction, and the history it writes.

Use it as a context manager; nothing is stored unless `commit()` is called. On commit, every
event the touched entities recorded is appended to the `history` table in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self, TypeVar

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from db import tables
from db.mapping import start_mappers
from db.repositories import ApiTokens
from db.stocktakes import Stocktakes
from domain.errors import NotFound
from domain.lifecycle import Transition
from domain.model import (
    Agency,
    CycleItem,
    Milestone,
    Ownership,
    Recommendation,
    StatusRequest,
    StatusUpdate,
    StockTakeCycle,
)

T = TypeVar("T")


def _in_chunks(session: Session, entity: type[T], column: Any, ids: Sequence[int]) -> list[T]:
    """The entities whose `column` is one of `ids`, in chunks (databases cap a query's parameters)."""
    found: list[T] = []
    for start in range(0, len(ids), 5000):
        found += session.scalars(select(entity).where(column.in_(ids[start : start + 5000])))
    return found


class Recommendations:
    """Recommendations by natural key (source report, code)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, rec: Recommendation) -> None:
        self.session.add(rec)

    def get(self, source: str, code: str) -> Recommendation | None:
        return self.session.scalars(select(Recommendation).filter_by(source=source, code=code)).one_or_none()

    def by_code(self, code: str, source: str | None = None) -> Recommendation:
        """The recommendation with `code` (in `source` when several reports share a code)."""
        query = select(Recommendation).filter_by(code=code)
        if source:
            query = query.filter_by(source=source)
        found = list(self.session.scalars(query))
        if not found:
            raise NotFound(f"no recommendation with code '{code}'")
        if len(found) > 1:
            raise NotFound(f"code '{code}' exists in several reports: name the report with --report")
        return found[0]

    def list(self, *, source: str | None = None, active_only: bool = False) -> list[Recommendation]:
        query = select(Recommendation).order_by(
            tables.recommendations.c.source, tables.recommendations.c.position
        )
        if source:
            query = query.filter_by(source=source)
        if active_only:
            query = query.filter_by(state="active")
        return list(self.session.scalars(query))


class Agencies:
    """The agency registry."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, agency: Agency) -> None:
        self.session.add(agency)

    def get(self, code: str) -> Agency | None:
        return self.session.get(Agency, code)

    def require(self, code: str) -> Agency:
        agency = self.get(code)
        if agency is None:
            raise NotFound(f"no agency with code '{code}' (see `followup agencies list`)")
        return agency

    def list(self) -> list[Agency]:
        return list(self.session.scalars(select(Agency).order_by(tables.agencies.c.code)))


class Ownerships:
    """Who owns which recommendation."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, ownership: Ownership) -> None:
        self.session.add(ownership)

    def for_recommendation(self, recommendation_id: int) -> list[Ownership]:
        return list(
            self.session.scalars(
                select(Ownership)
                .filter_by(recommendation_id=recommendation_id)
                .order_by(tables.ownerships.c.role.desc())
            )
        )

    def add_many(self, ownerships: Iterable[Ownership]) -> None:
        """Store new ownerships in one INSERT (a catalogue's worth; they are not tracked afterwards)."""
        rows = [
            {
                "recommendation_id": o.recommendation_id,
                "agency_code": o.agency_code,
                "role": o.role,
                "reason": o.reason,
            }
            for o in ownerships
        ]
        if rows:
            self.session.execute(insert(tables.ownerships), rows)

    def remove(self, ownership: Ownership) -> None:
        self.session.delete(ownership)

    def for_recommendations(self, ids: Sequence[int]) -> list[Ownership]:
        """The ownerships of these recommendations."""
        return _in_chunks(self.session, Ownership, tables.ownerships.c.recommendation_id, ids)

    def owned_recommendation_ids(self) -> set[int]:
        """The recommendations that have at least one owner."""
        return set(self.session.scalars(select(tables.ownerships.c.recommendation_id).distinct()))

    def list(self) -> list[Ownership]:
        return list(self.session.scalars(select(Ownership)))


class Milestones:
    """Milestones of recommendations."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, milestone: Milestone) -> None:
        self.session.add(milestone)

    def for_recommendation(self, recommendation_id: int) -> list[Milestone]:
        return list(
            self.session.scalars(
                select(Milestone)
                .filter_by(recommendation_id=recommendation_id)
                .order_by(tables.milestones.c.due_date)
            )
        )

    def for_recommendations(self, ids: Sequence[int]) -> list[Milestone]:
        """The milestones of these recommendations."""
        return _in_chunks(self.session, Milestone, tables.milestones.c.recommendation_id, ids)

    def list(self) -> list[Milestone]:
        return list(self.session.scalars(select(Milestone).order_by(tables.milestones.c.due_date)))


class Cycles:
    """Stock-take cycles by name."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, cycle: StockTakeCycle) -> None:
        self.session.add(cycle)

    def get(self, name: str) -> StockTakeCycle | None:
        return self.session.scalars(select(StockTakeCycle).filter_by(name=name)).one_or_none()

    def require(self, name: str) -> StockTakeCycle:
        cycle = self.get(name)
        if cycle is None:
            raise NotFound(f"no cycle named '{name}' (see `followup cycle list`)")
        return cycle

    def list(self) -> list[StockTakeCycle]:
        return list(self.session.scalars(select(StockTakeCycle).order_by(tables.cycles.c.created_at)))


class CycleItems:
    """The cycles' snapshots of items and owners: what each cycle asks of each agency."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def for_agency(self, cycle_id: int, agency_code: str) -> list[CycleItem]:
        """The agency's items in the cycle, in report order."""
        ci, r = tables.cycle_items, tables.recommendations
        rows = self.session.execute(
            select(r.c.id, r.c.code, ci.c.role)
            .join(ci, ci.c.recommendation_id == r.c.id)
            .where(ci.c.cycle_id == cycle_id, ci.c.agency_code == agency_code)
            .order_by(r.c.source, r.c.position)
        )
        return [CycleItem(rid, code, role) for rid, code, role in rows]


class Requests:
    """Consolidated status requests (one per cycle and agency)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, request: StatusRequest) -> None:
        self.session.add(request)

    def get(self, cycle_id: int, agency_code: str) -> StatusRequest | None:
        return self.session.scalars(
            select(StatusRequest).filter_by(cycle_id=cycle_id, agency_code=agency_code)
        ).one_or_none()

    def by_token_hash(self, token_hash: str) -> StatusRequest | None:
        return self.session.scalars(select(StatusRequest).filter_by(token_hash=token_hash)).one_or_none()

    def for_cycle(self, cycle_id: int) -> list[StatusRequest]:
        return list(
            self.session.scalars(
                select(StatusRequest)
                .filter_by(cycle_id=cycle_id)
                .order_by(tables.status_requests.c.agency_code)
            )
        )


class Updates:
    """Status updates (one per cycle, recommendation and agency)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, update: StatusUpdate) -> None:
        self.session.add(update)

    def get(self, cycle_id: int, recommendation_id: int, agency_code: str) -> StatusUpdate | None:
        return self.session.scalars(
            select(StatusUpdate).filter_by(
                cycle_id=cycle_id, recommendation_id=recommendation_id, agency_code=agency_code
            )
        ).one_or_none()

    def for_request(
        self, cycle_id: int, agency_code: str, *, recommendation_ids: Iterable[int] | None = None
    ) -> list[StatusUpdate]:
        """An agency's updates in a cycle, or only those of the given recommendations."""
        query = select(StatusUpdate).filter_by(cycle_id=cycle_id, agency_code=agency_code)
        if recommendation_ids is not None:
            query = query.where(tables.status_updates.c.recommendation_id.in_(list(recommendation_ids)))
        return list(self.session.scalars(query))

    def for_cycle(self, cycle_id: int) -> list[StatusUpdate]:
        return list(self.session.scalars(select(StatusUpdate).filter_by(cycle_id=cycle_id)))


class History:
    """The append-only history: written on commit, read in order."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, events: Iterable[Transition]) -> int:
        """Insert the entries; how many."""
        entries = list(events)
        if not entries:
            return 0
        self.session.execute(
            insert(tables.history),
            [
                {
                    "entity": e.entity,
                    "key": e.key,
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "at": e.at,
                    "by": e.by,
                    "why": e.why,
                    "data": dict(e.data),
                }
                for e in entries
            ],
        )
        return len(entries)

    def for_key(self, entity: str, key: str) -> Sequence[Any]:
        return self.session.execute(
            select(tables.history)
            .where(tables.history.c.entity == entity, tables.history.c.key == key)
            .order_by(tables.history.c.id)
        ).all()


class SqlUnitOfWork:
    """One transaction over all repositories; rolls back unless `commit()` was called."""

    session: Session

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        start_mappers()
        self.session_factory = session_factory
        self._pending: list[Transition] = []

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        self.recommendations = Recommendations(self.session)
        self.agencies = Agencies(self.session)
        self.ownerships = Ownerships(self.session)
        self.milestones = Milestones(self.session)
        self.cycles = Cycles(self.session)
        self.cycle_items = CycleItems(self.session)
        self.requests = Requests(self.session)
        self.updates = Updates(self.session)
        self.history = History(self.session)
        self.api_tokens = ApiTokens(self.session)
        self.stocktakes = Stocktakes(self.session)
        self._pending = []
        self.session.info[_UNIT_OF_WORK] = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()
        self.session.close()

    def record(self, event: Transition) -> None:
        """Queue a history entry that belongs to no entity (a reminder sent, a token re-issued)."""
        self._pending.append(event)

    def take_events_before_flush(self, session: Session) -> None:
        """Keep the events of new and changed objects before a flush lets the session forget them."""
        # After a flush the identity map holds clean objects only weakly: an entity nobody references
        # any more would vanish with its events, so take them while new and changed objects are held.
        for obj in list(session.new) + list(session.dirty):
            pending = getattr(obj, "events", None)
            if pending:
                self._pending.extend(pending)
                pending.clear()

    def collect_events(self) -> list[Transition]:
        """Take the events recorded by every entity this session has seen, plus `record()`ed ones."""
        events, self._pending = self._pending, []
        for obj in list(self.session.identity_map.values()) + list(self.session.new):
            pending = getattr(obj, "events", None)
            if pending:
                events.extend(pending)
                pending.clear()
        return events

    def commit(self) -> None:
        """Flush, append the collected history, and commit, all in one transaction."""
        self.session.flush()
        self.history.append(self.collect_events())
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


_UNIT_OF_WORK = "followup_unit_of_work"


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    # One listener for every session, registered once: listening on each new session costs about
    # a millisecond, which the portal's cheapest page would pay on every request.
    unit_of_work = session.info.get(_UNIT_OF_WORK)
    if unit_of_work is not None:
        unit_of_work.take_events_before_flush(session)

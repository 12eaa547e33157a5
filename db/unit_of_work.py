"""The unit of work: repositories over one session, one transaction, and the history it writes.

Use it as a context manager; nothing is stored unless `commit()` is called. On commit, every
event the touched entities recorded is appended to the `history` table in the same transaction.
The repositories are in `db.repositories` (the stock-take's loader in `db.stocktakes`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Self

from sqlalchemy import event
from sqlalchemy.orm import Session

from db.evidence import EvidenceFiles
from db.mapping import start_mappers
from db.repositories import (
    Agencies,
    ApiTokens,
    CycleItems,
    Cycles,
    History,
    Milestones,
    Outbox,
    Ownerships,
    Recommendations,
    Requests,
    Updates,
)
from db.stocktakes import Stocktakes
from db.totals import add_answered, answered_moves
from domain.lifecycle import Transition


class SqlUnitOfWork:
    """One transaction over all repositories; rolls back unless `commit()` was called."""

    session: Session

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        start_mappers()
        self.session_factory = session_factory
        self._pending: list[Transition] = []
        self._answered: Counter[int] = Counter()

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
        self.outbox = Outbox(self.session)
        self.stocktakes = Stocktakes(self.session)
        self.evidence = EvidenceFiles(self.session)
        self._pending = []
        self._answered = Counter()
        self.session.info[_UNIT_OF_WORK] = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()
        self.session.close()

    def record(self, event: Transition) -> None:
        """Queue a history entry that belongs to no entity (a reminder sent, a token re-issued)."""
        self._pending.append(event)

    def take_events_before_flush(self, session: Session) -> None:
        """Keep the events of new and changed objects before a flush lets the session forget them, and
        the answers they move in or out of the answered totals (`db.totals`)."""
        # After a flush the identity map holds clean objects only weakly: an entity nobody references
        # any more would vanish with its events, so take them while new and changed objects are held.
        touched = list(session.new) + list(session.dirty)
        self._answered.update(answered_moves(touched))
        for obj in touched:
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
        """Flush, append the collected history, keep the cycles' answered totals, and commit, all in
        one transaction."""
        self.session.flush()
        self.history.append(self.collect_events())
        # Last, so that the totals' rows stay locked (PostgreSQL) for the commit only.
        add_answered(self.session, self._answered)
        self._answered.clear()
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
        self._answered.clear()


_UNIT_OF_WORK = "followup_unit_of_work"


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    # One listener for every session, registered once: listening on each new session costs about
    # a millisecond, which the portal's cheapest page would pay on every request.
    unit_of_work = session.info.get(_UNIT_OF_WORK)
    if unit_of_work is not None:
        unit_of_work.take_events_before_flush(session)

"""Lifecycles as data: each state machine is an explicit table of allowed moves.

Entities call `transition()`; it checks the table, raises `InvalidTransition` on an illegal
move and appends a `Transition` record that the unit of work stores in the append-only history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from domain.errors import InvalidTransition


class RecommendationState(StrEnum):
    ACTIVE = "active"
    # Closed by the secretariat, in the UN Board of Auditors' vocabulary: implemented, closed (not
    # implemented, no further action), or overtaken by events.
    IMPLEMENTED = "implemented"
    CLOSED = "closed"
    OVERTAKEN = "overtaken"
    # Set by re-imports of the report (a later text replaces or drops the recommendation).
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


# The ways the secretariat closes a recommendation (`followup close-item --as ...`).
CLOSED_STATES = (RecommendationState.IMPLEMENTED, RecommendationState.CLOSED, RecommendationState.OVERTAKEN)


class MilestoneState(StrEnum):
    PLANNED = "planned"
    OVERDUE = "overdue"
    DONE = "done"
    CANCELLED = "cancelled"


class CycleState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class RequestState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ANSWERED = "answered"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    CLOSED = "closed"


class ReviewState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"


# Answers the secretariat has in hand: a returned one is back with its agency (which is chased for
# it), a draft is still the agency's own. The chase, `cycle show`, Annex I and overdue requests count these.
IN_HAND_STATES = frozenset({ReviewState.SUBMITTED, ReviewState.ACCEPTED})


RECOMMENDATION_LIFECYCLE: Mapping[RecommendationState, frozenset[RecommendationState]] = {
    RecommendationState.ACTIVE: frozenset(
        {
            RecommendationState.IMPLEMENTED,
            RecommendationState.CLOSED,
            RecommendationState.OVERTAKEN,
            RecommendationState.SUPERSEDED,
            RecommendationState.WITHDRAWN,
        }
    ),
    # Reopening is allowed: an item judged implemented can regress, a closed one be taken up again.
    RecommendationState.IMPLEMENTED: frozenset({RecommendationState.ACTIVE}),
    RecommendationState.CLOSED: frozenset({RecommendationState.ACTIVE}),
    RecommendationState.OVERTAKEN: frozenset({RecommendationState.ACTIVE}),
    RecommendationState.WITHDRAWN: frozenset({RecommendationState.ACTIVE}),
    RecommendationState.SUPERSEDED: frozenset(),
}

MILESTONE_LIFECYCLE: Mapping[MilestoneState, frozenset[MilestoneState]] = {
    # Planned to planned is a reschedule (a new due date, with why).
    MilestoneState.PLANNED: frozenset(
        {MilestoneState.PLANNED, MilestoneState.OVERDUE, MilestoneState.DONE, MilestoneState.CANCELLED}
    ),
    # An overdue milestone may be rescheduled (back to planned), met late, or dropped (cancelled).
    MilestoneState.OVERDUE: frozenset(
        {MilestoneState.PLANNED, MilestoneState.DONE, MilestoneState.CANCELLED}
    ),
    MilestoneState.DONE: frozenset(),
    MilestoneState.CANCELLED: frozenset(),
}

CYCLE_LIFECYCLE: Mapping[CycleState, frozenset[CycleState]] = {
    CycleState.DRAFT: frozenset({CycleState.OPEN, CycleState.CANCELLED}),
    CycleState.OPEN: frozenset({CycleState.CLOSED, CycleState.CANCELLED}),
    CycleState.CLOSED: frozenset(),
    CycleState.CANCELLED: frozenset(),
}

REQUEST_LIFECYCLE: Mapping[RequestState, frozenset[RequestState]] = {
    RequestState.PENDING: frozenset({RequestState.SENT, RequestState.CLOSED}),
    RequestState.SENT: frozenset({RequestState.ANSWERED, RequestState.OVERDUE, RequestState.CLOSED}),
    # A late request is on time again (back to sent) when the cycle's deadline is extended.
    RequestState.OVERDUE: frozenset(
        {RequestState.SENT, RequestState.ANSWERED, RequestState.ESCALATED, RequestState.CLOSED}
    ),
    RequestState.ESCALATED: frozenset({RequestState.SENT, RequestState.ANSWERED, RequestState.CLOSED}),
    RequestState.ANSWERED: frozenset({RequestState.CLOSED}),
    RequestState.CLOSED: frozenset(),
}

# Requests still waiting for the agency's answer (sent, late or escalated).
OPEN_REQUEST_STATES = (RequestState.SENT, RequestState.OVERDUE, RequestState.ESCALATED)
# Requests past their deadline without an answer; an extended deadline makes them on time again.
LATE_REQUEST_STATES = (RequestState.OVERDUE, RequestState.ESCALATED)

REVIEW_LIFECYCLE: Mapping[ReviewState, frozenset[ReviewState]] = {
    # A draft is saved but not yet sent to the secretariat.
    ReviewState.DRAFT: frozenset({ReviewState.SUBMITTED}),
    # The agency may still correct a submitted answer (a new version) until it is reviewed.
    ReviewState.SUBMITTED: frozenset({ReviewState.SUBMITTED, ReviewState.ACCEPTED, ReviewState.RETURNED}),
    ReviewState.RETURNED: frozenset({ReviewState.DRAFT, ReviewState.SUBMITTED}),
    # Reviewed answers are locked.
    ReviewState.ACCEPTED: frozenset(),
}


@dataclass(frozen=True)
class Transition:
    """One recorded lifecycle move: the append-only history's unit."""

    entity: str
    key: str
    from_state: str | None
    to_state: str
    at: datetime
    by: str
    why: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


class Stateful:
    """Mixin: an entity whose `state` moves only along its class's `LIFECYCLE` table."""

    LIFECYCLE: ClassVar[Mapping[Any, frozenset[Any]]]
    ENTITY: ClassVar[str]
    state: Any
    events: list[Transition]

    def history_key(self) -> str:
        """The key under which this entity's moves are recorded (its natural key)."""
        raise NotImplementedError

    def can_transition(self, to: Any) -> bool:
        """Whether the lifecycle table allows moving from the current state to `to`."""
        return to in self.LIFECYCLE[type(to)(self.state)]

    def transition(self, to: Any, *, at: datetime, by: str, why: str = "", **data: Any) -> None:
        """Move to `to`, or raise `InvalidTransition`; the move is recorded as an event."""
        current = type(to)(self.state)
        if to not in self.LIFECYCLE[current]:
            raise InvalidTransition(self.ENTITY, self.history_key(), current.value, to.value)
        self.state = to
        self.record(Transition(self.ENTITY, self.history_key(), current.value, to.value, at, by, why, data))

    def record(self, event: Transition) -> None:
        """Append an event for the unit of work to store (entities loaded from the db start empty)."""
        if not hasattr(self, "events"):
            self.events = []
        self.events.append(event)

"""Every (from, to) pair of every lifecycle: allowed moves succeed and are recorded, others raise."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import pytest

from domain.errors import InvalidTransition
from domain.lifecycle import (
    CYCLE_LIFECYCLE,
    MILESTONE_LIFECYCLE,
    RECOMMENDATION_LIFECYCLE,
    REQUEST_LIFECYCLE,
    REVIEW_LIFECYCLE,
    CycleState,
    MilestoneState,
    RecommendationState,
    RequestState,
    ReviewState,
)
from domain.model import (
    Milestone,
    Recommendation,
    StatusRequest,
    StatusUpdate,
    StockTakeCycle,
)

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _entity(kind: str, state: Any) -> Any:
    if kind == "recommendation":
        return Recommendation(source="R", code="SR1", kind="strategic", text="t", position=1, state=state)
    if kind == "milestone":
        return Milestone(recommendation_id=1, title="EGM", due_date=date(2026, 5, 1), state=state)
    if kind == "cycle":
        return StockTakeCycle(name="C", deadline=date(2026, 4, 1), created_at=AT, state=state)
    if kind == "request":
        return StatusRequest(
            cycle_id=1, agency_code="ILO", item_count=3, token_nonce="n", token_hash="h", state=state
        )
    return StatusUpdate(cycle_id=1, recommendation_id=1, agency_code="ILO", state=state)


# Every allowed move, written out (not read from the tables under test): any other pair must raise.
ALLOWED = {
    "recommendation": {
        ("active", "implemented"),
        ("active", "closed"),
        ("active", "overtaken"),
        ("active", "superseded"),
        ("active", "withdrawn"),
        ("implemented", "active"),
        ("closed", "active"),
        ("overtaken", "active"),
        ("withdrawn", "active"),
    },
    "milestone": {
        ("planned", "planned"),
        ("planned", "overdue"),
        ("planned", "done"),
        ("planned", "cancelled"),
        ("overdue", "planned"),
        ("overdue", "done"),
        ("overdue", "cancelled"),
    },
    "cycle": {
        ("draft", "open"),
        ("draft", "cancelled"),
        ("open", "closed"),
        ("open", "cancelled"),
    },
    "request": {
        ("pending", "sent"),
        ("pending", "closed"),
        ("sent", "answered"),
        ("sent", "overdue"),
        ("sent", "closed"),
        ("overdue", "sent"),  # the deadline was extended
        ("overdue", "answered"),
        ("overdue", "escalated"),
        ("overdue", "closed"),
        ("escalated", "sent"),
        ("escalated", "answered"),
        ("escalated", "closed"),
        ("answered", "closed"),
    },
    "update": {
        ("draft", "submitted"),
        ("submitted", "submitted"),
        ("submitted", "accepted"),
        ("submitted", "returned"),
        ("returned", "draft"),
        ("returned", "submitted"),
    },
}
STATES: dict[str, type[StrEnum]] = {
    "recommendation": RecommendationState,
    "milestone": MilestoneState,
    "cycle": CycleState,
    "request": RequestState,
    "update": ReviewState,
}
TABLES: dict[str, Mapping[Any, frozenset[Any]]] = {
    "recommendation": RECOMMENDATION_LIFECYCLE,
    "milestone": MILESTONE_LIFECYCLE,
    "cycle": CYCLE_LIFECYCLE,
    "request": REQUEST_LIFECYCLE,
    "update": REVIEW_LIFECYCLE,
}
PAIRS = [
    pytest.param(
        kind, src, dst, (src.value, dst.value) in ALLOWED[kind], id=f"{kind}:{src.value}->{dst.value}"
    )
    for kind, states in STATES.items()
    for src, dst in itertools.product(states, repeat=2)
]


@pytest.mark.parametrize(("kind", "src", "dst", "allowed"), PAIRS)
def test_each_move_is_allowed_exactly_when_its_table_says_so(
    kind: str, src: Any, dst: Any, allowed: bool
) -> None:
    entity = _entity(kind, src)
    if allowed:
        entity.transition(dst, at=AT, by="secretariat", why="test")
        assert entity.state == dst.value
        [event] = entity.events
        assert (event.entity, event.from_state, event.to_state, event.by, event.why) == (
            kind,
            src.value,
            dst.value,
            "secretariat",
            "test",
        )
    else:
        with pytest.raises(InvalidTransition) as raised:
            entity.transition(dst, at=AT, by="secretariat")
        assert entity.state == src.value
        assert entity.events == []
        assert f"from '{src.value}' to '{dst.value}'" in str(raised.value)


@pytest.mark.parametrize("kind", list(STATES))
def test_every_state_of_every_lifecycle_has_a_row_in_its_table(kind: str) -> None:
    assert set(TABLES[kind]) == set(STATES[kind])


def test_a_re_import_that_only_moves_an_item_records_where_it_moved_from() -> None:
    rec = _entity("recommendation", RecommendationState.ACTIVE)

    moved = rec.amend(text=rec.text, at=AT, by="re-import", agenda_point=3, position=1)
    again = rec.amend(text=rec.text, at=AT, by="re-import", agenda_point=3, position=1)

    assert moved and not again
    (event,) = rec.events
    assert (event.to_state, event.data) == ("placement_amended", {"agenda_point": [None, 3]})

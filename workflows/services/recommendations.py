"""Closing a recommendation (implemented, closed, overtaken by events) and reopening it.

A closed recommendation leaves the next cycles' requests (a launch snapshots active items only) and
appears in the stock-take's closed list; every close and reopen is in the history with who and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import ValidationError
from domain.lifecycle import CLOSED_STATES, RecommendationState
from domain.ports import Clock, UnitOfWork

# The words `--as` takes, in the UN Board of Auditors' vocabulary.
CLOSE_AS = {state.value: state for state in CLOSED_STATES}


@dataclass(frozen=True)
class ItemMove:
    """A recommendation closed or reopened: its code, the state it left and the one it is in."""

    code: str
    before: str
    after: str


def close_item(
    uow: UnitOfWork, clock: Clock, code: str, *, how: str, why: str, by: str, source: str | None = None
) -> ItemMove:
    """Close a recommendation as implemented, closed or overtaken, with a reason (recorded)."""
    state = CLOSE_AS.get(how.strip().lower())
    if state is None:
        raise ValidationError("as", f"'{how}' is not a way to close; choose one of: {', '.join(CLOSE_AS)}")
    with uow:
        recommendation = uow.recommendations.by_code(code, source)
        before = recommendation.state
        recommendation.close(state, why=why, at=clock.now(), by=by)
        uow.commit()
    return ItemMove(code, before, state.value)


def reopen_item(
    uow: UnitOfWork, clock: Clock, code: str, *, why: str, by: str, source: str | None = None
) -> ItemMove:
    """Make a closed recommendation active again: the next cycle asks about it; recorded."""
    with uow:
        recommendation = uow.recommendations.by_code(code, source)
        before = recommendation.state
        recommendation.reopen(why=why, at=clock.now(), by=by)
        uow.commit()
    return ItemMove(code, before, RecommendationState.ACTIVE.value)

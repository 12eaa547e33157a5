"""The unit of work stores entities through the mapping and writes their history on commit."""

from __future__ import annotations

from datetime import date

import pytest

from db.unit_of_work import SqlUnitOfWork
from domain.errors import NotFound
from domain.lifecycle import RequestState
from tests.factories import AT, add_agencies, add_recommendations, open_cycle


def test_a_committed_transition_lands_in_the_history_with_who_when_and_why(uow: SqlUnitOfWork) -> None:
    add_agencies(uow, "ILO")
    add_recommendations(uow, {"SR1": ["ILO"]})
    cycle_id, _ = open_cycle(uow, "Spring", date(2026, 4, 1), ["ILO"])
    with uow:
        request = uow.requests.get(cycle_id, "ILO")
        assert request is not None
        request.transition(RequestState.ANSWERED, at=AT, by="focal.point@ilo.example.org", why="replied")
        uow.commit()
    with uow:
        rows = uow.history.for_key("request", f"{cycle_id}:ILO")
    assert [(r.from_state, r.to_state, r.by) for r in rows] == [
        ("pending", "sent", "test"),
        ("sent", "answered", "focal.point@ilo.example.org"),
    ]


def test_nothing_is_stored_without_commit(uow: SqlUnitOfWork) -> None:
    add_agencies(uow, "ILO")
    with uow:
        uow.agencies.require("ILO").name = "changed"
    with uow:
        assert uow.agencies.require("ILO").name == "Agency ILO"
        assert uow.agencies.require("ILO").contacts[0].email == "focal.point@ilo.example.org"


def test_an_unknown_cycle_is_a_clear_not_found(uow: SqlUnitOfWork) -> None:
    with uow, pytest.raises(NotFound, match="no cycle named 'Nope'"):
        uow.cycles.require("Nope")

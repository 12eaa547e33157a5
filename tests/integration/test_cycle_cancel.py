"""Cancelling a cycle: its links stop, nothing unsent leaves, the agencies asked are told (both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.answers import RawAnswer
from domain.errors import NotFound, ValidationError
from domain.lifecycle import CycleState, RequestState
from notifications.outbox import OutboxNotifier
from tests.integration.test_calendars import CYCLE, DEADLINE, at, calendars, event_of, launched
from tests.support import KEYED_CONFIG as CONFIG
from workflows.bootstrap import FixedClock
from workflows.queries.review import request_thread
from workflows.services import closing, follow_up, launch, replies, stocktake


def cancel(uow: SqlUnitOfWork, clock: FixedClock, why: str = "launched by mistake") -> closing.CycleCancelled:
    return closing.cancel_cycle(
        uow, OutboxNotifier(uow, clock), clock, CONFIG, CYCLE, by="secretariat", why=why
    )


def outbox_states(uow: SqlUnitOfWork, kind: str) -> list[str]:
    ob = tables.outbox
    with uow:
        return list(uow.session.scalars(select(ob.c.state).where(ob.c.kind == kind).order_by(ob.c.id)))


def test_a_cancelled_cycle_closes_its_requests_withdraws_what_was_not_sent_and_tells_the_agencies_it_asked(
    uow: SqlUnitOfWork,
) -> None:
    cycle_id = launched(uow)
    follow_up.follow_up(
        uow, OutboxNotifier(uow, at(DEADLINE - timedelta(days=14))), at(DEADLINE - timedelta(days=14)), CONFIG
    )
    assert outbox_states(uow, "reminder") == ["queued", "queued"]

    cancelled = cancel(uow, at(DEADLINE - timedelta(days=10)))

    assert (cancelled.requests_closed, cancelled.withdrawn) == (2, 2)
    assert cancelled.notices == [f"cycle-cancelled:{cycle_id}:ILO", f"cycle-cancelled:{cycle_id}:UNHCR"]
    assert outbox_states(uow, "reminder") == ["withdrawn", "withdrawn"]
    (notice,) = calendars(uow, "cycle-cancelled", "UNHCR")
    assert notice is not None and str(notice["METHOD"]) == "CANCEL"
    (invited,) = calendars(uow, "status-request", "UNHCR")
    assert str(event_of(notice)["UID"]) == str(event_of(invited)["UID"])
    with uow:
        cycle = uow.cycles.require(CYCLE)
        assert cycle.state == CycleState.CANCELLED
        assert {r.state for r in uow.requests.for_cycle(cycle_id)} == {RequestState.CLOSED}
        moved = uow.history.for_key("cycle", CYCLE)[-1]
        request = uow.requests.get(cycle_id, "UNHCR")
        assert request is not None
        token = CONFIG.reply_token(cycle_id, "UNHCR", request.token_nonce)
    assert (moved.to_state, moved.why, moved.by) == ("cancelled", "launched by mistake", "secretariat")
    answer = RawAnswer(0, status="in_progress", narrative="Too late.")
    clock = at(DEADLINE - timedelta(days=9))
    with pytest.raises(NotFound):
        replies.save_reply(
            uow, OutboxNotifier(uow, clock), clock, CONFIG, token, [answer], submit=True, grace_days=14
        )
    assert follow_up.follow_up(uow, OutboxNotifier(uow, clock), clock, CONFIG).cycles == []


def test_a_message_given_up_on_is_withdrawn_too_so_it_is_no_longer_there_to_retry(uow: SqlUnitOfWork) -> None:
    launched(uow)
    with uow:
        uow.session.execute(update(tables.outbox).values(state="failed"))
        uow.commit()

    cancelled = cancel(uow, at(DEADLINE - timedelta(days=10)))

    assert cancelled.withdrawn == 2 and outbox_states(uow, "status-request") == ["withdrawn", "withdrawn"]


def test_a_cancelled_cycle_has_no_stock_take_and_is_never_the_one_the_next_compares_with(
    uow: SqlUnitOfWork,
) -> None:
    launched(uow)
    cancel(uow, at(DEADLINE - timedelta(days=10)))
    clock = at(DEADLINE)
    launch.launch_cycle(
        uow,
        OutboxNotifier(uow, clock),
        clock,
        CONFIG,
        name="Autumn 2026",
        deadline=DEADLINE + timedelta(days=60),
        allow_placeholders=True,
    )

    with uow, pytest.raises(ValidationError, match="'Spring 2026' was cancelled: it has no stock-take"):
        stocktake.build_stocktake(uow, CYCLE, today=DEADLINE)
    with uow:
        assert uow.stocktakes.previous_cycle(uow.cycles.require("Autumn 2026")) is None


@pytest.mark.parametrize(
    ("why", "close_first", "said"),
    [
        ("  ", False, "why: say why the cycle is cancelled"),
        (
            "wrong report",
            True,
            "'Spring 2026' is closed (its stock-take stands): only an open cycle is cancelled",
        ),
    ],
)
def test_a_cancel_without_a_reason_or_of_a_closed_cycle_is_refused_and_nothing_changes(
    uow: SqlUnitOfWork, why: str, close_first: bool, said: str
) -> None:
    launched(uow)
    if close_first:
        with uow:
            uow.cycles.require(CYCLE).transition(CycleState.CLOSED, at=at(DEADLINE).now(), by="test")
            uow.commit()

    with pytest.raises(ValidationError, match=said.replace("(", r"\(").replace(")", r"\)")):
        cancel(uow, at(DEADLINE + timedelta(days=1)), why=why)

    assert outbox_states(uow, "cycle-cancelled") == []
    assert outbox_states(uow, "status-request") == ["sent", "sent"]


def test_the_thread_shows_a_request_marked_overdue_by_the_follow_up_and_closed_by_the_secretariat(
    uow: SqlUnitOfWork,
) -> None:
    launched(uow)
    late = at(DEADLINE + timedelta(days=1))
    follow_up.follow_up(uow, OutboxNotifier(uow, late), late, CONFIG)

    cancel(uow, at(DEADLINE + timedelta(days=2)))

    steps = [(e.what, e.channel, e.by) for e in request_thread(uow, CYCLE, "UNHCR") if not e.item]
    assert ("overdue", "follow-up", "follow-up") in steps
    assert steps[-1] == ("closed", "secretariat", "secretariat")

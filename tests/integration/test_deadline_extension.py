"""Extending a cycle's reply deadline: who is told, what moves with it, what is refused (both backends)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.errors import ValidationError
from domain.lifecycle import CycleState, RequestState
from notifications.outbox import OutboxNotifier
from tests.integration.test_calendars import (
    CYCLE,
    DEADLINE,
    LAUNCH_DAY,
    at,
    calendars,
    event_of,
    launched,
    submit,
)
from tests.support import KEYED_CONFIG as CONFIG
from workflows.bootstrap import FixedClock
from workflows.queries.review import request_thread
from workflows.services import follow_up, launch, replies


def extend(uow: SqlUnitOfWork, to: date, clock: FixedClock, why: str = "") -> follow_up.DeadlineExtended:
    notifier = OutboxNotifier(uow, clock)
    return follow_up.extend_deadline(uow, notifier, clock, CONFIG, CYCLE, to, by="secretariat", why=why)


def follow_up_on(uow: SqlUnitOfWork, clock: FixedClock) -> follow_up.FollowUpReport:
    return follow_up.follow_up(uow, OutboxNotifier(uow, clock), clock, CONFIG)


def keys_of(uow: SqlUnitOfWork, kind: str) -> list[str]:
    ob = tables.outbox
    with uow:
        return list(
            uow.session.scalars(select(ob.c.idempotency_key).where(ob.c.kind == kind).order_by(ob.c.id))
        )


def request_state(uow: SqlUnitOfWork, cycle_id: int, agency: str) -> str:
    with uow:
        request = uow.requests.get(cycle_id, agency)
        assert request is not None
        return str(request.state)


def test_an_extension_tells_only_the_agencies_yet_to_answer_and_the_history_says_from_when_to_when(
    uow: SqlUnitOfWork,
) -> None:
    cycle_id = launched(uow)
    submit(uow, cycle_id, at(DEADLINE - timedelta(days=5)))  # ILO is done; UNHCR is not
    later = DEADLINE + timedelta(days=14)

    extended = extend(uow, later, at(DEADLINE - timedelta(days=2)), why="HLCP session moved")

    assert (extended.before, extended.deadline) == (DEADLINE, later)
    assert extended.notices == [f"deadline-extended:{cycle_id}:UNHCR:1"]
    assert calendars(uow, "deadline-extended", "ILO") == []
    (notice,) = (event_of(c) for c in calendars(uow, "deadline-extended", "UNHCR"))
    assert notice.decoded("DTSTART") == later and notice.decoded("SEQUENCE") == 2
    with uow:
        cycle = uow.cycles.require(CYCLE)
        assert cycle.deadline == later
        moved = uow.history.for_key("cycle", CYCLE)[-1]
    assert (moved.why, moved.by) == ("HLCP session moved", "secretariat")
    assert moved.data == {"deadline": later.isoformat(), "from": DEADLINE.isoformat()}


def test_a_late_request_is_on_time_again_then_reminded_and_escalated_for_the_new_deadline(
    uow: SqlUnitOfWork,
) -> None:
    cycle_id = launched(uow)
    follow_up_on(uow, at(DEADLINE + timedelta(days=1)))
    follow_up_on(uow, at(DEADLINE + timedelta(days=3)))
    assert request_state(uow, cycle_id, "UNHCR") == RequestState.ESCALATED
    later = DEADLINE + timedelta(days=30)

    extended = extend(uow, later, at(DEADLINE + timedelta(days=4)), why="session moved")
    assert extended.on_time_again == ["ILO", "UNHCR"]
    assert request_state(uow, cycle_id, "UNHCR") == RequestState.SENT
    thread = [(e.what, e.detail) for e in request_thread(uow, CYCLE, "UNHCR")][-2:]
    assert thread == [
        ("told of a later deadline", "to focal.point@unhcr.example.org (queued, not sent yet)"),
        ("on time again", f"deadline extended to {later}"),
    ]
    # The reminder points of the new deadline are new messages; a second follow-up that day adds none.
    reminded = follow_up_on(uow, at(later - timedelta(days=7)))
    again = follow_up_on(uow, at(later - timedelta(days=7)))
    assert f"reminder:{cycle_id}:UNHCR:7:1" in reminded.reminders and again.reminders == []
    follow_up_on(uow, at(later + timedelta(days=3)))

    assert request_state(uow, cycle_id, "UNHCR") == RequestState.ESCALATED
    assert keys_of(uow, "escalation") == [
        f"escalation:{cycle_id}:ILO",
        f"escalation:{cycle_id}:UNHCR",
        f"escalation:{cycle_id}:ILO:1",
        f"escalation:{cycle_id}:UNHCR:1",
    ]


@pytest.mark.parametrize(
    ("to", "said"),
    [
        (DEADLINE, "deadline: 2026-04-01 is not after the deadline 2026-04-01"),
        (DEADLINE - timedelta(days=1), "a deadline can only be extended"),
        (DEADLINE + timedelta(days=2), "deadline: 2026-04-03 has passed already (today is 2026-04-05)"),
    ],
)
def test_a_deadline_that_is_not_later_and_still_ahead_is_refused_and_nothing_changes(
    uow: SqlUnitOfWork, to: date, said: str
) -> None:
    launched(uow)
    today = DEADLINE + timedelta(days=4)

    with pytest.raises(ValidationError, match=re.escape(said)):
        extend(uow, to, at(today if to > DEADLINE else DEADLINE - timedelta(days=3)))

    assert keys_of(uow, "deadline-extended") == []
    with uow:
        assert uow.cycles.require(CYCLE).deadline == DEADLINE


def test_only_an_open_cycles_deadline_moves(uow: SqlUnitOfWork) -> None:
    launched(uow)
    with uow:
        cycle = uow.cycles.require(CYCLE)
        cycle.transition(CycleState.CLOSED, at=at(DEADLINE).now(), by="test")
        uow.commit()

    with pytest.raises(ValidationError, match="'Spring 2026' is closed: only an open cycle's deadline moves"):
        extend(uow, DEADLINE + timedelta(days=7), at(DEADLINE))


def test_a_week_more_given_on_the_deadline_day_brings_no_reminder_the_next_morning_only_two_days_before(
    uow: SqlUnitOfWork,
) -> None:
    cycle_id = launched(uow)
    later = DEADLINE + timedelta(days=7)

    extend(uow, later, at(DEADLINE))
    next_morning = follow_up_on(uow, at(DEADLINE + timedelta(days=1)))
    two_days_before = follow_up_on(uow, at(later - timedelta(days=2)))

    assert next_morning.reminders == []
    expected = {f"reminder:{cycle_id}:{agency}:2:1" for agency in ("ILO", "UNHCR")}
    assert set(two_days_before.reminders) == expected


def test_what_was_queued_for_the_old_deadline_is_withdrawn_by_the_extension(uow: SqlUnitOfWork) -> None:
    cycle_id = launched(uow)
    follow_up_on(uow, at(DEADLINE - timedelta(days=14)))  # two reminders queued, not sent yet

    extend(uow, DEADLINE + timedelta(days=14), at(DEADLINE - timedelta(days=13)))

    ob = tables.outbox
    with uow:
        rows = uow.session.execute(select(ob.c.idempotency_key, ob.c.state).where(ob.c.kind == "reminder"))
        states = {key: state for key, state in rows}
    assert states == {f"reminder:{cycle_id}:{agency}:14": "withdrawn" for agency in ("ILO", "UNHCR")}
    assert [e.detail for e in request_thread(uow, CYCLE, "ILO") if e.what == "reminded"] == [
        "to focal.point@ilo.example.org (withdrawn, never sent)"
    ]


def _unsent(uow: SqlUnitOfWork, cycle_id: int, agency: str, **outbox_values: object) -> str:
    """The agency's request as if its e-mail had not been marked sent: the outbox row so; its nonce."""
    with uow:
        ob = tables.outbox
        uow.session.execute(
            update(ob).where(ob.c.agency_code == agency).values(sent_at=None, **outbox_values)
        )
        request = uow.requests.get(cycle_id, agency)
        assert request is not None
        request.state, nonce = RequestState.PENDING, request.token_nonce
        uow.commit()
    return nonce


def _request_rows(uow: SqlUnitOfWork, agency: str) -> list[tuple[str, str]]:
    ob = tables.outbox
    with uow:
        return [
            (state, subject)
            for state, subject in uow.session.execute(
                select(ob.c.state, ob.c.subject)
                .where(ob.c.kind == "status-request", ob.c.agency_code == agency)
                .order_by(ob.c.id)
            )
        ]


@pytest.mark.parametrize(
    "outbox_values",
    [{"state": "queued"}, {"state": "failed", "last_error": "550 mailbox unavailable"}],
)
def test_a_request_whose_e_mail_had_not_left_goes_again_with_the_new_date_and_the_same_link(
    uow: SqlUnitOfWork, outbox_values: dict[str, object]
) -> None:
    cycle_id = launched(uow)
    nonce = _unsent(uow, cycle_id, "UNHCR", **outbox_values)

    extended = extend(uow, DEADLINE + timedelta(days=14), at(DEADLINE - timedelta(days=10)))

    again = f"status-request:{cycle_id}:UNHCR:{nonce[:8]}:1"  # the same link, for the moved deadline
    assert sorted(extended.notices) == [f"deadline-extended:{cycle_id}:ILO:1", again]
    assert keys_of(uow, "deadline-extended") == [f"deadline-extended:{cycle_id}:ILO:1"]  # not told twice
    rows = _request_rows(uow, "UNHCR")
    assert [state for state, _ in rows] == ["withdrawn", "queued"]
    assert "reply by 15 April 2026" in rows[-1][1]
    with uow:
        request = uow.requests.get(cycle_id, "UNHCR")
        assert request is not None and request.token_nonce == nonce
    first, written_again = calendars(uow, "status-request", "UNHCR")
    assert event_of(written_again)["UID"] == event_of(first)["UID"]
    assert event_of(written_again).decoded("SEQUENCE") > event_of(first).decoded("SEQUENCE")


@pytest.mark.parametrize(
    "outbox_values",
    [
        {"state": "sending"},  # a dispatcher is handing it to the mail server
        {"state": "failed", "last_error": "delivery unknown: a dispatcher stopped while handing it over"},
        {"state": "sent"},  # left, not yet marked sent
    ],
)
def test_a_request_whose_e_mail_is_leaving_or_may_have_arrived_is_told_not_sent_twice(
    uow: SqlUnitOfWork, outbox_values: dict[str, object]
) -> None:
    cycle_id = launched(uow)
    _unsent(uow, cycle_id, "UNHCR", **outbox_values)

    extended = extend(uow, DEADLINE + timedelta(days=14), at(DEADLINE - timedelta(days=10)))

    assert extended.notices == [f"deadline-extended:{cycle_id}:{code}:1" for code in ("ILO", "UNHCR")]
    assert [state for state, _ in _request_rows(uow, "UNHCR")] == [outbox_values["state"]]


def test_a_superseded_or_revoked_links_unsent_e_mail_is_withdrawn_and_not_sent_again(
    uow: SqlUnitOfWork,
) -> None:
    cycle_id = launched(uow)
    with uow:  # UNHCR's first e-mail was refused, its re-issued link's left; ILO's waits, then is revoked
        ob = tables.outbox
        uow.session.execute(update(ob).where(ob.c.agency_code == "UNHCR").values(state="failed"))
        uow.session.execute(update(ob).where(ob.c.agency_code == "ILO").values(state="queued"))
        uow.commit()
    clock = at(LAUNCH_DAY + timedelta(days=1))
    replies.reissue_link(uow, OutboxNotifier(uow, clock), clock, CONFIG, CYCLE, "UNHCR", by="secretariat")
    with uow:
        reissued = update(ob).where(ob.c.agency_code == "UNHCR", ob.c.state == "queued")
        uow.session.execute(reissued.values(state="sent", sent_at=clock.now()))
        uow.commit()
    replies.revoke_link(uow, clock, CYCLE, "ILO", by="secretariat", why="leaked")

    extended = extend(uow, DEADLINE + timedelta(days=14), at(DEADLINE - timedelta(days=10)))

    assert extended.notices == [f"deadline-extended:{cycle_id}:UNHCR:1"]  # ILO's waits for its reissue
    assert [state for state, _ in _request_rows(uow, "UNHCR")] == ["withdrawn", "sent"]
    assert [state for state, _ in _request_rows(uow, "ILO")] == ["withdrawn"]


def test_a_request_written_again_for_one_extension_is_written_again_for_the_next(uow: SqlUnitOfWork) -> None:
    cycle_id = launched(uow)
    nonce = _unsent(uow, cycle_id, "UNHCR", state="queued")

    extend(uow, DEADLINE + timedelta(days=7), at(DEADLINE - timedelta(days=10)))
    extended = extend(uow, DEADLINE + timedelta(days=14), at(DEADLINE - timedelta(days=9)))

    assert f"status-request:{cycle_id}:UNHCR:{nonce[:8]}:2" in extended.notices
    rows = _request_rows(uow, "UNHCR")
    assert [state for state, _ in rows] == ["withdrawn", "withdrawn", "queued"]
    assert "reply by 15 April 2026" in rows[-1][1]


def test_launching_an_extended_cycle_again_names_the_deadline_it_has_now(uow: SqlUnitOfWork) -> None:
    launched(uow)
    extend(uow, DEADLINE + timedelta(days=14), at(DEADLINE - timedelta(days=10)))
    clock = at(DEADLINE - timedelta(days=9))

    with pytest.raises(ValidationError, match="to resume its launch, give --deadline 2026-04-15"):
        launch.launch_cycle(
            uow,
            OutboxNotifier(uow, clock),
            clock,
            CONFIG,
            name=CYCLE,
            deadline=DEADLINE,
            allow_placeholders=True,
        )

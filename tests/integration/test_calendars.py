"""The reply deadline in agencies' calendars, message by message, as the outbox stores it (both backends).

Each message kind's .ics is parsed with `icalendar`: the request and the reminders invite (one UID per
request, DTSTAMP when the message was made, SEQUENCE rising with a moved deadline), the receipt
cancels, the escalation carries none.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select, update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.answers import RawAnswer
from notifications.outbox import OutboxNotifier
from tests.factories import add_agencies, add_recommendations
from tests.support import KEYED_CONFIG as CONFIG
from workflows.bootstrap import FixedClock
from workflows.services import follow_up, launch, replies

DEADLINE = date(2026, 4, 1)
LAUNCH_DAY = date(2026, 3, 2)
CYCLE = "Spring 2026"


def at(day: date, hour: int = 9, minute: int = 0) -> FixedClock:
    return FixedClock(day, datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC))


def launched(uow: SqlUnitOfWork) -> int:
    """ILO and UNHCR asked about their items; the cycle launched at 09:00 on 2 March."""
    add_agencies(uow, "ILO", "UNHCR")
    add_recommendations(uow, {"SR1": ["ILO"], "A2.1": ["UNHCR"]})
    clock = at(LAUNCH_DAY)
    notifier = OutboxNotifier(uow, clock)
    cycle_id = launch.launch_cycle(
        uow, notifier, clock, CONFIG, name=CYCLE, deadline=DEADLINE, allow_placeholders=True
    ).cycle_id
    with uow:  # the requests left at once (as the launch flow's dispatcher records it)
        uow.session.execute(update(tables.outbox).values(state="sent", sent_at=clock.now()))
        uow.commit()
    launch.mark_requests_sent(uow, clock, cycle_id)
    return cycle_id


def follow_up_on(uow: SqlUnitOfWork, clock: FixedClock) -> None:
    follow_up.follow_up(uow, OutboxNotifier(uow, clock), clock, CONFIG)


def calendars(uow: SqlUnitOfWork, kind: str, agency: str = "ILO") -> list[Calendar | None]:
    """The calendars of the stored messages of `kind` to `agency`, oldest first (None: no calendar)."""
    ob = tables.outbox
    with uow:
        stored = uow.session.scalars(
            select(ob.c.ics).where(ob.c.kind == kind, ob.c.agency_code == agency).order_by(ob.c.id)
        ).all()
    return [Calendar.from_ical(ics) if ics else None for ics in stored]


def event_of(calendar: Calendar | None) -> Event:
    assert calendar is not None
    (event,) = calendar.walk("VEVENT")
    assert isinstance(event, Event)
    return event


def submit(uow: SqlUnitOfWork, cycle_id: int, clock: FixedClock) -> None:
    """ILO answers its one item and submits, which queues its receipt."""
    with uow:
        request = uow.requests.get(cycle_id, "ILO")
        assert request is not None
        token = CONFIG.reply_token(cycle_id, "ILO", request.token_nonce)
        item = uow.cycle_items.for_agency(cycle_id, "ILO")[0].recommendation_id
    answer = RawAnswer(item, status="in_progress", narrative="Guidance drafted.", loaded_version=0)
    notifier = OutboxNotifier(uow, clock)
    replies.save_reply(uow, notifier, clock, CONFIG, token, [answer], submit=True, grace_days=14)


def test_the_request_and_its_reminders_invite_to_one_event_stamped_when_each_message_was_made(
    uow: SqlUnitOfWork,
) -> None:
    launched(uow)
    follow_up_on(uow, at(DEADLINE - timedelta(days=14), 6, 30))
    follow_up_on(uow, at(DEADLINE - timedelta(days=7), 6, 30))

    (request,) = calendars(uow, "status-request")
    reminders = calendars(uow, "reminder")
    assert len(reminders) == 2
    for calendar in (request, *reminders):
        assert calendar is not None and str(calendar["METHOD"]) == "REQUEST"
    events = [event_of(c) for c in (request, *reminders)]
    assert len({str(e["UID"]) for e in events}) == 1
    assert [e.decoded("SEQUENCE") for e in events] == [0, 0, 0]
    assert [e.decoded("DTSTAMP") for e in events] == [
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 18, 6, 30, tzinfo=UTC),
        datetime(2026, 3, 25, 6, 30, tzinfo=UTC),
    ]
    assert all(e.decoded("DTSTART") == DEADLINE for e in events)
    (other,) = calendars(uow, "status-request", "UNHCR")
    assert str(event_of(other)["UID"]) != str(events[0]["UID"])


def test_an_extended_deadline_raises_the_sequence_of_its_notice_and_of_the_next_reminder(
    uow: SqlUnitOfWork,
) -> None:
    launched(uow)
    follow_up_on(uow, at(DEADLINE - timedelta(days=14)))
    later = DEADLINE + timedelta(days=14)
    clock = at(DEADLINE - timedelta(days=10))
    follow_up.extend_deadline(uow, OutboxNotifier(uow, clock), clock, CONFIG, CYCLE, later, by="secretariat")
    follow_up_on(uow, at(later - timedelta(days=7)))

    before, after = (event_of(c) for c in calendars(uow, "reminder"))
    (notice,) = (event_of(c) for c in calendars(uow, "deadline-extended"))
    assert str(after["UID"]) == str(before["UID"]) == str(notice["UID"])
    assert after.decoded("DTSTART") == notice.decoded("DTSTART") == later
    assert after.decoded("SEQUENCE") == notice.decoded("SEQUENCE") > before.decoded("SEQUENCE")


def test_the_receipt_cancels_the_invitation_with_the_same_uid(uow: SqlUnitOfWork) -> None:
    cycle_id = launched(uow)
    follow_up_on(uow, at(DEADLINE - timedelta(days=14)))
    submit(uow, cycle_id, at(DEADLINE - timedelta(days=3), 15, 5))

    (receipt,) = calendars(uow, "receipt")
    assert receipt is not None and str(receipt["METHOD"]) == "CANCEL"
    cancelled, (invited,) = event_of(receipt), [event_of(c) for c in calendars(uow, "reminder")]
    assert str(cancelled["UID"]) == str(invited["UID"])
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert cancelled.decoded("SEQUENCE") > invited.decoded("SEQUENCE")
    assert cancelled.decoded("DTSTAMP") == datetime(2026, 3, 29, 15, 5, tzinfo=UTC)
    assert cancelled.walk("VALARM") == []


def test_the_escalation_carries_no_calendar(uow: SqlUnitOfWork) -> None:
    launched(uow)
    follow_up_on(uow, at(DEADLINE + timedelta(days=1)))
    follow_up_on(uow, at(DEADLINE + timedelta(days=3)))

    assert calendars(uow, "escalation") == [None]

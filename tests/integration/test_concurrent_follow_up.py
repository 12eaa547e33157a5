"""Daily follow-ups at once, or beside an extension, on PostgreSQL: nothing happens twice or stale."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from db import tables
from db.engine import make_engine
from db.unit_of_work import SqlUnitOfWork
from notifications.outbox import OutboxNotifier
from tests.factories import add_agencies, add_recommendations, open_cycle
from workflows.bootstrap import FixedClock
from workflows.config import CycleConfig
from workflows.services import follow_up

DEADLINE = date(2026, 4, 1)
CONFIG = CycleConfig(
    secretariat_email="hlcp.secretariat@un.example.org",
    reply_token=lambda cycle_id, agency, nonce: f"t-{agency}-{nonce}",
    reply_url=lambda cycle_id, agency, nonce: f"http://portal/r/{agency}",
    sheet_mark=lambda cycle_id, agency: f"mark-{cycle_id}-{agency}",
)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_follow_ups_at_once_queue_each_message_and_move_each_request_once(database_url: str) -> None:
    engine = make_engine(database_url)
    new_uow = lambda: SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False))  # noqa: E731
    add_agencies(new_uow(), *[f"AG{n}" for n in range(12)])
    add_recommendations(new_uow(), {f"A1.{n}": [f"AG{n}"] for n in range(12)})
    open_cycle(new_uow(), "Spring 2026", DEADLINE, [f"AG{n}" for n in range(12)])
    day = DEADLINE + timedelta(days=3)  # overdue and escalated on the same day
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run_follow_up() -> None:
        uow, clock = new_uow(), FixedClock(day)
        start.wait()
        try:
            follow_up.follow_up(uow, OutboxNotifier(uow, clock), clock, CONFIG)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=run_follow_up) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    with engine.connect() as conn:
        escalations = conn.scalar(select(func.count()).where(tables.outbox.c.kind == "escalation"))
        moves = conn.execute(
            select(tables.history.c.to_state, func.count())
            .where(tables.history.c.entity == "request", tables.history.c.from_state != "pending")
            .group_by(tables.history.c.to_state)
        ).all()
    engine.dispose()
    assert escalations == 12
    assert dict(moves) == {"overdue": 12, "escalated": 12}


class _SlowNotifier(OutboxNotifier):
    """Queues as the outbox does, but runs `meanwhile` (once) and waits a moment before the first message."""

    def __init__(self, uow: SqlUnitOfWork, clock: FixedClock, meanwhile: threading.Thread) -> None:
        super().__init__(uow, clock)
        self.meanwhile = meanwhile

    def enqueue(self, kind: str, **message: Any) -> bool:
        if self.meanwhile.ident is None:  # not started yet
            self.meanwhile.start()
            time.sleep(1.0)  # the follow-up reaches the cycle's lock and waits there
        return super().enqueue(kind, **message)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_follow_up_waiting_behind_an_extension_acts_on_the_new_deadline(database_url: str) -> None:
    engine = make_engine(database_url)
    new_uow = lambda: SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False))  # noqa: E731
    add_agencies(new_uow(), "ILO", "IOM")
    add_recommendations(new_uow(), {"A1.1": ["ILO"], "A1.2": ["IOM"]})
    open_cycle(new_uow(), "Spring 2026", DEADLINE, ["ILO", "IOM"])
    late = FixedClock(DEADLINE + timedelta(days=3))
    uow = new_uow()
    follow_up.follow_up(uow, OutboxNotifier(uow, late), late, CONFIG)  # both overdue and escalated
    next_day = FixedClock(DEADLINE + timedelta(days=4))
    found: list[follow_up.FollowUpReport] = []

    def run_follow_up() -> None:
        uow = new_uow()
        found.append(follow_up.follow_up(uow, OutboxNotifier(uow, next_day), next_day, CONFIG))

    waiting = threading.Thread(target=run_follow_up)
    uow = new_uow()
    notifier = _SlowNotifier(uow, next_day, waiting)
    follow_up.extend_deadline(
        uow, notifier, next_day, CONFIG, "Spring 2026", DEADLINE + timedelta(days=30), by="secretariat"
    )
    waiting.join(timeout=60)

    (report,) = found
    assert report.escalations == [] and report.newly_overdue_requests == []
    with engine.connect() as conn:
        states = conn.scalars(select(tables.status_requests.c.state)).all()
    engine.dispose()
    assert states == ["sent", "sent"]

"""Two daily follow-ups of the same day at once (two workers) on PostgreSQL: nothing happens twice."""

from __future__ import annotations

import threading
from datetime import date, timedelta

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

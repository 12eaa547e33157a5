"""The secretariat's review decisions on in-memory ports (`tests.fakes`): no database needed."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import NotFound, ValidationError
from domain.lifecycle import CycleState, ReviewState
from domain.model import (
    Agency,
    Answer,
    Channel,
    Contact,
    ContactRole,
    CycleItem,
    ReportedStatus,
    StatusRequest,
    StatusUpdate,
    StockTakeCycle,
)
from tests.fakes import FakeClock, FakeNotifier, FakeUnitOfWork
from workflows.config import CycleConfig
from workflows.services import review

CYCLE = "2026-spring"
CLOCK = FakeClock(date(2026, 3, 20))
CONFIG = CycleConfig(
    secretariat_email="hlcp.secretariat@un.example.org",
    reply_token=lambda cycle_id, agency, nonce: f"{cycle_id}-{agency}-{nonce}",
    reply_url=lambda cycle_id, agency, nonce: f"http://portal/r/{cycle_id}-{agency}-{nonce}",
    sheet_mark=lambda cycle_id, agency: f"mark-{cycle_id}-{agency}",
)


def _answer(uow: FakeUnitOfWork, rid: int, *, submit: bool) -> StatusUpdate:
    update = StatusUpdate(cycle_id=1, recommendation_id=rid, agency_code="IOM")
    answer = Answer(rid, ReportedStatus.IN_PROGRESS, "Drafting the guidance.")
    update.apply(answer, at=CLOCK.now(), by="IOM focal point", channel=Channel.PORTAL, submit=submit)
    uow.updates.add(update)
    return update


def _cycle() -> FakeUnitOfWork:
    """An open cycle asking IOM about A1.1 (submitted), A1.2 (draft) and A2.1 (not answered)."""
    uow = FakeUnitOfWork()
    cycle = StockTakeCycle(name=CYCLE, deadline=date(2026, 3, 31), created_at=CLOCK.now())
    cycle.transition(CycleState.OPEN, at=CLOCK.now(), by="secretariat")
    uow.cycles.add(cycle)
    head = Contact(name="Head", email="head@iom.example.org", role=ContactRole.HEAD_OF_OFFICE)
    uow.agencies.add(Agency(code="IOM", name="IOM", contacts=[head]))
    uow.requests.add(
        StatusRequest(cycle_id=1, agency_code="IOM", item_count=3, token_nonce="n1", token_hash="h")
    )
    for rid, code in ((11, "A1.1"), (12, "A1.2"), (21, "A2.1")):
        uow.cycle_items.add(1, "IOM", CycleItem(rid, code, "lead"))
    _answer(uow, 11, submit=True)
    _answer(uow, 12, submit=False)
    uow.commit()  # the setting up is history already: the tests look at what follows
    uow.history.clear()
    return uow


def test_accepting_a_submitted_answer_with_another_status_needs_a_rationale_and_is_recorded() -> None:
    uow = _cycle()
    with pytest.raises(ValidationError, match="say why the secretariat assesses it as Completed"):
        review.accept(uow, CLOCK, CYCLE, "A1.1", "IOM", by="secretariat", assess="completed")
    assert uow.updates.get(1, 11, "IOM").state == ReviewState.SUBMITTED  # type: ignore[union-attr]
    done = review.accept(
        uow, CLOCK, CYCLE, "A1.1", "IOM", by="secretariat", assess="Completed", why="Report published."
    )
    assert (done.state, done.assessed_status, done.disagrees) == ("accepted", "completed", True)
    assert [(e.entity, e.to_state) for e in uow.history] == [("update", "accepted")]


def test_only_a_submitted_answer_of_an_item_asked_of_the_agency_can_be_reviewed() -> None:
    uow = _cycle()
    with pytest.raises(ValidationError, match=r"A1.2 \(IOM\) cannot be accepted: it is still a draft"):
        review.accept(uow, CLOCK, CYCLE, "A1.2", "IOM", by="secretariat")
    with pytest.raises(ValidationError, match="IOM has not answered it yet"):
        review.accept(uow, CLOCK, CYCLE, "A2.1", "IOM", by="secretariat")
    with pytest.raises(NotFound, match="'ZZ9' is not one of IOM's items"):
        review.accept(uow, CLOCK, CYCLE, "ZZ9", "IOM", by="secretariat")
    with pytest.raises(ValidationError, match="'done-ish' is not a status"):
        review.accept(uow, CLOCK, CYCLE, "A1.1", "IOM", by="secretariat", assess="done-ish")
    assert uow.history == []


def test_accepting_all_takes_the_submitted_answers_only_in_report_order() -> None:
    uow = _cycle()
    _answer(uow, 21, submit=True)
    assert review.accept_all(uow, CLOCK, CYCLE, "IOM", by="secretariat") == ["A1.1", "A2.1"]
    assert review.accept_all(uow, CLOCK, CYCLE, "IOM", by="secretariat") == []


def test_a_returned_answer_asks_its_question_by_e_mail_to_the_agency() -> None:
    uow, notifier = _cycle(), FakeNotifier()
    with pytest.raises(ValidationError):
        review.return_item(uow, notifier, CLOCK, CONFIG, CYCLE, "A1.1", "IOM", question="", by="secretariat")
    assert notifier.messages == {}
    done = review.return_item(
        uow, notifier, CLOCK, CONFIG, CYCLE, "A1.1", "IOM", question="Which meeting?", by="secretariat"
    )
    assert done.state == ReviewState.RETURNED
    (message,) = notifier.of_kind("returned")
    assert message.to == ["head@iom.example.org"]  # no focal point: the head of office
    assert message.context["reply_url"] == "http://portal/r/1-IOM-n1"
    assert [(r["code"], r["question"]) for r in message.context["returned"]] == [("A1.1", "Which meeting?")]

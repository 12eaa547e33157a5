"""Who reads which answer: every review state in a closed and in an open cycle, for each audience."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from db.unit_of_work import SqlUnitOfWork
from domain import review as review_rules
from domain.lifecycle import CycleState
from domain.model import Answer, Channel, ReportedStatus, StatusUpdate
from domain.publication import Audience
from tests import factories
from workflows.queries.public_record import public_record_of, records
from workflows.services.publish import publish

REVIEW_STATES = ("draft", "submitted", "returned", "accepted")
CYCLES = {"closed": date(2025, 10, 1), "open": date(2026, 3, 31)}
AT = datetime(2025, 9, 20, 9, 0, tzinfo=UTC)


def answered(uow: SqlUnitOfWork, cycle_id: int, rec_id: int, narrative: str, state: str) -> None:
    """AAA's answer to one item, left in `state` (each answer's narrative names its cycle and state)."""
    update = StatusUpdate(cycle_id=cycle_id, recommendation_id=rec_id, agency_code="AAA")
    uow.updates.add(update)
    answer = Answer(rec_id, ReportedStatus.IN_PROGRESS, narrative=narrative)
    update.apply(
        answer, at=AT, by="focal.point@aaa.example.org", channel=Channel.PORTAL, submit=state != "draft"
    )
    if state == "accepted":
        review_rules.accept(update, label=narrative, at=AT, by="secretariat")
    elif state == "returned":
        review_rules.send_back(update, label=narrative, at=AT, by="secretariat", question="Which meeting?")


@pytest.fixture
def every_state(uow: SqlUnitOfWork) -> SqlUnitOfWork:
    """One item per review state; AAA answered each in both cycles, one closed and one still open."""
    factories.add_agencies(uow, "AAA")
    ids = factories.add_recommendations(uow, {f"A1.{n}": ["AAA"] for n in range(1, len(REVIEW_STATES) + 1)})
    for cycle, deadline in CYCLES.items():
        cycle_id, _ = factories.open_cycle(uow, cycle, deadline, ["AAA"])
        with uow:
            for n, state in enumerate(REVIEW_STATES, start=1):
                answered(uow, cycle_id, ids[f"A1.{n}"], f"{cycle}/{state}", state)
            uow.commit()
    with uow:
        uow.cycles.require("closed").transition(CycleState.CLOSED, at=AT, by="test")
        uow.commit()
    return uow


def narratives(uow: SqlUnitOfWork, audience: Audience) -> set[str]:
    return {
        answer.narrative
        for rec in records(uow, audience)
        for entry in rec.timeline
        for answer in entry.answers
    }


def test_the_public_reads_only_accepted_answers_of_closed_cycles(every_state: SqlUnitOfWork) -> None:
    assert narratives(every_state, Audience.PUBLIC) == {"closed/accepted"}


def test_the_secretariats_tokens_read_submitted_and_accepted_answers_of_any_launched_cycle(
    every_state: SqlUnitOfWork,
) -> None:
    assert narratives(every_state, Audience.SECRETARIAT) == {
        f"{cycle}/{state}" for cycle in CYCLES for state in ("submitted", "accepted")
    }


def test_the_published_site_holds_no_answer_the_public_may_not_read(
    every_state: SqlUnitOfWork, tmp_path: Path
) -> None:
    site = publish(public_record_of(every_state, date.today()), tmp_path / "site").out_dir
    text = "\n".join(p.read_text() for p in site.rglob("*.html"))
    shown = {f"{cycle}/{state}" for cycle in CYCLES for state in REVIEW_STATES if f"{cycle}/{state}" in text}
    assert shown == {"closed/accepted"}

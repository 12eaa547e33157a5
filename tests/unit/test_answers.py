"""The answer rules on their own: parsing, validation, locks and the save decision, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.answers import (
    SKIP,
    AnswerView,
    RawAnswer,
    Verdict,
    judge_answer,
    lock_reason,
    parse_answer,
    parse_status,
    raw_of,
    same_answer,
)
from domain.lifecycle import CycleState, ReviewState
from domain.model import Answer, Channel, ReportedStatus, StatusRequest, StatusUpdate, StockTakeCycle

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEADLINE = date(2026, 3, 31)


def _cycle(state: CycleState = CycleState.OPEN) -> StockTakeCycle:
    return StockTakeCycle(name="C", deadline=DEADLINE, created_at=AT, state=state)


def _request(answered: bool = False) -> StatusRequest:
    request = StatusRequest(cycle_id=1, agency_code="IOM", item_count=1, token_nonce="n", token_hash="h")
    request.answered_at = AT if answered else None
    return request


def _stored(status: ReportedStatus, narrative: str, *, submit: bool) -> StatusUpdate:
    update = StatusUpdate(cycle_id=1, recommendation_id=7, agency_code="IOM")
    update.apply(Answer(7, status, narrative), at=AT, by="IOM", channel=Channel.PORTAL, submit=submit)
    return update


def _judge(raw: RawAnswer | None, **given: object) -> Verdict:
    defaults: dict[str, object] = {
        "code": "A1.1",
        "recommendation_id": 7,
        "update": None,
        "previous": None,
        "lock": "",
        "submit": False,
    }
    return judge_answer(raw, **{**defaults, **given})  # type: ignore[arg-type]


def test_a_status_is_read_from_its_value_or_its_label_whatever_the_case_and_spacing() -> None:
    assert parse_status("In progress") == ReportedStatus.IN_PROGRESS
    assert parse_status("  IN_PROGRESS ") == ReportedStatus.IN_PROGRESS
    assert parse_status("no longer  applicable") == ReportedStatus.NO_LONGER_APPLICABLE
    assert parse_status("finished") is None


def test_a_changed_status_needs_a_new_narrative_only_when_submitted() -> None:
    raw = RawAnswer(7, "completed", "Terms agreed.")
    kept = {"code": "A1.1", "previous_status": "in_progress", "previous_narrative": "Terms agreed."}
    answer, problems = parse_answer(raw, complete=True, **kept)
    assert answer is None and [(p.field, p.code) for p in problems] == [("narrative", "A1.1")]
    draft, none = parse_answer(raw, complete=False, **kept)
    assert draft == Answer(7, ReportedStatus.COMPLETED, "Terms agreed.") and none == []


def test_every_bad_field_is_reported_at_once() -> None:
    raw = RawAnswer(7, "blocked", "", evidence="ftp://x", next_milestone_date="31/12/2026")
    _, problems = parse_answer(raw, code="A1.1", previous_status=None, complete=True)
    assert sorted(p.field for p in problems) == ["evidence", "next_milestone_date", "obstacle"]


def test_an_item_locks_when_the_cycle_closes_when_accepted_and_after_the_deadline_once_answered() -> None:
    accepted = _stored(ReportedStatus.COMPLETED, "Done.", submit=True)
    accepted.transition(ReviewState.ACCEPTED, at=AT, by="secretariat")
    assert lock_reason(_cycle(CycleState.CLOSED), _request(), None, DEADLINE) == "The cycle is closed."
    accepted_reason = lock_reason(_cycle(), _request(), accepted.state, DEADLINE)
    assert accepted_reason.startswith("The secretariat has accepted")
    assert (
        lock_reason(_cycle(), _request(answered=True), None, date(2026, 4, 1)) == "The deadline has passed."
    )
    assert lock_reason(_cycle(), _request(answered=False), None, date(2026, 4, 1)) == ""
    assert lock_reason(_cycle(), _request(), None, DEADLINE) == ""


def test_a_submission_refuses_an_item_left_unanswered_but_a_draft_skips_it() -> None:
    refused = _judge(None, submit=True)
    assert [p.message for p in refused.problems] == ["not answered: choose a status or No change"]
    assert _judge(None, submit=False) == SKIP
    assert _judge(None, submit=True, lock="The cycle is closed.") == SKIP


def test_a_locked_item_may_be_sent_again_unchanged_but_not_changed() -> None:
    stored = _stored(ReportedStatus.ONGOING, "Still going.", submit=True)
    lock = "The deadline has passed."
    assert _judge(raw_of(stored), update=stored, lock=lock, submit=True) == SKIP
    changed = _judge(RawAnswer(7, "completed", "Done."), update=stored, lock=lock, submit=True)
    assert changed.problems[0].message == f"{lock} It can no longer be changed."


def test_a_draft_that_repeats_last_cycles_answer_is_stored_since_nothing_is_pre_filled() -> None:
    previous = AnswerView("in_progress", "Begun.")
    raw = RawAnswer(7, "In progress", " Begun. ")
    assert same_answer(raw, previous)
    kept = _judge(raw, previous=previous)
    assert kept.answer == Answer(7, ReportedStatus.IN_PROGRESS, "Begun.") and not kept.submits


def test_no_change_confirms_last_cycles_status_without_its_text() -> None:
    previous = AnswerView("in_progress", "Begun.")
    confirmed = _judge(RawAnswer(7, no_change=True), previous=previous, submit=True)
    assert confirmed.answer == Answer(7, ReportedStatus.IN_PROGRESS, "", no_change=True)
    assert confirmed.submits


def test_a_blank_item_is_refused_on_submission_but_left_alone_in_a_partial_one() -> None:
    assert (
        _judge(RawAnswer(7), submit=True).problems[0].message == "not answered: choose a status or No change"
    )
    assert _judge(RawAnswer(7), submit=True, partial=True) == SKIP
    assert _judge(None, submit=True, partial=True) == SKIP


def test_an_unchanged_answer_is_not_stored_again_and_a_stale_one_is_a_conflict() -> None:
    draft = _stored(ReportedStatus.ONGOING, "Going.", submit=False)
    assert _judge(raw_of(draft), update=draft) == SKIP
    stale = RawAnswer(7, "completed", "Done.", loaded_version=0)
    verdict = _judge(stale, update=draft)
    assert verdict.answer is None and verdict.conflict is not None
    assert verdict.conflict.stored == AnswerView("ongoing", "Going.") and verdict.conflict.stored_version == 1


def test_a_changed_answer_to_a_submitted_item_is_submitted_again() -> None:
    submitted = _stored(ReportedStatus.ONGOING, "Going.", submit=True)
    verdict = _judge(RawAnswer(7, "ongoing", "Going well.", loaded_version=1), update=submitted)
    assert verdict.submits and verdict.answer is not None and verdict.answer.narrative == "Going well."

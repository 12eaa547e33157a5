"""Milestones reported done, rescheduled, dropped or on track, and recommendations closed and reopened.

Every report from every milestone state and every closing move, allowed and refused, written out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import InvalidTransition, ValidationError
from domain.lifecycle import MilestoneState, RecommendationState
from domain.model import Milestone, MilestoneOutcome, MilestoneReport, Recommendation

AT = datetime(2014, 12, 1, 9, 0, tzinfo=UTC)
TODAY = date(2014, 12, 1)
DUE = date(2014, 11, 10)  # before TODAY: a planned milestone is overdue

DONE = MilestoneReport(1, MilestoneOutcome.DONE, date(2014, 11, 14))
RESCHEDULED = MilestoneReport(1, MilestoneOutcome.RESCHEDULED, date(2015, 6, 30), "venue moved")
DROPPED = MilestoneReport(1, MilestoneOutcome.DROPPED, None, "merged with the GFMD event")
ON_TRACK = MilestoneReport(1, MilestoneOutcome.ON_TRACK)


def _milestone(state: MilestoneState, due: date = DUE) -> Milestone:
    return Milestone(recommendation_id=1, title="Expert Meeting", due_date=due, state=state)


# (state before, report) -> state after; None: the report moves nothing (no history).
MOVES = [
    (MilestoneState.PLANNED, DONE, MilestoneState.DONE),
    (MilestoneState.OVERDUE, DONE, MilestoneState.DONE),
    (MilestoneState.PLANNED, RESCHEDULED, MilestoneState.PLANNED),
    (MilestoneState.OVERDUE, RESCHEDULED, MilestoneState.PLANNED),
    (MilestoneState.PLANNED, DROPPED, MilestoneState.CANCELLED),
    (MilestoneState.OVERDUE, DROPPED, MilestoneState.CANCELLED),
]
REFUSED = [
    (MilestoneState.DONE, RESCHEDULED),
    (MilestoneState.DONE, DROPPED),
    (MilestoneState.CANCELLED, DONE),
    (MilestoneState.CANCELLED, RESCHEDULED),
]


@pytest.mark.parametrize(("before", "report", "after"), MOVES, ids=lambda v: getattr(v, "value", None))
def test_a_milestone_report_moves_the_milestone_and_records_who_when_and_why(
    before: MilestoneState, report: MilestoneReport, after: MilestoneState
) -> None:
    milestone = _milestone(before)
    assert milestone.apply_report(report, today=TODAY, at=AT, by="focal@unctad.org")
    assert milestone.state == after
    [event] = milestone.events
    assert (event.from_state, event.to_state, event.by) == (before.value, after.value, "focal@unctad.org")
    assert not milestone.is_overdue_on(TODAY)


@pytest.mark.parametrize(("before", "report"), REFUSED, ids=lambda v: getattr(v, "value", None))
def test_a_done_or_dropped_milestone_refuses_another_life(
    before: MilestoneState, report: MilestoneReport
) -> None:
    milestone = _milestone(before)
    with pytest.raises(InvalidTransition):
        milestone.apply_report(report, today=TODAY, at=AT, by="focal@unctad.org")
    assert milestone.state == before
    assert milestone.events == []


def test_done_keeps_the_day_it_was_done_and_reporting_it_again_records_nothing() -> None:
    milestone = _milestone(MilestoneState.OVERDUE)
    milestone.apply_report(DONE, today=TODAY, at=AT, by="f")
    assert milestone.done_on == date(2014, 11, 14)
    assert not milestone.apply_report(DONE, today=TODAY, at=AT, by="f")
    assert len(milestone.events) == 1


def test_a_reschedule_moves_the_due_date_and_keeps_the_old_one_in_history() -> None:
    milestone = _milestone(MilestoneState.OVERDUE)
    milestone.apply_report(RESCHEDULED, today=TODAY, at=AT, by="f")
    assert (milestone.due_date, milestone.note) == (date(2015, 6, 30), "venue moved")
    assert milestone.events[0].data == {"old_due_date": "2014-11-10", "new_due_date": "2015-06-30"}
    assert milestone.events[0].why == "venue moved"


def test_on_track_moves_nothing_while_the_milestone_is_not_yet_due() -> None:
    milestone = _milestone(MilestoneState.PLANNED, due=date(2015, 3, 1))
    assert not milestone.apply_report(ON_TRACK, today=TODAY, at=AT, by="f")
    assert (milestone.state, milestone.events) == (MilestoneState.PLANNED, [])


def test_on_track_is_refused_for_a_milestone_past_its_due_date() -> None:
    with pytest.raises(ValidationError, match="was due 2014-11-10: say done, rescheduled or dropped"):
        _milestone(MilestoneState.OVERDUE).apply_report(ON_TRACK, today=TODAY, at=AT, by="f")


def test_done_on_a_future_day_is_refused() -> None:
    future = MilestoneReport(1, MilestoneOutcome.DONE, date(2015, 1, 5))
    with pytest.raises(ValidationError, match="a future day"):
        _milestone(MilestoneState.PLANNED).apply_report(future, today=TODAY, at=AT, by="f")


def test_only_an_open_milestone_past_its_due_date_is_overdue() -> None:
    assert _milestone(MilestoneState.PLANNED).is_overdue_on(TODAY)
    assert _milestone(MilestoneState.OVERDUE).is_overdue_on(TODAY)
    assert not _milestone(MilestoneState.DONE).is_overdue_on(TODAY)
    assert not _milestone(MilestoneState.CANCELLED).is_overdue_on(TODAY)
    assert not _milestone(MilestoneState.PLANNED, due=TODAY).is_overdue_on(TODAY)


def _recommendation(state: RecommendationState) -> Recommendation:
    return Recommendation(source="R", code="A2.5", kind="annex", text="t", position=1, state=state)


# The closing moves, written out: (state before, close as) -> allowed?
CLOSINGS = [
    (RecommendationState.ACTIVE, RecommendationState.IMPLEMENTED, True),
    (RecommendationState.ACTIVE, RecommendationState.CLOSED, True),
    (RecommendationState.ACTIVE, RecommendationState.OVERTAKEN, True),
    (RecommendationState.IMPLEMENTED, RecommendationState.CLOSED, False),
    (RecommendationState.CLOSED, RecommendationState.IMPLEMENTED, False),
    (RecommendationState.OVERTAKEN, RecommendationState.OVERTAKEN, False),
    (RecommendationState.SUPERSEDED, RecommendationState.IMPLEMENTED, False),
]


@pytest.mark.parametrize(("before", "how", "allowed"), CLOSINGS, ids=lambda v: str(v))
def test_only_an_active_recommendation_can_be_closed(
    before: RecommendationState, how: RecommendationState, allowed: bool
) -> None:
    recommendation = _recommendation(before)
    if allowed:
        recommendation.close(how, why="Evaluated in 2015.", at=AT, by="secretariat")
        assert recommendation.state == how and recommendation.is_closed
        assert recommendation.events[0].why == "Evaluated in 2015."
    else:
        with pytest.raises(InvalidTransition):
            recommendation.close(how, why="Evaluated in 2015.", at=AT, by="secretariat")
        assert recommendation.state == before


# (state before) -> may it be reopened?
REOPENINGS = [
    (RecommendationState.IMPLEMENTED, True),
    (RecommendationState.CLOSED, True),
    (RecommendationState.OVERTAKEN, True),
    (RecommendationState.WITHDRAWN, True),
    (RecommendationState.ACTIVE, False),
    (RecommendationState.SUPERSEDED, False),
]


@pytest.mark.parametrize(("before", "allowed"), REOPENINGS, ids=lambda v: str(v))
def test_a_closed_recommendation_can_be_reopened_and_the_reopening_is_recorded(
    before: RecommendationState, allowed: bool
) -> None:
    recommendation = _recommendation(before)
    if allowed:
        recommendation.reopen(why="The pledge lapsed.", at=AT, by="secretariat")
        assert recommendation.state == RecommendationState.ACTIVE
        [event] = recommendation.events
        assert (event.from_state, event.to_state, event.why) == (before.value, "active", "The pledge lapsed.")
    else:
        with pytest.raises(InvalidTransition):
            recommendation.reopen(why="The pledge lapsed.", at=AT, by="secretariat")


def test_closing_needs_a_way_that_closes_and_a_reason() -> None:
    with pytest.raises(ValidationError, match="not a way to close"):
        _recommendation(RecommendationState.ACTIVE).close(
            RecommendationState.WITHDRAWN, why="x", at=AT, by="secretariat"
        )
    with pytest.raises(ValidationError, match="say why"):
        _recommendation(RecommendationState.ACTIVE).close(
            RecommendationState.IMPLEMENTED, why=" ", at=AT, by="secretariat"
        )
    with pytest.raises(ValidationError, match="say why"):
        _recommendation(RecommendationState.CLOSED).reopen(why="", at=AT, by="secretariat")

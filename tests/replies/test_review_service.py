"""The secretariat's review use cases: the queue, accept, assess, return, re-answer, the thread, roll-up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.answers import RawAnswer
from domain.errors import NotFound, ValidationError
from domain.lifecycle import CycleState, ReviewState
from notifications.messages import REPLY_LINK
from tests.support import BY, CYCLE, DEADLINE, GRACE, Scenario, all_items, open_page, save, send_back
from workflows import bootstrap
from workflows.queries import review as review_reads
from workflows.queries.figures import figures_of
from workflows.queries.progress import cycle_overview
from workflows.services import follow_up, replies, review
from workflows.services.stocktake import build_stocktake


def submit_aaa(s: Scenario, clock: bootstrap.FixedClock | None = None) -> None:
    save(s, all_items(s), submit=True, clock=clock)


def accept(
    s: Scenario, code: str, agency: str = "AAA", *, assess: str | None = None, why: str = ""
) -> review.Reviewed:
    return review.accept(s.uow, s.clock, CYCLE, code, agency, by=BY, assess=assess, why=why)


def reanswer(s: Scenario, code: str, status: str, narrative: str, *, submit: bool = True) -> None:
    version = s.update(code)
    assert version is not None
    answer = RawAnswer(s.ids[code], status=status, narrative=narrative, loaded_version=version.version)
    save(s, [answer], submit=submit)


def test_submitted_answers_wait_in_the_queue_with_the_count_of_items_per_state(scenario: Scenario) -> None:
    submit_aaa(scenario)

    queue = review_reads.review_queue(scenario.uow, CYCLE)

    assert [(i.agency_code, i.code, i.status) for i in queue.items] == [
        ("AAA", "A1.1", "completed"),
        ("AAA", "A1.2", "in_progress"),
        ("AAA", "A2.1", "ongoing"),
    ]
    assert queue.items[0].narrative == "Meeting held in February." and queue.items[0].channel == "portal"
    assert queue.items[0].submitted_at is not None
    assert queue.counts == {"draft": 0, "submitted": 3, "returned": 0, "accepted": 0, "not answered": 2}
    assert review_reads.review_queue(scenario.uow, CYCLE, "BBB").items == []
    assert review_reads.queue_size(scenario.uow, CYCLE) == 3


def test_accepting_as_reported_takes_the_answer_out_of_the_queue_and_locks_it(scenario: Scenario) -> None:
    submit_aaa(scenario)

    done = accept(scenario, "A1.1")

    assert (done.state, done.assessed_status, done.disagrees) == ("accepted", None, False)
    assert [i.code for i in review_reads.review_queue(scenario.uow, CYCLE).items] == ["A1.2", "A2.1"]
    item = open_page(scenario, scenario.tokens["AAA"]).items[0]
    assert not item.editable and item.lock_reason == "The secretariat has accepted this answer."
    with pytest.raises(ValidationError, match=r"A1.1 \(AAA\) cannot be accepted: it is already accepted"):
        accept(scenario, "A1.1")
    with pytest.raises(ValidationError, match=r"A1.1 \(AAA\) cannot be returned: it is already accepted"):
        send_back(scenario, "A1.1")


def test_an_assessed_status_that_differs_needs_a_rationale_and_is_flagged_as_a_disagreement(
    scenario: Scenario,
) -> None:
    submit_aaa(scenario)
    with pytest.raises(ValidationError, match=r"why: A1.1 \(AAA\): the agency reported Completed; say why"):
        accept(scenario, "A1.1", assess="in_progress")
    assert scenario.update("A1.1").state == ReviewState.SUBMITTED  # type: ignore[union-attr]

    done = accept(scenario, "A1.1", assess="In progress", why="The group has met once; the report is due.")

    assert (done.reported_status, done.assessed_status, done.disagrees) == ("completed", "in_progress", True)
    same = accept(scenario, "A1.2", assess="in_progress")  # agreeing needs no rationale
    assert (same.assessed_status, same.disagrees) == ("in_progress", False)


def test_an_unknown_status_to_assess_is_refused_with_the_vocabulary(scenario: Scenario) -> None:
    submit_aaa(scenario)
    with pytest.raises(ValidationError, match=r"assess: 'done' is not a status; use one of: not_started, "):
        accept(scenario, "A1.1", assess="done", why="x")


def test_unknown_cycle_agency_or_item_and_unanswered_items_are_clear_errors(scenario: Scenario) -> None:
    with pytest.raises(NotFound, match="no-such-cycle"):
        review.accept(scenario.uow, scenario.clock, "no-such-cycle", "A1.1", "AAA", by=BY)
    with pytest.raises(NotFound, match="no status request for agency 'ZZZ'"):
        accept(scenario, "A1.1", agency="ZZZ")
    with pytest.raises(NotFound, match="'SR1' is not one of AAA's items in cycle '2026-spring'"):
        accept(scenario, "SR1")
    with pytest.raises(
        ValidationError, match=r"A1.1 \(AAA\) cannot be reviewed: AAA has not answered it yet"
    ):
        send_back(scenario, "A1.1")


def test_a_draft_can_be_neither_accepted_nor_returned(scenario: Scenario) -> None:
    save(scenario, all_items(scenario), submit=False)

    with pytest.raises(ValidationError, match="cannot be accepted: it is still a draft"):
        accept(scenario, "A1.1")
    with pytest.raises(ValidationError, match="cannot be returned: it is still a draft"):
        send_back(scenario, "A1.1")
    assert review.accept_all(scenario.uow, scenario.clock, CYCLE, "AAA", by=BY) == []


def test_returning_needs_a_question_and_sends_the_agency_its_questions_and_link(scenario: Scenario) -> None:
    submit_aaa(scenario)
    with pytest.raises(ValidationError, match=r"question: A1.1 \(AAA\): say what the agency should clarify"):
        send_back(scenario, "A1.1", question="   ")
    assert scenario.outbox("returned") == []

    send_back(scenario, "A1.1", question="Which meeting was held, and where is its report?")

    assert scenario.update("A1.1").state == ReviewState.RETURNED  # type: ignore[union-attr]
    (message,) = scenario.outbox("returned")
    assert message["recipients"] == ["focal.point@aaa.example.org"]
    assert "Which meeting was held, and where is its report?" in str(message["body_text"])
    assert REPLY_LINK in str(message["body_text"]) and scenario.tokens["AAA"] not in str(message["body_text"])
    assert "1 answer returned" in str(message["subject"])
    counts = review_reads.review_queue(scenario.uow, CYCLE, "AAA").counts
    assert (counts["submitted"], counts["returned"]) == (2, 1)


def test_a_returned_answer_waits_for_the_agency_then_comes_back_to_the_queue(scenario: Scenario) -> None:
    submit_aaa(scenario)
    send_back(scenario, "A1.1", question="Which meeting?")
    with pytest.raises(ValidationError, match="cannot be accepted: it was returned to the agency"):
        accept(scenario, "A1.1")
    with pytest.raises(ValidationError, match="cannot be returned: it was returned to the agency"):
        send_back(scenario, "A1.1")
    page_item = open_page(scenario, scenario.tokens["AAA"]).items[0]
    assert page_item.editable and page_item.reviewer_question == "Which meeting?"

    reanswer(scenario, "A1.1", "completed", "The expert group meeting of 12 February, report online.")

    assert scenario.update("A1.1").state == ReviewState.SUBMITTED  # type: ignore[union-attr]
    assert "A1.1" in [i.code for i in review_reads.review_queue(scenario.uow, CYCLE).items]
    assert accept(scenario, "A1.1").state == ReviewState.ACCEPTED
    assert open_page(scenario, scenario.tokens["AAA"]).items[0].reviewer_question == ""


def test_a_returned_answer_saved_as_a_draft_is_not_in_the_queue_until_submitted(scenario: Scenario) -> None:
    submit_aaa(scenario)
    send_back(scenario, "A1.1")

    reanswer(scenario, "A1.1", "completed", "Working on the answer.", submit=False)

    assert scenario.update("A1.1").state == ReviewState.DRAFT  # type: ignore[union-attr]
    assert "A1.1" not in [i.code for i in review_reads.review_queue(scenario.uow, CYCLE).items]


def test_after_the_deadline_only_the_returned_item_is_open_to_the_agency(scenario: Scenario) -> None:
    submit_aaa(scenario)
    send_back(scenario, "A1.2", question="Started where?")
    late = bootstrap.FixedClock(DEADLINE + timedelta(days=5))

    page = open_page(scenario, scenario.tokens["AAA"], late)
    assert [(i.code, i.editable) for i in page.items] == [("A1.1", False), ("A1.2", True), ("A2.1", False)]
    version = scenario.update("A1.2").version  # type: ignore[union-attr]
    answer = RawAnswer(
        scenario.ids["A1.2"], status="in_progress", narrative="In Kenya.", loaded_version=version
    )
    save(scenario, [answer], submit=True, clock=late)

    stored = scenario.update("A1.2")
    assert stored is not None and (stored.state, stored.narrative) == ("submitted", "In Kenya.")


def test_accept_all_accepts_the_submitted_answers_of_one_agency_only(scenario: Scenario) -> None:
    submit_aaa(scenario)
    send_back(scenario, "A1.2")

    accepted = review.accept_all(scenario.uow, scenario.clock, CYCLE, "AAA", by=BY)

    assert accepted == ["A1.1", "A2.1"]
    assert scenario.update("A1.2").state == ReviewState.RETURNED  # type: ignore[union-attr]
    assert review_reads.review_queue(scenario.uow, CYCLE).counts["accepted"] == 2


@pytest.mark.parametrize(
    ("start", "action", "allowed"),
    [
        ("draft", "accept", False),
        ("draft", "return", False),
        ("draft", "submit", True),
        ("submitted", "accept", True),
        ("submitted", "return", True),
        ("submitted", "submit", True),
        ("returned", "accept", False),
        ("returned", "return", False),
        ("returned", "draft", True),
        ("returned", "submit", True),
        ("accepted", "accept", False),
        ("accepted", "return", False),
        ("accepted", "submit", False),
    ],
)
def test_every_move_of_the_review_lifecycle_through_the_use_cases(
    scenario: Scenario, start: str, action: str, allowed: bool
) -> None:
    save(scenario, all_items(scenario), submit=start != "draft")
    if start == "returned":
        send_back(scenario, "A1.1")
    if start == "accepted":
        accept(scenario, "A1.1")
    moves = {
        "accept": lambda: accept(scenario, "A1.1"),
        "return": lambda: send_back(scenario, "A1.1"),
        "submit": lambda: reanswer(scenario, "A1.1", "ongoing", "Now a standing group.", submit=True),
        "draft": lambda: reanswer(scenario, "A1.1", "ongoing", "Now a standing group.", submit=False),
    }
    expected = {"accept": "accepted", "return": "returned", "submit": "submitted", "draft": "draft"}[action]
    if allowed:
        moves[action]()
        assert scenario.update("A1.1").state == expected  # type: ignore[union-attr]
    else:
        with pytest.raises(ValidationError):
            moves[action]()
        assert scenario.update("A1.1").state == start  # type: ignore[union-attr]


def test_the_thread_of_a_request_reads_back_in_order(scenario: Scenario) -> None:
    reminder_day = bootstrap.FixedClock(DEADLINE - timedelta(days=7))
    notifier = bootstrap.notifier(scenario.uow, reminder_day)
    follow_up.follow_up(scenario.uow, notifier, reminder_day, scenario.config)
    answered_day = bootstrap.FixedClock(DEADLINE - timedelta(days=5))
    submit_aaa(scenario, answered_day)
    scenario.clock = bootstrap.FixedClock(DEADLINE - timedelta(days=4))
    send_back(scenario, "A1.1", question="Which meeting?")
    reanswer_day = bootstrap.FixedClock(DEADLINE - timedelta(days=2))
    version = scenario.update("A1.1").version  # type: ignore[union-attr]
    answer = RawAnswer(scenario.ids["A1.1"], status="completed", narrative="The EGM.", loaded_version=version)
    save(scenario, [answer], submit=True, clock=reanswer_day)
    scenario.clock = bootstrap.FixedClock(DEADLINE)
    accept(scenario, "A1.1", assess="in_progress", why="Report not out yet.")

    thread = review_reads.request_thread(scenario.uow, CYCLE, "AAA")

    steps = [(e.at.date(), e.what, e.item) for e in thread]
    assert steps == [
        (DEADLINE - timedelta(days=7), "reminded", ""),
        (DEADLINE - timedelta(days=5), "answered", "A1.1"),
        (DEADLINE - timedelta(days=5), "answered", "A1.2"),
        (DEADLINE - timedelta(days=5), "answered", "A2.1"),
        (DEADLINE - timedelta(days=4), "returned", "A1.1"),
        (DEADLINE - timedelta(days=2), "re-answered", "A1.1"),
        (DEADLINE, "accepted", "A1.1"),
    ]
    assert [e.channel for e in thread] == [
        "e-mail",
        "portal",
        "portal",
        "portal",
        "secretariat",
        "portal",
        "secretariat",
    ]
    assert thread[0].detail == "to focal.point@aaa.example.org (queued, not sent yet)"
    assert thread[4].detail == "Which meeting?" and thread[4].by == BY
    assert thread[5].detail == "v2: Completed. The EGM."
    assert thread[6].detail == "assessed In progress (agency: Completed): Report not out yet."


def bbb_submits(scenario: Scenario, *, a12: str) -> None:
    """BBB, A1.2's contributor, submits its two items: A1.2 with status `a12`, SR1 ongoing."""
    answers = [
        RawAnswer(scenario.ids[code], status=status, narrative="Said so.", loaded_version=0)
        for code, status in (("A1.2", a12), ("SR1", "ongoing"))
    ]
    replies.save_reply(
        scenario.uow,
        scenario.notifier(scenario.uow),
        scenario.clock,
        scenario.config,
        scenario.tokens["BBB"],
        answers,
        submit=True,
        grace_days=GRACE,
    )


@pytest.mark.parametrize(
    ("aaa", "bbb", "rolled"),
    [
        ("completed", "in_progress", "in_progress"),  # the lead is done, a contributor is not
        ("in_progress", "completed", "in_progress"),  # the lead's status
        ("ongoing", "completed", "ongoing"),
        ("completed", "no_longer_applicable", "completed"),  # every part finished
        ("no_longer_applicable", "no_longer_applicable", "no_longer_applicable"),
        ("completed", None, "in_progress"),  # a part still unanswered
    ],
)
def test_the_roll_up_of_a_recommendation_with_two_owners_shows_its_parts(
    scenario: Scenario, aaa: str, bbb: str | None, rolled: str
) -> None:
    save(scenario, all_items(scenario, **{"A1.2": aaa}), submit=True)
    if bbb is not None:
        bbb_submits(scenario, a12=bbb)

    result = review_reads.rolled_up_status(scenario.uow, CYCLE, "A1.2")

    assert result.status == rolled
    assert [(p.agency_code, p.role, p.reported_status) for p in result.parts] == [
        ("AAA", "lead", aaa),
        ("BBB", "contributor", bbb),
    ]


def test_the_roll_up_of_a_recommendation_whose_lead_has_not_answered_is_no_answer_as_in_table_1(
    scenario: Scenario,
) -> None:
    bbb_submits(scenario, a12="ongoing")
    result = review_reads.rolled_up_status(scenario.uow, CYCLE, "A1.2")
    assert result.status is None  # the contributor's answer is listed among the parts
    assert [(p.agency_code, p.reported_status) for p in result.parts] == [("AAA", None), ("BBB", "ongoing")]


def test_the_roll_up_counts_the_secretariats_assessment_over_the_agencys_claim(scenario: Scenario) -> None:
    submit_aaa(scenario)  # AAA: A1.2 in progress; BBB has not answered
    accept(scenario, "A1.1", assess="in_progress", why="Only one meeting so far.")

    result = review_reads.rolled_up_status(scenario.uow, CYCLE, "A1.1")

    assert result.status == "in_progress"
    assert [(p.reported_status, p.assessed_status) for p in result.parts] == [("completed", "in_progress")]
    with pytest.raises(NotFound, match="'ZZ9' is not an item of cycle '2026-spring'"):
        review_reads.rolled_up_status(scenario.uow, CYCLE, "ZZ9")


def test_each_return_is_announced_once(scenario: Scenario) -> None:
    submit_aaa(scenario)
    send_back(scenario, "A1.1", question="Which meeting?")

    first = review.announce_returns(scenario.uow, scenario.clock, CYCLE)
    again = review.announce_returns(scenario.uow, scenario.clock, CYCLE)
    send_back(scenario, "A2.1", question="Since when?")
    later = review.announce_returns(scenario.uow, scenario.clock, CYCLE)

    assert first == [review.Returned(CYCLE, "AAA", "A1.1", "Which meeting?")] and again == []
    assert [r.code for r in later] == ["A2.1"]


def test_a_closed_cycle_takes_no_more_returns(scenario: Scenario) -> None:
    submit_aaa(scenario)
    with scenario.uow:
        cycle = scenario.uow.cycles.require(CYCLE)
        cycle.transition(CycleState.CLOSED, at=scenario.clock.now(), by="test")
        scenario.uow.commit()

    with pytest.raises(
        ValidationError, match="cycle '2026-spring' is closed: answers can no longer be returned"
    ):
        send_back(scenario, "A1.1")
    assert accept(scenario, "A1.1").state == "accepted"  # the review itself may finish after the close


def test_answers_accepted_together_appear_in_the_thread_in_report_order(scenario: Scenario) -> None:
    submit_aaa(scenario)
    review.accept_all(scenario.uow, scenario.clock, CYCLE, "AAA", by=BY)

    thread = review_reads.request_thread(scenario.uow, CYCLE, "AAA")

    assert [(e.what, e.item) for e in thread] == [
        ("answered", "A1.1"),
        ("answered", "A1.2"),
        ("answered", "A2.1"),
        ("accepted", "A1.1"),
        ("accepted", "A1.2"),
        ("accepted", "A2.1"),
    ]
    assert {e.detail for e in thread if e.what == "accepted"} == {"as reported"}


def test_a_returned_answer_counts_as_reported_but_not_yet_answered_in_every_view_of_the_cycle(
    scenario: Scenario,
) -> None:
    submit_aaa(scenario)
    send_back(scenario, "A1.1", question="Which meeting?")
    after_deadline = DEADLINE + timedelta(days=GRACE + 1)
    with scenario.uow:
        stocktake = build_stocktake(scenario.uow, CYCLE, today=after_deadline)
        figures = figures_of(scenario.uow.session, CYCLE, today=after_deadline)
        overview = cycle_overview(scenario.uow.session, CYCLE, after_deadline)
    [annex_i] = [a for a in stocktake.agencies if a.code == "AAA"]
    [shown] = [line for line in overview.agencies if line.code == "AAA"]
    # Annex I, the figures and `cycle show` agree: AAA owes an answer on A1.1, and is chased for it.
    assert (annex_i.items_answered, annex_i.items_asked, annex_i.overdue) == (2, 3, True)
    assert (shown.answered, shown.requested, shown.overdue > 0) == (2, 3, True)
    assert figures == stocktake.figures
    assert figures.overdue_requests >= 1 and figures.agencies_answered_in_full == 0
    # Its status still stands in the counts of reported recommendations until AAA answers again.
    [a11] = [item for item in stocktake.items if item.code == "A1.1"]
    assert a11.reported and a11.owners[0].answered and not a11.owners[0].answer_in_hand

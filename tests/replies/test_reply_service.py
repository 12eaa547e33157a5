"""The reply use cases: opening a request by its link, saving, submitting, conflicts, locks, re-issue."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.answers import NARRATIVE_MAX, UNKNOWN_LINK, InvalidAnswers, RawAnswer
from domain.errors import NotFound, ValidationError
from domain.lifecycle import CycleState, RequestState, ReviewState
from domain.tokens import derive_token
from notifications.messages import REPLY_LINK
from tests import factories
from tests.support import CYCLE, GRACE, Scenario, all_items, open_page, save
from workflows import bootstrap
from workflows.services import replies


def test_the_page_shows_only_the_agencys_items_grouped_by_agenda_point_with_last_cycles_answers(
    scenario: Scenario,
) -> None:
    page = open_page(scenario, scenario.tokens["AAA"])
    assert [g.title for g in page.groups] == [
        "Agenda point 1: Agenda point 1",
        "Agenda point 2: Agenda point 2",
    ]
    assert [i.code for i in page.items] == ["A1.1", "A1.2", "A2.1"]
    first = page.items[0]
    assert first.previous is not None and first.previous.status == "in_progress"
    assert first.previous.narrative == "Terms of reference drafted."
    assert first.previous_cycle == "2025-autumn"
    assert [(m.title, m.overdue) for m in first.milestones] == [("Expert group meeting", True)]
    assert page.items[2].previous is None and all(i.editable for i in page.items)


def test_unknown_revoked_cancelled_and_long_closed_links_raise_the_same_not_found(scenario: Scenario) -> None:
    s = scenario
    forged = derive_token(factories.SECRET_KEY, "00" * 16, s.cycle_id, "AAA")
    messages = []
    for token in ("nonsense", forged, ""):
        with pytest.raises(NotFound) as caught:
            open_page(s, token)
        messages.append(str(caught.value))
    with s.uow:
        request = s.uow.requests.get(s.cycle_id, "BBB")
        assert request is not None
        request.revoke(at=factories.AT, by="secretariat")
        s.uow.commit()
    with pytest.raises(NotFound) as caught:
        open_page(s, s.tokens["BBB"])
    messages.append(str(caught.value))
    with s.uow:
        cycle = s.uow.cycles.require(CYCLE)
        cycle.transition(CycleState.CLOSED, at=factories.AT, by="secretariat")
        cycle.closed_at = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
        s.uow.commit()
    # Within the grace period a closed cycle's page still opens, read-only.
    within = bootstrap.FixedClock(date(2026, 4, 10))
    assert (
        not open_page(s, s.tokens["AAA"], within).any_editable
        or not open_page(s, s.tokens["AAA"], within).cycle_open
    )
    after = bootstrap.FixedClock(date(2026, 4, 1) + timedelta(days=GRACE + 1))
    with pytest.raises(NotFound) as caught:
        open_page(s, s.tokens["AAA"], after)
    messages.append(str(caught.value))
    assert set(messages) == {UNKNOWN_LINK}


def test_a_draft_keeps_partial_answers_and_submitting_answers_the_request_with_a_receipt(
    scenario: Scenario,
) -> None:
    s = scenario
    result = save(s, [RawAnswer(s.ids["A1.1"], status="completed", loaded_version=0)], submit=False)
    assert result.saved == ("A1.1",) and s.request_state() == ("sent", None)
    draft = s.update("A1.1")
    assert draft is not None and draft.state == ReviewState.DRAFT and draft.version == 1
    answers = all_items(s)
    answers[0] = RawAnswer(s.ids["A1.1"], "completed", "Meeting held in February.", loaded_version=1)
    result = save(s, answers, submit=True)
    assert sorted(result.saved) == ["A1.1", "A1.2", "A2.1"]
    state, answered_at = s.request_state()
    assert state == RequestState.ANSWERED and answered_at is not None
    receipts = s.outbox("receipt")
    assert len(receipts) == 1 and receipts[0]["recipients"] == ["focal.point@aaa.example.org"]
    assert "Meeting held in February." in str(receipts[0]["body_text"])
    submitted = s.update("A1.1")
    assert submitted is not None and submitted.state == ReviewState.SUBMITTED and submitted.version == 2


def test_every_problem_is_reported_at_once_naming_item_and_field_and_nothing_is_saved(
    scenario: Scenario,
) -> None:
    s = scenario
    typed = [
        # Status changed from in progress without saying why.
        RawAnswer(s.ids["A1.1"], "completed", "", evidence="javascript:alert(1)", loaded_version=0),
        RawAnswer(s.ids["A1.2"], "blocked", "No funds.", next_milestone_date="31/12/2026", loaded_version=0),
        RawAnswer(s.ids["A2.1"], "finished", "x" * (NARRATIVE_MAX + 1), loaded_version=0),
    ]
    with pytest.raises(InvalidAnswers) as caught:
        save(s, typed, submit=True)
    found = {(p.code, p.field) for p in caught.value.problems}
    assert found == {
        ("A1.1", "narrative"),
        ("A1.1", "evidence"),
        ("A1.2", "next_milestone_date"),
        ("A1.2", "obstacle"),
        ("A2.1", "status"),
        ("A2.1", "narrative"),
    }
    assert "A1.1 narrative: required because the status changed from In progress to Completed" in str(
        caught.value
    )
    assert isinstance(caught.value, ValidationError)
    assert s.update("A1.1") is None and s.request_state()[0] == "sent"


def test_a_stale_version_is_a_conflict_that_keeps_the_stored_answer_while_other_items_save(
    scenario: Scenario,
) -> None:
    s = scenario
    save(s, [RawAnswer(s.ids["A1.1"], "completed", "Colleague's answer.", loaded_version=0)], submit=False)
    mine = [
        RawAnswer(s.ids["A1.1"], "completed", "My answer.", loaded_version=0),
        RawAnswer(s.ids["A1.2"], "in_progress", "Started.", loaded_version=0),
    ]
    result = save(s, mine, submit=False)
    assert result.saved == ("A1.2",)
    (conflict,) = result.conflicts
    assert (conflict.code, conflict.yours.narrative, conflict.stored.narrative) == (
        "A1.1",
        "My answer.",
        "Colleague's answer.",
    )
    stored = s.update("A1.1")
    assert stored is not None and stored.narrative == "Colleague's answer."


def test_corrections_are_allowed_until_the_deadline_then_only_returned_items_reopen(
    scenario: Scenario,
) -> None:
    s = scenario
    save(s, all_items(s), submit=True)
    corrected = [RawAnswer(s.ids["A2.1"], "ongoing", "Now with a narrative.", loaded_version=1)]
    assert save(s, corrected, submit=True).saved == ("A2.1",)
    late = bootstrap.FixedClock(date(2026, 4, 2))
    page = open_page(s, s.tokens["AAA"], late)
    assert not page.any_editable and page.items[0].lock_reason == "The deadline has passed."
    with pytest.raises(InvalidAnswers):
        save(s, [RawAnswer(s.ids["A2.1"], "ongoing", "Too late.", loaded_version=2)], submit=True, clock=late)
    with s.uow:
        update = s.uow.updates.get(s.cycle_id, s.ids["A2.1"], "AAA")
        assert update is not None
        update.transition(ReviewState.RETURNED, at=factories.AT, by="secretariat")
        update.reviewer_question = "Which offices?"
        s.uow.commit()
    page = open_page(s, s.tokens["AAA"], late)
    assert [i.code for i in page.items if i.editable] == ["A2.1"]
    assert page.items[2].reviewer_question == "Which offices?"
    assert save(
        s,
        [RawAnswer(s.ids["A2.1"], "ongoing", "All regional offices.", loaded_version=2)],
        submit=True,
        clock=late,
    ).saved == ("A2.1",)


def test_accepted_answers_are_locked(scenario: Scenario) -> None:
    s = scenario
    save(s, all_items(s), submit=True)
    with s.uow:
        update = s.uow.updates.get(s.cycle_id, s.ids["A1.1"], "AAA")
        assert update is not None
        update.transition(ReviewState.ACCEPTED, at=factories.AT, by="secretariat")
        s.uow.commit()
    assert open_page(s, s.tokens["AAA"]).items[0].lock_reason == "The secretariat has accepted this answer."
    with pytest.raises(InvalidAnswers) as caught:
        save(s, [RawAnswer(s.ids["A1.1"], "ongoing", "Changed my mind.", loaded_version=1)], submit=True)
    assert "can no longer be changed" in str(caught.value)


def test_every_version_is_kept_and_shown(scenario: Scenario) -> None:
    s = scenario
    save(s, [RawAnswer(s.ids["A2.1"], "not_started", loaded_version=0)], submit=False)
    save(s, [RawAnswer(s.ids["A2.1"], "in_progress", loaded_version=1)], submit=False)
    item = open_page(s, s.tokens["AAA"]).items[2]
    assert [(v.version, v.status) for v in item.versions] == [(1, "not_started"), (2, "in_progress")]


def test_reissuing_a_link_withdraws_the_old_links_e_mail_that_has_not_left(scenario: Scenario) -> None:
    s = scenario
    for _ in range(2):
        replies.reissue_link(s.uow, s.notifier(s.uow), s.clock, s.config, CYCLE, "AAA", "secretariat")

    by_id = sorted(s.outbox("status-request"), key=lambda m: int(str(m["id"])))
    assert [m["state"] for m in by_id] == ["withdrawn", "queued"]


def test_reissuing_a_link_kills_the_old_one_and_sends_the_new_one(scenario: Scenario) -> None:
    s = scenario
    link = replies.reissue_link(s.uow, s.notifier(s.uow), s.clock, s.config, CYCLE, "AAA", "secretariat")
    with pytest.raises(NotFound):
        open_page(s, s.tokens["AAA"])
    new_token = link.rsplit("/", 1)[1]
    assert open_page(s, new_token).agency_code == "AAA"
    (message,) = s.outbox("status-request")
    # Stored with the placeholder the dispatcher fills as it sends: the database keeps no live link.
    assert REPLY_LINK in str(message["body_text"]) and new_token not in str(message["body_text"])
    assert (message["cycle_id"], message["agency_code"]) == (s.cycle_id, "AAA")
    with pytest.raises(NotFound):
        replies.reissue_link(s.uow, s.notifier(s.uow), s.clock, s.config, CYCLE, "ZZZ", "secretariat")


def test_last_cycles_narrative_kept_as_it_is_does_not_explain_a_change_of_status(scenario: Scenario) -> None:
    s = scenario
    typed = all_items(s)
    typed[0] = RawAnswer(s.ids["A1.1"], "completed", "Terms of reference drafted.", loaded_version=0)
    with pytest.raises(InvalidAnswers) as caught:
        save(s, typed, submit=True)
    assert [(p.code, p.field) for p in caught.value.problems] == [("A1.1", "narrative")]
    # The same status as last cycle needs no new narrative.
    typed[0] = RawAnswer(s.ids["A1.1"], "in_progress", "Terms of reference drafted.", loaded_version=0)
    assert "A1.1" in save(s, typed, submit=True).saved


def test_a_reissued_link_of_a_request_in_parts_lists_its_codes_under_each_agenda_point(
    scenario: Scenario,
) -> None:
    s = scenario
    in_parts = dataclasses.replace(s.config, part_size=1)
    link = replies.reissue_link(s.uow, s.notifier(s.uow), s.clock, in_parts, CYCLE, "AAA", "secretariat")
    page = open_page(s, link.rsplit("/", 1)[1])
    (message,) = s.outbox("status-request")
    text = str(message["body_text"])
    for group in page.groups:
        listed = ", ".join(item.code for item in group.items)
        assert text.index(group.title) < text.index(listed), group.title
    assert "one agenda point at a time" in text and "Last reported" not in text


def test_last_time_is_the_cycle_launched_last_before_this_one_on_the_page_in_the_request_and_in_the_report(
    scenario: Scenario,
) -> None:
    s = scenario
    # Launched after 2025-autumn, then cancelled: it produced no stock-take and is nobody's last time.
    factories.open_cycle(s.uow, "2026-winter", date(2026, 1, 15), ["AAA"])
    with s.uow:
        winter = s.uow.cycles.require("2026-winter")
        winter.launched_at = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
        winter.transition(CycleState.CANCELLED, at=winter.launched_at, by="secretariat")
        # Created after 2025-autumn and before this cycle, never launched: no one was asked anything in it.
        s.uow.cycles.require(CYCLE).created_at = factories.AT + timedelta(days=1)
        s.uow.cycles.add(
            factories.StockTakeCycle(name="2026-draft", deadline=date(2026, 2, 1), created_at=factories.AT)
        )
        s.uow.commit()

    first = open_page(s, s.tokens["AAA"]).items[0]
    assert (first.previous_cycle, first.previous and first.previous.narrative) == (
        "2025-autumn",
        "Terms of reference drafted.",
    )
    with s.uow:
        cycle = s.uow.cycles.require(CYCLE)
        previous = s.uow.stocktakes.previous_cycle(cycle)
        assert previous is not None and previous.name == "2025-autumn"
        asked = s.uow.cycle_items.with_last_answers(cycle, ["AAA"])
        assert next(item for item in asked if item.code == "A1.1").narrative == "Terms of reference drafted."
        answers = s.uow.updates.last_cycle_answers(cycle, "AAA")
        assert {name for _answer, name in answers.values()} == {"2025-autumn"}

"""A cycle's launch, daily follow-up and collection on in-memory ports (`tests.fakes`): no database."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from domain.errors import ValidationError
from domain.lifecycle import MilestoneState, RecommendationState, RequestState
from domain.model import (
    Agency,
    Answer,
    Answering,
    Channel,
    Contact,
    ContactRole,
    Milestone,
    Ownership,
    Recommendation,
    RecommendationKind,
    ReportedStatus,
    StatusUpdate,
)
from tests.fakes import FakeClock, FakeNotifier, FakeUnitOfWork
from tests.support import KEYED_CONFIG
from workflows.services import closing, follow_up, launch
from workflows.services.follow_up import LateMilestone, LateRequest, OverdueAgency

CYCLE = "2026-spring"
LAUNCH_DAY = date(2026, 3, 2)
DEADLINE = date(2026, 3, 31)
REPORT = "CEB/2014/4 Annex V"
FOCAL, HEAD = "focal.point@iom.int", "head@iom.int"


def _item(
    code: str, position: int, state: RecommendationState = RecommendationState.ACTIVE
) -> Recommendation:
    return Recommendation(
        source=REPORT,
        code=code,
        kind=RecommendationKind.ANNEX,
        text=f"The text of {code}.",
        position=position,
        agenda_point=1,
        agenda_title="Migration and development",
        state=state,
    )


class Catalogue:
    """IOM leads A1.1 and A1.2 (UNHCR contributes to A1.2); UNHCR led A2.1, implemented since; the
    CEB, for which the secretariat answers, leads SR1."""

    def __init__(self) -> None:
        self.clock = FakeClock(LAUNCH_DAY)
        self.notifier = FakeNotifier(self.clock)
        self.uow = FakeUnitOfWork(self.notifier)
        iom_head = Contact(name="IOM head", email=HEAD, role=ContactRole.HEAD_OF_OFFICE)
        unhcr_head = Contact(name="UNHCR head", email="head@unhcr.org", role=ContactRole.HEAD_OF_OFFICE)
        ceb = Contact(name="CEB secretary", email="ceb@un.org")
        for agency in (
            Agency(code="IOM", name="IOM", contacts=[Contact(name="IOM focal point", email=FOCAL), iom_head]),
            Agency(code="UNHCR", name="UN Refugee Agency", contacts=[unhcr_head]),
            Agency(code="CEB", name="Chief Executives Board", answers=Answering.SECRETARIAT, contacts=[ceb]),
        ):
            self.uow.agencies.add(agency)
        owners = {
            "A1.1": {"IOM": "lead"},
            "A1.2": {"IOM": "lead", "UNHCR": "contributor"},
            "A2.1": {"UNHCR": "lead"},
            "SR1": {"CEB": "lead"},
        }
        for position, (code, roles) in enumerate(owners.items()):
            state = RecommendationState.IMPLEMENTED if code == "A2.1" else RecommendationState.ACTIVE
            rec = _item(code, position, state)
            self.uow.recommendations.add(rec)
            for owner, role in roles.items():
                self.uow.ownerships.add(
                    Ownership(recommendation_id=rec.id or 0, agency_code=owner, role=role)
                )

    def launch(self) -> launch.LaunchResult:
        return launch.launch_cycle(
            self.uow, self.notifier, self.clock, KEYED_CONFIG, name=CYCLE, deadline=DEADLINE
        )

    def launched(self) -> int:
        """Launch, and take every request as sent on the launch day (its message left)."""
        cycle_id = self.launch().cycle_id
        for request in self.uow.requests.for_cycle(cycle_id):
            request.transition(RequestState.SENT, at=self.clock.now(), by="outbox", why="status request sent")
            request.sent_at = self.clock.now()
        return cycle_id

    def answer(self, cycle_id: int, agency: str, code: str) -> None:
        """The agency submits an answer on the item."""
        rid = next(r.id for r in self.uow.recommendations.items if r.code == code) or 0
        update = StatusUpdate(cycle_id=cycle_id, recommendation_id=rid, agency_code=agency)
        answer = Answer(rid, ReportedStatus.IN_PROGRESS, "Drafting the guidance.")
        update.apply(
            answer, at=self.clock.now(), by=f"{agency} focal point", channel=Channel.PORTAL, submit=True
        )
        self.uow.updates.add(update)

    def request_state(self, cycle_id: int, agency: str) -> str:
        """The state of the agency's status request in the cycle (which must exist)."""
        request = self.uow.requests.get(cycle_id, agency)
        assert request is not None, f"no status request for {agency} in cycle {cycle_id}"
        return request.state

    def on(self, day: date) -> follow_up.FollowUpReport:
        """The daily follow-up, run on `day`."""
        self.clock.advance((day - self.clock.today()).days)
        return follow_up.follow_up(self.uow, self.notifier, self.clock, KEYED_CONFIG)


def test_a_launch_asks_each_owning_agency_once_about_its_active_items_and_a_re_run_queues_nothing_new() -> (
    None
):
    site = Catalogue()
    launched = site.launch()
    assert (launched.created, launched.agencies, launched.item_count) == (True, ["CEB", "IOM", "UNHCR"], 4)
    # The secretariat answers for the CEB: no request, no message.
    requests = site.uow.requests.for_cycle(launched.cycle_id)
    assert [(r.agency_code, r.item_count, r.state) for r in requests] == [
        ("IOM", 2, "pending"),
        ("UNHCR", 1, "pending"),
    ]
    to_iom, to_unhcr = sorted(site.notifier.of_kind("status-request"), key=lambda m: m.agency_code or "")
    assert (to_iom.to, to_unhcr.to, launched.enqueued) == ([FOCAL], ["head@unhcr.org"], 2)
    assert [[i["code"] for i in point["items"]] for point in to_iom.context["items_by_point"]] == [
        ["A1.1", "A1.2"]
    ]
    assert [(e.entity, e.to_state, e.why) for e in site.uow.history] == [("cycle", "open", "cycle launched")]

    again = site.launch()
    assert (again.created, again.cycle_id, again.enqueued) == (False, launched.cycle_id, 0)
    assert len(site.notifier.messages) == 2 and len(site.uow.requests.items) == 2


def test_a_launch_is_refused_while_an_active_item_has_no_owner_and_leaves_nothing_behind() -> None:
    site = Catalogue()
    site.uow.recommendations.add(_item("A3.1", 9))
    with pytest.raises(ValidationError, match=r"A3\.1"):
        site.launch()
    assert (site.uow.cycles.list(), site.uow.requests.items, site.notifier.messages) == ([], [], {})
    assert (
        launch.validate_launch(site.uow, site.clock, name=CYCLE, deadline=DEADLINE, allow_unowned=True)
        is False
    )


def test_a_reminder_goes_once_to_the_focal_points_and_a_reply_answering_every_item_is_announced_once() -> (
    None
):
    site = Catalogue()
    cycle_id = site.launched()
    site.answer(cycle_id, "UNHCR", "A1.2")
    # A week before the deadline: the 14-day point was missed, so one reminder catches up (7 days).
    report = site.on(DEADLINE - timedelta(days=7))
    assert report.reminders == [f"reminder:{cycle_id}:IOM:7"]
    (reminder,) = site.notifier.of_kind("reminder")
    assert (reminder.to, reminder.context["days_left"], reminder.context["unanswered_count"]) == (
        [FOCAL],
        7,
        2,
    )
    assert report.replies_received == [f"{CYCLE}:UNHCR"]
    assert site.request_state(cycle_id, "UNHCR") == RequestState.ANSWERED

    again = site.on(DEADLINE - timedelta(days=7))
    assert (again.reminders, again.replies_received, len(site.notifier.of_kind("reminder"))) == ([], [], 1)


def test_an_unanswered_request_is_overdue_after_its_deadline_and_escalated_to_the_head_three_days_later() -> (
    None
):
    site = Catalogue()
    cycle_id = site.launched()
    site.answer(cycle_id, "UNHCR", "A1.2")
    site.on(DEADLINE - timedelta(days=2))  # the last reminder
    late = site.on(DEADLINE + timedelta(days=1))
    assert late.newly_overdue_requests == [f"{CYCLE}:IOM"] and late.escalations == []
    assert late.late_requests == [LateRequest(CYCLE, "IOM", DEADLINE, ["A1.1", "A1.2"])]
    assert late.overdue_agencies == [OverdueAgency("IOM", CYCLE, "overdue", 2, 0, date(2026, 3, 29), None)]

    escalated = site.on(DEADLINE + timedelta(days=3))
    assert escalated.escalations == [f"escalation:{cycle_id}:IOM"]
    (escalation,) = site.notifier.of_kind("escalation")
    assert (escalation.to, escalation.cc, escalation.context["focal_points"]) == (
        [HEAD],
        [KEYED_CONFIG.secretariat_email, FOCAL],  # the focal point learns it from us
        [FOCAL],
    )
    assert escalated.escalated_requests == [LateRequest(CYCLE, "IOM", DEADLINE, ["A1.1", "A1.2"])]
    assert site.request_state(cycle_id, "IOM") == RequestState.ESCALATED
    assert site.on(DEADLINE + timedelta(days=4)).escalations == []


def test_a_milestone_past_its_date_turns_overdue_once_and_is_news_only_if_it_fell_due_since_the_launch() -> (
    None
):
    site = Catalogue()
    site.launched()
    a11 = site.uow.recommendations.items[0].id or 0
    site.uow.milestones.add(
        Milestone(recommendation_id=a11, title="Expert meeting", due_date=date(2026, 2, 20))
    )
    site.uow.milestones.add(
        Milestone(recommendation_id=a11, title="Guidance note", due_date=date(2026, 3, 10))
    )
    report = site.on(date(2026, 3, 11))
    assert report.late_milestones == [LateMilestone("A1.1", "IOM", "Guidance note", date(2026, 3, 10))]
    assert [m.state for m in site.uow.milestones.items] == [MilestoneState.OVERDUE, MilestoneState.OVERDUE]
    assert report.overdue_agencies == [OverdueAgency("IOM", "", "", 0, 2, None, None)]
    assert site.on(date(2026, 3, 12)).late_milestones == []


def test_collecting_an_empty_inbox_marks_complete_replies_answered_and_lists_who_still_owes_items(
    tmp_path: Path,
) -> None:
    site = Catalogue()
    cycle_id = site.launched()
    site.answer(cycle_id, "UNHCR", "A1.2")
    site.answer(cycle_id, "IOM", "A1.1")
    collected = closing.collect_replies(
        lambda: site.uow,
        lambda _uow: site.notifier,
        site.clock,
        KEYED_CONFIG,
        cycle_name=CYCLE,
        inbox_dir=tmp_path,
    )
    assert (collected.files, collected.newly_answered, collected.replies_received) == (
        [],
        ["UNHCR"],
        ["IOM", "UNHCR"],
    )
    assert [(p.code, p.requested, p.answered, p.missing) for p in collected.missing] == [("IOM", 2, 1, 1)]
    assert site.request_state(cycle_id, "UNHCR") == RequestState.ANSWERED


def test_an_escalation_copies_the_focal_points_only_when_it_goes_over_their_heads() -> None:
    focal, head = (
        Contact(name="F", email=FOCAL),
        Contact(name="H", email=HEAD, role=ContactRole.HEAD_OF_OFFICE),
    )
    with_head = Agency(code="IOM", name="IOM", contacts=[focal, head])
    assert (with_head.escalation_recipients(), with_head.escalation_copies()) == ([HEAD], [FOCAL])
    without = Agency(code="IOM", name="IOM", contacts=[focal])
    assert (without.escalation_recipients(), without.escalation_copies()) == ([FOCAL], [])

"""Use-case rules on in-memory ports (`tests.fakes`): no database, the same all-or-nothing."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import NotFound, ValidationError
from domain.launch import Readiness, check_new_cycle, check_rerun, is_placeholder, listing
from domain.lifecycle import CycleState, RequestState
from domain.model import (
    Agency,
    Channel,
    Contact,
    ContactRole,
    Milestone,
    RecommendationKind,
    StatusRequest,
    StockTakeCycle,
    agenda_heading,
)
from tests.fakes import FakeClock, FakeUnitOfWork
from workflows.services import agencies

REGISTRY = """
agencies:
  - code: IOM
    name: International Organization for Migration
    contacts:
      - {name: IOM focal point, email: focal.point@iom.example.org}
  - code: UNHCR
    name: UN Refugee Agency
    contacts:
      - {name: UNHCR head, email: head@unhcr.example.org, role: head_of_office}
"""


def _loaded() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    agencies.load_registry(uow, REGISTRY)
    return uow


def test_messages_go_to_the_focal_points_else_to_the_head_of_office() -> None:
    uow = _loaded()
    assert uow.agencies.require("IOM").recipients() == ["focal.point@iom.example.org"]
    assert uow.agencies.require("UNHCR").recipients() == ["head@unhcr.example.org"]
    assert uow.agencies.require("IOM").escalation_recipients() == ["focal.point@iom.example.org"]


def test_a_replacing_contact_becomes_the_only_one_of_its_role_and_an_added_one_joins_it() -> None:
    uow = _loaded()
    fp = ContactRole.FOCAL_POINT
    agencies.set_contact(uow, "IOM", name="New", email="new@iom.example.org", role=fp, replace=True)
    agencies.set_contact(uow, "IOM", name="Two", email="two@iom.example.org", role=fp, replace=False)
    assert uow.agencies.require("IOM").emails(fp) == ["new@iom.example.org", "two@iom.example.org"]
    assert uow.commits == 3


def test_a_bad_address_or_an_unknown_agency_changes_nothing() -> None:
    uow = _loaded()
    fp = ContactRole.FOCAL_POINT
    with pytest.raises(ValidationError, match="not a valid e-mail address"):
        agencies.set_contact(uow, "IOM", name="X", email="not-an-address", role=fp, replace=True)
    with pytest.raises(NotFound, match="no agency with code 'WHO'"):
        agencies.set_contact(uow, "WHO", name="X", email="x@who.example.org", role=fp, replace=True)
    assert uow.agencies.require("IOM").emails(fp) == ["focal.point@iom.example.org"]
    assert uow.commits == 1


def test_reloading_the_shipped_registry_keeps_what_the_secretariat_edited() -> None:
    uow = _loaded()
    uow.agencies.require("IOM").contacts = [Contact(name="Edited", email="edited@iom.example.org")]
    again = agencies.load_registry(uow, REGISTRY, update_existing=False)
    assert (again.added, again.updated) == (0, 0)
    assert uow.agencies.require("IOM").recipients() == ["edited@iom.example.org"]
    updated = agencies.load_registry(uow, REGISTRY)
    assert updated.updated == 2 and uow.agencies.require("IOM").recipients() == [
        "focal.point@iom.example.org"
    ]


def test_a_registry_with_one_bad_entry_adds_no_agency_at_all() -> None:
    uow = FakeUnitOfWork()
    bad = REGISTRY + "  - {code: bad code, name: Nobody}\n"
    with pytest.raises(ValidationError, match=r"agencies\[3\]\.code"):
        agencies.load_registry(uow, bad)
    assert uow.agencies.list() == [] and uow.commits == 0


def test_a_planned_milestone_past_its_date_becomes_overdue_through_its_lifecycle() -> None:
    clock = FakeClock(date(2026, 3, 10))

    move = Milestone.overdue_move(
        7, "Expert meeting", date(2026, 3, 9), clock.today(), at=clock.now(), by="follow-up"
    )

    assert move is not None
    assert (move.entity, move.key, move.from_state, move.to_state, move.why) == (
        "milestone",
        "7:Expert meeting",
        "planned",
        "overdue",
        "due 2026-03-09",
    )
    assert Milestone.overdue_move(7, "Report", clock.today(), clock.today(), at=clock.now(), by="x") is None


def test_an_untitled_agenda_point_is_headed_by_its_number_alone() -> None:
    annex, strategic = RecommendationKind.ANNEX, RecommendationKind.STRATEGIC
    assert agenda_heading(annex, 3, None) == "Agenda point 3"
    assert agenda_heading(annex, 3, "") == "Agenda point 3"
    assert (
        agenda_heading(annex, 1, "Migration and development") == "Agenda point 1: Migration and development"
    )
    assert agenda_heading(strategic, None, None) == "Strategic recommendations"
    assert agenda_heading(annex, None, None) == "Other recommendations"


def test_an_agency_without_any_contact_has_no_recipient() -> None:
    assert Agency(code="WHO", name="World Health Organization").recipients() == []


READY = Readiness(ownerless=[], owners=["ILO", "IOM"], reachable=frozenset({"ILO", "IOM"}))
TODAY = date(2026, 3, 2)


def test_a_new_cycle_needs_a_name_and_a_deadline_ahead() -> None:
    with pytest.raises(ValidationError, match="name: a cycle needs a name"):
        check_new_cycle("", date(2026, 4, 1), TODAY, READY, allow_unowned=False)
    with pytest.raises(ValidationError, match="deadline: 2026-03-01 is in the past"):
        check_new_cycle("Spring", date(2026, 3, 1), TODAY, READY, allow_unowned=False)
    check_new_cycle("Spring", TODAY, TODAY, READY, allow_unowned=False)


def test_a_new_cycle_needs_every_item_owned_unless_allowed_and_every_owner_reachable() -> None:
    unowned = Readiness(ownerless=["A3.1", "A3.2"], owners=["ILO"], reachable=frozenset({"ILO"}))
    with pytest.raises(ValidationError, match=r"2 active recommendation\(s\) have no owner: A3.1, A3.2"):
        check_new_cycle("Spring", date(2026, 4, 1), TODAY, unowned, allow_unowned=False)
    check_new_cycle("Spring", date(2026, 4, 1), TODAY, unowned, allow_unowned=True)
    mute = Readiness(ownerless=[], owners=["ILO", "WHO"], reachable=frozenset({"ILO"}))
    with pytest.raises(ValidationError, match="owning agencies without any contact: WHO"):
        check_new_cycle("Spring", date(2026, 4, 1), TODAY, mute, allow_unowned=False)
    nobody = Readiness(ownerless=[], owners=[], reachable=frozenset())
    with pytest.raises(ValidationError, match="there is nothing to ask"):
        check_new_cycle("Spring", date(2026, 4, 1), TODAY, nobody, allow_unowned=True)


def test_a_new_cycle_is_refused_when_an_owner_has_only_placeholder_addresses_unless_allowed() -> None:
    rehearsal = Readiness(
        ownerless=[],
        owners=["ILO", "WHO"],
        reachable=frozenset({"ILO", "WHO"}),
        placeholder_only=frozenset({"WHO"}),
    )
    with pytest.raises(ValidationError, match=r"contacts: 1 owning agencies have only placeholder .*: WHO\."):
        check_new_cycle("Spring", date(2026, 4, 1), TODAY, rehearsal, allow_unowned=False)
    check_new_cycle(
        "Spring", date(2026, 4, 1), TODAY, rehearsal, allow_unowned=False, allow_placeholders=True
    )
    assert [is_placeholder(a) for a in ("fp@who.example.org", "x@example.com", "a@b.test", "fp@who.int")] == [
        True,
        True,
        True,
        False,
    ]


def test_launching_an_existing_cycle_again_is_a_re_run_only_while_open_with_the_same_deadline() -> None:
    cycle = StockTakeCycle(name="Spring", deadline=date(2026, 4, 1), created_at=FakeClock(TODAY).now())
    cycle.transition(CycleState.OPEN, at=FakeClock(TODAY).now(), by="secretariat")
    check_rerun(cycle, date(2026, 4, 1))
    resume = "2026-04-01: to resume its launch, give --deadline 2026-04-01; for a new cycle, choose another"
    with pytest.raises(ValidationError, match=f"already exists with deadline {resume}"):
        check_rerun(cycle, date(2026, 4, 8))
    cycle.transition(CycleState.CLOSED, at=FakeClock(TODAY).now(), by="secretariat")
    with pytest.raises(ValidationError, match="already exists and is closed"):
        check_rerun(cycle, date(2026, 4, 1))
    with pytest.raises(ValidationError, match="2026-04-01: for a new cycle, choose another name"):
        check_rerun(cycle, date(2026, 4, 8))  # nothing to resume


def test_a_long_listing_names_forty_and_counts_the_rest() -> None:
    codes = [f"A{n}" for n in range(45)]
    assert listing(codes).endswith("A39 and 5 more") and listing(codes[:2]) == "A0, A1"


def test_a_submission_answers_an_open_request_and_confirms_one_whose_send_was_not_seen() -> None:
    at = FakeClock(TODAY).now()
    pending = StatusRequest(cycle_id=1, agency_code="IOM", item_count=2, token_nonce="n", token_hash="h")
    pending.mark_answered(at=at, by="IOM focal point", channel=Channel.PORTAL)
    assert (pending.state, pending.sent_at, pending.answered_at) == (RequestState.ANSWERED, at, at)
    assert [(e.from_state, e.to_state, e.why) for e in pending.events] == [
        ("pending", "sent", "answered before the send was confirmed"),
        ("sent", "answered", "answered via portal"),
    ]
    pending.mark_answered(at=at, by="IOM focal point", channel=Channel.SPREADSHEET)
    assert len(pending.events) == 2  # answered already: nothing more to move

"""Cycle use cases on real databases (SQLite and PostgreSQL), with an in-memory notifier."""

from __future__ import annotations

import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text, update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.errors import ValidationError
from domain.lifecycle import MilestoneState, RequestState
from domain.model import Answer, Channel, Milestone, ReportedStatus, StatusUpdate, agenda_heading
from notifications.messages import render
from tests.factories import SECRET_KEY, add_agencies, add_recommendations, open_cycle
from tests.fakes import FakeNotifier
from tests.support import KEYED_CONFIG as CONFIG
from workflows.bootstrap import FixedClock
from workflows.flow_reports import escalation_events, follow_up_events
from workflows.queries import cycle_list, figures, progress
from workflows.services import closing, follow_up
from workflows.services import launch as launching
from workflows.services.follow_up import LateMilestone, LateRequest

DEADLINE = date(2026, 4, 1)
LAUNCH_DAY = date(2026, 3, 2)


def clock(day: date) -> FixedClock:
    return FixedClock(day)


def catalogue(uow: SqlUnitOfWork) -> dict[str, int]:
    add_agencies(uow, "ILO", "IOM", "UNHCR")
    return add_recommendations(
        uow, {"SR1": ["ILO", "IOM"], "A1.1": ["IOM"], "A1.2": ["IOM", "UNHCR"], "A2.1": ["UNHCR"]}
    )


def launch(uow: SqlUnitOfWork, notifier: FakeNotifier, **kwargs: Any) -> launching.LaunchResult:
    arguments: dict[str, Any] = {
        "name": "Spring 2026",
        "deadline": DEADLINE,
        "hlcp_session": "HLCP 51",
        "allow_placeholders": True,  # the test agencies' example.org addresses
    }
    return launching.launch_cycle(uow, notifier, clock(LAUNCH_DAY), CONFIG, **{**arguments, **kwargs})


def answer(uow: SqlUnitOfWork, cycle_id: int, agency: str, *rec_ids: int) -> None:
    """The agency submits an answer for each item (as the portal would)."""
    with uow:
        for rec_id in rec_ids:
            update = StatusUpdate(cycle_id=cycle_id, recommendation_id=rec_id, agency_code=agency)
            uow.updates.add(update)
            update.apply(
                Answer(rec_id, ReportedStatus.IN_PROGRESS, narrative="Working group met in March."),
                at=clock(LAUNCH_DAY).now(),
                by=f"focal.point@{agency.lower()}.example.org",
                channel=Channel.PORTAL,
                submit=True,
            )
        uow.commit()


def test_launch_snapshots_the_owners_and_queues_one_status_request_per_agency(uow: SqlUnitOfWork) -> None:
    catalogue(uow)
    notifier = FakeNotifier()
    result = launch(uow, notifier)
    assert result.created and result.agencies == ["ILO", "IOM", "UNHCR"] and result.item_count == 6
    requests = notifier.of_kind("status-request")
    assert sorted(m.to[0] for m in requests) == [
        "focal.point@ilo.example.org",
        "focal.point@iom.example.org",
        "focal.point@unhcr.example.org",
    ]
    iom = next(m.context for m in requests if m.context["agency"]["code"] == "IOM")
    assert iom["item_count"] == 3 and iom["cycle"]["deadline"] == DEADLINE
    groups = [
        (agenda_heading(p["kind"], p["agenda_point"], p["agenda_title"]), [i["code"] for i in p["items"]])
        for p in iom["items_by_point"]
    ]
    assert groups == [
        ("Strategic recommendations", ["SR1"]),
        ("Agenda point 1: Agenda point 1", ["A1.1", "A1.2"]),
    ]
    with uow:
        states = {r.agency_code: r.state for r in uow.requests.for_cycle(result.cycle_id)}
    assert states == dict.fromkeys(["ILO", "IOM", "UNHCR"], RequestState.PENDING.value)


def test_a_request_too_long_to_list_in_full_gets_its_codes_without_texts(uow: SqlUnitOfWork) -> None:
    add_agencies(uow, "ILO", "IOM")
    many = {f"A1.{n}": ["IOM"] for n in range(1, CONFIG.part_size + 2)}
    add_recommendations(uow, {"SR1": ["ILO"], **many})
    notifier = FakeNotifier()
    launch(uow, notifier)

    contexts = {m.context["agency"]["code"]: m.context for m in notifier.of_kind("status-request")}
    (point,) = contexts["IOM"]["items_by_point"]
    assert point["codes"] == list(many) and "items" not in point
    (strategic,) = contexts["ILO"]["items_by_point"]
    assert strategic["items"][0]["text"] == "Recommendation SR1: do the thing."
    assert contexts["IOM"]["in_parts"] and not contexts["ILO"]["in_parts"]


def test_the_portals_part_size_also_decides_which_requests_are_listed_by_code(uow: SqlUnitOfWork) -> None:
    add_agencies(uow, "ILO", "IOM")
    add_recommendations(uow, {"SR1": ["ILO"], "A1.1": ["IOM"], "A1.2": ["IOM"]})
    notifier = FakeNotifier()
    config = dataclasses.replace(CONFIG, part_size=1)
    launching.launch_cycle(
        uow,
        notifier,
        clock(LAUNCH_DAY),
        config,
        name="Spring 2026",
        deadline=DEADLINE,
        allow_placeholders=True,
    )

    contexts = {m.context["agency"]["code"]: m.context for m in notifier.of_kind("status-request")}
    assert contexts["IOM"]["in_parts"] and not contexts["ILO"]["in_parts"]
    (point,) = contexts["IOM"]["items_by_point"]
    assert point["codes"] == ["A1.1", "A1.2"] and "items" not in point


def test_launching_the_same_cycle_again_changes_nothing_and_queues_nothing(uow: SqlUnitOfWork) -> None:
    catalogue(uow)
    notifier = FakeNotifier()
    first = launch(uow, notifier)
    again = launch(uow, notifier)
    assert (again.created, again.enqueued, first.enqueued) == (False, 0, 3)
    assert again.cycle_id == first.cycle_id and again.item_count == 6
    assert len(notifier.messages) == 3


def test_on_postgresql_the_launch_refreshes_the_planner_statistics_of_its_snapshot(
    uow: SqlUnitOfWork,
) -> None:
    catalogue(uow)
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        launch(uow, FakeNotifier())
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    with uow:
        postgresql = uow.session.get_bind().dialect.name == "postgresql"
        assert ("ANALYZE cycle_items" in statements) == postgresql
        if postgresql:  # what the planner now expects: the rows there are
            parts, expected = uow.session.execute(
                text(
                    "SELECT (SELECT count(*) FROM cycle_items), "
                    "(SELECT reltuples FROM pg_class WHERE oid = 'cycle_items'::regclass)"
                )
            ).one()
            assert (parts, expected) == (6, 6)


def test_a_launch_does_not_wait_for_a_vacuum_to_refresh_the_statistics(uow: SqlUnitOfWork) -> None:
    catalogue(uow)
    with uow:
        bind = uow.session.get_bind()
    if bind.dialect.name != "postgresql":
        pytest.skip("statistics are refreshed on PostgreSQL only")
    with bind.engine.connect() as vacuum, ThreadPoolExecutor(1) as launcher:
        vacuum.execute(text("LOCK TABLE cycle_items IN SHARE UPDATE EXCLUSIVE MODE"))  # as a VACUUM does
        launching = launcher.submit(launch, uow, FakeNotifier())
        try:  # a launch that waited would fail here, not hang the suite
            result = launching.result(timeout=30)
        finally:
            vacuum.rollback()
    assert result.created and result.item_count == 6
    with uow:
        assert uow.session.execute(text("SELECT count(*) FROM cycle_items")).scalar_one() == 6


def test_a_deadline_in_the_past_is_refused(uow: SqlUnitOfWork) -> None:
    catalogue(uow)
    with pytest.raises(ValidationError, match="deadline: 2026-03-01 is in the past"):
        launch(uow, FakeNotifier(), deadline=date(2026, 3, 1))
    with uow:
        assert cycle_list.list_cycles(uow.session) == []


def test_ownerless_items_are_refused_with_their_codes_unless_allowed(uow: SqlUnitOfWork) -> None:
    catalogue(uow)
    add_recommendations(uow, {"A3.1": [], "A3.2": []}, source="TEST/2")
    with pytest.raises(ValidationError, match=r"2 active recommendation\(s\) have no owner: A3.1, A3.2"):
        launch(uow, FakeNotifier())
    result = launch(uow, FakeNotifier(), allow_unowned=True)
    assert result.item_count == 6


def test_a_name_already_used_with_another_deadline_is_refused(uow: SqlUnitOfWork) -> None:
    catalogue(uow)
    launch(uow, FakeNotifier())
    with pytest.raises(ValidationError, match="already exists with deadline 2026-04-01"):
        launch(uow, FakeNotifier(), deadline=DEADLINE + timedelta(days=7))


def test_the_status_request_recalls_what_the_agency_said_last_cycle(uow: SqlUnitOfWork) -> None:
    ids = catalogue(uow)
    previous, _ = open_cycle(uow, "Autumn 2025", date(2025, 10, 1), ["ILO", "IOM", "UNHCR"])
    answer(uow, previous, "IOM", ids["A1.1"])
    notifier = FakeNotifier()
    launch(uow, notifier)
    iom = next(m.context for m in notifier.of_kind("status-request") if m.context["agency"]["code"] == "IOM")
    items = {i["code"]: i for p in iom["items_by_point"] for i in p["items"]}
    assert items["A1.1"]["last_status"] == "in_progress"
    assert items["A1.1"]["last_narrative"] == "Working group met in March."
    assert items["SR1"]["last_status"] is None
    by_agency = {m.context["agency"]["code"]: m.context for m in notifier.of_kind("status-request")}
    # No change since last time is offered to who answered last cycle only.
    assert (by_agency["IOM"]["reported_before"], by_agency["UNHCR"]["reported_before"]) == (True, False)


def close_md(uow: SqlUnitOfWork, notifier: FakeNotifier, day: date, folder: Path) -> closing.CloseReport:
    """Close "Spring 2026" on `day`, its report in Markdown under `folder`."""
    return closing.close_cycle(
        lambda: uow,
        lambda _uow: notifier,
        clock(day),
        CONFIG,
        cycle_name="Spring 2026",
        inbox_dir=folder / "inbox",
        reports_dir=folder / "reports",
        formats=["md"],
    )


def follow_up_on(uow: SqlUnitOfWork, notifier: FakeNotifier, day: date) -> follow_up.FollowUpReport:
    return follow_up.follow_up(uow, notifier, clock(day), CONFIG)


def test_reminders_go_out_14_7_and_2_days_before_the_deadline_and_only_once(uow: SqlUnitOfWork) -> None:
    catalogue(uow)
    open_cycle(uow, "Spring 2026", DEADLINE, ["ILO"])
    notifier = FakeNotifier()
    reminded_on = []
    for offset in range(31):
        day = LAUNCH_DAY + timedelta(days=offset)
        if follow_up_on(uow, notifier, day).reminders:
            reminded_on.append((DEADLINE - day).days)
        follow_up_on(uow, notifier, day)  # a second run the same day sends nothing more
    assert reminded_on == [14, 7, 2]
    days_left = [m.context["days_left"] for m in notifier.of_kind("reminder")]
    assert days_left == [14, 7, 2]


def test_a_reminder_is_not_sent_after_the_agency_answered(uow: SqlUnitOfWork) -> None:
    ids = catalogue(uow)
    cycle_id, _ = open_cycle(uow, "Spring 2026", DEADLINE, ["ILO", "IOM"])
    answer(uow, cycle_id, "ILO", ids["SR1"])
    notifier = FakeNotifier()
    report = follow_up_on(uow, notifier, DEADLINE - timedelta(days=7))
    assert [m.context["agency"]["code"] for m in notifier.of_kind("reminder")] == ["IOM"]
    assert report.replies_received == ["Spring 2026:ILO"]
    assert [e.event for e in follow_up_events(report)] == ["followup.reply.received"]
    with uow:
        assert uow.requests.get(cycle_id, "ILO").state == RequestState.ANSWERED.value  # type: ignore[union-attr]


def test_a_reply_is_announced_once_per_version_whatever_the_runs_and_after_a_missed_day(
    uow: SqlUnitOfWork,
) -> None:
    ids = catalogue(uow)
    cycle_id, _ = open_cycle(uow, "Spring 2026", DEADLINE, ["ILO", "IOM"])
    answer(uow, cycle_id, "ILO", ids["SR1"])
    # No run for three days after the reply: the first run still announces it, later runs do not.
    runs = [follow_up_on(uow, FakeNotifier(), LAUNCH_DAY + timedelta(days=n)) for n in (3, 3, 4)]
    assert [run.replies_received for run in runs] == [["Spring 2026:ILO"], [], []]
    with uow:
        given = uow.updates.get(cycle_id, ids["SR1"], "ILO")
        assert given is not None
        given.apply(
            Answer(ids["SR1"], ReportedStatus.COMPLETED, narrative="Guidance published."),
            at=clock(LAUNCH_DAY + timedelta(days=5)).now(),
            by="focal.point@ilo.example.org",
            channel=Channel.PORTAL,
            submit=True,
        )
        uow.commit()
    collected = closing.collect_replies(
        lambda: uow,
        lambda _: FakeNotifier(),
        clock(LAUNCH_DAY + timedelta(days=5)),
        CONFIG,
        cycle_name="Spring 2026",
        inbox_dir=Path("/nonexistent-inbox"),
    )
    after = follow_up_on(uow, FakeNotifier(), LAUNCH_DAY + timedelta(days=6))
    assert (collected.replies_received, after.replies_received) == (["ILO"], [])


def test_requests_become_overdue_after_the_deadline_and_escalate_three_days_later(uow: SqlUnitOfWork) -> None:
    catalogue(uow)
    cycle_id, _ = open_cycle(uow, "Spring 2026", DEADLINE, ["UNHCR"])
    notifier = FakeNotifier()
    assert follow_up_on(uow, notifier, DEADLINE).newly_overdue_requests == []
    late = follow_up_on(uow, notifier, DEADLINE + timedelta(days=1))
    assert late.newly_overdue_requests == ["Spring 2026:UNHCR"]
    assert [(r.agency, r.request_state, r.items_overdue) for r in late.overdue_agencies] == [
        ("UNHCR", "overdue", 2)
    ]
    assert late.late_requests == [LateRequest("Spring 2026", "UNHCR", DEADLINE, ["A1.2", "A2.1"])]
    overdue_event = next(e for e in follow_up_events(late) if e.event == "followup.request.overdue")
    assert overdue_event.resource["prefect.resource.id"] == "followup.cycle.Spring 2026"
    assert {r["prefect.resource.id"] for r in overdue_event.related} == {
        "followup.agency.UNHCR",
        "followup.recommendation.A1.2",
        "followup.recommendation.A2.1",
    }
    assert follow_up_on(uow, notifier, DEADLINE + timedelta(days=2)).escalations == []
    escalated = follow_up_on(uow, notifier, DEADLINE + timedelta(days=3))
    assert escalated.escalations == [f"escalation:{cycle_id}:UNHCR"]
    (event,) = escalation_events(escalated)
    assert (event.event, event.payload["agency"], event.payload["unanswered"]) == (
        "followup.request.escalated",
        "UNHCR",
        2,
    )
    (row,) = escalated.overdue_agencies
    assert (row.request_state, row.escalated_on) == ("escalated", DEADLINE + timedelta(days=3))
    assert "Escalations queued: 1 (UNHCR)" in escalated.summary_markdown()
    message = notifier.of_kind("escalation")[0]
    assert message.to == ["head.office@unhcr.example.org"]
    # Copied: the secretariat, and the focal point it goes over the head of.
    assert message.cc == ["hlcp.secretariat@un.example.org", "focal.point@unhcr.example.org"]
    assert (message.context["days_overdue"], message.context["unanswered_count"]) == (3, 2)
    assert follow_up_on(uow, notifier, DEADLINE + timedelta(days=4)).escalations == []
    with uow:
        assert uow.requests.get(cycle_id, "UNHCR").state == RequestState.ESCALATED.value  # type: ignore[union-attr]


def test_milestones_past_their_due_date_are_marked_overdue_and_listed(uow: SqlUnitOfWork) -> None:
    ids = catalogue(uow)
    with uow:
        uow.milestones.add(
            Milestone(recommendation_id=ids["A1.1"], title="Expert meeting", due_date=date(2026, 3, 9))
        )
        uow.milestones.add(
            Milestone(recommendation_id=ids["A2.1"], title="Guidance note", due_date=date(2026, 6, 1))
        )
        uow.commit()
    report = follow_up_on(uow, FakeNotifier(), date(2026, 3, 10))
    assert report.newly_overdue_milestones == 1
    assert [(r.agency, r.cycle, r.milestones_overdue) for r in report.overdue_agencies] == [("IOM", "", 1)]
    assert report.late_milestones == [LateMilestone("A1.1", "IOM", "Expert meeting", date(2026, 3, 9))]
    assert [e.event for e in follow_up_events(report)] == ["followup.milestone.overdue"]
    again = follow_up_on(uow, FakeNotifier(), date(2026, 3, 11))
    assert again.newly_overdue_milestones == 0 and again.late_milestones == []
    assert len(again.overdue_agencies) == 1
    with uow:
        states = {m.title: m.state for m in uow.milestones.list()}
        moves = uow.history.for_key("milestone", f"{ids['A1.1']}:Expert meeting")
    assert states == {
        "Expert meeting": MilestoneState.OVERDUE.value,
        "Guidance note": MilestoneState.PLANNED.value,
    }
    (last,) = moves[-1:]
    assert (last.from_state, last.to_state, last.why) == ("planned", "overdue", "due 2026-03-09")


def test_the_overview_counts_requested_answered_and_overdue_items_per_agency(uow: SqlUnitOfWork) -> None:
    ids = catalogue(uow)
    cycle_id, _ = open_cycle(uow, "Spring 2026", DEADLINE, ["ILO", "IOM", "UNHCR"])
    answer(uow, cycle_id, "IOM", ids["SR1"], ids["A1.1"])
    answer(uow, cycle_id, "ILO", ids["SR1"])
    with uow:
        overview = progress.cycle_overview(uow.session, "Spring 2026", DEADLINE + timedelta(days=1))
        [line] = cycle_list.list_cycles(uow.session)
    assert [(a.code, a.requested, a.answered, a.overdue) for a in overview.agencies] == [
        ("ILO", 1, 1, 0),
        ("IOM", 3, 2, 1),
        ("UNHCR", 2, 0, 2),
    ]
    assert (overview.requested, overview.answered, overview.overdue) == (6, 3, 3)
    assert (line.name, line.agencies, line.requested, line.answered) == ("Spring 2026", 3, 6, 3)


def test_the_overview_lists_the_bodies_the_secretariat_answers_for_so_its_totals_are_the_cycles(
    uow: SqlUnitOfWork,
) -> None:
    add_agencies(uow, "ILO", "CEB")
    with uow:
        uow.session.execute(
            update(tables.agencies).where(tables.agencies.c.code == "CEB").values(answers="secretariat")
        )
        uow.commit()
    add_recommendations(uow, {"SR1": ["ILO", "CEB"], "A1.1": ["CEB"], "A1.2": ["ILO"]})
    launch(uow, FakeNotifier())
    with uow:
        overview = progress.cycle_overview(uow.session, "Spring 2026", DEADLINE + timedelta(days=1))
        [line] = cycle_list.list_cycles(uow.session)
    assert [(a.code, a.state, a.requested, a.overdue) for a in overview.agencies] == [
        ("CEB", progress.BY_SECRETARIAT, 2, 0),  # no request, never chased
        ("ILO", "pending", 2, 2),  # queued: the notifier sends it
    ]
    assert (overview.requested, overview.answered) == (line.requested, line.answered) == (4, 0)
    assert (line.agencies, line.agencies_answered) == (1, 0)  # agencies asked: the CEB is not


def test_closing_writes_the_reports_closes_every_request_and_queues_one_summary(
    uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    ids = catalogue(uow)
    cycle_id, _ = open_cycle(uow, "Spring 2026", DEADLINE, ["ILO", "IOM", "UNHCR"])
    answer(uow, cycle_id, "ILO", ids["SR1"])
    with uow:
        uow.milestones.add(
            Milestone(recommendation_id=ids["A1.1"], title="Expert meeting", due_date=DEADLINE)
        )
        uow.commit()
    notifier = FakeNotifier()

    def close() -> closing.CloseReport:
        return close_md(uow, notifier, DEADLINE + timedelta(days=5), tmp_path)

    closed = close()
    assert closed.closed_now and closed.summary_enqueued
    assert closed.report_paths["md"].exists()
    assert [m.code for m in closed.collect.missing] == ["IOM", "UNHCR"]
    summary = notifier.of_kind("cycle-summary")[0].context
    assert [a["code"] for a in summary["overdue_agencies"]] == ["IOM", "UNHCR"]
    # The e-mail says what the report says: the same figures, never one "overdue items" number.
    report = closed.report_paths["md"].read_text()
    reported = re.search(r"The lead agency reported on (\d+) of (\d+) recommendations", report)
    overdue_requests = re.search(r"(\d+) requests? (?:is|are) overdue", report)
    overdue_milestones = re.search(r"(\d+) milestones? (?:is|are) overdue", report)
    assert reported and overdue_requests and overdue_milestones, report
    email = render("cycle-summary", summary)
    assert f"reported by their lead {reported[1]} of {reported[2]}" in email.subject
    assert f"Overdue requests: {overdue_requests[1]}" in email.text
    assert f"Overdue milestones: {overdue_milestones[1]}" in email.text
    assert (overdue_requests[1], overdue_milestones[1]) == ("2", "1")
    assert summary["report_url"].startswith("file://")
    again = close()
    assert (again.closed_now, again.summary_enqueued) == (False, False)
    with uow:
        assert {r.state for r in uow.requests.for_cycle(cycle_id)} == {RequestState.CLOSED.value}
        assert uow.cycles.require("Spring 2026").state == "closed"


def test_a_closed_cycles_figures_stay_those_of_its_close_whenever_they_are_asked(
    uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    ids = catalogue(uow)
    cycle_id, _ = open_cycle(uow, "Spring 2026", DEADLINE, ["ILO", "IOM", "UNHCR"])
    answer(uow, cycle_id, "ILO", ids["SR1"])
    closing_day, a_year_later = DEADLINE + timedelta(days=5), DEADLINE + timedelta(days=365)
    with uow:  # due after the close: overdue a year later, not on the day the cycle closed
        uow.milestones.add(
            Milestone(
                recommendation_id=ids["A1.1"], title="Expert meeting", due_date=DEADLINE + timedelta(days=30)
            )
        )
        uow.commit()
    with uow:
        assert figures.figures_of(uow.session, "Spring 2026", today=a_year_later).overdue_milestones == 1

    def close(day: date) -> closing.CloseReport:
        return close_md(uow, FakeNotifier(), day, tmp_path)

    closed = close(closing_day)
    report = closed.report_paths["md"].read_text()
    rewritten = close(a_year_later)  # closing a closed cycle again rewrites its reports
    with uow:  # what `followup cycle show`, the API and the public record read
        grouped = figures.figures_of(uow.session, "Spring 2026", today=a_year_later)
        overview = progress.cycle_overview(uow.session, "Spring 2026", a_year_later)
    assert (closed.figures.overdue_milestones, closed.figures.overdue_requests) == (0, 2)
    assert rewritten.figures == grouped == closed.figures
    # `cycle show` lists the items of those two requests as overdue: as on the day the cycle closed.
    assert [(a.code, a.overdue) for a in overview.agencies] == [("ILO", 0), ("IOM", 3), ("UNHCR", 2)]
    assert rewritten.report_paths["md"].read_text() == report


def test_closing_writes_the_stock_take_in_the_secretariats_language(
    uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    ids = catalogue(uow)
    cycle_id, _ = open_cycle(uow, "Spring 2026", DEADLINE, ["ILO", "IOM", "UNHCR"])
    answer(uow, cycle_id, "ILO", ids["SR1"])

    closed = closing.close_cycle(
        lambda: uow,
        lambda _uow: FakeNotifier(),
        clock(DEADLINE + timedelta(days=5)),
        dataclasses.replace(CONFIG, secretariat_language="fr"),
        cycle_name="Spring 2026",
        inbox_dir=tmp_path / "inbox",
        reports_dir=tmp_path / "reports",
        formats=["md"],
    )

    report = closed.report_paths["md"].read_text()
    assert "# Bilan des mesures de suivi\u00a0: HLCP 99" in report
    assert "Entités ayant répondu\u00a0: 1 sur 3 entités, dont 1 intégralement" in report
    assert "la date limite de réponse du 1er avril 2026" in report


def test_collect_takes_in_the_inbox_moves_each_file_and_reports_what_is_missing(
    uow: SqlUnitOfWork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl import load_workbook

    from workflows.services import reply_template
    from workflows.settings import get_settings

    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", SECRET_KEY)
    get_settings.cache_clear()
    catalogue(uow)
    open_cycle(uow, "Spring 2026", DEADLINE, ["ILO", "IOM", "UNHCR"])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    filled = reply_template.write_template(uow, CONFIG, "Spring 2026", "ILO", inbox / "ilo.xlsx")
    book = load_workbook(filled)
    sheet = book.active
    assert sheet is not None
    headers = [c.header for c in reply_template.COLUMNS]
    sheet.cell(reply_template.HEADER_ROW + 1, headers.index("Status") + 1).value = "In progress"
    sheet.cell(reply_template.HEADER_ROW + 1, headers.index("What changed and why") + 1).value = "Drafting."
    book.save(filled)
    (inbox / "notes.csv").write_text("this is not a reply\n", encoding="utf-8")
    (inbox / "readme.txt").write_text("left alone\n", encoding="utf-8")
    notifier = FakeNotifier()
    collected = closing.collect_replies(
        lambda: uow, lambda _uow: notifier, clock(DEADLINE), CONFIG, cycle_name="Spring 2026", inbox_dir=inbox
    )
    get_settings.cache_clear()
    outcomes = {f.name: (f.accepted, f.moved_to.parent.name, f.agency_code) for f in collected.files}
    assert outcomes == {"ilo.xlsx": (True, "processed", "ILO"), "notes.csv": (False, "rejected", None)}
    errors = (inbox / "rejected" / "notes.csv.errors.txt").read_text(encoding="utf-8")
    assert "notes.csv" in errors
    assert (inbox / "readme.txt").exists()
    assert [m.code for m in collected.missing] == ["IOM", "UNHCR"]
    assert len(notifier.of_kind("receipt")) == 1

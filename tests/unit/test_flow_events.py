"""What the daily follow-up tells operators: its events about milestones newly overdue, its summary lines."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from prefect.events import Event
from prefect.settings import get_current_settings

from workflows.flow_reports import milestone_events
from workflows.services.follow_up import FollowUpReport, LateMilestone


def test_milestones_newly_overdue_make_one_event_per_agency_naming_them() -> None:
    late = [
        LateMilestone("A1.1", "IOM", "Expert meeting", date(2026, 3, 9)),
        LateMilestone("A2.1", "ILO", "Guidance note", date(2026, 3, 1)),
        LateMilestone("A1.2", "IOM", "Workshop", date(2026, 3, 5)),
    ]
    events = milestone_events(late)
    assert [(e.event, e.resource["prefect.resource.id"]) for e in events] == [
        ("followup.milestone.overdue", "followup.agency.ILO"),
        ("followup.milestone.overdue", "followup.agency.IOM"),
    ]
    iom = events[1]
    assert iom.payload == {
        "agency": "IOM",
        "overdue": 2,
        "milestones": [
            {"recommendation": "A1.1", "milestone": "Expert meeting", "due_date": "2026-03-09"},
            {"recommendation": "A1.2", "milestone": "Workshop", "due_date": "2026-03-05"},
        ],
    }
    assert [r["prefect.resource.id"] for r in iom.related] == [
        "followup.recommendation.A1.1",
        "followup.recommendation.A1.2",
    ]


def test_an_agency_with_hundreds_of_overdue_milestones_gets_one_event_within_prefects_size_limit() -> None:
    late = [
        LateMilestone(f"A{n}.1", "IOM", "A milestone of forty characters or so..", date(2026, 3, 1))
        for n in range(900)
    ]
    [event] = milestone_events(late)
    assert event.payload["overdue"] == 900
    assert len(event.payload["milestones"]) == 50 and len(event.related) == 50
    sent = Event(**asdict(event))  # as `emit_event` builds it: valid resources, labels and payload
    assert sent.size_bytes < get_current_settings().server.events.maximum_size_bytes


def test_no_milestone_newly_overdue_makes_no_event() -> None:
    assert milestone_events([]) == []


def test_the_run_summary_names_twenty_agencies_a_line_and_counts_the_rest() -> None:
    codes = [f"AG{n:03}" for n in range(300)]
    report = FollowUpReport(
        today=date(2026, 3, 10),
        reminders=[f"reminder:7:{code}:2026-03-10" for code in codes],
        late_milestones=[LateMilestone(f"A1.{n}", "IOM", "Workshop", date(2026, 3, 9)) for n in range(25)],
    )
    reminders, milestones = report.lines()[1], report.lines()[4]
    assert reminders == f"Reminders queued: 300 ({', '.join(codes[:20])} and 280 more)"
    assert milestones.startswith("Milestones newly overdue: 25 (IOM A1.0, IOM A1.1, ")
    assert milestones.endswith("IOM A1.19 and 5 more)")


def test_the_run_summary_names_every_agency_up_to_twenty() -> None:
    report = FollowUpReport(
        today=date(2026, 3, 10), newly_overdue_requests=[f"Spring 2026:AG{n:02}" for n in range(20)]
    )
    assert report.lines()[3] == (
        f"Requests newly overdue: 20 (Spring 2026: {', '.join(f'AG{n:02}' for n in range(20))})"
    )

"""The events the daily follow-up publishes to Prefect about milestones newly overdue."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from prefect.events import Event
from prefect.settings import get_current_settings

from workflows.flow_reports import milestone_events
from workflows.services.follow_up import LateMilestone


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

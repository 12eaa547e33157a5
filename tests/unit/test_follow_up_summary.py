"""The daily follow-up's summary: a line per kind of thing done, naming what it concerns."""

from __future__ import annotations

from datetime import date

from workflows.services.follow_up import FollowUpReport, LateMilestone


def test_each_list_of_the_run_summary_names_twenty_and_counts_the_rest() -> None:
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


def test_each_cycle_of_a_line_names_its_own_twenty() -> None:
    late = [f"Spring 2026:AG{n:02}" for n in range(25)] + [f"Autumn 2026:AG{n:02}" for n in range(3)]
    line = FollowUpReport(today=date(2026, 3, 10), newly_overdue_requests=late).lines()[3]
    first = ", ".join(f"AG{n:02}" for n in range(20))
    assert (
        line == f"Requests newly overdue: 28 (Spring 2026: {first} and 5 more; Autumn 2026: AG00, AG01, AG02)"
    )


def test_an_agency_reminded_in_two_cycles_is_named_once_and_the_count_says_for_how_many() -> None:
    codes = [f"AG{n:03}" for n in range(30)]
    reminders = [f"reminder:{cycle}:{code}:2026-03-10" for cycle in (7, 8) for code in codes]
    line = FollowUpReport(today=date(2026, 3, 10), reminders=reminders).lines()[1]
    assert line == f"Reminders queued: 60 for 30 agencies ({', '.join(codes[:20])} and 10 more)"

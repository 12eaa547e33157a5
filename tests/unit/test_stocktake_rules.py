"""The stock-take's pure rules: change classification, percentages, and an empty cycle's summary."""

from __future__ import annotations

import pytest

from domain.stocktake import Change, change_since, percent
from tests.support import empty_stocktake

C, B, P = "completed", "blocked", "in_progress"


@pytest.mark.parametrize(
    ("current", "previous", "overdue_now", "overdue_before", "expected"),
    [
        (C, P, True, False, Change.NEWLY_COMPLETED),  # completion wins over a newly overdue milestone
        (C, C, False, False, Change.UNCHANGED),
        (B, P, True, False, Change.NEWLY_BLOCKED),
        (B, B, False, False, Change.UNCHANGED),
        (P, P, True, False, Change.NEWLY_OVERDUE),
        (P, P, True, True, Change.UNCHANGED),  # already overdue last time: not news
        (None, P, True, False, Change.NEWLY_OVERDUE),
        (None, P, False, False, Change.NOT_ANSWERED),
        (P, None, False, False, Change.FIRST_REPORT),
        (P, "not_started", False, False, Change.CHANGED),
    ],
)
def test_a_change_is_the_first_matching_rule(
    current: str | None, previous: str | None, overdue_now: bool, overdue_before: bool, expected: Change
) -> None:
    assert (
        change_since(
            current=current, previous=previous, overdue_now=overdue_now, overdue_before=overdue_before
        )
        == expected
    )


def test_percentages_round_half_up_and_nothing_of_nothing_is_zero() -> None:
    assert [percent(1, 8), percent(1, 3), percent(2, 3), percent(0, 0), percent(41, 68)] == [
        13,
        33,
        67,
        0,
        60,
    ]


def test_an_empty_cycle_says_so_in_one_sentence() -> None:
    report = empty_stocktake("HLCP 30")
    assert report.sentences == ("No recommendation was part of the HLCP 30 stock-take.",)
    assert report.sections == () and report.summary.answered_rate == 0

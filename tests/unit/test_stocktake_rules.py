"""The stock-take's pure rules: change classification, percentages, and an empty cycle's summary."""

from __future__ import annotations

import pytest

from domain.stocktake import Change, change_since, percent
from tests.support import empty_stocktake

C, B, P = "completed", "blocked", "in_progress"


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (C, P, Change.CHANGED),  # newly completed is a kind of change
        (C, C, Change.UNCHANGED),
        (B, P, Change.CHANGED),
        (B, B, Change.UNCHANGED),
        (None, P, Change.NOT_REPORTED),
        (None, None, Change.NOT_REPORTED),
        (P, None, Change.FIRST_REPORT),
        (P, "not_started", Change.CHANGED),
    ],
)
def test_each_recommendation_falls_in_exactly_one_change_category(
    current: str | None, previous: str | None, expected: Change
) -> None:
    assert change_since(current=current, previous=previous) == expected


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
    assert tuple(map(str, report.sentences)) == ("No recommendation was part of the HLCP 30 stock-take.",)
    assert report.sections == () and report.figures.reported_rate == 0

"""The status the public record gives a recommendation in a cycle is the stock-take's roll-up."""

from __future__ import annotations

import pytest

from domain.publication import rolled_up_status


@pytest.mark.parametrize(
    ("parts", "status"),
    [
        ([("lead", "completed"), ("contributor", "in_progress")], "in_progress"),  # not finished as a whole
        ([("lead", "completed"), ("contributor", "no_longer_applicable")], "completed"),
        ([("lead", "ongoing"), ("contributor", None)], "ongoing"),
        ([("lead", None), ("contributor", "blocked")], None),  # its lead has not answered: not reported
        ([("contributor", None), ("contributor", "blocked")], "blocked"),  # no lead: any owner's answer
        ([("lead", None)], None),
    ],
)
def test_a_recommendations_status_in_a_cycle_is_rolled_up_as_the_stocktake_does(
    parts: list[tuple[str, str | None]], status: str | None
) -> None:
    assert rolled_up_status(parts) == status

"""The cycle commands as a user runs them: read-only ones never import Prefect; bad input fails fast."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import add_agencies, add_recommendations
from tests.support import prepare_spring_cycle, run
from workflows import bootstrap

# What is under test is the command line (both backends are covered by the service tests).
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def test_cycle_list_show_and_help_answer_without_importing_prefect(database_url: str) -> None:
    prepare_spring_cycle(database_url)
    listed = run(database_url, "cycle", "list")
    assert "Spring 2026" in listed and "0/3" in listed and "prefect imported: False" in listed
    shown = run(database_url, "cycle", "show", "Spring 2026", "--today", "2026-04-02")
    assert "IOM" in shown and "escalated" not in shown and "exit 0" in shown
    assert "prefect imported: False" in shown
    helped = run(database_url, "cycle", "launch", "--help")
    assert "--deadline" in helped and "prefect imported: False" in helped
    assert "--today" in run(database_url, "cycle", "show", "--help")  # documented, so listed


def test_showing_an_unknown_cycle_names_it(database_url: str) -> None:
    shown = run(database_url, "cycle", "show", "Nope")
    assert "no cycle named 'Nope'" in shown and "exit 1" in shown


@pytest.mark.parametrize(
    "command", [("cycle", "collect", "Nope"), ("cycle", "close", "Nope"), ("check", "--cycle", "Nope")]
)
def test_a_flow_command_naming_an_unknown_cycle_says_so_in_one_line_before_prefect_starts(
    database_url: str, command: tuple[str, ...]
) -> None:
    prepare_spring_cycle(database_url)
    refused = run(database_url, *command)
    assert "error: no cycle named 'Nope' (see `followup cycle list`)" in refused and "exit 1" in refused
    assert "Traceback" not in refused and "prefect imported: False" in refused


def test_a_deadline_years_away_is_refused_as_a_typo_at_launch_and_extension(database_url: str) -> None:
    prepare_spring_cycle(database_url)
    refused = run(database_url, "cycle", "launch", "Autumn", "--deadline", "9999-12-31")
    assert "deadline: 9999-12-31 is more than two years away" in refused and "exit 1" in refused
    extended = run(database_url, "cycle", "extend", "Spring 2026", "--to", "9999-12-31")
    assert "deadline: 9999-12-31 is more than two years away" in extended and "exit 1" in extended
    assert "Traceback" not in refused + extended


def test_a_launch_with_a_past_deadline_is_refused_before_prefect_starts(database_url: str) -> None:
    prepare_spring_cycle(database_url)
    refused = run(database_url, "cycle", "launch", "Autumn", "--deadline", "2020-01-01")
    assert "deadline: 2020-01-01 is in the past" in refused and "exit 1" in refused
    assert "prefect imported: False" in refused


def test_a_launch_to_placeholder_addresses_is_refused_naming_the_agencies_before_prefect_starts(
    database_url: str,
) -> None:
    uow = bootstrap.uow(database_url)
    add_agencies(uow, "ILO", "IOM")
    add_recommendations(uow, {"SR1": ["ILO", "IOM"]})
    bootstrap.engine(database_url).dispose()

    ahead = (date.today() + timedelta(days=60)).isoformat()
    refused = run(database_url, "cycle", "launch", "Autumn", "--deadline", ahead)

    assert "contacts: 2 owning agencies have only placeholder addresses" in refused
    assert "ILO, IOM" in refused and "--allow-placeholders" in refused and "exit 1" in refused
    assert "prefect imported: False" in refused


def test_an_extended_deadline_is_said_from_when_to_when_and_an_earlier_one_is_refused(
    database_url: str,
) -> None:
    prepare_spring_cycle(database_url)

    extended = run(
        database_url, "cycle", "extend", "Spring 2026", "--to", "2026-04-15", "--today", "2026-03-20"
    )
    refused = run(
        database_url, "cycle", "extend", "Spring 2026", "--to", "2026-04-10", "--today", "2026-03-20"
    )

    assert "The deadline of Spring 2026 moved from 2026-04-01 to 2026-04-15." in extended
    assert "Told the 2 agencies yet to answer: 2 sent by e-mail." in extended and "exit 0" in extended
    assert "deadline: 2026-04-10 is not after the deadline 2026-04-15" in refused and "exit 1" in refused
    assert "prefect imported: False" in refused


def test_a_cancelled_cycle_says_what_stopped_and_has_no_report(database_url: str) -> None:
    prepare_spring_cycle(database_url)

    unsaid = run(database_url, "cycle", "cancel", "Spring 2026", "--why", " ")
    cancelled = run(database_url, "cycle", "cancel", "Spring 2026", "--why", "launched with the wrong report")
    again = run(database_url, "cycle", "cancel", "Spring 2026", "--why", "twice")
    reported = run(database_url, "report", "Spring 2026")

    assert "why: say why the cycle is cancelled" in unsaid and "exit 1" in unsaid
    assert "Cancelled Spring 2026: 2 requests closed (their links no longer work)" in cancelled
    assert "Told the 2 agencies it had asked: 2 sent by e-mail." in cancelled and "exit 0" in cancelled
    assert "'Spring 2026' is cancelled: only an open cycle is cancelled" in again and "exit 1" in again
    assert "'Spring 2026' was cancelled: it has no stock-take" in reported and "exit 1" in reported
    assert "cancelled" in run(database_url, "cycle", "list")

"""Dates written one way ("26 March 2027") and read the ways people type them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.answers import AnswerView, RawAnswer, parse_answer, same_answer
from domain.dates import as_written, long_date, long_moment, parse_day, week_date


def test_a_date_is_written_day_month_year_without_a_leading_zero() -> None:
    assert long_date(date(2027, 3, 26)) == "26 March 2027"
    assert long_date(date(2027, 4, 1)) == "1 April 2027"
    assert week_date(date(2027, 3, 26)) == "Friday 26 March 2027"


def test_a_moment_is_written_in_utc_whatever_zone_it_came_in() -> None:
    geneva = timezone(timedelta(hours=1))

    assert long_moment(datetime(2027, 3, 26, 15, 5, tzinfo=geneva)) == "26 March 2027 at 14:05 UTC"
    assert long_moment(datetime(2027, 3, 26, 14, 5)) == "26 March 2027 at 14:05 UTC"  # naive: stored UTC


@pytest.mark.parametrize(
    "typed",
    [
        "26 March 2027",
        "26 march 2027",
        " 26  Mar. 2027 ",
        "26-Mar-2027",
        "2027-03-26",
        "26 mars 2027",
        "26 Mars 2027",
        "26 de marzo de 2027",
        "26 marzo 2027",
    ],
)
def test_a_date_typed_as_written_in_english_french_or_spanish_or_as_iso_is_read(typed: str) -> None:
    assert parse_day(typed) == date(2027, 3, 26)


@pytest.mark.parametrize(
    "typed",
    ["03/26/2027", "26/03/2027", "26 Marchy 2027", "26 Mart 2027", "3 jui 2027", "31 February 2027", "soon"],
)
def test_an_ambiguous_or_impossible_date_is_refused_with_the_form_to_use(typed: str) -> None:
    with pytest.raises(ValueError, match=r"write it as 26 March 2027|day is out of range"):
        parse_day(typed)


def test_a_typed_date_is_shown_back_as_written_and_other_text_as_typed() -> None:
    assert as_written("2027-06-30") == "30 June 2027"
    assert as_written("next spring") == "next spring"
    assert as_written("") == ""


def test_french_and_spanish_months_are_read_with_or_without_accents_and_by_their_abbreviations() -> None:
    assert parse_day("26 févr. 2027") == parse_day("26 fevrier 2027") == date(2027, 2, 26)
    assert parse_day("3 août 2027") == parse_day("3 aout 2027") == date(2027, 8, 3)
    assert parse_day("3 juil. 2027") == date(2027, 7, 3)
    assert parse_day("5 dic 2027") == parse_day("5 de diciembre de 2027") == date(2027, 12, 5)
    assert parse_day("1er avril 2027") == parse_day("jeudi 1er avril 2027"[6:]) == date(2027, 4, 1)


def test_the_written_form_reads_back_as_the_same_day() -> None:
    day = date(2026, 1, 1)
    for _ in range(400):
        assert parse_day(long_date(day)) == day
        day += timedelta(days=1)
    assert parse_day(long_date(datetime.now(UTC).date())) == datetime.now(UTC).date()


def test_a_milestone_date_typed_as_written_is_stored_as_that_day_and_equals_it_unchanged() -> None:
    typed = RawAnswer(1, status="in_progress", narrative="Planned.", next_milestone_date="30 June 2027")

    answer, problems = parse_answer(typed, code="A1.1", previous_status=None, complete=True)

    assert problems == [] and answer is not None and answer.next_milestone_date == date(2027, 6, 30)
    assert same_answer(typed, AnswerView("in_progress", "Planned.", next_milestone_date="2027-06-30"))


def test_a_milestone_date_in_numbers_is_refused_saying_how_to_write_it() -> None:
    typed = RawAnswer(1, status="in_progress", next_milestone_date="06/30/2027")

    _, problems = parse_answer(typed, code="A1.1", previous_status=None, complete=False)

    assert [(p.field, p.message) for p in problems] == [
        ("next_milestone_date", "'06/30/2027' is not a date (day, month and year, e.g. 26 March 2027)")
    ]

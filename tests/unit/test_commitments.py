"""Dated commitments in a report's prose become suggested milestones, with provenance and a link."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.commitments import due_dates, find_commitments, suggest_milestones
from domain.importer import parse_report
from domain.model import Agency

SEED = Path(__file__).resolve().parents[2] / "db" / "seed"
SAMPLE = (SEED / "CEB-2014-4-Annex-V.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def agencies() -> list[Agency]:
    registry = yaml.safe_load((SEED / "agencies.yaml").read_text(encoding="utf-8"))["agencies"]
    return [Agency(code=a["code"], name=a["name"], aliases=a.get("aliases") or []) for a in registry]


@pytest.mark.parametrize(
    ("sentence", "due"),
    [
        ("UNCTAD will hold an Expert Meeting on 10-14 November 2014 in Geneva.", date(2014, 11, 10)),
        ("The Day of General Discussion will be on 7 April 2014.", date(2014, 4, 7)),
        ("A meeting will be held on 3 and 4 July, 2013.", date(2013, 7, 3)),
        ("An Experts Meeting will be held in Geneva in April 2014.", date(2014, 4, 30)),
        ("The report will be released in the spring of 2014.", date(2014, 6, 20)),
        ("A meeting will be convened tentatively in mid-2014.", date(2014, 6, 30)),
        ("Workshops will be held in the first half of 2014.", date(2014, 6, 30)),
        ("OHCHR will publish a study in 2015.", date(2015, 12, 31)),
        ("A report will follow in the winter of 2014.", date(2015, 3, 20)),
    ],
)
def test_a_date_is_the_day_given_or_the_end_of_the_period(sentence: str, due: date) -> None:
    assert [found for found, _ in due_dates(sentence)] == [due]


def test_a_day_that_does_not_exist_is_no_date() -> None:
    assert due_dates("It will be held on 31 February 2014.") == []


def test_the_sample_unctad_meeting_is_found_with_its_sentence_section_and_agency(agencies) -> None:
    found = {c.title: c for c in find_commitments(SAMPLE, agencies)}
    meeting = found["Expert Meeting on the impact of access to financial services"]
    assert meeting.due == date(2014, 11, 10) and meeting.agency_code == "UNCTAD"
    assert meeting.section == "2.2 Reduce the costs of labour migration"
    assert meeting.sentence.startswith(
        "The United Nations Commission on Trade and Development (UNCTAD) will hold"
    )


def test_past_events_and_dates_in_brackets_are_not_commitments(agencies) -> None:
    dues = {c.due for c in find_commitments(SAMPLE, agencies)}
    assert date(2013, 2, 11) not in dues  # "met on 11-15 February 2013"
    assert date(2013, 8, 12) not in dues  # "(Montevideo, Uruguay, 12-15 August 2013)"
    text = "2.5. Perceptions\n\nIn the Fall of 2013, UNICEF launched an online consultation.\n"
    assert find_commitments(text, agencies) == []


def test_nothing_after_the_appendix_is_read_as_prose(agencies) -> None:
    text = "Appendix\n\n1. Point\n\n- UNCTAD will hold a meeting on 10 November 2014.\n"
    assert find_commitments(text, agencies) == []


def test_sample_commitments_are_linked_to_an_item_of_the_section_agenda_point(agencies) -> None:
    report = parse_report(SAMPLE)
    recs = [item.to_recommendation(report.source) for item in report.items]
    suggestions = suggest_milestones(SAMPLE, recs, agencies)
    assert len(suggestions) == 18
    by_title = {s.title: s for s in suggestions}
    meeting = by_title["Expert Meeting on the impact of access to financial services"]
    assert meeting.code == "A2.2"
    assert meeting.reason == "section 2.2 is agenda point 2; shares: financial, services, access"
    qualifications = by_title[
        "Expert Group Meeting on quality assurance and mutual recognition of qualifications convened"
    ]
    assert (qualifications.code, qualifications.due, qualifications.agency_code) == (
        "A2.8",
        date(2014, 6, 30),
        "UNESCO",
    )
    point_of = {item.code: item.agenda_point for item in report.items}
    for s in suggestions:
        section_point = int(s.section.split(" ")[0].split(".")[1])
        assert point_of[s.code] == section_point, s
    assert suggest_milestones(SAMPLE, recs, agencies) == suggestions  # the same every time


_pieces = st.sampled_from(
    [
        "2.1. A section",
        "UNCTAD will hold a meeting on 10 November 2014.",
        "It will be held in the spring of 2014",
        "(Geneva, 3-4 July 2013)",
        "An Expert Meeting will be convened tentatively in mid-2014.",
        "will",
        "on 31 February 2014",
        "Appendix",
        "- a bullet",
        "",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_pieces, st.text(max_size=60)), max_size=30))
def test_any_text_gives_dated_commitments_with_titles_or_none_and_never_crashes(lines: list[str]) -> None:
    for commitment in find_commitments("\n".join(lines)):
        assert commitment.title and len(commitment.title) <= 160 and commitment.sentence

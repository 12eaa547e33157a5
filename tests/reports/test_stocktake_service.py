"""Building the stock-take from the database: figures, comparison, roll-up, review, query count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.errors import NotFound, ValidationError
from domain.model import Answer, Channel, ReportedStatus, StatusUpdate
from domain.stocktake import Change, StockTake
from reporting.outline import wording
from reporting.xlsx import roll_up_parts
from tests.factories import add_recommendations
from tests.support import CURRENT, PREVIOUS
from tests.support import STOCKTAKE_TODAY as TODAY
from workflows.bootstrap import FixedClock
from workflows.services.stocktake import build_stocktake, write_reports


def _item(stocktake: StockTake, code: str) -> Any:
    return next(item for item in stocktake.items if item.code == code)


def test_strategic_recommendations_come_first_then_agenda_points_in_order(stocktake: StockTake) -> None:
    assert [str(s.title) for s in stocktake.sections] == [
        "Strategic recommendations",
        "Agenda point 1: Agenda point 1",
        "Agenda point 2: Agenda point 2",
        "Agenda point 3: Agenda point 3",
        "Agenda point 7: Agenda point 7",
    ]
    assert [i.code for i in stocktake.items] == [
        "SR1.i", "SR1.ii.a", "SR2.i", "A1.1", "A1.2", "A2.1", "A2.2", "A3.1", "A7.1",
    ]  # fmt: skip


def test_each_change_since_the_previous_cycle_is_classified(stocktake: StockTake) -> None:
    changes = {item.code: item.change for item in stocktake.items}
    assert changes == {
        "SR1.i": Change.CHANGED,  # newly completed
        "SR1.ii.a": Change.CHANGED,  # newly blocked
        "SR2.i": Change.UNCHANGED,
        "A1.1": Change.UNCHANGED,  # self-reported completed, but assessed in progress, as before
        "A1.2": Change.CHANGED,
        "A2.1": Change.NOT_REPORTED,
        "A2.2": Change.UNCHANGED,
        "A3.1": Change.FIRST_REPORT,
        "A7.1": Change.NOT_REPORTED,
    }
    assert [i.code for i in stocktake.items if i.newly_completed] == ["SR1.i"]
    assert [i.code for i in stocktake.items if i.newly_blocked] == ["SR1.ii.a"]
    assert [i.code for i in stocktake.items if i.newly_overdue] == ["SR2.i"]  # fell due between cycles
    assert stocktake.previous is not None and stocktake.previous.title == "HLCP 27"


def test_self_reported_and_assessed_status_are_side_by_side_with_a_disagreement_flag(
    stocktake: StockTake,
) -> None:
    (owner,) = _item(stocktake, "A1.1").owners
    assert (owner.reported_status, owner.assessed_status, owner.disagrees) == (
        "completed",
        "in_progress",
        True,
    )
    assert owner.assessment_rationale.startswith("Toolkit launched")
    assert _item(stocktake, "A1.1").rolled_up_status == "in_progress"
    assert stocktake.figures.disagreements == 1


def test_a_multi_owner_recommendation_rolls_up_with_its_parts_lead_first(stocktake: StockTake) -> None:
    item = _item(stocktake, "SR2.i")
    assert [o.agency_code for o in item.owners] == ["OHCHR", "ILO", "WHO"]
    assert item.rolled_up_status == "in_progress"
    assert roll_up_parts(item, wording()) == "OHCHR (lead): In progress; ILO: Completed; WHO: No answer"


def test_a_draft_answer_does_not_count_as_reported(stocktake: StockTake) -> None:
    unhcr = next(o for o in _item(stocktake, "A1.2").owners if o.agency_code == "UNHCR")
    assert not unhcr.answered and unhcr.review_state == "draft"


def test_summary_figures_and_sentences_come_from_the_data(stocktake: StockTake) -> None:
    f = stocktake.figures
    assert (f.items, f.reported, f.overdue_milestones, f.agencies, f.agencies_answered) == (9, 7, 2, 6, 5)
    assert str(stocktake.sentences[0]) == (
        "The lead agency reported on 7 of 9 recommendations (78%); contributing agencies answered "
        "2 of their 5 parts."
    )
    assert str(stocktake.sentences[1]) == (
        "Since HLCP 27, 3 recommendations changed status (1 newly completed, 1 newly blocked), "
        "3 are unchanged, 1 was reported for the first time and 2 were not reported on by their lead."
    )
    assert "(Agency WHO)" in str(stocktake.sentences[3])  # named as running text names it, never by code
    assert [a.code for a in stocktake.agencies_not_answered] == ["WHO", "UNHCR", "ILO", "IOM"]
    assert [(i.code, m.title) for i in stocktake.overdue_items for m in i.overdue_milestones] == [
        ("SR2.i", "Joint advocacy strategy agreed"),
        ("A2.1", "Fair recruitment guidance published"),
    ]
    assert [(a.code, codes) for a, codes in stocktake.unreported] == [("ILO", ["A2.1"]), ("WHO", ["A7.1"])]


def test_the_key_highlights_quote_what_the_agencies_said_changed(stocktake: StockTake) -> None:
    narratives = {(i.code, o.agency_code): o.narrative for i in stocktake.items for o in i.owners}
    highlights = [h for point in stocktake.highlights for h in point.highlights]
    assert [h.code for h in highlights] == ["SR1.i", "SR1.ii.a", "A1.2", "A3.1"]
    for h in highlights:
        assert narratives[(h.code, h.agency_code)].startswith(h.quote)  # extractive: nothing invented
        assert f"\u201c{h.quote}\u201d" in str(h.text)


def test_the_previous_cycle_of_the_earlier_cycle_is_none(uow: SqlUnitOfWork, ids: dict[str, int]) -> None:
    with uow:
        first = build_stocktake(uow, PREVIOUS, today=date(2025, 10, 2))
    assert first.previous is None
    assert all(item.change is None for item in first.items)
    assert "first stock-take" in str(first.sentences[1])


@contextmanager
def _counting_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def test_the_number_of_queries_does_not_grow_with_the_number_of_items(
    uow: SqlUnitOfWork, ids: dict[str, int]
) -> None:
    with uow, _counting_queries() as before:
        build_stocktake(uow, CURRENT, today=TODAY)
    # Forty more recommendations, each with two owners and answers, in the same cycle.
    more = add_recommendations(uow, {f"A5.{n}": ["ILO", "IOM"] for n in range(1, 41)}, source="MORE")
    with uow:
        cycle = uow.cycles.require(CURRENT)
        assert cycle.id is not None
        uow.session.execute(
            insert(tables.cycle_items),
            [
                {"cycle_id": cycle.id, "recommendation_id": rid, "agency_code": agency, "role": role}
                for rid in more.values()
                for agency, role in (("ILO", "lead"), ("IOM", "contributor"))
            ],
        )
        for rid in more.values():
            update = StatusUpdate(cycle_id=cycle.id, recommendation_id=rid, agency_code="ILO")
            uow.updates.add(update)
            update.apply(
                Answer(rid, ReportedStatus.ONGOING),
                at=datetime(2026, 3, 12, tzinfo=UTC),
                by="ilo",
                channel=Channel.PORTAL,
                submit=True,
            )
        uow.commit()
    with uow, _counting_queries() as after:
        bigger = build_stocktake(uow, CURRENT, today=TODAY)
    assert bigger.figures.items == 49
    assert len(after) == len(before) <= 10


def test_write_reports_writes_each_format_under_the_cycle_slug(
    uow: SqlUnitOfWork, ids: dict[str, int], tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    paths = write_reports(uow, CURRENT, out_dir=out, clock=FixedClock(TODAY))
    assert {fmt: p.name for fmt, p in paths.items()} == {
        "docx": "hlcp-28-stock-take-stocktake.docx",
        "html": "hlcp-28-stock-take-stocktake.html",
        "md": "hlcp-28-stock-take-stocktake.md",
        "xlsx": "hlcp-28-stock-take-stocktake.xlsx",
    }
    assert all(p.stat().st_size > 1000 for p in paths.values())
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())  # no temp files


def test_an_unknown_format_or_cycle_is_refused_and_nothing_is_written(
    uow: SqlUnitOfWork, ids: dict[str, int], tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="format: 'pdf' is not one of"):
        write_reports(uow, CURRENT, formats=("md", "pdf"), out_dir=tmp_path / "a", clock=FixedClock(TODAY))
    with pytest.raises(NotFound, match="no cycle named 'HLCP 99'"):
        write_reports(uow, "HLCP 99", out_dir=tmp_path / "b", clock=FixedClock(TODAY))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()

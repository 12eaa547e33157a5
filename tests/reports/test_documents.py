"""The Word and spreadsheet reports, opened with python-docx and openpyxl and checked against the database."""

from __future__ import annotations

import dataclasses
import io

import docx
import openpyxl
from sqlalchemy import select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.stocktake import StockTake, status_label
from reporting.docx import render_docx
from reporting.xlsx import ITEM_COLUMNS, render_xlsx
from tests.support import CURRENT

EXPECTED_CODES = ["SR1.i", "SR1.ii.a", "SR2.i", "A1.1", "A1.2", "A2.1", "A2.2", "A3.1", "A7.1"]


def _reported_in_db(uow: SqlUnitOfWork) -> dict[tuple[str, str], str]:
    """(code, agency) -> the self-reported status label, straight from the tables."""
    r, u, i, c = tables.recommendations, tables.status_updates, tables.cycle_items, tables.cycles
    with uow:
        cycle_id = uow.session.execute(select(c.c.id).where(c.c.name == CURRENT)).scalar_one()
        asked = uow.session.execute(
            select(r.c.code, i.c.agency_code, i.c.recommendation_id)
            .join(r, r.c.id == i.c.recommendation_id)
            .where(i.c.cycle_id == cycle_id)
        ).all()
        answers = {
            (row.recommendation_id, row.agency_code): row.reported_status
            for row in uow.session.execute(select(u).where(u.c.cycle_id == cycle_id, u.c.state != "draft"))
        }
    return {(code, agency): status_label(answers.get((rid, agency))) for code, agency, rid in asked}


def test_the_word_report_has_heading_styles_in_report_order(stocktake: StockTake) -> None:
    document = docx.Document(io.BytesIO(render_docx(stocktake)))
    headings = [(p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith("Heading")]
    level_1 = [text for style, text in headings if style == "Heading 1"]
    assert level_1 == ["Executive summary", "Recommendations by agenda point", "Annexes"]
    level_2 = [text for style, text in headings if style == "Heading 2"]
    assert level_2[-3:] == [
        "Annex A: Agencies that did not answer",
        "Annex B: Overdue items",
        "Annex C: Method",
    ]
    assert "Strategic recommendations" in level_2
    level_3 = [text.split(":")[0] for style, text in headings if style == "Heading 3"]
    assert level_3 == EXPECTED_CODES
    # Strategic recommendations' heading comes before every item, and agenda point 1 after SR2.i.
    order = [text for _, text in headings]
    assert order.index("Strategic recommendations") < order.index("SR1.i: Completed")
    assert order.index("SR2.i: In progress") < order.index("Agenda point 1: Agenda point 1")
    assert document.paragraphs[0].style.name == "Title"


def test_the_word_owner_tables_match_the_database(uow: SqlUnitOfWork, stocktake: StockTake) -> None:
    document = docx.Document(io.BytesIO(render_docx(stocktake)))
    expected = _reported_in_db(uow)
    owner_tables = [t for t in document.tables if t.rows[0].cells[0].text == "Owner"]
    assert len(owner_tables) == len(EXPECTED_CODES)
    seen = {}
    for code, table in zip(EXPECTED_CODES, owner_tables, strict=True):
        assert [cell.text for cell in table.rows[0].cells] == [
            "Owner", "Role", "Self-reported", "Assessed", "Reported on",
        ]  # fmt: skip
        assert table.rows[0]._tr.trPr.find(docx.oxml.ns.qn("w:tblHeader")) is not None
        for row in table.rows[1:]:
            agency, _, reported = (cell.text for cell in row.cells[:3])
            seen[(code, agency)] = reported
    assert seen == expected
    assessed = {row.cells[0].text: row.cells[3].text for row in owner_tables[3].rows[1:]}
    assert assessed == {"OHCHR": "In progress (differs)"}


def test_the_word_footer_numbers_pages_with_a_page_field(stocktake: StockTake) -> None:
    document = docx.Document(io.BytesIO(render_docx(stocktake)))
    footer = document.sections[0].footer._element
    instructions = [f.get(docx.oxml.ns.qn("w:instr")) for f in footer.iter(docx.oxml.ns.qn("w:fldSimple"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert len(document.inline_shapes) == 2  # the two charts, as pictures


def test_the_spreadsheet_has_one_filtered_row_per_recommendation_and_owner(
    uow: SqlUnitOfWork, stocktake: StockTake
) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(stocktake)))
    assert workbook.sheetnames == ["Summary", "Items"]
    sheet = workbook["Items"]
    header = [cell.value for cell in sheet[1]]
    assert header == [title for title, _, _ in ITEM_COLUMNS]
    expected = _reported_in_db(uow)
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(expected) == 14
    column = {title: n for n, title in enumerate(header)}
    got = {(row[column["Code"]], row[column["Agency"]]): row[column["Self-reported status"]] for row in rows}
    assert got == expected
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{len(rows) + 1}"
    assert sheet.column_dimensions["D"].width == 60  # the recommendation text is readable
    a11 = next(row for row in rows if row[column["Code"]] == "A1.1")
    assert (a11[column["Assessed status"]], a11[column["Disagreement"]]) == ("In progress", "yes")
    assert a11[column["Evidence"]] == "https://example.org/toolkit\nhttps://example.org/launch-note"


def test_the_spreadsheet_summary_sheet_holds_the_headline_figures(stocktake: StockTake) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(stocktake)))
    values = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert values["Recommendations"] == 9
    assert values["Reported on"] == 7
    assert values["Agencies answered"] == "5 of 6"
    assert values["WHO"] == "Agency WHO"


def test_markup_and_control_characters_typed_by_an_agency_survive_in_word_and_the_spreadsheet(
    stocktake: StockTake,
) -> None:
    typed = 'Pilot <b>"A&B"</b>\x01 done\nnext:\tscale up'
    items = [
        dataclasses.replace(item, owners=tuple(dataclasses.replace(o, narrative=typed) for o in item.owners))
        for item in stocktake.sections[0].items
    ]
    sections = (dataclasses.replace(stocktake.sections[0], items=tuple(items)), *stocktake.sections[1:])
    changed = dataclasses.replace(stocktake, sections=sections)
    shown = 'Pilot <b>"A&B"</b> done\nnext:\tscale up'  # only the character XML cannot hold is dropped

    document = docx.Document(io.BytesIO(render_docx(changed)))
    assert any(p.text.endswith(f": {shown}") for p in document.paragraphs)
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(changed)))["Items"]
    narrative = [cell.value for cell in sheet[1]].index("Narrative") + 1
    assert sheet.cell(2, narrative).value == shown

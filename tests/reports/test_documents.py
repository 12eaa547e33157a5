"""The Word, HTML and spreadsheet reports as documents: the Committee form, the order, the tables."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections import Counter
from datetime import date
from typing import Any

import docx
import openpyxl
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Length
from docx.text.paragraph import Paragraph
from sqlalchemy import select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.stocktake import DEFAULT_ACTION_REQUESTED, StockTake, status_label
from reporting.docx import SHORT_TABLE_ROWS, render_docx
from reporting.html import render_html
from reporting.xlsx import ITEM_COLUMNS, render_xlsx
from tests.reports.demo_like import demo_like_stocktake
from tests.support import CURRENT

EXPECTED_CODES = ["SR1.i", "SR1.ii.a", "SR2.i", "A1.1", "A1.2", "A2.1", "A2.2", "A3.1", "A7.1"]


def _style(paragraph: Paragraph) -> str:
    """The name of a Word paragraph's style ('' when it has none)."""
    return paragraph.style.name if paragraph.style is not None else ""


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


def _as_committee_document(stocktake: StockTake) -> StockTake:
    """The fixture's stock-take with the form of a Committee document set on its cycle."""
    cycle = dataclasses.replace(
        stocktake.cycle, symbol="CEB/2026/HLCP-28/CRP.1", venue="Geneva", document_date=date(2026, 3, 25)
    )
    return dataclasses.replace(stocktake, cycle=cycle)


def test_the_word_report_opens_as_a_committee_document(stocktake: StockTake) -> None:
    document = docx.Document(io.BytesIO(render_docx(_as_committee_document(stocktake))))
    texts = [p.text for p in document.paragraphs]
    assert texts[:7] == [
        "CEB/2026/HLCP-28/CRP.1",
        "25 March 2026",
        "United Nations System Chief Executives Board for Coordination",
        "High-Level Committee on Programmes",
        "HLCP 28, Geneva",
        "Stock-take of follow-up action: HLCP 28",
        "Note by the secretariat",
    ]
    assert [_style(p) for p in document.paragraphs[5:7]] == ["Title", "Subtitle"]
    numbered = [p.text for p in document.paragraphs if _style(p) == "Numbered paragraph"]
    assert [int(text.split(".")[0]) for text in numbered] == list(range(1, len(numbered) + 1))
    action = texts.index("Action requested of the Committee")
    assert texts[action + 1] == f"{len(numbered)}.\t{DEFAULT_ACTION_REQUESTED}"
    instructions = "".join(t.text or "" for t in document.element.body.iter(qn("w:instrText")))
    assert instructions.strip().startswith("TOC ")


def test_the_word_report_is_a4_serif_with_black_named_styles_and_the_secretariat_as_author(
    stocktake: StockTake,
) -> None:
    content = render_docx(stocktake)
    document = docx.Document(io.BytesIO(content))
    section = document.sections[0]
    assert section.page_width and section.page_height and section.left_margin and section.right_margin
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert round(section.left_margin.cm, 1) == round(section.right_margin.cm, 1) == 2.5
    assert document.styles["Normal"].font.name == "Times New Roman"
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        style = document.styles[name]
        assert (style.font.name, str(style.font.color.rgb)) == ("Times New Roman", "000000"), name
        assert style.paragraph_format.keep_with_next, name
    assert "Table" in [s.name for s in document.styles]
    assert document.core_properties.author == document.core_properties.last_modified_by == "CEB Secretariat"
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        properties = b"".join(package.read(n) for n in package.namelist() if n.startswith("docProps/"))
    assert b"python-docx" not in properties
    footer = document.sections[0].footer._element
    fields = [f.get(qn("w:instr")) for f in footer.iter(qn("w:fldSimple"))]
    assert fields == ["PAGE", "NUMPAGES"]
    assert len(document.inline_shapes) == 2  # the two charts, as pictures


def test_the_word_report_puts_the_exceptions_first_and_the_unchanged_in_one_row_each(
    stocktake: StockTake,
) -> None:
    document = docx.Document(io.BytesIO(render_docx(stocktake)))
    level_1 = [p.text for p in document.paragraphs if _style(p) == "Heading 1"]
    assert level_1 == [
        "Contents",
        "Executive summary",
        "Newly completed",
        "Blocked, with the obstacles reported",
        "Other changes and first reports",
        "Disagreements between agencies and the secretariat",
        "Leads that did not answer",
        "Overdue milestones",
        "Action requested of the Committee",
        "Annex I. Response by agency",
        "Annex II. Method",
        "Annex III. Recommendations shown in one row",
    ]
    in_full = [p.text.split()[0] for p in document.paragraphs if _style(p) == "Heading 3"]
    assert in_full == ["SR1.i", "SR1.ii.a", "A1.2", "A3.1"]  # completed, blocked, changed, first report
    (annex,) = [t for t in document.tables if t.rows[0].cells[0].text == "Code" and len(t.columns) == 5
                and t.rows[0].cells[1].text == "Recommendation"]  # fmt: skip
    rows = {row.cells[0].text: row.cells[3].text for row in annex.rows[1:]}
    assert sorted([*rows, *in_full]) == sorted(EXPECTED_CODES)  # each recommendation once
    assert {code: status for code, status in rows.items()} == {
        item.code: status_label(item.status_key) for item in stocktake.compact
    }


def test_the_word_narratives_and_annex_rows_show_the_statuses_in_the_database(
    uow: SqlUnitOfWork, stocktake: StockTake
) -> None:
    document = docx.Document(io.BytesIO(render_docx(stocktake)))
    in_db = _reported_in_db(uow)
    code, seen = None, {}
    for paragraph in document.paragraphs:
        if paragraph.style is not None and paragraph.style.name == "Heading 3":
            code = paragraph.text.split()[0]
        elif paragraph.style is not None and paragraph.style.name.startswith("Heading"):
            code = None
        elif code and (
            owner := re.match(
                # Owners are named in running text (the test registry names them "Agency CODE").
                r"Agency ([A-Z-]+)(?: \(lead\))?(?:, [^:]+)?: ([^.(]+?)(?: \(agency: (.+)\))?\.",
                paragraph.text,
            )
        ):
            agency, shown, own = owner.groups()
            seen[(code, agency)] = own or shown.capitalize()
    assert seen and all(in_db[key] == status for key, status in seen.items())
    assert sorted({code for code, _ in seen}) == sorted(i.code for i in stocktake.items if i.needs_narrative)


def test_word_tables_fill_the_text_width_with_numbers_right_aligned_and_rows_kept_whole(
    stocktake: StockTake,
) -> None:
    document = docx.Document(io.BytesIO(render_docx(stocktake)))
    section = document.sections[0]
    assert section.page_width is not None and section.left_margin is not None
    assert section.right_margin is not None
    text_width = Length(section.page_width - section.left_margin - section.right_margin)
    assert document.tables
    for table in document.tables:
        grid = [int(col.get(qn("w:w"))) for col in table._tbl.tblGrid.iter(qn("w:gridCol"))]
        assert sum(grid) == text_width.twips
        rows = table._tbl.findall(qn("w:tr"))
        assert rows[0].trPr.find(qn("w:tblHeader")) is not None
        assert all(row.trPr.find(qn("w:cantSplit")) is not None for row in rows)
    status_table = next(t for t in document.tables if t.rows[0].cells[0].text == "Agenda point")
    assert status_table.rows[1].cells[1].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert status_table.rows[1].cells[0].paragraphs[0].alignment is None  # text stays left


def test_a_short_word_table_keeps_to_one_page_and_a_caption_to_its_picture() -> None:
    # A long table breaks between its rows; a picture's caption, below it, keeps with it and not with
    # what follows.
    document = docx.Document(io.BytesIO(render_docx(demo_like_stocktake())))

    def kept_with_next(table: Any) -> list[bool]:
        return [bool(row.cells[0].paragraphs[0].paragraph_format.keep_with_next) for row in table.rows]

    lengths = {len(table.rows) - 1 for table in document.tables}  # the header row aside
    assert min(lengths) <= SHORT_TABLE_ROWS < max(lengths)
    for table in document.tables:
        keeps = kept_with_next(table)
        short = len(keeps) - 1 <= SHORT_TABLE_ROWS
        assert keeps == [short] * (len(keeps) - 1) + [False]
    paragraphs = document.paragraphs
    figure = next(n for n, p in enumerate(paragraphs) if p.text.startswith("Figure 1."))
    assert (
        paragraphs[figure - 1]._p.xpath(".//w:drawing")
        and paragraphs[figure - 1].paragraph_format.keep_with_next
    )
    assert paragraphs[figure].paragraph_format.keep_with_next is False


def test_the_html_report_opens_as_a_committee_document(stocktake: StockTake) -> None:
    html = render_html(_as_committee_document(stocktake))
    block = html.split('<header class="heading-block">', 1)[1].split("</header>", 1)[0]
    for line in (
        "United Nations System Chief Executives Board for Coordination",
        "HLCP 28, Geneva",
        "CEB/2026/HLCP-28/CRP.1",
        "25 March 2026",
    ):
        assert line in block
    assert '<p class="note-by">Note by the secretariat</p>' in html
    numbers = [int(n) for n in re.findall(r'<p class="para"><span class="num">(\d+)\.</span>', html)]
    assert numbers == list(range(1, len(numbers) + 1)) and numbers
    assert f'<span class="num">{numbers[-1]}.</span><span>{DEFAULT_ACTION_REQUESTED}</span>' in html
    assert html.index(">Action requested of the Committee<") < html.index(f">{numbers[-1]}.<")


def test_figure_1_follows_the_table_it_draws_in_word_as_in_html(stocktake: StockTake) -> None:
    captions = (
        "Table 1. Status by agenda point",
        "Figure 1. Status by agenda point",
        "Table 2. Change since",
    )
    word = [p.text for p in docx.Document(io.BytesIO(render_docx(stocktake))).paragraphs]
    html = render_html(stocktake)

    in_word = [next(n for n, text in enumerate(word) if text.startswith(caption)) for caption in captions]
    in_html = [html.index(caption) for caption in captions]
    assert in_word == sorted(in_word) and in_html == sorted(in_html)


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


def test_the_spreadsheets_statuses_and_overdue_milestones_recount_to_the_reports_figures(
    stocktake: StockTake,
) -> None:
    rows = list(
        openpyxl.load_workbook(io.BytesIO(render_xlsx(stocktake)))["Items"].iter_rows(values_only=True)
    )
    column = {title: n for n, title in enumerate(rows[0])}
    status_of = {row[column["Code"]]: row[column["Rolled-up status"]] for row in rows[1:]}
    figures = stocktake.figures
    assert Counter(status_of.values()) == {status_label(s): n for s, n in figures.status_counts.items() if n}
    assert "No answer" in status_of.values()  # a recommendation whose lead did not answer, as Table 1 has it
    overdue = sum(row[column["Overdue milestones"]] or 0 for row in rows[1:])
    assert overdue == figures.overdue_milestones > 0


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
    assert any(p.text.endswith(f". {shown}") for p in document.paragraphs)
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(changed)))["Items"]
    narrative = [cell.value for cell in sheet[1]].index("Narrative") + 1
    assert sheet.cell(2, narrative).value == shown

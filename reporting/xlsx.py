"""The stock-take as a spreadsheet (openpyxl): one row per recommendation x owner, plus a summary.

The Items sheet carries every field the report shows, with the header frozen and filters on, so
the secretariat can sort and slice; the Summary sheet holds the headline figures and tables.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from domain.figures import figure_labels
from domain.stocktake import STATUS_ORDER, StockTake, long_date, status_label
from reporting.cells import text_cell, text_row
from reporting.package import spliced, xml_text

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="EEF3F8")
WRAP = Alignment(wrap_text=True, vertical="top")

# (header, width in characters, wrapped): the Items sheet's columns, in order.
ITEM_COLUMNS: tuple[tuple[str, int, bool], ...] = (
    ("Section", 28, True),
    ("Code", 11, False),
    ("Kind", 10, False),
    ("Recommendation", 60, True),
    ("Theme", 20, True),
    ("Agency", 10, False),
    ("Agency name", 28, True),
    ("Role", 12, False),
    ("Self-reported status", 16, False),
    ("Assessed status", 16, False),
    ("Disagreement", 12, False),
    ("Assessment rationale", 40, True),
    ("Review state", 12, False),
    ("Rolled-up status", 16, False),
    ("Roll-up parts", 40, True),
    ("Previous status", 16, False),
    ("Change since previous", 20, False),
    ("Narrative", 60, True),
    ("Obstacle", 30, True),
    ("Next milestone date", 14, False),
    ("Reported on", 12, False),
    ("Reported by", 28, False),
    ("Channel", 12, False),
    ("Evidence", 40, True),
    ("Evidence files", 40, True),
    ("Milestones", 40, True),
    ("Overdue milestones", 10, False),
)


def _header(sheet: Any, titles: Sequence[str]) -> list[WriteOnlyCell]:
    """A bold, shaded header row for a write-only sheet."""
    cells = []
    for title in titles:
        cell = text_cell(sheet, title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cells.append(cell)
    return cells


def _items(sheet: Any, st: StockTake) -> tuple[int, int]:
    """The Items sheet's settings and header; returns the style ids of wrapped and of date cells."""
    for column, (_, width, _) in enumerate(ITEM_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    rows = sum(len(item.owners) for item in st.items)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(ITEM_COLUMNS))}{rows + 1}"
    sheet.append(_header(sheet, [title for title, _, _ in ITEM_COLUMNS]))
    wrapped, dated = WriteOnlyCell(sheet), WriteOnlyCell(sheet)
    wrapped.alignment, dated.number_format = WRAP, "yyyy-mm-dd"
    return wrapped.style_id, dated.style_id  # registers both styles with the workbook


def _item_values(st: StockTake) -> Iterator[list[object]]:
    """The Items rows' values, in ITEM_COLUMNS order."""
    for section in st.sections:
        for item in section.items:
            milestones = "\n".join(
                f"{m.due_date} {m.title} ({m.state}{', overdue' if m.overdue else ''})"
                for m in item.milestones
            )
            for o in item.owners:
                yield [
                    section.title,
                    item.code,
                    item.kind,
                    item.text,
                    item.theme or "",
                    o.agency_code,
                    o.agency_name,
                    o.role,
                    status_label(o.reported_status),
                    status_label(o.assessed_status) if o.assessed_status else "",
                    "yes" if o.disagrees else "",
                    o.assessment_rationale,
                    o.review_state or "",
                    status_label(item.rolled_up_status),
                    item.roll_up_parts,
                    status_label(item.previous_status) if st.previous else "",
                    item.change.label if item.change else "",
                    o.narrative,
                    o.obstacle,
                    o.next_milestone_date,
                    o.reported_on,
                    o.reported_by,
                    o.channel or "",
                    "\n".join(o.evidence),
                    "\n".join(f.line for f in o.files),
                    milestones,
                    len(item.overdue_milestones),
                ]


def _item_rows(st: StockTake, wrap_style: int, date_style: int, chunk: int = 1000) -> Iterator[bytes]:
    """The Items rows after the header as SpreadsheetML, as openpyxl writes them, `chunk` rows at a time.

    openpyxl makes a cell object per value: 20,000 rows of 26 columns take longer than everything
    else in the report together, so the rows are written as text and spliced into the saved sheet.
    Empty values are left out, strings are inline, dates are serial numbers with a date style.
    """
    # Each column's cell XML around its row number and value, made once for every row.
    texts, numbers, dates = [], [], []
    for n, (_, _, wrap) in enumerate(ITEM_COLUMNS, start=1):
        ref, style = f'<c r="{get_column_letter(n)}', f' s="{wrap_style}"' if wrap else ""
        texts.append((ref, f'"{style} t="inlineStr"><is><t xml:space="preserve">'))
        numbers.append((ref, f'"{style} t="n"><v>'))
        dates.append((ref, f'" s="{date_style}" t="n"><v>'))
    serials: dict[date, float] = {}  # a report holds few distinct days
    parts: list[str] = []
    for number, values in enumerate(_item_values(st), start=2):
        parts.append(f'<row r="{number}">')
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                ref, rest = texts[column]
                parts.append(f"{ref}{number}{rest}{xml_text(value)}</t></is></c>")
            elif isinstance(value, date):
                if value not in serials:
                    serials[value] = to_excel(value)
                ref, rest = dates[column]
                parts.append(f"{ref}{number}{rest}{serials[value]}</v></c>")
            else:
                ref, rest = numbers[column]
                parts.append(f"{ref}{number}{rest}{value}</v></c>")
        parts.append("</row>")
        if number % chunk == 0:
            yield "".join(parts).encode()
            parts.clear()
    yield "".join(parts).encode()


def _summary(sheet: Any, st: StockTake) -> None:
    """The Summary sheet: the document's facts, every figure by name, the sentences and tables."""
    f = st.figures
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 30
    for letter in "CDEFGHI":
        sheet.column_dimensions[letter].width = 14
    title = text_cell(sheet, st.title)
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    for label, value in (
        ("Symbol", st.cycle.symbol or ""),
        ("Cycle", st.cycle.name),
        ("HLCP session", st.cycle.hlcp_session or ""),
        ("Reply deadline", long_date(st.cycle.deadline)),
        ("Compared with", st.previous.title if st.previous else "nothing (first stock-take)"),
        ("Produced on", long_date(st.produced_on)),
    ):
        sheet.append(text_row(sheet, [label, value]))
    sheet.append([])
    sheet.append(_header(sheet, ["Figure", "Value"]))
    labels = figure_labels()
    values = f.as_dict()
    for name, label in labels.items():
        sheet.append(text_row(sheet, [label, values[name]]))
    sheet.append([])
    for sentence in st.sentences:
        sheet.append(text_row(sheet, [sentence]))
    sheet.append([])
    sheet.append(_header(sheet, ["Agenda point", *(status_label(x) for x in STATUS_ORDER), "Total"]))
    for section_title, counts in st.status_by_section():
        sheet.append(text_row(sheet, [section_title, *counts.values(), sum(counts.values())]))
    sheet.append(["All", *f.status_counts.values(), f.items])
    sheet.append([])
    sheet.append(_header(sheet, ["Agency", "Name", "Items answered", "Items asked", "Response rate (%)"]))
    for a in st.agencies:
        rate = "by the secretariat" if a.by_secretariat else a.rate
        sheet.append(text_row(sheet, [a.code, a.name, a.items_answered, a.items_asked, rate]))


def write_xlsx(st: StockTake, handle: BinaryIO) -> None:
    """Write the report as .xlsx into `handle`: a Summary sheet and an Items sheet."""
    workbook = Workbook(write_only=True)
    _summary(workbook.create_sheet("Summary"), st)
    items = workbook.create_sheet("Items")
    wrap_style, date_style = _items(items, st)
    produced = datetime.combine(st.produced_on, time(0, 0))  # openpyxl stores naive times
    workbook.properties.creator, workbook.properties.title = "Follow-up", st.title
    workbook.properties.created = workbook.properties.modified = produced
    skeleton = io.BytesIO()
    workbook.save(skeleton)
    with spliced(skeleton.getvalue(), items.path.lstrip("/"), b"</sheetData>", handle) as sheet_data:
        for chunk in _item_rows(st, wrap_style, date_style):
            sheet_data.write(chunk)


def render_xlsx(st: StockTake) -> bytes:
    """The report as .xlsx bytes (as `write_xlsx` writes them)."""
    buffer = io.BytesIO()
    write_xlsx(st, buffer)
    return buffer.getvalue()

"""The stock-take as a spreadsheet (openpyxl): one row per recommendation x owner, plus a summary.

The Items sheet carries every field the report shows, with the header frozen and filters on, so
the secretariat can sort and slice; the Summary sheet holds the headline figures and tables.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, time

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from domain.stocktake import STATUS_ORDER, Change, StockTake, long_date, status_label

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
    ("Milestones", 40, True),
    ("Overdue milestones", 10, False),
)


def _header(sheet: Worksheet, row: int, titles: Sequence[str]) -> None:
    for column, title in enumerate(titles, start=1):
        cell = sheet.cell(row=row, column=column, value=title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL


def _items(sheet: Worksheet, st: StockTake) -> None:
    _header(sheet, 1, [title for title, _, _ in ITEM_COLUMNS])
    for section in st.sections:
        for item in section.items:
            milestones = "\n".join(
                f"{m.due_date} {m.title} ({m.state}{', overdue' if m.overdue else ''})"
                for m in item.milestones
            )
            for o in item.owners:
                sheet.append(
                    [
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
                        milestones,
                        len(item.overdue_milestones),
                    ]
                )
    for column, (_, width, wrapped) in enumerate(ITEM_COLUMNS, start=1):
        letter = get_column_letter(column)
        sheet.column_dimensions[letter].width = width
        if wrapped:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.alignment = WRAP
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.is_date:
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def _summary(sheet: Worksheet, st: StockTake) -> None:
    s = st.summary
    sheet.append([st.title])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, value in (
        ("Cycle", st.cycle.name),
        ("HLCP session", st.cycle.hlcp_session or ""),
        ("Reply deadline", long_date(st.cycle.deadline)),
        ("Compared with", st.previous.title if st.previous else "nothing (first stock-take)"),
        ("Produced on", long_date(st.produced_on)),
        ("Recommendations", s.recommendations),
        ("Reported on", s.answered),
        ("Agencies answered", f"{s.agencies_answered} of {s.agencies}"),
        ("Overdue milestones", s.overdue_milestones),
        ("Disagreements", s.disagreements),
    ):
        sheet.append([label, value])
    sheet.append([])
    for sentence in st.sentences:
        sheet.append([sentence])
    sheet.append([])
    _header(sheet, sheet.max_row + 1, ["Agenda point", *(status_label(x) for x in STATUS_ORDER), "Total"])
    for title, counts in st.status_by_section():
        sheet.append([title, *counts.values(), sum(counts.values())])
    if st.previous:
        sheet.append([])
        _header(sheet, sheet.max_row + 1, [f"Change since {st.previous.title}", "Recommendations"])
        for change, count in s.change_counts.items():
            sheet.append([Change(change).label, count])
    sheet.append([])
    _header(
        sheet, sheet.max_row + 1, ["Agency", "Name", "Items answered", "Items asked", "Response rate (%)"]
    )
    for a in st.agencies:
        sheet.append([a.code, a.name, a.items_answered, a.items_asked, a.rate])
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 30
    for letter in "CDEFGHI":
        sheet.column_dimensions[letter].width = 14


def render_xlsx(st: StockTake) -> bytes:
    """The report as .xlsx bytes: a Summary sheet and an Items sheet."""
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None  # a new workbook always has one sheet
    summary.title = "Summary"
    _summary(summary, st)
    _items(workbook.create_sheet("Items"), st)
    produced = datetime.combine(st.produced_on, time(0, 0))  # openpyxl stores naive times
    workbook.properties.creator, workbook.properties.title = "Follow-up", st.title
    workbook.properties.created = workbook.properties.modified = produced
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

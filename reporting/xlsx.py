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

from domain.figures import every_figure
from domain.language import ENGLISH, N_, Words
from domain.stocktake import STATUS_ORDER, ItemReport, StockTake
from reporting.cells import text_cell, text_row
from reporting.outline import Wording, wording
from reporting.package import spliced, xml_text

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="EEF3F8")
WRAP = Alignment(wrap_text=True, vertical="top")

# (header, width in characters, wrapped): the Items sheet's columns, in order.
ITEM_COLUMNS: tuple[tuple[str, int, bool], ...] = (
    (N_("Section"), 28, True),
    (N_("Code"), 11, False),
    (N_("Kind"), 10, False),
    (N_("Recommendation"), 60, True),
    (N_("Theme"), 20, True),
    (N_("Agency"), 10, False),
    (N_("Agency name"), 28, True),
    (N_("Role"), 12, False),
    (N_("Self-reported status"), 16, False),
    (N_("Assessed status"), 16, False),
    (N_("Disagreement"), 12, False),
    (N_("Assessment rationale"), 40, True),
    (N_("Review state"), 12, False),
    (N_("Rolled-up status"), 16, False),
    (N_("Roll-up parts"), 40, True),
    (N_("Previous status"), 16, False),
    (N_("Change since previous"), 20, False),
    (N_("Narrative"), 60, True),
    (N_("Obstacle"), 30, True),
    (N_("Next milestone date"), 14, False),
    (N_("Reported on"), 12, False),
    (N_("Reported by"), 28, False),
    (N_("Channel"), 12, False),
    (N_("Evidence"), 40, True),
    (N_("Evidence files"), 40, True),
    (N_("Milestones"), 40, True),
    (N_("Overdue milestones"), 10, False),  # those the row's agency answers for
)


def _header(sheet: Any, titles: Sequence[str]) -> list[WriteOnlyCell]:
    """A bold, shaded header row for a write-only sheet."""
    cells = []
    for title in titles:
        cell = text_cell(sheet, title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cells.append(cell)
    return cells


def _items(sheet: Any, st: StockTake, say: Wording) -> tuple[int, int]:
    """The Items sheet's settings and header; returns the style ids of wrapped and of date cells."""
    for column, (_, width, _) in enumerate(ITEM_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    rows = sum(len(item.owners) for item in st.items)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(ITEM_COLUMNS))}{rows + 1}"
    sheet.append(_header(sheet, [say.gettext(title) for title, _, _ in ITEM_COLUMNS]))
    wrapped, dated = WriteOnlyCell(sheet), WriteOnlyCell(sheet)
    wrapped.alignment, dated.number_format = WRAP, "yyyy-mm-dd"
    return wrapped.style_id, dated.style_id  # registers both styles with the workbook


def roll_up_parts(item: ItemReport, say: Wording) -> str:
    """The roll-up with its parts: "UNICEF (lead): Completed; ILO: In progress"."""
    lead = say.gettext(N_("%(who)s (lead)"))
    return "; ".join(
        f"{lead % {'who': o.agency_code} if o.is_lead else o.agency_code}: {say.status(o.effective_status)}"
        for o in item.owners
    )


def _item_values(st: StockTake, say: Wording) -> Iterator[list[object]]:
    """The Items rows' values, in ITEM_COLUMNS order."""
    yes = say.gettext("yes")
    for section in st.sections:
        title = say.text(section.title)
        for item in section.items:
            milestones = "\n".join(
                f"{m.due_date} {m.title} ({say.text(m.shown_state)})" for m in item.milestones
            )
            parts = roll_up_parts(item, say)
            for o in item.owners:
                yield [
                    title,
                    item.code,
                    item.kind,
                    item.text,
                    item.theme or "",
                    o.agency_code,
                    o.agency_name,
                    o.role,
                    say.status(o.reported_status),
                    say.status(o.assessed_status) if o.assessed_status else "",
                    yes if o.disagrees else "",
                    o.assessment_rationale,
                    o.review_state or "",
                    say.status(item.status_key),  # as Table 1 and Annex III count it
                    parts,
                    say.status(item.previous_status) if st.previous else "",
                    say.gettext(item.change.label) if item.change else "",
                    o.narrative,
                    o.obstacle,
                    o.next_milestone_date,
                    o.reported_on,
                    o.reported_by,
                    o.channel or "",
                    "\n".join(o.evidence),
                    "\n".join(say.text(f.said) for f in o.files),
                    milestones,
                    # This owner's: summed down the column, they make the report's overdue milestones.
                    item.overdue_milestones_of(o),
                ]


def _item_rows(
    st: StockTake, say: Wording, wrap_style: int, date_style: int, chunk: int = 1000
) -> Iterator[bytes]:
    """The Items rows after the header as SpreadsheetML, as openpyxl writes them, `chunk` rows at a time.

    openpyxl makes a cell object per value: 20,000 rows of 26 columns take longer than everything
    else in the report together, so the rows are written as text and spliced into the saved sheet.
    Empty values are left out, strings are inline, dates are serial numbers with a date style.
    """
    # Each column's cell XML around its row number and value, made once for every row.
    refs, texts, numbers, dates = [], [], [], []
    for n, (_, _, wrap) in enumerate(ITEM_COLUMNS, start=1):
        style = f' s="{wrap_style}"' if wrap else ""
        refs.append(f'<c r="{get_column_letter(n)}')
        texts.append(f'"{style} t="inlineStr"><is><t xml:space="preserve">')
        numbers.append(f'"{style} t="n"><v>')
        dates.append(f'" s="{date_style}" t="n"><v>')
    serials: dict[date, float] = {}  # a report holds few distinct days

    def after_number(column: int, value: object) -> str:
        """A cell's XML after its row number."""
        if isinstance(value, str):
            return f"{texts[column]}{xml_text(value)}</t></is></c>"
        if isinstance(value, date):
            if value not in serials:
                serials[value] = to_excel(value)
            return f"{dates[column]}{serials[value]}</v></c>"
        return f"{numbers[column]}{value}</v></c>"

    # The previous row's values and their cells: a recommendation's own columns (its text, section,
    # statuses) repeat on the row of each of its owners, and are escaped once.
    previous: list[object] = [None] * len(ITEM_COLUMNS)
    cells = [""] * len(ITEM_COLUMNS)
    parts: list[str] = []
    for number, values in enumerate(_item_values(st, say), start=2):
        parts.append(f'<row r="{number}">')
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            if value is not previous[column]:
                previous[column], cells[column] = value, after_number(column, value)
            parts.append(f"{refs[column]}{number}{cells[column]}")
        parts.append("</row>")
        if number % chunk == 0:
            yield "".join(parts).encode()
            parts.clear()
    yield "".join(parts).encode()


def _summary(sheet: Any, st: StockTake, say: Wording) -> None:
    """The Summary sheet: the document's facts, its figures by name, the sentences and tables."""
    f, _ = st.figures, say.gettext
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 30
    for letter in "CDEFGHI":
        sheet.column_dimensions[letter].width = 14
    title = text_cell(sheet, say.text(st.title))
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    for label, value in (
        (_("Symbol"), st.cycle.symbol or ""),
        (_("Cycle"), st.cycle.name),
        (_("HLCP session"), st.cycle.hlcp_session or ""),
        (_("Reply deadline"), say.long_date(st.cycle.deadline)),
        (_("Compared with"), st.previous.title if st.previous else _("nothing (first stock-take)")),
        (_("Produced on"), say.long_date(st.produced_on)),
    ):
        sheet.append(text_row(sheet, [label, value]))
    sheet.append([])
    sheet.append(_header(sheet, [_("Figure"), _("Value")]))
    for figure, number in every_figure(f):
        sheet.append(text_row(sheet, [_(figure), number]))
    sheet.append([])
    for sentence in st.sentences:
        sheet.append(text_row(sheet, [say.text(sentence)]))
    sheet.append([])
    sheet.append(_header(sheet, [_("Agenda point"), *map(say.status, STATUS_ORDER), _("Total")]))
    for section, counts in st.status_by_section():
        sheet.append(text_row(sheet, [say.text(section.title), *counts.values(), sum(counts.values())]))
    sheet.append(text_row(sheet, [_("All"), *f.status_counts.values(), f.items]))
    sheet.append([])
    header = [_("Agency"), _("Name"), _("Items answered"), _("Items asked"), _("Response rate (%)")]
    sheet.append(_header(sheet, header))
    for a in st.agencies:
        rate = _(a.response_note) if a.response_note else a.rate
        sheet.append(text_row(sheet, [a.code, a.name, a.items_answered, a.items_asked, rate]))


def write_xlsx(st: StockTake, handle: BinaryIO, words: Words = ENGLISH) -> None:
    """Write the report as .xlsx into `handle`, in `words`' language: a Summary sheet and an Items sheet."""
    say = wording(words)
    workbook = Workbook(write_only=True)
    _summary(workbook.create_sheet(say.gettext("Summary")), st, say)
    items = workbook.create_sheet(say.gettext("Items"))
    wrap_style, date_style = _items(items, st, say)
    produced = datetime.combine(st.produced_on, time(0, 0))  # openpyxl stores naive times
    workbook.properties.creator, workbook.properties.title = "Follow-up", say.text(st.title)
    workbook.properties.created = workbook.properties.modified = produced
    skeleton = io.BytesIO()
    workbook.save(skeleton)
    with spliced(skeleton.getvalue(), items.path.lstrip("/"), b"</sheetData>", handle) as sheet_data:
        for chunk in _item_rows(st, say, wrap_style, date_style):
            sheet_data.write(chunk)


def render_xlsx(st: StockTake, words: Words = ENGLISH) -> bytes:
    """The report as .xlsx bytes (as `write_xlsx` writes them)."""
    buffer = io.BytesIO()
    write_xlsx(st, buffer, words)
    return buffer.getvalue()

"""Reading a reply file safely: hostile files are refused before a parser reads them.

The bytes come through the guarded entry (`intake.file_bytes`: a regular file, not too large). A
CSV with binary data or a cell over the csv module's limit, an .xlsx that is not a zip, would
inflate far beyond the file (a zip bomb) or declares a DTD in its XML (`intake.office_package`),
is refused with a clear message. A file that passes comes back as rows of text cells (formulas as
typed, never computed) with the keyed mark its template carried.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula

from domain.errors import ValidationError
from workflows.services.intake import XLSX, FileRejected, file_bytes, office_package

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = (
    64  # a reply sheet has 14 columns, a sheet of recommendations 7: cells further right are not read
)
MAX_CELL_CHARS = 10_000
MAX_LISTED = 50  # problems listed in a refusal's message; `problems` keeps them all
# The custom document property holding a template's keyed mark (see `domain.tokens.sheet_mark`).
MARK_PROPERTY = "followup-mark"


@dataclass(frozen=True)
class CellProblem:
    """What is wrong at one place in a file (row and column when the problem has one)."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class SpreadsheetRejected(ValidationError):
    """A reply file that cannot be imported; `problems` lists every problem found, nothing was applied."""

    def __init__(self, source: str, problems: Sequence[CellProblem]) -> None:
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        # A sheet pasted one column off can have a problem in every row: the first ones say what is wrong.
        listing = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED])
        if len(problems) > MAX_LISTED:
            listing += f"\n  ... and {len(problems) - MAX_LISTED:,} more"
        super().__init__(source, f"{count}, nothing was imported:\n{listing}")
        self.problems = list(problems)


@dataclass(frozen=True)
class SheetFile:
    """A file's cells as text, the keyed mark its template carried (None for CSV or none), and how
    errors name it: the file's name, and the sheet's when the workbook has several."""

    rows: list[list[str]]
    where: str
    mark: str | None = None


def read_table(path: Path) -> SheetFile:
    """The file's cells as text, after checks that keep hostile files away from the parsers."""
    try:
        data = file_bytes(path, max_bytes=MAX_FILE_BYTES)
    except FileRejected as exc:
        raise SpreadsheetRejected(path.name, [CellProblem(None, None, exc.message)]) from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return SheetFile(_read_csv(data, path.name), path.name)
    if suffix == ".xlsx":
        return _read_xlsx(data, path.name)
    raise SpreadsheetRejected(
        path.name, [CellProblem(None, None, "not a spreadsheet: send an .xlsx or .csv file")]
    )


def _read_csv(data: bytes, name: str) -> list[list[str]]:
    if b"\x00" in data:
        raise SpreadsheetRejected(name, [CellProblem(None, None, "not a CSV file (it contains binary data)")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's CSV export on Windows
    reader: Any = None
    try:
        sample = text[:4096]
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter if sample.strip() else ","
    except csv.Error:
        delimiter = ","
    try:
        # Only the delimiter is sniffed: the rest of the sniffed dialect (doubled quotes off unless the
        # first lines hold one) would misread `"The ""Global Compact"" guidance"` further down.
        reader = csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter)
        rows = list(_limited(reader, name))
    except csv.Error as exc:  # e.g. a cell longer than the csv module's field limit
        line = reader.line_num if reader is not None else None
        problem = CellProblem(line, None, f"not a readable CSV file ({exc})")
        raise SpreadsheetRejected(name, [problem]) from None
    return [[cell.strip() for cell in row] for row in rows]


def _read_xlsx(data: bytes, name: str) -> SheetFile:
    try:
        office_package(data, name, XLSX)
    except FileRejected as exc:
        raise SpreadsheetRejected(name, [CellProblem(None, None, exc.message)]) from None
    try:
        # data_only=False: a formula cell reads as the text typed ("=..."), never as a computed value.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            # The first sheet a person sees: a hidden one (a lookup list, an old copy) is not the reply.
            sheet = next((s for s in book.worksheets if s.sheet_state == "visible"), None)
            if sheet is None:
                raise SpreadsheetRejected(
                    name, [CellProblem(None, None, "the workbook has no visible sheet")]
                )
            where = f"{name}, sheet '{sheet.title}'" if len(book.worksheets) > 1 else name
            rows = _cell_rows(sheet, where)
            marks = [p.value for p in book.custom_doc_props if p.name == MARK_PROPERTY]
        finally:
            book.close()
    except SpreadsheetRejected:
        raise
    except Exception as exc:  # openpyxl raises many types for a malformed file: all mean "unreadable"
        raise SpreadsheetRejected(
            name, [CellProblem(None, None, f"not a readable .xlsx spreadsheet ({type(exc).__name__})")]
        ) from None
    return SheetFile(rows, where, marks[0] if len(marks) == 1 and isinstance(marks[0], str) else None)


def _cell_rows(sheet: Any, where: str) -> list[list[str]]:
    """The first MAX_COLUMNS cells of each row, as text."""
    # The file's own <dimension> is not trusted: "A1:XFD5000" would pad every row to 16,384 cells.
    sheet.reset_dimensions()
    rows: list[list[str]] = []
    try:
        for row in _limited(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), where):
            rows.append([_text(v) for v in row])
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
        # Python reads at most 4,300 digits into an int (a longer one takes quadratic time).
        problem = CellProblem(len(rows) + 1, None, "a number of more than 4,300 digits: type it as text")
        raise SpreadsheetRejected(where, [problem]) from None
    return rows


def _limited(rows: Iterator[Sequence[Any]], source: str) -> Iterator[Sequence[Any]]:
    for n, row in enumerate(rows, start=1):
        if n > MAX_ROWS:
            raise SpreadsheetRejected(source, [CellProblem(None, None, f"more than {MAX_ROWS:,} rows")])
        yield row


def _text(value: Any) -> str:
    """A cell as text: dates as YYYY-MM-DD, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, ArrayFormula):  # an array formula reads as the text typed, as any formula does
        return str(value.text or "").strip()
    return str(value).strip()

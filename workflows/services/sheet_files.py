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
MAX_CELL_CHARS = 10_000
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
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(source, f"{count}, nothing was imported:\n{listing}")
        self.problems = list(problems)


@dataclass(frozen=True)
class SheetFile:
    """A reply file's cells as text, and the keyed mark its template carried (None for CSV or none)."""

    rows: list[list[str]]
    mark: str | None = None


def read_table(path: Path) -> SheetFile:
    """The file's cells as text, after checks that keep hostile files away from the parsers."""
    try:
        data = file_bytes(path, max_bytes=MAX_FILE_BYTES)
    except FileRejected as exc:
        raise SpreadsheetRejected(path.name, [CellProblem(None, None, exc.message)]) from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return SheetFile(_read_csv(data, path.name))
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
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.reader(io.StringIO(text), dialect)
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
            sheet = book.worksheets[0]
            rows = [[_text(v) for v in row] for row in _limited(sheet.iter_rows(values_only=True), name)]
            marks = [p.value for p in book.custom_doc_props if p.name == MARK_PROPERTY]
        finally:
            book.close()
    except SpreadsheetRejected:
        raise
    except Exception as exc:  # openpyxl raises many types for a malformed file: all mean "unreadable"
        raise SpreadsheetRejected(
            name, [CellProblem(None, None, f"not a readable .xlsx spreadsheet ({type(exc).__name__})")]
        ) from None
    return SheetFile(rows, marks[0] if len(marks) == 1 and isinstance(marks[0], str) else None)


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

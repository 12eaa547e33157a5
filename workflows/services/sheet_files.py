"""Reading a reply file safely: hostile files are refused before a parser reads them.

Too large, not a zip, or a zip whose contents would inflate far beyond the file (a zip bomb) is
refused with a clear message; a file that passes comes back as rows of text cells.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from domain.errors import ValidationError

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ZIP_MEMBERS = 500
MAX_ROWS = 5000
MAX_CELL_CHARS = 10_000


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


def read_table(path: Path) -> list[list[str]]:
    """The file's cells as text, after checks that keep hostile files away from the parsers."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SpreadsheetRejected(
            path.name, [CellProblem(None, None, f"cannot read the file: {exc.strerror}")]
        ) from exc
    if size > MAX_FILE_BYTES:
        raise SpreadsheetRejected(
            path.name,
            [CellProblem(None, None, f"the file is too large ({size:,} bytes; at most {MAX_FILE_BYTES:,})")],
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise SpreadsheetRejected(
        path.name, [CellProblem(None, None, "not a spreadsheet: send an .xlsx or .csv file")]
    )


def _read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    if b"\x00" in data:
        raise SpreadsheetRejected(
            path.name, [CellProblem(None, None, "not a CSV file (it contains binary data)")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's CSV export on Windows
    try:
        sample = text[:4096]
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    rows = list(_limited(csv.reader(io.StringIO(text), dialect), path.name))
    return [[cell.strip() for cell in row] for row in rows]


def _read_xlsx(path: Path) -> list[list[str]]:
    _refuse_zip_bombs(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a malformed file: all mean "unreadable"
        raise SpreadsheetRejected(
            path.name, [CellProblem(None, None, f"not a readable .xlsx spreadsheet ({type(exc).__name__})")]
        ) from exc
    try:
        sheet = book.worksheets[0]
        return [[_text(v) for v in row] for row in _limited(sheet.iter_rows(values_only=True), path.name)]
    finally:
        book.close()


def _refuse_zip_bombs(path: Path) -> None:
    """An .xlsx is a zip: check what it would inflate to before anything decompresses it."""

    def refuse(message: str) -> SpreadsheetRejected:
        return SpreadsheetRejected(path.name, [CellProblem(None, None, message)])

    if not zipfile.is_zipfile(path):
        raise refuse("not a spreadsheet: the file is not an .xlsx workbook")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise refuse("not a spreadsheet: the .xlsx file is damaged") from exc
    if len(members) > MAX_ZIP_MEMBERS:
        raise refuse(f"the workbook has too many parts ({len(members)})")
    total = sum(m.file_size for m in members)
    packed = max(sum(m.compress_size for m in members), 1)
    if total > MAX_UNCOMPRESSED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
        raise refuse(f"the workbook would inflate to {total:,} bytes: refused as a possible zip bomb")
    if "xl/workbook.xml" not in {m.filename for m in members}:
        raise refuse("not a spreadsheet: the zip file holds no Excel workbook")


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
    return str(value).strip()

"""A spreadsheet of recommendations (.xlsx or .csv) for a report that follows no convention.

One row per recommendation: code, text, agenda point, theme, parent, owners, milestones. The whole
file is checked first, every problem reported with its row and column; nothing is stored unless
all of it is valid. Items are stored as an imported report's are (`catalogue.stage_report`); owners
and milestones then as a reviewed owners file's are (`owners.apply_plans`), in the same transaction.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from domain.errors import ValidationError
from domain.importer import CONTROL_CHARACTERS, MAX_SOURCE, ParsedItem, ParsedReport
from domain.model import MAX_HEADING, OwnerRole, RecommendationKind
from domain.ports import Clock, UnitOfWork
from domain.publication import page_slug, same_page
from reporting.cells import set_text
from workflows.services import owners as owners_file
from workflows.services.catalogue import ImportSummary, stage_report
from workflows.services.sheet_files import MAX_CELL_CHARS, CellProblem, SpreadsheetRejected, read_table

REPORT_LABEL = "Report"
HEADER_ROW = 4
MAX_CODE = 32
MAX_MILESTONE_TITLE = 500
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_POINT = re.compile(r"^([0-9]{1,3})(?:[.:)]?\s+(\S.*))?$")
_FORMULA_START = ("=", "+", "-", "@")
_MILESTONE = re.compile(r"^(\S+)\s+(.+?)(?:\s*\[([A-Za-z0-9-]+)\])?$")
# No quotes or semicolons: a CSV template's dialect is sniffed from its first lines.
INSTRUCTIONS = (
    "One row per recommendation. Code and Text are required. Parent is the code of an earlier row. "
    "Agenda point as 3 or 3. Title (items without one are strategic). Owners as UNCTAD: lead, "
    "WORLD-BANK: contributor (or codes alone: the first leads). Milestones one per line as "
    "YYYY-MM-DD Title, ending with [AGENCY] when it is not the lead's."
)


@dataclass(frozen=True)
class Column:
    """One column of the recommendations sheet."""

    key: str
    header: str
    width: int
    required: bool = False


COLUMNS = (
    Column("code", "Code", 12, required=True),
    Column("text", "Text", 70, required=True),
    Column("agenda", "Agenda point", 28),
    Column("theme", "Theme", 28),
    Column("parent", "Parent", 10),
    Column("owners", "Owners", 34),
    Column("milestones", "Milestones", 50),
)


Planned = tuple[str, date, str | None]  # a milestone: title, due date, agency (None: the lead's)


@dataclass
class SheetReport:
    """A checked sheet: the report's items, and the owners and milestones the rows give."""

    report: ParsedReport
    owners: dict[str, dict[str, OwnerRole]] = field(default_factory=dict)
    milestones: dict[str, list[Planned]] = field(default_factory=dict)


def write_template(path: Path, source: str = "") -> Path:
    """An empty recommendations sheet (.xlsx, or .csv when `path` says so) with its instructions."""
    rows: list[list[str]] = [[REPORT_LABEL, source], [INSTRUCTIONS], [], [c.header for c in COLUMNS]]
    if path.suffix.lower() == ".csv":
        if source.startswith(_FORMULA_START):
            # A CSV cell cannot say "text": a spreadsheet opening it would run the name as a formula.
            raise ValidationError(
                "--source",
                f"'{source[:40]}' starts with '{source[0]}', which a spreadsheet would run "
                "as a formula in a CSV file: write an .xlsx template",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Recommendations"
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    sheet.cell(1, 1, REPORT_LABEL).font = bold
    set_text(sheet.cell(1, 2), source or None)
    sheet.cell(2, 1, INSTRUCTIONS)
    fill = PatternFill("solid", fgColor="DDE7F0")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(HEADER_ROW, index, column.header)
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = f"B{HEADER_ROW + 1}"
    book.save(path)
    return path


def read_sheet(path: Path, agencies: set[str], source: str | None = None) -> SheetReport:
    """The sheet's content, checked whole: every problem (row, column, what) in one SpreadsheetRejected."""
    file = read_table(path)  # a sheet of recommendations carries no keyed mark: only replies do
    table = file.rows
    problems: list[CellProblem] = []
    resolved, header_row = _metadata(table, problems, source)
    columns = _columns(table, header_row, problems) if header_row else {}
    if problems:
        raise SpreadsheetRejected(file.where, problems)
    rows = _Rows(columns, agencies, problems).read(table, header_row)
    if not rows.items and not problems:
        problems.append(CellProblem(header_row + 1, None, "the sheet has no recommendation rows"))
    if problems:
        raise SpreadsheetRejected(file.where, problems)
    return SheetReport(ParsedReport(resolved, tuple(rows.items)), rows.owners, rows.milestones)


def import_sheet(
    uow: UnitOfWork, path: Path, *, source: str | None, clock: Clock, by: str
) -> tuple[ImportSummary, owners_file.ApplySummary | None]:
    """Store a checked sheet's items, owners and milestones in one transaction (nothing if a row is bad)."""
    with uow:
        agencies = {agency.code for agency in uow.agencies.list()}
    sheet = read_sheet(path, agencies, source)
    at = clock.now()
    with uow:
        summary = stage_report(uow, sheet.report, at=at, by=by)
        applied = None
        if sheet.owners or sheet.milestones:
            stored = {rec.code: rec for rec in uow.recommendations.list(source=sheet.report.source)}
            plans = [
                owners_file.OwnersPlan(
                    stored[item.code], sheet.owners.get(item.code), sheet.milestones.get(item.code, [])
                )
                for item in sheet.report.items
                if item.code in sheet.owners or item.code in sheet.milestones
            ]
            applied = owners_file.apply_plans(uow, plans, at=at, by=by)
        uow.commit()
    return summary, applied


def _metadata(table: list[list[str]], problems: list[CellProblem], source: str | None) -> tuple[str, int]:
    named, header_row = "", 0
    for n, row in enumerate(table[:20], start=1):
        first = row[0].strip() if row else ""
        if first == REPORT_LABEL and not named:
            named = row[1].strip() if len(row) > 1 else ""
        elif first == COLUMNS[0].header:
            header_row = n
            break
    resolved = (source or named).strip()
    if not resolved:
        problems.append(CellProblem(1, "B", f"the report is missing (row '{REPORT_LABEL}' of the template)"))
    elif len(resolved) > MAX_SOURCE:
        problems.append(CellProblem(1, "B", f"the report's name is longer than {MAX_SOURCE} characters"))
    elif CONTROL_CHARACTERS.search(resolved):
        problems.append(CellProblem(1, "B", "the report's name contains a control character"))
    if not header_row:
        problems.append(
            CellProblem(HEADER_ROW, "A", f"the header row (starting with '{COLUMNS[0].header}') is missing")
        )
    return resolved, header_row


def _columns(table: list[list[str]], header_row: int, problems: list[CellProblem]) -> dict[str, int]:
    headers = [h.strip().lower() for h in table[header_row - 1]]
    found = {c.key: headers.index(c.header.lower()) for c in COLUMNS if c.header.lower() in headers}
    for column in COLUMNS:
        if column.required and column.key not in found:
            problems.append(CellProblem(header_row, None, f"the column '{column.header}' is missing"))
    return found


@dataclass
class _Rows:
    """Reads the data rows, collecting every problem instead of stopping at the first."""

    columns: dict[str, int]
    agencies: set[str]
    problems: list[CellProblem]
    items: list[ParsedItem] = field(default_factory=list)
    owners: dict[str, dict[str, OwnerRole]] = field(default_factory=dict)
    milestones: dict[str, list[Planned]] = field(default_factory=dict)
    row_of: dict[str, int] = field(default_factory=dict)
    code_of_page: dict[str, str] = field(default_factory=dict)

    def read(self, table: list[list[str]], header_row: int) -> _Rows:
        for n, row in enumerate(table[header_row:], start=header_row + 1):
            if any(value.strip() for value in row):
                self._row(n, row)
        return self

    def _cell(self, row: list[str], key: str) -> str:
        index = self.columns.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    def _problem(self, n: int, key: str, message: str) -> None:
        header = next(c.header for c in COLUMNS if c.key == key)
        index = self.columns.get(key)
        where = f"{get_column_letter(index + 1)} ({header})" if index is not None else f"'{header}'"
        self.problems.append(CellProblem(n, where, message))

    def _row(self, n: int, row: list[str]) -> None:
        before = len(self.problems)
        for key in self.columns:
            cell = self._cell(row, key)
            if len(cell) > MAX_CELL_CHARS:
                self._problem(n, key, f"more than {MAX_CELL_CHARS:,} characters")
            elif hidden := CONTROL_CHARACTERS.search(cell):
                # As a .md report's: text never holds them, and pages, e-mails and sheets cannot show them.
                self._problem(n, key, f"contains the control character U+{ord(hidden.group()):04X}")
        code, text = self._cell(row, "code"), " ".join(self._cell(row, "text").split())
        if not code:
            self._problem(n, "code", "the code is missing")
        elif len(code) > MAX_CODE or not _CODE.match(code):
            self._problem(
                n, "code", f"'{code[:40]}' is not a code (letters, digits, '.', '-', '_'; at most {MAX_CODE})"
            )
        elif code in self.row_of:
            self._problem(n, "code", f"{code} appears twice (also row {self.row_of[code]})")
        elif (other := self.code_of_page.get(page_slug(code))) is not None:
            self._problem(n, "code", same_page(code, f"{other} (row {self.row_of[other]})"))
        if not text:
            self._problem(n, "text", "the text is missing")
        point, title = self._agenda(n, self._cell(row, "agenda"))
        if title is not None and len(title) > MAX_HEADING:
            self._problem(n, "agenda", f"the agenda point's title is longer than {MAX_HEADING} characters")
        if len(self._cell(row, "theme")) > MAX_HEADING:
            self._problem(n, "theme", f"longer than {MAX_HEADING} characters")
        parent = self._cell(row, "parent") or None
        if parent is not None and parent not in self.row_of:
            self._problem(n, "parent", f"'{parent[:40]}' is not the code of an earlier row")
        owners = self._owners(n, code, self._cell(row, "owners"))
        milestones = self._milestones(n, self._cell(row, "milestones"))
        if len(self.problems) > before:
            return
        self.row_of[code] = n
        self.code_of_page[page_slug(code)] = code
        kind = RecommendationKind.ANNEX if point is not None else RecommendationKind.STRATEGIC
        theme = self._cell(row, "theme") or None
        self.items.append(
            ParsedItem(code, kind.value, point, title, theme, parent, text, position=len(self.items) + 1)
        )
        if owners:
            self.owners[code] = owners
        if milestones:
            self.milestones[code] = milestones

    def _agenda(self, n: int, value: str) -> tuple[int | None, str | None]:
        if not value:
            return None, None
        match = _POINT.match(value)
        if match is None:
            self._problem(n, "agenda", f"'{value[:40]}' is not an agenda point ('3' or '3. Title')")
            return None, None
        return int(match.group(1)), match.group(2)

    def _owners(self, n: int, code: str, value: str) -> dict[str, OwnerRole]:
        owners: dict[str, OwnerRole] = {}
        before = len(self.problems)
        entries = [e.strip() for e in re.split(r"[;,\n]", value) if e.strip()]
        for position, entry in enumerate(entries):
            agency, _, role = (part.strip() for part in entry.partition(":"))
            role = role.lower() or (OwnerRole.LEAD.value if position == 0 else OwnerRole.CONTRIBUTOR.value)
            if agency not in self.agencies:
                self._problem(n, "owners", f"unknown agency '{agency[:40]}' (see `followup agencies list`)")
            elif role not in {r.value for r in OwnerRole}:
                self._problem(
                    n, "owners", f"the role of {agency} must be 'lead' or 'contributor', not '{role}'"
                )
            else:
                owners[agency] = OwnerRole(role)
        leads = [a for a, r in owners.items() if r == OwnerRole.LEAD]
        if entries and len(leads) != 1 and len(self.problems) == before:
            self._problem(n, "owners", f"{code or 'the item'} needs exactly one lead (found {len(leads)})")
        return owners

    def _milestones(self, n: int, value: str) -> list[Planned]:
        out: list[Planned] = []
        for entry in (e.strip() for e in re.split(r"[;\n]", value)):
            if not entry:
                continue
            match = _MILESTONE.match(entry)
            due = match.group(1) if match else ""
            try:
                when = date.fromisoformat(due)
            except ValueError:
                if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", due):
                    self._problem(n, "milestones", f"'{due}' is not a date")
                else:
                    self._problem(
                        n, "milestones", f"'{entry[:40]}' does not start with a date (YYYY-MM-DD Title)"
                    )
                continue
            assert match is not None
            title, agency = match.group(2).strip(), match.group(3)
            if len(title) > MAX_MILESTONE_TITLE:
                self._problem(n, "milestones", f"a title is at most {MAX_MILESTONE_TITLE} characters")
            elif agency is not None and agency not in self.agencies:
                self._problem(n, "milestones", f"unknown agency '{agency}' (see `followup agencies list`)")
            elif any(planned[0] == title for planned in out):
                self._problem(n, "milestones", f"milestone '{title[:40]}' appears twice")
            else:
                out.append((title, when, agency))
        return out

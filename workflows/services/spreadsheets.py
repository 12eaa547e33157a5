"""The spreadsheet channel: an agency's reply template, and importing a filled-in file (.xlsx or .csv).

An import validates every row and reports every problem with its row and column at once; it
applies nothing unless the whole file is valid. Valid answers go through the same save path as
the portal (`replies.record_answers`), as a submission on the spreadsheet channel.

The sheet's top rows name the cycle and agency (never the reply token: a spreadsheet travels by
e-mail and sits in folders); the workbook's custom properties carry a keyed mark of both (an HMAC
under the secret key), so a sheet cannot be turned into another agency's reply by editing a cell.
Files without the mark (CSV) are imported only when the secretariat vouches for them (`as_agency`).
Hostile files are refused before openpyxl reads them (`sheet_files`, `intake`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.answers import (
    AnswerProblem,
    InvalidAnswers,
    RawAnswer,
    RawMilestone,
    status_label,
    statuses,
    stored_answer,
)
from domain.errors import NotFound, ValidationError
from domain.lifecycle import Transition
from domain.model import Channel, Milestone, MilestoneOutcome, StockTakeCycle, agenda_heading
from domain.numbers import ascii_number
from domain.ports import Clock, Notifier
from domain.stocktake import sentence_start
from domain.tokens import marks_match
from reporting.cells import set_text
from workflows.config import CycleConfig
from workflows.services import replies
from workflows.services.sheet_files import (
    MARK_PROPERTY,
    MAX_CELL_CHARS,
    CellProblem,
    SpreadsheetRejected,
    read_table,
)

CYCLE_LABEL, AGENCY_LABEL, DEADLINE_LABEL = "Cycle", "Agency", "Deadline"
HEADER_ROW = 5
# A milestone's row carries this in its hidden Version cell, with the milestone's id.
MILESTONE_ROW = "milestone:"
YES = "Yes"


@dataclass(frozen=True)
class Column:
    """One column of the reply sheet: its header, the answer field it feeds, whether agencies edit it."""

    key: str
    header: str
    width: int
    editable: bool = False
    required: bool = False


COLUMNS = (
    Column("code", "Code", 10, required=True),
    Column("agenda", "Agenda point", 24),
    Column("text", "Recommendation", 60),
    Column("role", "Your role", 12),
    Column("previous_status", "Previous status", 16),
    Column("previous_narrative", "Previous narrative", 40),
    Column("status", "Status", 20, editable=True, required=True),
    Column("narrative", "What changed and why", 50, editable=True, required=True),
    Column("evidence", "Evidence links (one per line)", 36, editable=True),
    Column("next_milestone_date", "Next milestone date", 16, editable=True),
    Column("obstacle", "Obstacle (if blocked)", 36, editable=True),
    Column("no_change", "No change since last time", 14, editable=True),
    Column("version", "Version", 8),
)
VERSION_COLUMN = get_column_letter(len(COLUMNS))


@dataclass(frozen=True)
class ReplyImport:
    """What an import applied."""

    cycle_name: str
    agency_code: str
    rows: int
    saved: tuple[str, ...]
    taken: int = 0  # items answered in the file
    blank: int = 0  # items left blank: not answered yet, left as they were


def write_template(
    uow: SqlUnitOfWork, config: CycleConfig, cycle_name: str, agency_code: str, path: Path
) -> Path:
    """Write the agency's reply sheet: items and milestones, a status drop-down, locked reference columns.

    The workbook carries the keyed mark of its cycle and agency, which an import checks.
    """
    with uow:
        cycle = uow.cycles.require(cycle_name)
        request = uow.requests.get(cycle.id or 0, agency_code)
        if request is None:
            raise NotFound(f"cycle '{cycle_name}' has no status request for agency '{agency_code}'")
        agency = uow.agencies.require(agency_code)
        items = replies.request_items(uow, cycle.id or 0, agency_code)
        previous = replies.previous_answers(uow, cycle, agency_code)
        updates = {u.recommendation_id: u for u in uow.updates.for_request(cycle.id or 0, agency_code)}
        milestones = _open_milestones(uow, list(items), agency_code)
        rows = []
        for rid, item in items.items():
            update = updates.get(rid)
            last = previous[rid][0] if rid in previous else None
            now = stored_answer(update) if update and update.reported_status else None
            agenda = agenda_heading(item["kind"], item["agenda_point"], item["agenda_title"])
            rows.append(
                {
                    "code": item["code"],
                    "agenda": agenda,
                    "text": item["text"],
                    "role": item["role"],
                    "previous_status": status_label(last.status) if last else "",
                    "previous_narrative": last.narrative if last else "",
                    # Last cycle's answer is reference only: this cycle's columns start blank.
                    "status": status_label(now.status) if now else "",
                    "narrative": now.narrative if now else "",
                    "evidence": "\n".join(now.evidence) if now else "",
                    "next_milestone_date": now.next_milestone_date if now else "",
                    "obstacle": now.obstacle if now else "",
                    "no_change": YES if now and now.no_change else "",
                    "version": update.version if update else 0,
                }
            )
            rows.extend(_milestone_row(agenda, m) for m in milestones if m.recommendation_id == rid)
        meta = [(CYCLE_LABEL, cycle.name), (AGENCY_LABEL, agency.code), (DEADLINE_LABEL, cycle.deadline)]
        title = f"{sentence_start(agency.display_name)}: reply to stock-take {cycle.name}"
        mark = config.sheet_mark(cycle.id or 0, agency.code)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = _workbook(title, meta, rows)
    book.custom_doc_props.append(StringProperty(name=MARK_PROPERTY, value=mark))
    book.save(path)
    return path


def _open_milestones(uow: SqlUnitOfWork, recommendation_ids: list[int], agency_code: str) -> list[Milestone]:
    """The items' milestones still to deliver that this agency reports on (its own, or unassigned)."""
    ms = tables.milestones
    query = (
        select(Milestone)
        .where(
            ms.c.recommendation_id.in_(recommendation_ids),
            ms.c.state.in_(("planned", "overdue")),
            (ms.c.agency_code == agency_code) | ms.c.agency_code.is_(None),
        )
        .order_by(ms.c.due_date, ms.c.id)
    )
    return list(uow.session.scalars(query))


def _milestone_row(agenda: str, milestone: Milestone) -> dict[str, Any]:
    """A milestone's row under its item: the report goes in Status, its date and reason beside it."""
    return {
        "code": "",  # under its item's row; the hidden Version cell says which milestone it is
        "agenda": agenda,
        "text": f"Milestone: {milestone.title} (due {milestone.due_date.isoformat()})",
        "role": "",
        "previous_status": milestone.state.capitalize(),
        "previous_narrative": "",
        "status": "",
        "narrative": "",
        "evidence": "",
        "next_milestone_date": "",
        "obstacle": "",
        "no_change": "",
        "version": f"{MILESTONE_ROW}{milestone.id}",
    }


def import_reply_file(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    path: Path,
    *,
    as_agency: str | None = None,
    by: str = "secretariat",
) -> ReplyImport:
    """Validate a filled-in reply file (.xlsx or .csv) and, only if all of it is valid, submit its answers.

    The file must carry the keyed mark of its cycle and agency (templates do), unless `by` (the
    secretariat) vouches for it with `as_agency`, which the request's history records.
    """
    sheet = read_table(path)
    table = sheet.rows
    problems: list[CellProblem] = []
    meta, header_row = _metadata(table, problems)
    columns = _columns(table, header_row, problems) if header_row else {}
    if problems:
        raise SpreadsheetRejected(path.name, problems)
    with uow:
        cycle = uow.cycles.get(meta[CYCLE_LABEL])
        request = uow.requests.get(cycle.id or 0, meta[AGENCY_LABEL]) if cycle else None
        if cycle is None or request is None:
            what = (
                f"no cycle named '{meta[CYCLE_LABEL]}'"
                if cycle is None
                else (f"cycle '{cycle.name}' has no status request for agency '{meta[AGENCY_LABEL]}'")
            )
            raise SpreadsheetRejected(path.name, [CellProblem(1, "B", what)])
        _check_mark(path.name, config, cycle, request.agency_code, sheet.mark, as_agency)
        items = replies.request_items(uow, cycle.id or 0, request.agency_code, with_text=False)
        by_code = {item["code"]: rid for rid, item in items.items()}
        milestones = {m.id or 0: m for m in _open_milestones(uow, list(items), request.agency_code)}
        answers, rows_of = _answers(
            table, header_row, columns, by_code, milestones, request.agency_code, problems
        )
        answered = [a for a in answers if not a.is_blank]
        try:
            result = replies.record_answers(
                uow,
                notifier,
                clock,
                config,
                request,
                cycle,
                answered,
                submit=True,
                channel=Channel.SPREADSHEET,
                partial=True,
            )
        except InvalidAnswers as exc:
            problems.extend(_located(p, rows_of, columns) for p in exc.problems)
        except ValidationError as exc:
            problems.append(CellProblem(None, None, exc.message))
        else:
            problems.extend(
                CellProblem(
                    rows_of[c.recommendation_id],
                    None,
                    f"{c.code} was changed after this sheet was written (now version {c.stored_version}, "
                    f"by {c.stored_by}); write a fresh template with `followup reply template`",
                )
                for c in result.conflicts
            )
        if problems:
            raise SpreadsheetRejected(path.name, sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
        if as_agency is not None:
            now = clock.now()
            request.record(
                Transition(
                    request.ENTITY,
                    request.history_key(),
                    request.state,
                    request.state,
                    now,
                    by,
                    f"reply file {path.name} imported as {as_agency} by the secretariat (--as)",
                    {"file": path.name, "marked": sheet.mark is not None},
                )
            )
        uow.commit()
        return ReplyImport(
            cycle.name,
            request.agency_code,
            len(answers),
            result.saved,
            len(answered),
            len(items) - len(answered),
        )


def _check_mark(
    source: str,
    config: CycleConfig,
    cycle: StockTakeCycle,
    agency_code: str,
    mark: str | None,
    as_agency: str | None,
) -> None:
    """Refuse a file that does not prove it was written for this cycle and agency, unless vouched for."""
    if as_agency is not None:
        if as_agency != agency_code:
            raise SpreadsheetRejected(
                source, [CellProblem(2, "B", f"the file names agency {agency_code}, not {as_agency} (--as)")]
            )
        return
    if mark is None:
        problem = (
            "the file carries no Follow-up mark (a CSV file, or a workbook not written by "
            "`followup reply template`): the secretariat may import it with "
            f"`followup reply import FILE --as {agency_code}` after checking who sent it"
        )
    elif not marks_match(mark, config.sheet_mark(cycle.id or 0, agency_code)):
        problem = (
            f"the file's mark is not the one of {agency_code}'s template for cycle {cycle.name}: the file "
            "was written for another agency or cycle, or its Agency cell was changed"
        )
    else:
        return
    raise SpreadsheetRejected(source, [CellProblem(None, None, problem)])


def _workbook(title: str, meta: list[tuple[str, Any]], rows: list[dict[str, Any]]) -> Workbook:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Reply"
    bold = Font(bold=True)
    for n, (label, value) in enumerate(meta, start=1):
        # Every cell from text goes through set_text: "=> no change" stays text, never a formula.
        set_text(sheet.cell(n, 1), label).font = bold
        set_text(sheet.cell(n, 2), value)
    set_text(sheet.cell(1, 3), title).font = Font(bold=True, size=13)
    set_text(
        sheet.cell(2, 3), "Fill in the white columns (Status to No change), save, and send the file back."
    )
    set_text(
        sheet.cell(3, 3),
        "Rows left blank are not answered yet: send what is ready. Where nothing changed since last time, "
        "put Yes under No change. A milestone's row takes Done (with the date), Rescheduled (new date, and "
        "why under What changed), Dropped (why) or On track.",
    )
    header_fill = PatternFill("solid", fgColor="DDE7F0")
    answer_fill = PatternFill("solid", fgColor="FFFFFF")
    reference_fill = PatternFill("solid", fgColor="F2F2F2")
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(COLUMNS, start=1):
        cell = set_text(sheet.cell(HEADER_ROW, index), column.header)
        cell.font, cell.fill, cell.alignment = bold, header_fill, wrap
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    for r, row in enumerate(rows, start=HEADER_ROW + 1):
        for index, column in enumerate(COLUMNS, start=1):
            cell = set_text(sheet.cell(r, index), row[column.key] if row[column.key] != "" else None)
            cell.alignment = wrap
            cell.fill = answer_fill if column.editable else reference_fill
            if column.editable:
                cell.protection = Protection(locked=False)
            if column.key == "next_milestone_date":
                cell.number_format = "yyyy-mm-dd"
                if isinstance(row[column.key], str) and row[column.key]:
                    cell.value = date.fromisoformat(row[column.key])
    status_letter = get_column_letter(_index("status"))
    status_list = _choice_list("Status", [label for _, label in statuses()])
    outcome_list = _choice_list("Milestone", [o.label for o in MilestoneOutcome])
    yes_list = _choice_list("No change", [YES])
    for r, row in enumerate(rows, start=HEADER_ROW + 1):
        if str(row["version"]).startswith(MILESTONE_ROW):
            outcome_list.add(f"{status_letter}{r}")
        else:
            status_list.add(f"{status_letter}{r}")
            yes_list.add(f"{get_column_letter(_index('no_change'))}{r}")
    for validation in (status_list, outcome_list, yes_list):
        sheet.add_data_validation(validation)
    sheet.column_dimensions[VERSION_COLUMN].hidden = True
    sheet.freeze_panes = f"B{HEADER_ROW + 1}"
    # Protected without a password: it prevents accidents in the reference columns, it is not a secret.
    sheet.protection.sheet = True
    sheet.protection.formatRows = False
    sheet.protection.formatColumns = False
    return book


def _choice_list(title: str, choices: list[str]) -> DataValidation:
    joined = ",".join(choices)
    return DataValidation(
        type="list",
        formula1=f'"{joined}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=title,
        error=f"Choose one of: {joined}",
    )


def _index(key: str) -> int:
    return next(n for n, c in enumerate(COLUMNS, start=1) if c.key == key)


def _metadata(table: list[list[str]], problems: list[CellProblem]) -> tuple[dict[str, str], int]:
    """Cycle and agency from the top rows, and the header row's number (0 when missing)."""
    meta: dict[str, str] = {}
    header_row = 0
    for n, row in enumerate(table[:20], start=1):
        first = row[0].strip() if row else ""
        if first in (CYCLE_LABEL, AGENCY_LABEL) and first not in meta:
            meta[first] = row[1].strip() if len(row) > 1 else ""
        elif first == COLUMNS[0].header:
            header_row = n
            break
    for n, label in enumerate((CYCLE_LABEL, AGENCY_LABEL), start=1):
        if not meta.get(label):
            problems.append(
                CellProblem(n, "B", f"the {label.lower()} is missing (row '{label}' of the template)")
            )
    if not header_row:
        problems.append(
            CellProblem(HEADER_ROW, "A", f"the header row (starting with '{COLUMNS[0].header}') is missing")
        )
    return meta, header_row


def _columns(table: list[list[str]], header_row: int, problems: list[CellProblem]) -> dict[str, int]:
    """Where each known column is (0-based), found by its header; missing required ones are problems."""
    headers = [h.strip() for h in table[header_row - 1]]
    found = {c.key: headers.index(c.header) for c in COLUMNS if c.header in headers}
    for column in COLUMNS:
        if column.required and column.key not in found:
            problems.append(CellProblem(header_row, None, f"the column '{column.header}' is missing"))
    return found


def _answers(
    table: list[list[str]],
    header_row: int,
    columns: dict[str, int],
    by_code: dict[str, int],
    milestones: dict[int, Milestone],
    agency_code: str,
    problems: list[CellProblem],
) -> tuple[list[RawAnswer], dict[int, int]]:
    """One raw answer per item row, with its milestone rows; unknown or repeated codes are problems."""

    def cell(row: list[str], key: str) -> str:
        index = columns.get(key)
        return row[index] if index is not None and index < len(row) else ""

    typed: list[RawAnswer] = []
    rows_of: dict[int, int] = {}
    reported: dict[int, list[RawMilestone]] = {}
    for n, row in enumerate(table[header_row:], start=header_row + 1):
        if not any(value.strip() for value in row):
            continue
        version = cell(row, "version").strip()
        if version.startswith(MILESTONE_ROW):
            _milestone_report(n, row, cell, milestones, reported, problems, _letter(columns, "version"))
            continue
        code = cell(row, "code")
        rid = by_code.get(code)
        if rid is None:
            problems.append(
                CellProblem(n, _letter(columns, "code"), f"'{code[:40]}' is not one of {agency_code}'s items")
            )
            continue
        if rid in rows_of:
            problems.append(
                CellProblem(n, _letter(columns, "code"), f"{code} appears twice (also row {rows_of[rid]})")
            )
            continue
        rows_of[rid] = n
        for key in ("narrative", "evidence", "obstacle"):
            if len(cell(row, key)) > MAX_CELL_CHARS:
                problems.append(
                    CellProblem(n, _letter(columns, key), f"more than {MAX_CELL_CHARS:,} characters")
                )
        version = cell(row, "version")
        loaded_version = ascii_number(version, max_digits=9) if version else None
        if version and loaded_version is None:
            problems.append(
                CellProblem(n, _letter(columns, "version"), "not a version number: write a fresh template")
            )
        no_change = cell(row, "no_change").strip().lower()
        if no_change not in ("", "yes", "no"):
            problems.append(
                CellProblem(n, _letter(columns, "no_change"), f"'{no_change[:20]}': write Yes or leave blank")
            )
        typed.append(
            RawAnswer(
                recommendation_id=rid,
                status=cell(row, "status"),
                narrative=cell(row, "narrative"),
                evidence=cell(row, "evidence"),
                next_milestone_date=cell(row, "next_milestone_date"),
                obstacle=cell(row, "obstacle"),
                loaded_version=loaded_version,
                no_change=no_change == "yes",
            )
        )
    return [replace(a, milestones=tuple(reported.get(a.recommendation_id, ()))) for a in typed], rows_of


def _milestone_report(
    n: int,
    row: list[str],
    cell: Callable[[list[str], str], str],
    milestones: dict[int, Milestone],
    reported: dict[int, list[RawMilestone]],
    problems: list[CellProblem],
    where: str,
) -> None:
    """A milestone row's report (outcome in Status, date, why under What changed), filed under its item."""
    ident = cell(row, "version").strip().removeprefix(MILESTONE_ROW)
    milestone = milestones.get(int(ident)) if ident.isdigit() else None
    if milestone is None or milestone.id is None:
        problems.append(
            CellProblem(n, where, "this milestone row is not one of this request's open milestones")
        )
        return
    reported.setdefault(milestone.recommendation_id, []).append(
        RawMilestone(
            milestone.id,
            milestone.title,
            outcome=cell(row, "status"),
            on=cell(row, "next_milestone_date"),
            why=cell(row, "narrative"),
        )
    )


def _letter(columns: dict[str, int], key: str) -> str:
    # A milestone's problem is reported in the Status column, where its report goes.
    key = key if any(c.key == key for c in COLUMNS) else "status"
    header = next(c.header for c in COLUMNS if c.key == key)
    index = columns.get(key)
    return f"{get_column_letter(index + 1)} ({header})" if index is not None else f"'{header}'"


def _located(problem: AnswerProblem, rows_of: dict[int, int], columns: dict[str, int]) -> CellProblem:
    """An answer problem placed at its row and column (items with no row at all are named)."""
    row = rows_of.get(problem.recommendation_id)
    message = problem.message if row is not None else f"{problem.code} has no row: {problem.message}"
    return CellProblem(row, _letter(columns, problem.field), message)

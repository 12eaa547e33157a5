"""The spreadsheet channel: importing an agency's filled-in reply file (.xlsx or .csv).

An import validates every row and reports every problem with its row and column at once; it
applies nothing unless the whole file is valid. Valid answers go through the same save path as
the portal (`replies.record_answers`), as a submission on the spreadsheet channel.

The sheet's top rows name the cycle and agency (never the reply token: a spreadsheet travels by
e-mail and sits in folders); the workbook's custom properties carry a keyed mark of both (an HMAC
under the secret key), so a sheet cannot be turned into another agency's reply by editing a cell.
The template itself is written by `reply_template.write_template`.
Files without the mark (CSV) are imported only when the secretariat vouches for them (`as_agency`).
Hostile files are refused before openpyxl reads them (`sheet_files`, `intake`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from openpyxl.utils import get_column_letter

from domain.answers import AnswerProblem, InvalidAnswers, RawAnswer, RawMilestone
from domain.errors import ValidationError
from domain.language import Language
from domain.lifecycle import Transition
from domain.model import Channel, Milestone, MilestoneOutcome, ReportedStatus, StockTakeCycle
from domain.numbers import ascii_number
from domain.ports import Clock, Notifier, UnitOfWork
from domain.tokens import marks_match
from notifications.i18n import every_wording, translator
from workflows.config import CycleConfig
from workflows.services import replies
from workflows.services.reply_template import (
    AGENCY_LABEL,
    COLUMNS,
    CYCLE_LABEL,
    HEADER_ROW,
    MILESTONE_ROW,
    YES,
)
from workflows.services.sheet_files import MAX_CELL_CHARS, CellProblem, SpreadsheetRejected, read_table


@dataclass(frozen=True)
class ReplyImport:
    """What an import applied."""

    cycle_name: str
    agency_code: str
    rows: int
    saved: tuple[str, ...]
    taken: int = 0  # items answered in the file
    blank: int = 0  # items left blank: not answered yet, left as they were


def import_reply_file(
    uow: UnitOfWork,
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
        raise SpreadsheetRejected(sheet.where, problems)
    with uow:
        cycle = uow.cycles.get(meta[CYCLE_LABEL])
        request = uow.requests.get(cycle.id or 0, meta[AGENCY_LABEL]) if cycle else None
        if cycle is None or request is None:
            what = (
                f"no cycle named '{meta[CYCLE_LABEL]}'"
                if cycle is None
                else (f"cycle '{cycle.name}' has no status request for agency '{meta[AGENCY_LABEL]}'")
            )
            raise SpreadsheetRejected(sheet.where, [CellProblem(1, "B", what)])
        _check_mark(sheet.where, config, cycle, request.agency_code, sheet.mark, as_agency)
        items = uow.cycle_items.with_recommendations(cycle.id or 0, request.agency_code, with_text=False)
        by_code = {item["code"]: rid for rid, item in items.items()}
        milestones = {m.id or 0: m for m in uow.milestones.open_for(list(items), request.agency_code)}
        answers, rows_of, milestone_rows = _answers(
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
            # One problem per cell: a cell the sheet's own checks refused (e.g. too long) is said once.
            refused = {(p.row, p.column) for p in problems if p.column}
            located = (_located(p, rows_of, milestone_rows, columns) for p in exc.problems)
            problems.extend(p for p in located if (p.row, p.column) not in refused)
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
            raise SpreadsheetRejected(
                sheet.where, sorted(problems, key=lambda p: (p.row or 0, p.column or ""))
            )
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


def _metadata(table: list[list[str]], problems: list[CellProblem]) -> tuple[dict[str, str], int]:
    """Cycle and agency from the top rows, and the header row's number (0 when missing)."""
    meta: dict[str, str] = {}
    header_row = 0
    # The labels and headers of a sheet in any language: its agency's (see reply_template).
    labels = {wording: label for label in (CYCLE_LABEL, AGENCY_LABEL) for wording in every_wording(label)}
    for n, row in enumerate(table[:20], start=1):
        first = row[0].strip() if row else ""
        if first in labels and labels[first] not in meta:
            meta[labels[first]] = row[1].strip() if len(row) > 1 else ""
        elif first in every_wording(COLUMNS[0].header):
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
    found = {
        c.key: headers.index(wording)
        for c in COLUMNS
        for wording in every_wording(c.header)
        if wording in headers
    }
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
) -> tuple[list[RawAnswer], dict[int, int], dict[int, int]]:
    """One raw answer per item row, with its milestone rows; unknown or repeated codes are problems.

    Also returns the row of each item and of each milestone reported, by id."""

    def cell(row: list[str], key: str) -> str:
        index = columns.get(key)
        return row[index] if index is not None and index < len(row) else ""

    typed: list[RawAnswer] = []
    rows_of: dict[int, int] = {}
    filed: dict[int, tuple[int, RawMilestone]] = {}  # by milestone id: its row and its report
    for n, row in enumerate(table[header_row:], start=header_row + 1):
        if not any(value.strip() for value in row):
            continue
        version = cell(row, "version").strip()
        if version.startswith(MILESTONE_ROW):
            _milestone_report(n, row, cell, milestones, filed, problems, _letter(columns, "version"))
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
        no_change = _choice(cell(row, "no_change")) or cell(row, "no_change").strip().lower()
        if no_change not in ("", "yes", "no"):
            problems.append(
                CellProblem(n, _letter(columns, "no_change"), f"'{no_change[:20]}': write Yes or leave blank")
            )
        typed.append(
            RawAnswer(
                recommendation_id=rid,
                status=_choice(cell(row, "status")) or cell(row, "status"),
                narrative=cell(row, "narrative"),
                evidence=cell(row, "evidence"),
                next_milestone_date=cell(row, "next_milestone_date"),
                obstacle=cell(row, "obstacle"),
                loaded_version=loaded_version,
                no_change=no_change == "yes",
            )
        )
    reported: dict[int, list[RawMilestone]] = {}
    code_of = {rid: code for code, rid in by_code.items()}
    for milestone_id, (milestone_row, report) in filed.items():
        rid = milestones[milestone_id].recommendation_id
        reported.setdefault(rid, []).append(report)
        if rid not in rows_of and (report.outcome.strip() or report.on.strip() or report.why.strip()):
            problems.append(
                CellProblem(
                    milestone_row,
                    _letter(columns, "version"),
                    f"the row of {code_of[rid]}, whose milestone this is, is missing: put it back above it",
                )
            )
    answers = [replace(a, milestones=tuple(reported.get(a.recommendation_id, ()))) for a in typed]
    return answers, rows_of, {milestone_id: row for milestone_id, (row, _) in filed.items()}


def _milestone_report(
    n: int,
    row: list[str],
    cell: Callable[[list[str], str], str],
    milestones: dict[int, Milestone],
    filed: dict[int, tuple[int, RawMilestone]],
    problems: list[CellProblem],
    where: str,
) -> None:
    """A milestone row's report (outcome in Status, date, why under What changed), filed with its row."""
    ident = ascii_number(cell(row, "version").strip().removeprefix(MILESTONE_ROW), max_digits=18)
    milestone = milestones.get(ident) if ident is not None else None
    if milestone is None or milestone.id is None:
        problems.append(
            CellProblem(n, where, "this milestone row is not one of this request's open milestones")
        )
        return
    if milestone.id in filed:
        problems.append(
            CellProblem(n, where, f"this milestone appears twice (also row {filed[milestone.id][0]})")
        )
        return
    filed[milestone.id] = (
        n,
        RawMilestone(
            milestone.id,
            milestone.title,
            outcome=_choice(cell(row, "status")) or cell(row, "status"),
            on=cell(row, "next_milestone_date"),
            why=cell(row, "narrative"),
        ),
    )


@functools.cache
def _choices() -> dict[str, str]:
    """A sheet's drop-down choices in every language (lower case), by the value they stand for."""
    words = [translator(language) for language in Language]
    found = {w.gettext(YES).lower(): "yes" for w in words} | {"no": "no", "non": "no"}
    for vocabulary in (ReportedStatus, MilestoneOutcome):
        found |= {w.gettext(member.label).lower(): member.value for w in words for member in vocabulary}
    return found


def _choice(typed: str) -> str | None:
    """What a typed choice stands for ("En cours": in_progress, "Oui": yes), or None when none of them."""
    return _choices().get(" ".join(typed.split()).lower())


def _letter(columns: dict[str, int], key: str) -> str:
    # A milestone's problem is reported in the Status column, where its report goes.
    key = key if any(c.key == key for c in COLUMNS) else "status"
    header = next(c.header for c in COLUMNS if c.key == key)
    index = columns.get(key)
    return f"{get_column_letter(index + 1)} ({header})" if index is not None else f"'{header}'"


# Where a milestone row holds each part of its report: what happened, its date, why.
_MILESTONE_COLUMNS = {"outcome": "status", "on": "next_milestone_date", "why": "narrative"}


def _located(
    problem: AnswerProblem, rows_of: dict[int, int], milestone_rows: dict[int, int], columns: dict[str, int]
) -> CellProblem:
    """An answer problem placed at its row and column: a milestone's at its own row, in the column of
    the part it is about (items with no row at all are named)."""
    if problem.milestone is not None and problem.milestone[0] in milestone_rows:
        milestone_id, part = problem.milestone
        return CellProblem(
            milestone_rows[milestone_id], _letter(columns, _MILESTONE_COLUMNS[part]), problem.message
        )
    row = rows_of.get(problem.recommendation_id)
    message = problem.message if row is not None else f"{problem.code} has no row: {problem.message}"
    return CellProblem(row, _letter(columns, problem.field), message)

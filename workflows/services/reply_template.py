"""The reply template: an agency's reply sheet, with its items, milestones and locked reference columns.

The sheet's top rows name the cycle and agency (never the reply token: a spreadsheet travels by
e-mail and sits in folders); the workbook's custom properties carry a keyed mark of both (an HMAC
under the secret key), so a sheet cannot be turned into another agency's reply by editing a cell.
Importing a filled-in sheet is `spreadsheets.import_reply_file`. The sheet is in the agency's
language (headers, instructions, choices); an import reads the headers and choices of any language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from domain.answers import AnswerView, statuses, stored_answer
from domain.language import N_
from domain.lifecycle import MilestoneState
from domain.model import Milestone, MilestoneOutcome, agenda_heading_said, text_in
from domain.ports import UnitOfWork
from domain.stocktake import sentence_start
from notifications.i18n import Translator, translator
from reporting.cells import set_text
from workflows.config import CycleConfig
from workflows.queries.review import request_of
from workflows.services.sheet_files import MARK_PROPERTY

# Labels and headers are the catalogue's msgids: the sheet shows them in the agency's language.
CYCLE_LABEL, AGENCY_LABEL, DEADLINE_LABEL = N_("Cycle"), N_("Agency"), N_("Deadline")
HEADER_ROW = 5
# A milestone's row carries this in its hidden Version cell, with the milestone's id.
MILESTONE_ROW = "milestone:"
YES = N_("Yes")
FIELD_STATUS = N_("Status")
# A milestone's state, in the reference column of its row.
MILESTONE_STATES = {"planned": N_("Planned"), "overdue": N_("Overdue")}


@dataclass(frozen=True)
class Column:
    """One column of the reply sheet: its header, the answer field it feeds, whether agencies edit it."""

    key: str
    header: str
    width: int
    editable: bool = False
    required: bool = False


COLUMNS = (
    Column("code", N_("Code"), 10, required=True),
    Column("agenda", N_("Agenda point"), 24),
    Column("text", N_("Recommendation"), 60),
    Column("role", N_("Your role"), 12),
    Column("previous_status", N_("Previous status"), 16),
    Column("previous_narrative", N_("Previous narrative"), 40),
    Column("status", N_("Status"), 20, editable=True, required=True),
    Column("narrative", N_("What changed and why"), 50, editable=True, required=True),
    Column("evidence", N_("Evidence links (one per line)"), 36, editable=True),
    Column("next_milestone_date", N_("Next milestone date"), 16, editable=True),
    Column("obstacle", N_("Obstacle (if blocked)"), 36, editable=True),
    Column("no_change", N_("No change since last time"), 14, editable=True),
    # Files go through the portal only: the sheet names those attached so far, for reference.
    Column("evidence_files", N_("Evidence files (attached in the portal)"), 30),
    Column("version", N_("Version"), 8),
)
VERSION_COLUMN = get_column_letter(len(COLUMNS))


def write_template(
    uow: UnitOfWork,
    config: CycleConfig,
    cycle_name: str,
    agency_code: str,
    path: Path,
    *,
    today: date | None = None,
) -> Path:
    """Write the agency's reply sheet: items and milestones, a status drop-down, locked reference columns.

    A milestone overdue on `today` (or marked so by the follow-up) is not offered *On track*.

    The workbook carries the keyed mark of its cycle and agency, which an import checks. It is in the
    language of the people who answer (the agency's, or its chair's when it answers through one).
    """
    with uow:
        cycle = uow.cycles.require(cycle_name)
        request = request_of(uow, cycle, agency_code)
        agency = uow.agencies.require(agency_code)
        answering = uow.agencies.require(request.answered_through) if request.answered_through else agency
        words = translator(answering.reply_language)
        items = uow.cycle_items.with_recommendations(cycle.id or 0, agency_code)
        previous = uow.updates.last_cycle_answers(cycle, agency_code)
        updates = {u.recommendation_id: u for u in uow.updates.for_request(cycle.id or 0, agency_code)}
        milestones = uow.milestones.open_for(list(items), agency_code)
        files = uow.evidence.files_of(cycle.id or 0, agency_code)
        rows = []
        for rid, item in items.items():
            update = updates.get(rid)
            last = previous[rid][0] if rid in previous else None
            now = stored_answer(update) if update and update.reported_status else None
            agenda = words.text(agenda_heading_said(item["kind"], item["agenda_point"], item["agenda_title"]))
            rows.append(
                {
                    "code": item["code"],
                    "agenda": agenda,
                    "text": text_in(item["text"], item["translations"], words.language),
                    "role": words.gettext("lead") if item["role"] == "lead" else words.gettext("contributor"),
                    "previous_status": _status_on_record(last, words) if last else "",
                    "previous_narrative": last.narrative if last else "",
                    # Last cycle's answer is reference only: this cycle's columns start blank.
                    "status": words.status_label(now.status) if now else "",
                    "narrative": now.narrative if now else "",
                    "evidence": "\n".join(now.evidence) if now else "",
                    "next_milestone_date": now.next_milestone_date if now else "",
                    "obstacle": now.obstacle if now else "",
                    "no_change": words.gettext(YES) if now and now.no_change else "",
                    "evidence_files": "\n".join(f.name for f in files.get((rid, agency_code), [])),
                    "version": update.version if update else 0,
                }
            )
            rows.extend(
                _milestone_row(agenda, m, words, today) for m in milestones if m.recommendation_id == rid
            )
        meta = [(CYCLE_LABEL, cycle.name), (AGENCY_LABEL, agency.code), (DEADLINE_LABEL, cycle.deadline)]
        title = words.gettext("%(agency)s: reply to stock-take %(cycle)s") % {
            "agency": sentence_start(agency.name_in(words.language)),
            "cycle": cycle.name,
        }
        mark = config.sheet_mark(cycle.id or 0, agency.code)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = _workbook(title, meta, rows, words)
    book.custom_doc_props.append(StringProperty(name=MARK_PROPERTY, value=mark))
    book.save(path)
    return path


def _status_on_record(last: AnswerView, words: Translator) -> str:
    """ "In progress (the secretariat's assessment; you reported Completed)", as the reply page says it."""
    said = words.status_label(last.status)
    return f"{said} ({words.text(last.assessed)})" if last.assessed else said


def _milestone_row(
    agenda: str, milestone: Milestone, words: Translator, today: date | None
) -> dict[str, Any]:
    """A milestone's row under its item: the report goes in Status, its date and reason beside it."""
    overdue = milestone.state == MilestoneState.OVERDUE or (
        today is not None and milestone.is_overdue_on(today)
    )
    said = words.gettext("Milestone: %(title)s (due %(date)s)")
    return {
        "code": "",  # under its item's row; the hidden Version cell says which milestone it is
        "agenda": agenda,
        "text": said % {"title": milestone.title, "date": milestone.due_date.isoformat()},
        "role": "",
        "previous_status": words.gettext(MILESTONE_STATES.get(milestone.state, milestone.state)),
        "previous_narrative": "",
        "status": "",
        "narrative": "",
        "evidence": "",
        "next_milestone_date": "",
        "obstacle": "",
        "no_change": "",
        "evidence_files": "",
        "version": f"{MILESTONE_ROW}{milestone.id}",
        "overdue": overdue,  # not a column: which outcomes its Status offers
    }


def _workbook(
    title: str, meta: list[tuple[str, Any]], rows: list[dict[str, Any]], words: Translator
) -> Workbook:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = words.gettext("Reply")
    bold = Font(bold=True)
    for n, (label, value) in enumerate(meta, start=1):
        # Every cell from text goes through set_text: "=> no change" stays text, never a formula.
        set_text(sheet.cell(n, 1), words.gettext(label)).font = bold
        set_text(sheet.cell(n, 2), value)
    set_text(sheet.cell(1, 3), title).font = Font(bold=True, size=13)
    set_text(
        sheet.cell(2, 3),
        words.gettext("Fill in the white columns (Status to No change), save, and send the file back."),
    )
    set_text(
        sheet.cell(3, 3),
        words.gettext(
            "Rows left blank are not answered yet: send what is ready. Where nothing changed since last "
            "time, put Yes under No change. A milestone's row takes Done (with the date), Rescheduled "
            "(new date, and why under What changed), Dropped (why) or, while it is not yet due, On track."
        ),
    )
    header_fill = PatternFill("solid", fgColor="DDE7F0")
    answer_fill = PatternFill("solid", fgColor="FFFFFF")
    reference_fill = PatternFill("solid", fgColor="F2F2F2")
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(COLUMNS, start=1):
        cell = set_text(sheet.cell(HEADER_ROW, index), words.gettext(column.header))
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
    status_list = _choice_list(words, FIELD_STATUS, [words.gettext(label) for _, label in statuses()])
    outcome_lists = {
        overdue: _choice_list(
            words,
            N_("Milestone"),
            [words.gettext(o.label) for o in MilestoneOutcome.offered(overdue=overdue)],
        )
        for overdue in (False, True)
    }
    yes_list = _choice_list(words, N_("No change"), [words.gettext(YES)])
    for r, row in enumerate(rows, start=HEADER_ROW + 1):
        if str(row["version"]).startswith(MILESTONE_ROW):
            outcome_lists[row["overdue"]].add(f"{status_letter}{r}")
        else:
            status_list.add(f"{status_letter}{r}")
            yes_list.add(f"{get_column_letter(_index('no_change'))}{r}")
    for validation in (status_list, *outcome_lists.values(), yes_list):
        if validation.sqref:  # a list no cell uses is left out
            sheet.add_data_validation(validation)
    sheet.column_dimensions[VERSION_COLUMN].hidden = True
    sheet.freeze_panes = f"B{HEADER_ROW + 1}"
    # Protected without a password: it prevents accidents in the reference columns, it is not a secret.
    sheet.protection.sheet = True
    sheet.protection.formatRows = False
    sheet.protection.formatColumns = False
    return book


def _choice_list(words: Translator, title: str, choices: list[str]) -> DataValidation:
    joined = ",".join(choices)
    return DataValidation(
        type="list",
        formula1=f'"{joined}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=words.gettext(title),
        error=words.gettext("Choose one of: %(choices)s") % {"choices": joined},
    )


def _index(key: str) -> int:
    return next(n for n, c in enumerate(COLUMNS, start=1) if c.key == key)

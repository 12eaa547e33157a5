"""The spreadsheet channel: template, round trip, every error at once, hostile files refused."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from typer.testing import CliRunner

from domain.dates import DATE_HINT
from domain.errors import NotFound
from domain.model import Milestone, StatusRequest
from tests.support import CYCLE, TODAY, Scenario, all_items, open_page, save
from workflows.cli import app
from workflows.services import reply_template, spreadsheets
from workflows.services.reply_template import write_template
from workflows.services.sheet_files import MAX_FILE_BYTES
from workflows.services.spreadsheets import SpreadsheetRejected, import_reply_file

HEADERS = [c.header for c in reply_template.COLUMNS]


@contextmanager
def edited_sheet(path: Path) -> Iterator[Worksheet]:
    """The workbook's sheet, saved when the block ends: a focal point's edit in Excel."""
    book = load_workbook(path)
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    yield sheet
    book.save(path)


def fill(path: Path, answers: dict[str, tuple[str, str]]) -> None:
    """Fill Status and narrative the way a focal point would, in Excel."""
    status, narrative = HEADERS.index("Status") + 1, HEADERS.index("What changed and why") + 1
    with edited_sheet(path) as sheet:
        for row in range(reply_template.HEADER_ROW + 1, sheet.max_row + 1):
            code = sheet.cell(row, 1).value
            if code in answers:
                sheet.cell(row, status).value, sheet.cell(row, narrative).value = answers[code]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    lines = [["Cycle", CYCLE], ["Agency", "AAA"], ["Deadline", "2026-03-31"], [], HEADERS]
    path.write_text("\n".join(",".join(cells) for cells in lines + rows) + "\n", encoding="utf-8")
    return path


def import_file(s: Scenario, path: Path) -> spreadsheets.ReplyImport:
    """Import as the secretariat does: a CSV carries no mark, so it comes in vouched for (--as)."""
    as_agency = "AAA" if path.suffix == ".csv" else None
    return import_reply_file(s.uow, s.notifier(s.uow), s.clock, s.config, path, as_agency=as_agency)


def test_the_template_prefills_items_locks_reference_columns_and_offers_a_status_list(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_template(scenario.uow, scenario.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    sheet = load_workbook(path).active
    assert sheet is not None
    assert [sheet.cell(1, 2).value, sheet.cell(2, 2).value] == [CYCLE, "AAA"]
    first = reply_template.HEADER_ROW + 1
    # A1.1's milestone has a row of its own under the item.
    assert [sheet.cell(r, 1).value for r in range(first, first + 4)] == ["A1.1", None, "A1.2", "A2.1"]
    assert sheet.cell(first + 1, 3).value == "Milestone: Expert group meeting (due 2026-03-01)"
    assert sheet.cell(first, HEADERS.index("Previous status") + 1).value == "In progress"
    assert sheet.cell(first, HEADERS.index("Previous narrative") + 1).value == "Terms of reference drafted."
    # Last cycle's answer is reference only: this cycle's status and narrative start blank.
    assert sheet.cell(first, HEADERS.index("Status") + 1).value is None
    assert sheet.cell(first, HEADERS.index("What changed and why") + 1).value is None
    assert sheet.protection.sheet
    assert sheet.cell(first, 1).protection.locked and sheet.cell(first, 3).protection.locked
    assert not sheet.cell(first, HEADERS.index("Status") + 1).protection.locked
    status, outcome, yes = sheet.data_validations.dataValidation
    assert status.type == "list" and "No longer applicable" in (status.formula1 or "")
    assert str(outcome.sqref) == f"G{first + 1}" and "Rescheduled" in (outcome.formula1 or "")
    assert "On track" in (outcome.formula1 or "")  # no day given: the follow-up has not marked it overdue
    assert yes.formula1 == '"Yes"'
    assert sheet.column_dimensions[reply_template.VERSION_COLUMN].hidden
    with zipfile.ZipFile(path) as archive:
        content = b"".join(archive.read(name) for name in archive.namelist())
    assert scenario.tokens["AAA"].encode() not in content


def test_an_overdue_milestones_row_is_not_offered_on_track_which_its_import_would_refuse(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_template(scenario.uow, scenario.config, CYCLE, "AAA", tmp_path / "aaa.xlsx", today=TODAY)
    sheet = load_workbook(path).active
    assert sheet is not None
    milestone_row = reply_template.HEADER_ROW + 2  # under A1.1, due 1 March: overdue on the 10th
    [outcome] = [v for v in sheet.data_validations.dataValidation if f"G{milestone_row}" in str(v.sqref)]
    assert "Rescheduled" in (outcome.formula1 or "") and "On track" not in (outcome.formula1 or "")


def test_a_filled_template_round_trips_into_the_same_statuses(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    path = write_template(s.uow, s.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    fill(
        path,
        {
            "A1.1": ("Completed", "Meeting held."),
            "A1.2": ("In progress", "Started."),
            "A2.1": ("No longer applicable", "Superseded by the 2026 plan."),
        },
    )
    result = import_file(s, path)
    assert (result.agency_code, sorted(result.saved)) == ("AAA", ["A1.1", "A1.2", "A2.1"])
    stored = {code: s.update(code) for code in ("A1.1", "A1.2", "A2.1")}
    assert {c: (u.status, u.channel, u.state) for c, u in stored.items() if u} == {
        "A1.1": ("completed", "spreadsheet", "submitted"),
        "A1.2": ("in_progress", "spreadsheet", "submitted"),
        "A2.1": ("no_longer_applicable", "spreadsheet", "submitted"),
    }
    assert s.request_state()[0] == "answered" and len(s.outbox("receipt")) == 1


def test_a_csv_with_three_errors_reports_all_three_with_row_and_column_and_writes_nothing(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "reply.csv",
        [
            ["A1.1", "", "", "", "", "", "Completed", "", "", "", "", "", "0"],
            ["A1.2", "", "", "", "", "", "Blocked", "No funds.", "", "", "", "", "0"],
            ["A2.1", "", "", "", "", "", "Ongoing", "Yes.", "ftp://files.example.org/a", "", "", "", "0"],
        ],
    )
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(scenario, path)
    assert [str(p) for p in caught.value.problems] == [
        "row 6, column H (What changed and why): required because the status changed from In progress "
        "to Completed: say what changed and why",
        "row 7, column K (Obstacle (if blocked)): required when the status is Blocked: "
        "say what blocks the work",
        "row 8, column I (Evidence links (one per line)): 'ftp://files.example.org/a' is not a web link "
        "(http:// or https://)",
    ]
    assert scenario.update("A1.1") is None and scenario.outbox("receipt") == []


def test_unknown_codes_are_reported_while_missing_items_are_not_answered_yet(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "reply.csv",
        [
            ["A1.1", "", "", "", "", "", "In progress", "", "", "", "", "", "0"],
            ["Z9.9", "", "", "", "", "", "Ongoing", "", "", "", "", "", "0"],
        ],
    )
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(scenario, path)
    messages = [str(p) for p in caught.value.problems]
    assert messages == ["row 7, column A (Code): 'Z9.9' is not one of AAA's items"]


def test_a_half_filled_sheet_submits_what_is_ready_and_leaves_blank_rows_unanswered(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    path = write_template(s.uow, s.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    fill(path, {"A1.1": ("Completed", "Meeting held.")})
    result = import_file(s, path)
    assert (result.saved, result.taken, result.blank) == (("A1.1",), 1, 2)
    assert s.update("A1.2") is None and s.update("A2.1") is None
    # Not every item is answered: the request stays open, and the rest may follow in another file.
    assert s.request_state()[0] == "sent"
    # Its receipt leaves the deadline's calendar event (and its alarm) for the items still owed.
    assert [row["ics"] for row in s.outbox("receipt")] == [None]
    fill(path, {"A1.2": ("In progress", "Started."), "A2.1": ("Ongoing", "")})
    rest = import_file(s, path)
    assert (sorted(rest.saved), rest.taken, rest.blank) == (["A1.2", "A2.1"], 3, 0)
    assert s.request_state()[0] == "answered"
    complete = [row["ics"] for row in s.outbox("receipt") if row["ics"]]
    assert len(complete) == 1 and "METHOD:CANCEL" in str(complete[0])


def test_a_half_filled_sheet_with_an_invalid_row_is_still_refused_whole(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_template(scenario.uow, scenario.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    fill(path, {"A1.1": ("Completed", "Meeting held."), "A2.1": ("Finished", "")})
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(scenario, path)
    assert [p.row for p in caught.value.problems] == [9]  # row 6 is A1.1's milestone
    assert "'Finished' is not a status" in str(caught.value.problems[0])
    assert scenario.update("A1.1") is None


def test_a_row_with_text_but_no_status_is_refused_naming_its_row_never_taken_for_a_blank_one(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_template(scenario.uow, scenario.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    fill(path, {"A1.1": ("Completed", "Meeting held."), "A2.1": ("", "Mainstreamed, status to follow.")})
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(scenario, path)
    assert [p.row for p in caught.value.problems] == [9]
    assert "choose a status, or No change, to save what you wrote" in str(caught.value.problems[0])
    assert scenario.update("A1.1") is None and scenario.update("A2.1") is None


def test_a_link_the_url_parser_cannot_read_is_a_problem_of_its_cell_never_a_crash(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_template(scenario.uow, scenario.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    fill(path, {"A2.1": ("Ongoing", "")})
    _mark(path, 9, {"Evidence links (one per line)": "https://[insert link]"})  # A2.1's row
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(scenario, path)
    column = "row 9, column I (Evidence links (one per line))"
    assert [str(p) for p in caught.value.problems] == [
        f"{column}: 'https://[insert' is not a web link (http:// or https://)",
        f"{column}: 'link]' is not a web link (http:// or https://)",
    ]


def _mark(path: Path, row: int, values: dict[str, str]) -> None:
    with edited_sheet(path) as sheet:
        for header, value in values.items():
            sheet.cell(row, HEADERS.index(header) + 1).value = value


def test_no_change_in_the_sheet_confirms_last_cycles_status_without_copying_its_text(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    path = write_template(s.uow, s.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    _mark(path, reply_template.HEADER_ROW + 1, {"No change since last time": "Yes"})
    result = import_file(s, path)
    assert (result.saved, result.taken) == (("A1.1",), 1)
    stored = s.update("A1.1") or pytest.fail("not imported")
    assert (stored.status, stored.narrative) == ("in_progress", "")


def test_a_milestone_row_reports_the_milestone_done_and_it_is_no_longer_overdue(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    path = write_template(s.uow, s.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    first = reply_template.HEADER_ROW + 1
    _mark(path, first, {"Status": "Completed", "What changed and why": "Meeting held."})
    _mark(path, first + 1, {"Status": "Done", "Next milestone date": "2026-02-27"})
    import_file(s, path)
    with s.uow:
        milestone = s.uow.session.scalars(select(Milestone)).one()
        assert (milestone.state, milestone.done_on) == ("done", date(2026, 2, 27))
    # Done, it has no row in a fresh template: there is nothing left to report on it.
    again = write_template(s.uow, s.config, CYCLE, "AAA", tmp_path / "again.xlsx")
    sheet = load_workbook(again).active
    assert sheet is not None and sheet.cell(first + 1, 1).value == "A1.2"


def test_a_milestone_rescheduled_without_a_reason_refuses_the_file_naming_the_milestones_cells(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_template(scenario.uow, scenario.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    first = reply_template.HEADER_ROW + 1
    _mark(path, first, {"Status": "In progress", "No change since last time": "Yes"})
    _mark(path, first + 1, {"Status": "Rescheduled", "Next milestone date": "not soon"})
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(scenario, path)
    # Each at the milestone's own row, in the column of the part it is about (not the item's Status).
    assert [str(p) for p in caught.value.problems] == [
        "row 7, column H (What changed and why): Expert group meeting: say why it was rescheduled",
        f"row 7, column J (Next milestone date): Expert group meeting: give the new date ({DATE_HINT}), "
        "not 'not soon'",
    ]


def test_files_that_are_not_spreadsheets_too_large_or_zip_bombs_are_refused(
    scenario: Scenario, tmp_path: Path
) -> None:
    text = tmp_path / "reply.xlsx"
    text.write_text("this is not a workbook")
    pdf = tmp_path / "reply.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    binary_csv = tmp_path / "reply.csv"
    binary_csv.write_bytes(b"PK\x03\x04\x00\x00")
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"a," * (MAX_FILE_BYTES // 2 + 1))
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    assert bomb.stat().st_size < 100_000
    reasons = {}
    for path in (text, pdf, binary_csv, huge, bomb):
        with pytest.raises(SpreadsheetRejected) as caught:
            import_file(scenario, path)
        reasons[path.name] = str(caught.value.problems[0])
    assert "not an .xlsx workbook" in reasons["reply.xlsx"]
    assert "not a spreadsheet" in reasons["reply.pdf"]
    assert "binary data" in reasons["reply.csv"]
    assert "too large" in reasons["huge.csv"]
    assert "zip bomb" in reasons["bomb.xlsx"]
    assert scenario.update("A1.1") is None


def test_the_reply_commands_write_a_template_import_it_and_list_errors(
    site: Scenario, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "aaa.xlsx"
    written = runner.invoke(app, ["reply", "template", CYCLE, "--agency", "AAA", "--out", str(out)])
    assert written.exit_code == 0, written.output
    fill(out, {"A1.1": ("Completed", "Meeting held."), "A1.2": ("Blocked", ""), "A2.1": ("Ongoing", "")})
    refused = runner.invoke(app, ["reply", "import", str(out), "--today", "2026-03-10"])
    assert refused.exit_code == 1
    assert "2 problems, nothing was imported" in refused.output
    assert "row 8, column H" in refused.output and "row 8, column K" in refused.output
    fill(out, {"A1.2": ("In progress", "Started.")})
    imported = runner.invoke(app, ["reply", "import", str(out), "--today", "2026-03-10"])
    assert imported.exit_code == 0, imported.output
    assert "3 answers taken, 0 left blank" in imported.output
    assert (site.update("A1.2") or pytest.fail("not imported")).status == "in_progress"


def test_reissuing_a_link_from_the_command_line_prints_the_new_link(site: Scenario) -> None:
    result = CliRunner().invoke(app, ["cycle", "reissue", CYCLE, "--agency", "BBB"])
    assert result.exit_code == 0, result.output
    assert "http://testserver/r/" in result.output and site.tokens["BBB"] not in result.output
    assert len(site.outbox("status-request")) == 1
    unknown = CliRunner().invoke(app, ["cycle", "reissue", CYCLE, "--agency", "ZZZ"])
    assert unknown.exit_code == 1 and "no status request for agency 'ZZZ'" in unknown.output


def test_revoking_a_link_from_the_command_line_stops_it_at_once_and_sends_nothing(site: Scenario) -> None:
    revoked = CliRunner().invoke(app, ["cycle", "revoke", CYCLE, "--agency", "BBB", "--why", "forwarded"])
    assert revoked.exit_code == 0, revoked.output
    assert "BBB's link for" in revoked.output and "no longer works" in revoked.output
    with pytest.raises(NotFound):
        open_page(site, site.tokens["BBB"])
    assert site.outbox("status-request") == []
    again = CliRunner().invoke(app, ["cycle", "revoke", CYCLE, "--agency", "BBB"])
    assert again.exit_code == 0 and "revoked already: nothing changed" in again.output
    with site.uow:
        history = site.uow.history.for_key(StatusRequest.ENTITY, f"{site.cycle_id}:BBB")
    assert [(h.why, h.data.get("action")) for h in history][-1] == ("forwarded", "token_revoked")
    unknown = CliRunner().invoke(app, ["cycle", "revoke", CYCLE, "--agency", "ZZZ"])
    assert unknown.exit_code == 1 and "no status request for agency 'ZZZ'" in unknown.output


def _with_a_hidden_first_sheet(path: Path) -> None:
    book = load_workbook(path)
    lookup = book.create_sheet("Lookup", 0)
    lookup.append(["Code", "Status"])
    lookup.sheet_state = "hidden"
    book.active = 1
    book.save(path)


def test_a_workbook_whose_first_sheet_is_hidden_is_read_from_the_first_sheet_shown(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    path = write_template(s.uow, s.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    fill(path, {"A1.2": ("Blocked", "")})
    _with_a_hidden_first_sheet(path)
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(s, path)
    assert str(caught.value).startswith("aaa.xlsx, sheet 'Reply'")
    fill(path, {"A1.2": ("In progress", "Started.")})
    assert import_file(s, path).saved == ("A1.2",)


def test_a_milestone_row_copied_twice_is_refused_naming_both_rows(scenario: Scenario, tmp_path: Path) -> None:
    path = write_template(scenario.uow, scenario.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    first = reply_template.HEADER_ROW + 1
    with edited_sheet(path) as sheet:
        sheet.append([cell.value for cell in sheet[first + 1]])
        copy = sheet.max_row
    _mark(path, first, {"Status": "In progress", "No change since last time": "Yes"})
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(scenario, path)
    assert [str(p) for p in caught.value.problems] == [
        f"row {copy}, column N (Version): this milestone appears twice (also row {first + 1})"
    ]


def test_a_milestone_reported_under_an_item_whose_row_was_deleted_asks_for_the_row_back(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_template(scenario.uow, scenario.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    first = reply_template.HEADER_ROW + 1
    with edited_sheet(path) as sheet:
        sheet.delete_rows(first)
    _mark(path, first, {"Status": "Done", "Next milestone date": "2026-02-27"})
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(scenario, path)
    assert [str(p) for p in caught.value.problems] == [
        f"row {first}, column N (Version): the row of A1.1, whose milestone this is, is missing: "
        "put it back above it"
    ]
    assert scenario.update("A1.1") is None


def test_a_doubled_quote_far_down_a_csv_reads_back_as_typed(scenario: Scenario, tmp_path: Path) -> None:
    narrative = '"The ""Global Compact"" guidance, adopted."'
    path = write_csv(tmp_path / "reply.csv", [])
    with path.open("a", encoding="utf-8") as out:
        # Past the 4 KB the delimiter is sniffed from, which hold no doubled quote.
        out.write(("\n" * 4200) + f"A1.2,,,,,,In progress,{narrative},,,,,0\n")
    result = import_file(scenario, path)
    assert result.saved == ("A1.2",)
    stored = scenario.update("A1.2") or pytest.fail("not imported")
    assert stored.narrative == 'The "Global Compact" guidance, adopted.'


def test_a_reply_template_holds_a_stored_answer_whose_text_has_control_characters(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    answers = all_items(s)
    answers[0] = replace(answers[0], narrative="Meeting\x01 held\x0b in February.")
    save(s, answers, submit=False)
    path = write_template(s.uow, s.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    sheet = load_workbook(path).active
    assert sheet is not None
    shown = [cell.value for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert "Meeting held in February." in shown

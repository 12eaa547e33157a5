"""The spreadsheet channel: template, round trip, every error at once, hostile files refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.support import CYCLE, Scenario
from workflows.cli import app
from workflows.services import spreadsheets
from workflows.services.sheet_files import MAX_FILE_BYTES
from workflows.services.spreadsheets import SpreadsheetRejected, import_reply_file, write_template

HEADERS = [c.header for c in spreadsheets.COLUMNS]


def fill(path: Path, answers: dict[str, tuple[str, str]]) -> None:
    """Fill Status and narrative the way a focal point would, in Excel."""
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    status, narrative = HEADERS.index("Status") + 1, HEADERS.index("What changed and why") + 1
    for row in range(spreadsheets.HEADER_ROW + 1, sheet.max_row + 1):
        code = sheet.cell(row, 1).value
        if code in answers:
            sheet.cell(row, status).value, sheet.cell(row, narrative).value = answers[code]
    book.save(path)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    lines = [["Cycle", CYCLE], ["Agency", "AAA"], ["Deadline", "2026-03-31"], [], HEADERS]
    path.write_text("\n".join(",".join(cells) for cells in lines + rows) + "\n", encoding="utf-8")
    return path


def import_file(s: Scenario, path: Path) -> spreadsheets.ReplyImport:
    return import_reply_file(s.uow, s.notifier(s.uow), s.clock, s.config, path)


def test_the_template_prefills_items_locks_reference_columns_and_offers_a_status_list(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_template(scenario.uow, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    sheet = load_workbook(path).active
    assert sheet is not None
    assert [sheet.cell(1, 2).value, sheet.cell(2, 2).value] == [CYCLE, "AAA"]
    first = spreadsheets.HEADER_ROW + 1
    assert [sheet.cell(r, 1).value for r in range(first, first + 3)] == ["A1.1", "A1.2", "A2.1"]
    assert sheet.cell(first, HEADERS.index("Previous narrative") + 1).value == "Terms of reference drafted."
    assert sheet.cell(first, HEADERS.index("Status") + 1).value == "In progress"
    assert sheet.protection.sheet
    assert sheet.cell(first, 1).protection.locked and sheet.cell(first, 3).protection.locked
    assert not sheet.cell(first, HEADERS.index("Status") + 1).protection.locked
    (validation,) = sheet.data_validations.dataValidation
    assert validation.type == "list" and "No longer applicable" in (validation.formula1 or "")
    assert sheet.column_dimensions[spreadsheets.VERSION_COLUMN].hidden
    with zipfile.ZipFile(path) as archive:
        content = b"".join(archive.read(name) for name in archive.namelist())
    assert scenario.tokens["AAA"].encode() not in content


def test_a_filled_template_round_trips_into_the_same_statuses(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    path = write_template(s.uow, CYCLE, "AAA", tmp_path / "aaa.xlsx")
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
            ["A1.1", "", "", "", "", "", "Completed", "", "", "", "", "0"],
            ["A1.2", "", "", "", "", "", "Blocked", "No funds.", "", "", "", "0"],
            ["A2.1", "", "", "", "", "", "Ongoing", "Yes.", "ftp://files.example.org/a", "", "", "0"],
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


def test_unknown_codes_missing_items_and_a_stale_version_are_reported(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "reply.csv",
        [
            ["A1.1", "", "", "", "", "", "In progress", "", "", "", "", "0"],
            ["Z9.9", "", "", "", "", "", "Ongoing", "", "", "", "", "0"],
        ],
    )
    with pytest.raises(SpreadsheetRejected) as caught:
        import_file(scenario, path)
    messages = [str(p) for p in caught.value.problems]
    assert "row 7, column A (Code): 'Z9.9' is not one of AAA's items" in messages
    assert "column G (Status): A1.2 has no row: not answered: choose a status or No change" in messages


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
    assert "row 7, column H" in refused.output and "row 7, column K" in refused.output
    fill(out, {"A1.2": ("In progress", "Started.")})
    imported = runner.invoke(app, ["reply", "import", str(out), "--today", "2026-03-10"])
    assert imported.exit_code == 0, imported.output
    assert "Imported 3 answers from AAA" in imported.output
    assert (site.update("A1.2") or pytest.fail("not imported")).status == "in_progress"


def test_reissuing_a_link_from_the_command_line_prints_the_new_link(site: Scenario) -> None:
    result = CliRunner().invoke(app, ["cycle", "reissue", CYCLE, "--agency", "BBB"])
    assert result.exit_code == 0, result.output
    assert "http://testserver/r/" in result.output and site.tokens["BBB"] not in result.output
    assert len(site.outbox("status-request")) == 1
    unknown = CliRunner().invoke(app, ["cycle", "reissue", CYCLE, "--agency", "ZZZ"])
    assert unknown.exit_code == 1 and "no status request for agency 'ZZZ'" in unknown.output

"""Hostile files: one bad file never stops the inbox, and a reply sheet answers only for its own agency."""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula
from sqlalchemy import select
from typer.testing import CliRunner, Result

from db import tables
from tests.support import CYCLE, Scenario, all_items, save
from workflows.cli import app
from workflows.services import closing, reply_template
from workflows.services.reply_template import MILESTONE_ROW, write_template
from workflows.services.spreadsheets import SpreadsheetRejected, import_reply_file

HEADERS = [c.header for c in reply_template.COLUMNS]
STATUS, NARRATIVE = HEADERS.index("Status") + 1, HEADERS.index("What changed and why") + 1
VERSION = HEADERS.index("Version") + 1


def filled_template(s: Scenario, path: Path, agency: str = "AAA", narrative: str = "Drafting.") -> Path:
    """The agency's template with every item answered 'In progress' (milestone rows left blank)."""
    write_template(s.uow, s.config, CYCLE, agency, path)
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    for row in range(reply_template.HEADER_ROW + 1, sheet.max_row + 1):
        if str(sheet.cell(row, VERSION).value or "").startswith(reply_template.MILESTONE_ROW):
            continue
        sheet.cell(row, STATUS).value, sheet.cell(row, NARRATIVE).value = "In progress", narrative
    book.save(path)
    return path


def csv_reply(path: Path, *, version: str = "0", agency: str = "AAA", narrative: str = "Drafting.") -> Path:
    rows = [["Cycle", CYCLE], ["Agency", agency], [], HEADERS]
    for code in ("A1.1", "A1.2", "A2.1"):
        row = [""] * len(HEADERS)
        row[0], row[STATUS - 1], row[VERSION - 1] = code, "In progress", version
        row[NARRATIVE - 1] = narrative
        rows.append(row)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def reply_import(path: Path, *options: str) -> Result:
    """`followup reply import` as the secretariat runs it."""
    return CliRunner().invoke(app, ["reply", "import", str(path), *options, "--today", "2026-03-10"])


def hostile_files(folder: Path) -> list[Path]:
    """The files of the hostile review: each once raised past collection."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "folder.csv").mkdir()
    csv_reply(folder / "huge-cell.csv", narrative="x" * 200_000)
    csv_reply(folder / "superscript.csv", version="²")
    csv_reply(folder / "long-number.csv", version="9" * 5000)
    csv_reply(folder / "superscript-milestone.csv", version=f"{MILESTONE_ROW}²")
    csv_reply(folder / "long-milestone.csv", version=MILESTONE_ROW + "9" * 5000)
    (folder / "random.csv").write_bytes(bytes(range(1, 256)) * 40)
    doctype = folder / "doctype.xlsx"
    with zipfile.ZipFile(doctype, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", '<!DOCTYPE x [<!ENTITY a "aaaa">]><workbook>&a;</workbook>')
    return sorted(folder.iterdir())


def test_hostile_inbox_files_are_rejected_one_by_one_and_the_good_file_beside_them_is_imported(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    inbox = tmp_path / "inbox"
    hostile = hostile_files(inbox)
    (inbox / "link.csv").symlink_to("/etc/passwd")  # it was read, as a CSV, wherever it pointed
    good = filled_template(s, inbox / "aaa.xlsx")
    good.chmod(0o644)  # as whoever dropped it left it
    collected = closing.collect_replies(
        lambda: s.uow, s.notifier, s.clock, s.config, cycle_name=CYCLE, inbox_dir=inbox
    )
    outcomes = {f.name: (f.accepted, f.moved_to.parent.name) for f in collected.files}
    assert outcomes == {"aaa.xlsx": (True, "processed"), "link.csv": (False, "rejected")} | {
        p.name: (False, "rejected") for p in hostile
    }
    for path in hostile:
        errors = (inbox / "rejected" / f"{path.name}.errors.txt").read_text(encoding="utf-8")
        assert errors.startswith(path.name), errors
    link = (inbox / "rejected" / "link.csv.errors.txt").read_text(encoding="utf-8")
    assert link == "link.csv: is a symbolic link: drop the file itself in the inbox\n"
    assert (inbox / "processed" / "aaa.xlsx").stat().st_mode & 0o777 == 0o600  # owner-only, as all we keep
    assert (s.update("A1.1") or pytest.fail("not imported")).narrative == "Drafting."
    closed = closing.close_cycle(
        lambda: s.uow,
        s.notifier,
        s.clock,
        s.config,
        cycle_name=CYCLE,
        inbox_dir=inbox,
        reports_dir=tmp_path / "reports",
        formats=["md"],
    )
    assert closed.closed_now


def test_reply_import_names_the_file_and_the_place_for_each_hostile_file_and_exits_1(
    site: Scenario, tmp_path: Path
) -> None:
    for path in hostile_files(tmp_path / "hostile"):
        result = reply_import(path, "--as", "AAA")
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (path.name, result.output)
        assert f"error: {path.name}" in result.output, result.output
    superscript = reply_import(tmp_path / "hostile" / "superscript.csv", "--as", "AAA")
    version_column = chr(ord("A") + VERSION - 1)
    assert f"row 5, column {version_column} (Version): not a version number" in superscript.output


def test_a_sheet_whose_agency_cell_was_changed_is_refused_and_the_secretariat_may_import_it_with_as(
    site: Scenario, tmp_path: Path
) -> None:
    forged = filled_template(site, tmp_path / "aaa.xlsx")
    book = load_workbook(forged)
    sheet = book.active
    assert sheet is not None
    sheet.cell(2, 2).value = "BBB"
    book.save(forged)
    with pytest.raises(SpreadsheetRejected, match="mark"):
        import_reply_file(site.uow, site.notifier(site.uow), site.clock, site.config, forged)
    assert site.update("SR1", "BBB") is None and site.outbox("receipt") == []

    unmarked = csv_reply(tmp_path / "aaa.csv")
    with pytest.raises(SpreadsheetRejected, match="--as"):
        import_reply_file(site.uow, site.notifier(site.uow), site.clock, site.config, unmarked)
    wrong = reply_import(unmarked, "--as", "BBB")
    assert wrong.exit_code == 1 and "names agency AAA, not BBB" in wrong.output, wrong.output
    done = reply_import(unmarked, "--as", "AAA")
    assert done.exit_code == 0 and "on the secretariat's word (--as)" in done.output, done.output
    assert (site.update("A1.1") or pytest.fail("not imported")).narrative == "Drafting."
    with site.uow:
        history = site.uow.session.execute(
            select(tables.history.c.by, tables.history.c.why).where(tables.history.c.entity == "request")
        ).all()
    assert any("imported as AAA" in why and "aaa.csv" in why for _, why in history), history


def test_text_starting_with_equals_is_a_string_cell_in_the_template_and_round_trips_exactly(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    typed = [
        replace(a, narrative="=> no change") if a.recommendation_id == s.ids["A1.2"] else a
        for a in all_items(s)
    ]
    save(s, typed, submit=False)
    path = write_template(s.uow, s.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    sheet = load_workbook(path).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    (narrative,) = [c for c in cells if c.value == "=> no change"]
    assert narrative.data_type == "s"
    import_reply_file(s.uow, s.notifier(s.uow), s.clock, s.config, path)
    assert (s.update("A1.2") or pytest.fail("not imported")).narrative == "=> no change"


def test_a_cell_too_long_for_the_sheet_is_refused_once_not_again_by_the_answer_limits(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    path = filled_template(s, tmp_path / "aaa.xlsx", narrative="x" * 20_000)

    with pytest.raises(SpreadsheetRejected) as refused:
        import_reply_file(s.uow, s.notifier(s.uow), s.clock, s.config, path)

    cells = {(p.row, p.column) for p in refused.value.problems}
    assert len(cells) == len(refused.value.problems) == 3  # the narrative of each of AAA's three items
    assert all(p.message == "more than 10,000 characters" for p in refused.value.problems)


def test_an_array_formula_in_a_reply_cell_is_stored_as_the_text_typed(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    path = filled_template(s, tmp_path / "aaa.xlsx")
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    row = next(
        r for r in range(reply_template.HEADER_ROW + 1, sheet.max_row + 1) if sheet.cell(r, 1).value == "A1.2"
    )
    sheet.cell(row, NARRATIVE).value = ArrayFormula(f"H{row}", "=SUM(1,2)")
    book.save(path)

    import_reply_file(s.uow, s.notifier(s.uow), s.clock, s.config, path)

    assert (s.update("A1.2") or pytest.fail("not imported")).narrative == "=SUM(1,2)"


def _edit_sheet_xml(path: Path, edit: Callable[[str], str]) -> None:
    """Rewrite the first sheet's XML as a hand-made or foreign workbook might hold it."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    edited = edit(parts[sheet].decode("utf-8"))
    assert edited != parts[sheet].decode("utf-8")
    parts[sheet] = edited.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def test_a_sheet_claiming_every_row_and_column_of_excel_is_read_by_its_cells(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = filled_template(scenario, tmp_path / "aaa.xlsx")
    _edit_sheet_xml(
        path, lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', xml)
    )
    result = import_reply_file(
        scenario.uow, scenario.notifier(scenario.uow), scenario.clock, scenario.config, path
    )
    assert sorted(result.saved) == ["A1.1", "A1.2", "A2.1"]


def test_a_number_too_long_for_python_in_a_reply_cell_is_refused_naming_its_row(
    scenario: Scenario, tmp_path: Path
) -> None:
    path = filled_template(scenario, tmp_path / "aaa.xlsx")
    first = reply_template.HEADER_ROW + 1
    version = f"{get_column_letter(VERSION)}{first}"
    _edit_sheet_xml(
        path, lambda xml: re.sub(rf'(<c r="{version}"[^>]*>)<v>[^<]*</v>', rf"\g<1><v>{'9' * 5000}</v>", xml)
    )
    with pytest.raises(SpreadsheetRejected) as caught:
        import_reply_file(
            scenario.uow, scenario.notifier(scenario.uow), scenario.clock, scenario.config, path
        )
    assert [str(p) for p in caught.value.problems] == [
        f"row {first}: a number of more than 4,300 digits: type it as text"
    ]
    assert scenario.update("A1.1") is None

"""`followup import` of a Word report and of a sheet of recommendations, as the secretariat runs it."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.report_documents import write_docx
from tests.support import CliRun, followup_in_process, said
from workflows import bootstrap
from workflows.services import owners as owners_file

SAMPLE = Path(__file__).resolve().parents[2] / "db" / "seed" / "CEB-2014-4-Annex-V.md"


@pytest.fixture
def followup(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRun]:
    """Run `followup ...` in-process against this test's own database (registry loaded)."""
    yield from followup_in_process(database_url, tmp_path / "home", monkeypatch)


def _stored(database_url: str, source: str) -> dict[str, tuple]:
    with bootstrap.uow(database_url) as uow:
        recs = uow.recommendations.list(source=source)
        return {
            r.code: (r.kind, r.text, r.parent_code, r.agenda_point, r.agenda_title, r.theme) for r in recs
        }


def test_the_sample_imported_from_word_then_markdown_is_the_same_items(
    followup, database_url: str, tmp_path: Path
) -> None:
    word = write_docx(SAMPLE.read_text(encoding="utf-8"), tmp_path / "CEB-2014-4-Annex-V.docx")
    first = followup("import", str(word), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == 85
    again = followup("import", str(SAMPLE), "--json")
    summary = json.loads(again.stdout)
    assert (summary["added"], summary["updated"], summary["unchanged"]) == (0, 0, 85)


def _fill(path: Path, rows: list[list[str]]) -> None:
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    sheet["B1"] = "XYZ/2030/7"
    for row in rows:
        sheet.append(row)
    book.save(path)


def _sheet(followup: CliRun, path: Path, rows: list[list[str]]) -> Path:
    """`followup import template` at `path` (.xlsx, or .csv for report XYZ/2030/7) with `rows` added."""
    if path.suffix == ".csv":
        followup("import", "template", "--out", str(path), "--source", "XYZ/2030/7")
        with path.open("a", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
    else:
        followup("import", "template", "--out", str(path))
        _fill(path, rows)
    return path


GOOD_ROWS = [
    ["R1", "Strengthen coordination of the follow-up.", "", "", "", "ILO", ""],
    [
        "R1.a",
        "Share data every year.",
        "",
        "",
        "R1",
        "ILO: lead; IOM: contributor",
        "2031-03-31 First data shared",
    ],
    [
        "P2.1",
        "Reduce remittance costs.",
        "2. Reduce the costs of labour migration",
        "Remittances",
        "",
        "UNCTAD, WORLD-BANK",
        "2031-06-30 Expert meeting on remittances\n2031-12-31 Report published [WORLD-BANK]",
    ],
]


def test_a_filled_template_imports_items_owners_and_milestones(
    followup, database_url: str, tmp_path: Path
) -> None:
    template = tmp_path / "recommendations.xlsx"
    made = followup("import", "template", "--out", str(template))
    assert made.exit_code == 0 and template.exists()
    _fill(template, GOOD_ROWS)
    result = followup("import", str(template))
    assert result.exit_code == 0, result.output
    assert "2 milestones added" not in said(result.stdout) and "3 milestones added" in said(result.stdout)
    stored = _stored(database_url, "XYZ/2030/7")
    assert stored["R1.a"] == ("strategic", "Share data every year.", "R1", None, None, None)
    assert stored["P2.1"][0] == "annex" and stored["P2.1"][3:] == (
        2,
        "Reduce the costs of labour migration",
        "Remittances",
    )
    exported = followup("owners", "export").stdout
    assert "UNCTAD: lead" in exported and "WORLD-BANK: contributor" in exported
    assert "Report published" in exported and "agency: WORLD-BANK" in exported


def test_a_csv_sheet_imports_like_the_workbook(followup, database_url: str, tmp_path: Path) -> None:
    template = tmp_path / "recommendations.csv"
    assert followup("import", "template", "--out", str(template), "--source", "XYZ/2030/7").exit_code == 0
    with template.open("a", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(GOOD_ROWS)
    result = followup("import", str(template), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert [item["code"] for item in json.loads(result.stdout)] == ["R1", "R1.a", "P2.1"]
    assert _stored(database_url, "XYZ/2030/7") == {}
    assert followup("import", str(template)).exit_code == 0
    assert list(_stored(database_url, "XYZ/2030/7")) == ["R1", "R1.a", "P2.1"]


def test_a_sheet_with_bad_rows_reports_every_problem_by_row_and_column_and_stores_nothing(
    followup, database_url: str, tmp_path: Path
) -> None:
    template = tmp_path / "recommendations.xlsx"
    followup("import", "template", "--out", str(template))
    _fill(
        template,
        [
            ["R1", "A good row.", "", "", "", "ILO", ""],
            ["R1", "", "", "", "", "", ""],
            ["R 2", "Text.", "two", "", "R9", "NOBODY", "tomorrow Meeting"],
            ["R3", "Text.", "", "", "", "ILO: contributor", "2031-02-30 Meeting [ILO]"],
        ],
    )
    result = followup("import", str(template))
    assert result.exit_code == 1
    shown = said(result.stderr)
    for problem in (
        "row 6, column A (Code): R1 appears twice (also row 5)",
        "row 6, column B (Text): the text is missing",
        "row 7, column A (Code): 'R 2' is not a code",
        "row 7, column C (Agenda point): 'two' is not an agenda point",
        "row 7, column E (Parent): 'R9' is not the code of an earlier row",
        "row 7, column F (Owners): unknown agency 'NOBODY'",
        "row 7, column G (Milestones): 'tomorrow Meeting' does not start with a date",
        "row 8, column F (Owners): R3 needs exactly one lead (found 0)",
        "row 8, column G (Milestones): '2031-02-30' is not a date",
    ):
        assert problem in shown
    assert "9 problems, nothing was imported" in shown, shown
    assert _stored(database_url, "XYZ/2030/7") == {}


def test_a_sheet_with_a_problem_on_every_row_lists_the_first_fifty_and_counts_the_rest(
    followup, tmp_path: Path
) -> None:
    template = _sheet(followup, tmp_path / "recommendations.xlsx", [[f"R{n}", ""] for n in range(1, 121)])
    result = followup("import", str(template))
    assert result.exit_code == 1
    shown = said(result.stderr)
    assert "120 problems, nothing was imported" in shown
    assert "row 54, column B (Text): the text is missing" in shown
    assert "row 55," not in shown and "... and 70 more" in shown


def test_codes_that_differ_only_in_punctuation_are_refused_in_a_sheet_and_across_imports(
    followup, database_url: str, tmp_path: Path
) -> None:
    # The published site has one page per code, named from it: X1.2 and X1-2 would be one page.
    rows = [["X1.2", "One.", "", "", "", "", ""], ["x1-2", "Two.", "", "", "", "", ""]]
    template = _sheet(followup, tmp_path / "recommendations.xlsx", rows)
    refused = followup("import", str(template))
    assert refused.exit_code == 1
    assert "row 6, column A (Code): x1-2 differs from X1.2 (row 5) only in case or punctuation" in said(
        refused.stderr
    )
    first = _sheet(followup, tmp_path / "first.xlsx", [["X1.2", "Text.", "", "", "", "", ""]])
    later = _sheet(followup, tmp_path / "later.xlsx", [["X1-2", "Text.", "", "", "", "", ""]])
    assert followup("import", str(first)).exit_code == 0
    again = followup("import", str(later))
    assert again.exit_code == 1
    assert "code: X1-2 differs from X1.2 only in case or punctuation" in said(again.stderr)
    assert list(_stored(database_url, "XYZ/2030/7")) == ["X1.2"]


def test_a_new_report_named_like_a_stored_one_but_for_punctuation_is_refused(
    followup, database_url: str, tmp_path: Path
) -> None:
    template = _sheet(followup, tmp_path / "recommendations.csv", GOOD_ROWS)
    assert followup("import", str(template)).exit_code == 0
    mistyped = followup("import", str(template), "--source", "xyz-2030-7")
    assert mistyped.exit_code == 1
    assert "'xyz-2030-7' differs from the stored report 'XYZ/2030/7' only in case or punctuation" in said(
        mistyped.stderr
    )
    assert _stored(database_url, "xyz-2030-7") == {}
    assert followup("import", str(template)).exit_code == 0  # the report itself, again: amended in place


def test_a_sheet_whose_owners_cannot_be_stored_leaves_no_recommendation_behind(
    followup, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = _sheet(followup, tmp_path / "recommendations.xlsx", GOOD_ROWS)

    def owners_step_fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away while storing owners")

    monkeypatch.setattr(owners_file, "apply_plans", owners_step_fails)
    result = followup("import", str(template))
    assert isinstance(result.exception, RuntimeError)
    assert _stored(database_url, "XYZ/2030/7") == {}


def test_a_sheet_cell_holding_a_control_character_is_refused_by_row_and_column(
    followup, database_url: str, tmp_path: Path
) -> None:
    # A workbook cannot hold one (openpyxl refuses to write it); a CSV file can.
    template = _sheet(
        followup,
        tmp_path / "recommendations.csv",
        [["R1", "Share data\x01 every year.", "", "", "", "ILO", ""]],
    )
    result = followup("import", str(template))
    assert result.exit_code == 1
    assert "row 5, column B (Text): contains the control character U+0001" in said(result.stderr)
    assert _stored(database_url, "XYZ/2030/7") == {}


def test_an_agenda_title_or_theme_longer_than_its_column_is_refused_by_row_and_column(
    followup, database_url: str, tmp_path: Path
) -> None:
    # PostgreSQL refused them with a raw driver error; SQLite stored them whole.
    template = _sheet(
        followup,
        tmp_path / "recommendations.xlsx",
        [["R1", "Text.", f"3. {'T' * 301}", "H" * 301, "", "ILO", ""]],
    )
    result = followup("import", str(template))
    assert result.exit_code == 1
    shown = said(result.stderr)
    assert "row 5, column C (Agenda point): the agenda point's title is longer than 300 characters" in shown
    assert "row 5, column D (Theme): longer than 300 characters" in shown
    assert _stored(database_url, "XYZ/2030/7") == {}


def test_a_template_source_that_looks_like_a_formula_stays_text_in_a_workbook_and_is_refused_in_a_csv(
    followup, tmp_path: Path
) -> None:
    formula = '=HYPERLINK("http://example.org","XYZ")'
    workbook = tmp_path / "recommendations.xlsx"
    assert followup("import", "template", "--source", formula, "--out", str(workbook)).exit_code == 0
    sheet = load_workbook(workbook).active
    assert sheet is not None
    assert (sheet["B1"].value, sheet["B1"].data_type) == (formula, "s")
    table = tmp_path / "sheets" / "recommendations.csv"
    refused = followup("import", "template", "--source", formula, "--out", str(table))
    assert refused.exit_code == 1
    assert "--source" in said(refused.stderr) and "formula" in said(refused.stderr)
    assert not table.parent.exists()


def test_a_sheet_without_its_header_row_or_report_is_refused(followup, tmp_path: Path) -> None:
    sheet = tmp_path / "items.csv"
    sheet.write_text("Code;Recommendation\nR1;Do it.\n", encoding="utf-8")
    result = followup("import", str(sheet))
    assert result.exit_code == 1
    shown = said(result.stderr)
    assert "row 1, column B: the report is missing" in shown
    assert "the header row (starting with 'Code')" not in shown or "column 'Text' is missing" in shown


def test_the_demo_milestone_file_is_the_reviewed_output_of_milestones_suggest(
    followup, database_url: str, tmp_path: Path
) -> None:
    seed = SAMPLE.parent
    assert followup("import", str(SAMPLE)).exit_code == 0
    assert followup("owners", "suggest", "--apply").exit_code == 0
    assert followup("owners", "apply", str(seed / "demo-owners.yaml")).exit_code == 0
    proposed = tmp_path / "milestones.yaml"
    shown = followup("milestones", "suggest", str(SAMPLE), "--out", str(proposed))
    assert shown.exit_code == 0, shown.output
    assert "18 milestones proposed" in said(shown.stdout) and "nothing stored" in said(shown.stdout)
    # Regenerate with the same commands (see workflows/demo.py) and review the diff if this fails.
    assert proposed.read_text(encoding="utf-8") == (seed / "demo-milestones.yaml").read_text(encoding="utf-8")
    applied = followup("owners", "apply", str(seed / "demo-milestones.yaml"))
    assert applied.exit_code == 0 and "18 milestones added" in said(applied.stdout)
    again = followup("milestones", "suggest", str(SAMPLE), "--apply")
    assert "0 milestones stored; 18 were already there" in said(again.stdout)


def test_applied_suggestions_keep_their_sentence_and_section_in_the_history(
    followup, database_url: str
) -> None:
    assert followup("import", str(SAMPLE)).exit_code == 0
    result = followup("milestones", "suggest", str(SAMPLE), "--apply")
    assert result.exit_code == 0 and "18 milestones stored" in said(result.stdout)
    with bootstrap.uow(database_url) as uow:
        rec = uow.recommendations.get("CEB/2014/4 Annex V", "A2.2")
        assert rec is not None and rec.id is not None
        meeting = next(
            m for m in uow.milestones.for_recommendation(rec.id) if m.title.startswith("Expert Meeting")
        )
        assert (meeting.due_date.isoformat(), meeting.agency_code, meeting.state) == (
            "2014-11-10",
            "UNCTAD",
            "planned",
        )
        (entry,) = uow.history.for_key("milestone", meeting.history_key())
    assert entry.why == "suggested from the report"
    assert entry.data["section"] == "2.2 Reduce the costs of labour migration"
    assert "on 10-14 November 2014 in Geneva" in entry.data["sentence"]


def test_suggesting_milestones_for_a_report_not_imported_says_so(followup) -> None:
    result = followup("milestones", "suggest", str(SAMPLE))
    assert result.exit_code == 1
    assert "report 'CEB/2014/4 Annex V' is not imported: run `followup import` first" in said(result.stderr)

"""Property tests of the file entries: arbitrary bytes or workbooks give a clear error or a result, no crash.

The entries: reply files (.csv and .xlsx, read and imported), reports for import (`followup import`:
.md, .docx, .pdf, and sheets of recommendations as .xlsx or .csv), the agency registry and the
owners file. "A clear error" is the project's ValidationError, naming the file.
"""

from __future__ import annotations

import io
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty

from domain.errors import ValidationError
from domain.importer import parse_report
from tests.support import CYCLE, Scenario, office_zip
from workflows.cli.catalogue import SHEET_SUFFIXES
from workflows.services import reply_template, report_sheet, spreadsheets
from workflows.services.agencies import parse_registry
from workflows.services.catalogue import store_report
from workflows.services.intake import text_file
from workflows.services.owners import apply_owners
from workflows.services.report_files import read_report
from workflows.services.sheet_files import MARK_PROPERTY, read_table

HEADERS = [c.header for c in reply_template.COLUMNS]
# Cell values a workbook can hold: formulas and lookalikes, Unicode digits, huge numbers, dates, blanks.
# (Text a workbook can store: XML forbids most control characters, so openpyxl refuses to write them.)
sheet_text = st.text(st.characters(blacklist_categories=["Cc", "Cs"]), max_size=60)
cell_values = st.one_of(
    st.none(),
    sheet_text,
    st.sampled_from(["=1+1", "=> no change", "²", "9" * 5000, "A1.1", "A1.2", "In progress", "Completed"]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1)),
)
rows = st.lists(st.lists(cell_values, max_size=len(HEADERS) + 2), max_size=8)
# Either a sheet from scratch or one that starts as a reply sheet does, to reach the deeper checks.
preambles = st.sampled_from([[], [["Cycle", CYCLE], ["Agency", "AAA"], [], HEADERS]])
marks = st.one_of(st.none(), sheet_text.filter(bool))


def workbook_bytes(preamble: list[list[Any]], body: list[list[Any]], mark: str | None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in preamble + body:
        sheet.append(row)
    if mark is not None:
        book.custom_doc_props.append(StringProperty(name=MARK_PROPERTY, value=mark))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def written(name: str, data: bytes) -> Path:
    """`data` saved as a file called `name`, in a folder of its own."""
    path = Path(tempfile.mkdtemp(prefix="entry-")) / name
    path.write_bytes(data)
    return path


def clear_error_or_result(entry: Any, *args: Any) -> None:
    """Run a file entry: a result or a ValidationError with a message are the only outcomes allowed."""
    try:
        entry(*args)
    except ValidationError as exc:
        assert exc.message.strip() and exc.field.strip(), exc


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_arbitrary_bytes_as_a_reply_file_are_read_or_refused_clearly(data: bytes, suffix: str) -> None:
    clear_error_or_result(read_table, written(f"reply{suffix}", data))


@settings(max_examples=60, deadline=None)
@given(preamble=preambles, body=rows, mark=marks)
def test_arbitrary_workbooks_are_read_as_text_cells_never_evaluated(
    preamble: list[list[Any]], body: list[list[Any]], mark: str | None
) -> None:
    sheet = read_table(written("reply.xlsx", workbook_bytes(preamble, body, mark)))
    assert all(isinstance(cell, str) for row in sheet.rows for cell in row)
    assert sheet.mark == mark


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(preamble=preambles, body=rows, mark=marks, as_agency=st.sampled_from([None, "AAA", "BBB"]))
def test_arbitrary_workbooks_imported_give_a_clear_error_or_an_import(
    scenario: Scenario,
    preamble: list[list[Any]],
    body: list[list[Any]],
    mark: str | None,
    as_agency: str | None,
) -> None:
    s = scenario
    path = written("reply.xlsx", workbook_bytes(preamble, body, mark))
    clear_error_or_result(
        lambda: spreadsheets.import_reply_file(
            s.uow, s.notifier(s.uow), s.clock, s.config, path, as_agency=as_agency
        )
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_imported_as_a_csv_reply_give_a_clear_error_or_an_import(
    scenario: Scenario, data: bytes
) -> None:
    s = scenario
    path = written("reply.csv", b"Cycle,%s\r\nAgency,AAA\r\n" % CYCLE.encode() + data)
    clear_error_or_result(
        lambda: spreadsheets.import_reply_file(
            s.uow, s.notifier(s.uow), s.clock, s.config, path, as_agency="AAA"
        )
    )


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=3000) | st.text(max_size=400).map(str.encode))
def test_arbitrary_bytes_as_a_report_are_imported_or_refused_clearly(data: bytes) -> None:
    clear_error_or_result(lambda: parse_report(text_file(written("report.md", data)), filename="report.md"))


def import_report(s: Scenario, path: Path) -> None:
    """What `followup import PATH` does: a sheet of recommendations, or a report read and stored."""
    if path.suffix in SHEET_SUFFIXES:
        report_sheet.import_sheet(s.uow, path, source=None, clock=s.clock, by="test")
    else:
        store_report(s.uow, parse_report(read_report(path), filename=path.name), clock=s.clock, by="test")


xml_text = st.one_of(
    st.binary(max_size=400),
    st.sampled_from(
        [
            b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaa">]><w:document>&a;</w:document>',
            b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            b"<w:body><w:p><w:r><w:t>1. Point</w:t></w:r></w:p></w:body></w:document>",
            b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
        ]
    ),
)
# Bytes as they come, and bytes that start as each format does, to reach the parsers behind the checks.
report_bytes = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=400).map(str.encode),
    st.binary(max_size=2000).map(lambda tail: b"%PDF-1.7\n" + tail),
    st.dictionaries(
        st.sampled_from(
            ["[Content_Types].xml", "word/document.xml", "word/numbering.xml", "xl/workbook.xml"]
        ),
        xml_text,
        max_size=4,
    ).map(office_zip),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=report_bytes, suffix=st.sampled_from([".md", ".docx", ".pdf", ".xlsx", ".csv"]))
def test_arbitrary_bytes_given_to_followup_import_are_imported_or_refused_clearly(
    scenario: Scenario, data: bytes, suffix: str
) -> None:
    clear_error_or_result(import_report, scenario, written(f"report{suffix}", data))


# A recommendations sheet from scratch, or one that starts as the template does.
sheet_preambles = st.sampled_from(
    [[], [[report_sheet.REPORT_LABEL, "CEB/2014/4"], [], [], [c.header for c in report_sheet.COLUMNS]]]
)
sheet_cells = st.one_of(
    cell_values,
    st.sampled_from(
        ["A1.1", "AAA", "AAA: lead, BBB", "BBB: owner", "2026-02-30 Meeting", "2027-01-15 Plan [BBB]"]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    preamble=sheet_preambles,
    body=st.lists(st.lists(sheet_cells, max_size=len(report_sheet.COLUMNS) + 1), max_size=8),
)
def test_arbitrary_recommendation_sheets_are_imported_or_refused_clearly(
    scenario: Scenario, preamble: list[list[Any]], body: list[list[Any]]
) -> None:
    clear_error_or_result(
        import_report, scenario, written("recommendations.xlsx", workbook_bytes(preamble, body, None))
    )


yaml_like = st.one_of(
    st.binary(max_size=1000),
    st.text(
        st.sampled_from("agencies:recommendations:owners:lead-[]{}&*!<<>|#'\"\n 0123456789ILOé"), max_size=300
    ).map(str.encode),
)


@settings(max_examples=200, deadline=None)
@given(data=yaml_like)
def test_arbitrary_bytes_as_a_registry_file_are_loaded_or_refused_clearly(data: bytes) -> None:
    clear_error_or_result(
        lambda: parse_registry(text_file(written("agencies.yaml", data)), source="agencies.yaml")
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=yaml_like | st.sampled_from([b"recommendations: {A1.1: {owners: {AAA: lead}}}"]))
def test_arbitrary_bytes_as_an_owners_file_are_applied_or_refused_clearly(
    scenario: Scenario, data: bytes
) -> None:
    s = scenario
    clear_error_or_result(
        lambda: apply_owners(s.uow, text_file(written("owners.yaml", data)), clock=s.clock, by="test")
    )


@pytest.mark.parametrize("name", ["reply.csv", "reply.xlsx", "report.md"])
def test_a_folder_given_as_a_file_is_refused_by_name(tmp_path: Path, name: str) -> None:
    (tmp_path / name).mkdir()
    entry = read_table if name.startswith("reply") else text_file
    with pytest.raises(ValidationError, match=f"(?s){name}.*folder"):
        entry(tmp_path / name)

"""Word and PDF reports: the sample report made into a real Word file and a PDF gives the Markdown's items."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from domain.errors import ValidationError
from domain.importer import parse_report
from tests.report_documents import soffice, write_docx, write_pdf
from workflows.services import report_files
from workflows.services.report_files import read_report

SAMPLE = Path(__file__).resolve().parents[2] / "db" / "seed" / "CEB-2014-4-Annex-V.md"


def _items(text: str) -> list[tuple[object, ...]]:
    report = parse_report(text)
    return [
        (report.source, i.code, i.kind, i.parent, i.text, i.agenda_point, i.agenda_title, i.theme)
        for i in report.items
    ]


@pytest.fixture(scope="module")
def word_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_docx(SAMPLE.read_text(encoding="utf-8"), tmp_path_factory.mktemp("word") / "sample.docx")


@pytest.fixture(scope="module")
def pdf_report(word_report: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed: it prints the Word report to PDF")
    return write_pdf(word_report, tmp_path_factory.mktemp("pdf"))


def test_the_sample_report_in_word_gives_exactly_the_markdown_items(word_report: Path) -> None:
    expected = _items(SAMPLE.read_text(encoding="utf-8"))
    assert len(expected) == 85
    assert _items(read_report(word_report)) == expected


def test_word_list_markers_come_from_the_numbering_definitions_with_their_levels(word_report: Path) -> None:
    text = read_report(word_report)
    # The Word file holds no marker text: roman items, lettered sub-items and nested bullets come
    # from numPr/ilvl and the numbering part, restarted for each recommendation.
    assert "- ii. In order to ensure the inclusion of migration" in text
    assert "\n - a. Request the UNDG" in text
    assert "\n - Urge States to support the inclusion of an indicator" in text
    assert "\n8. Enhance migration partnerships and cooperation\n" in text
    assert "ⁱ" not in text and "1990. In recent years" in text  # footnote marks dropped


def test_the_sample_report_as_a_pdf_gives_exactly_the_markdown_items(pdf_report: Path) -> None:
    assert _items(read_report(pdf_report)) == _items(SAMPLE.read_text(encoding="utf-8"))


def test_pdf_page_headers_footers_and_footnote_marks_are_dropped(pdf_report: Path) -> None:
    lines = read_report(pdf_report).splitlines()
    assert lines.count("CEB/2014/4") == 1  # the document symbol on the title page, not the running header
    assert not [line for line in lines if line.strip().isdigit()]  # page numbers
    assert any(line.startswith("In 2013, 232 million people") and "1990. In recent" in line for line in lines)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("report.docx", b"not a zip at all", "not a Word document"),
        ("report.pdf", b"<html>not a pdf</html>", "not a PDF file"),
        ("report.pdf", b"%PDF-1.7\n garbage", "not a readable PDF"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused_naming_it(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=f"{name}: {message}"):
        read_report(path)


def test_the_demos_word_copy_of_the_sample_gives_the_markdown_items() -> None:
    # db/seed/CEB-2014-4-Annex-V.docx is written by `python -m tests.report_documents`.
    word = SAMPLE.with_suffix(".docx")
    assert _items(read_report(word)) == _items(SAMPLE.read_text(encoding="utf-8"))


def _word_copy(word: Path, out: Path, part: str, content: bytes) -> Path:
    """A copy of the Word report with one part's content replaced."""
    with zipfile.ZipFile(word) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for member in source.infolist():
            copy.writestr(member.filename, content if member.filename == part else source.read(member))
    return out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>', "declares a DTD"),
        (b" " * (10 * 1024 * 1024), "refused as a possible zip bomb"),
    ],
)
def test_a_word_report_with_a_dtd_or_inflating_like_a_zip_bomb_is_refused_before_python_docx_reads_it(
    word_report: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    hostile = _word_copy(word_report, tmp_path / "hostile.docx", "word/document.xml", content)
    with pytest.raises(ValidationError, match=f"hostile.docx: .*{message}"):
        read_report(hostile)


def test_a_pdf_report_over_the_page_limit_is_refused_naming_it(
    pdf_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_files, "MAX_PDF_PAGES", 1)
    with pytest.raises(ValidationError, match=f"{pdf_report.name}: more than 1 pages"):
        read_report(pdf_report)


def test_a_folder_or_an_oversized_file_given_as_a_report_is_refused_by_the_guarded_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "folder.docx").mkdir()
    with pytest.raises(ValidationError, match=r"folder\.docx: is a folder"):
        read_report(tmp_path / "folder.docx")
    monkeypatch.setattr(report_files, "MAX_TEXT_BYTES", 10)
    (tmp_path / "big.md").write_text("1. A point with a long title\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"big\.md: the file is too large"):
        read_report(tmp_path / "big.md")

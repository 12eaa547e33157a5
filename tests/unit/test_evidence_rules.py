"""The rules of evidence files: a file is what its content says, named as such, within the limits."""

from __future__ import annotations

import pytest

from domain.evidence import (
    KIND_OF_KEY,
    KINDS,
    NAME_MAX,
    OOXML_MAIN,
    EvidenceLimits,
    FileFacts,
    Sniffer,
    clean_name,
    human_size,
    judge_count,
    judge_file,
    ooxml_kind,
    site_name,
)
from tests.support import compound_file, office_zip, ooxml_package, sample_file

LIMITS = EvidenceLimits(max_bytes=10 * 1024 * 1024, max_files=5)


def facts_of(content: bytes, *, chunk: int = 4096, limits: EvidenceLimits = LIMITS) -> FileFacts:
    """What streaming `content` in chunks finds (the zip parts read as the service reads them)."""
    import io
    import zipfile

    sniffer = Sniffer(limits.max_bytes)
    for start in range(0, len(content), chunk):
        sniffer.feed(content[start : start + chunk])
        if sniffer.over_limit:
            break
    ooxml = None
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            names = frozenset(package.namelist())
            types = package.read("[Content_Types].xml").decode() if "[Content_Types].xml" in names else ""
        ooxml = ooxml_kind(names, types)
    return sniffer.facts(ooxml)


@pytest.mark.parametrize("kind", [kind.key for kind in KINDS])
def test_a_file_of_each_accepted_kind_is_recognised_by_its_content_under_its_own_extension(kind: str) -> None:
    extension = KIND_OF_KEY[kind].extensions[0]
    accepted, problem = judge_file(f"evidence{extension}", facts_of(sample_file(kind)), LIMITS)
    assert problem is None and accepted is not None and accepted.key == kind


def test_a_png_named_pdf_is_refused_naming_the_file_and_what_it_really_is() -> None:
    accepted, problem = judge_file("report.pdf", facts_of(sample_file("png")), LIMITS)
    assert accepted is None
    assert str(problem) == "'report.pdf' is not a PDF document: its content is a PNG image"


def test_a_macro_workbook_renamed_xlsx_is_refused_as_none_of_the_kinds_accepted() -> None:
    macro = ooxml_package("xl/workbook.xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    accepted, problem = judge_file("budget.xlsx", facts_of(macro), LIMITS)
    assert accepted is None and "is not an Excel workbook: its content is none of the kinds accepted" in str(
        problem
    )


def test_a_word_document_named_pptx_is_refused_though_both_are_office_packages() -> None:
    assert ooxml_kind(frozenset(["[Content_Types].xml", "ppt/presentation.xml"]), "") is None
    accepted, problem = judge_file("slides.pptx", facts_of(sample_file("docx")), LIMITS)
    assert accepted is None and "its content is a Word document" in str(problem)


def test_a_zip_without_the_office_parts_is_not_a_word_document() -> None:
    package = office_zip({"word/document.xml": "<w/>"})  # no [Content_Types].xml
    accepted, problem = judge_file("notes.docx", facts_of(package), LIMITS)
    assert accepted is None and "is not a Word document" in str(problem)


def test_an_old_office_file_is_the_kind_whose_main_stream_its_directory_names() -> None:
    for key, main in (("doc", "WordDocument"), ("xls", "Workbook"), ("ppt", "PowerPoint Document")):
        assert facts_of(compound_file(main)).content_kinds == (key,)
    accepted, problem = judge_file("minutes.doc", facts_of(compound_file("Workbook")), LIMITS)
    assert accepted is None and "its content is an Excel 97-2003 workbook" in str(problem)


def test_a_stream_name_split_between_two_chunks_is_still_found() -> None:
    content = compound_file("PowerPoint Document")
    at = content.index("Point".encode("utf-16-le"))
    for chunk in (at, at + 1, 7):
        assert facts_of(content, chunk=chunk).content_kinds == ("ppt",), chunk


@pytest.mark.parametrize(
    "content, why",
    [
        (b"caf\xe9 au lait\n", "not UTF-8"),
        (b"a\x00b\n", "a NUL byte"),
        (b"MZ\x90\x00\x03", "a program"),
    ],
)
def test_plain_text_must_be_utf8_without_nul(content: bytes, why: str) -> None:
    accepted, problem = judge_file("notes.txt", facts_of(content), LIMITS)
    assert (
        accepted is None
        and str(problem) == "'notes.txt' is not plain text: its content is none of the kinds accepted"
    ), why


def test_a_utf8_sequence_cut_by_a_chunk_boundary_is_still_text() -> None:
    content = "é".encode() * 3000
    assert facts_of(content, chunk=4097).content_kinds == ("text",)


@pytest.mark.parametrize("name", ["setup.exe", "page.html", "image.svg", "README", "archive.zip"])
def test_a_name_with_an_extension_not_accepted_is_refused_listing_what_is(name: str) -> None:
    accepted, problem = judge_file(name, facts_of(b"plain words\n"), LIMITS)
    assert accepted is None
    assert str(problem).startswith(f"'{name}' is not a kind of file accepted as evidence; attach PDF, Word")


def test_a_file_over_the_limit_is_refused_and_reading_stops_there() -> None:
    small = EvidenceLimits(max_bytes=1000, max_files=5)
    facts = facts_of(b"%PDF-1.4\n" + bytes(5000), chunk=512, limits=small)
    assert not facts.complete and facts.size < 2000
    accepted, problem = judge_file("big.pdf", facts, small)
    assert (
        accepted is None and str(problem) == "'big.pdf' is larger than 1,000 bytes, the most a file may have"
    )
    assert judge_file("full.pdf", facts_of(b"%PDF-1.4\n" + bytes(991), limits=small), small)[1] is None


def test_an_empty_file_is_refused() -> None:
    accepted, problem = judge_file("empty.pdf", facts_of(b""), LIMITS)
    assert accepted is None and str(problem) == "'empty.pdf' is empty"


def test_the_files_past_an_answers_limit_are_each_named_as_one_too_many() -> None:
    assert judge_count(["a.pdf", "b.pdf"], 3, LIMITS) == []
    messages = judge_count(["a.pdf", "b.pdf", "c.pdf"], 3, LIMITS)
    assert [str(message) for message in messages] == [
        "'c.pdf' is one too many: an answer may have at most 5 files (3 attached already); remove one first"
    ]
    assert len(judge_count(["a.pdf"], 7, LIMITS)) == 1


def test_the_sha256_is_that_of_the_whole_file() -> None:
    import hashlib

    content = sample_file("docx")
    assert facts_of(content, chunk=1000).sha256 == hashlib.sha256(content).hexdigest()


def test_a_name_keeps_its_last_path_part_and_loses_control_characters() -> None:
    assert clean_name("C:\\Users\\me\\Desktop\\Report 2025.pdf") == "Report 2025.pdf"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("tab\there\nnew\u202eline.txt") == "tab here new line.txt"
    assert clean_name("...") == "file"
    long = clean_name("x" * 400 + ".pdf")
    assert len(long) == NAME_MAX and long.endswith(".pdf")


def test_a_site_name_is_safe_in_any_url_and_keeps_the_extension() -> None:
    assert site_name("Annual report 2025.PDF") == "annual-report-2025.pdf"
    assert site_name("<script>.txt") == "script.txt"
    assert site_name("résumé") == "r-sum"


def test_sizes_read_as_people_write_them() -> None:
    assert [human_size(n) for n in (1, 12, 2048, 10 * 1024 * 1024, 1288490)] == [
        "1 byte",
        "12 bytes",
        "2 KB",
        "10 MB",
        "1.2 MB",
    ]


def test_every_office_open_xml_kind_has_its_main_part() -> None:
    for key, (main, content_type) in OOXML_MAIN.items():
        assert ooxml_kind(frozenset(["[Content_Types].xml", main]), f'ContentType="{content_type}"') == key

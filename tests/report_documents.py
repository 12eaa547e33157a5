"""Write a report in the Markdown convention as a real Word document (Word numbering) and as a PDF.

The Word file has what a secretariat receives: numbered lists from numbering definitions (roman
items with lettered sub-items, bullets with nested bullets, numbered agenda points), footnote
markers as superscript, a running header and page numbers. LibreOffice prints it to PDF.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Pt

from domain.importer import roman

_FOOTNOTE = re.compile(
    r"\^\{([^}]*)\}|\^([0-9ivxlcIVXLC]+)|([\u2071\u1d5b\u02e3\u00b9\u00b2\u00b3\u2070\u2074-\u2079]+)"
)
_SUPERSCRIPT_LETTERS = str.maketrans("\u2071\u1d5b\u02e3\u00b9\u00b2\u00b3\u2070", "ivx1230")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")
_BULLET = re.compile(r"^(\s*)[-*]\s+(.*)$")
_MARKED = re.compile(r"^([ivxlc]{1,7}|[a-z])\.\s+(.*)$")
_POINT = re.compile(r"^([0-9]{1,2})\.\s+(?![0-9])(.*)$")

_LEVELS = {
    "marked": (("lowerRoman", "%1."), ("lowerLetter", "%2.")),
    "bullet": (("bullet", "\u2022"), ("bullet", "\u25e6")),
    "decimal": (("decimal", "%1."),),
}


class _Lists:
    """Numbering definitions written into the document, one list instance per list in the text."""

    def __init__(self, document: object) -> None:
        self.numbering = document.part.numbering_part.element  # type: ignore[attr-defined]
        self.next_id = 100
        self.abstract: dict[str, int] = {}

    def new_list(self, kind: str) -> int:
        """A new list (a w:num) of `kind`: its numbering starts again at 1 (as Word restarts a list)."""
        if kind not in self.abstract:
            levels = "".join(
                f'<w:lvl w:ilvl="{n}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
                f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
                f'<w:pPr><w:ind w:left="{720 * (n + 1)}" w:hanging="360"/></w:pPr></w:lvl>'
                for n, (fmt, text) in enumerate(_LEVELS[kind])
            )
            abstract = parse_xml(
                f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{self.next_id}">'
                f'<w:multiLevelType w:val="multilevel"/>{levels}</w:abstractNum>'
            )
            first_num = self.numbering.find(qn("w:num"))
            if first_num is None:
                self.numbering.append(abstract)
            else:
                first_num.addprevious(abstract)  # the schema wants every abstractNum before the nums
            self.abstract[kind] = self.next_id
            self.next_id += 1
        num_id = self.next_id
        self.next_id += 1
        self.numbering.append(
            parse_xml(
                f'<w:num {nsdecls("w")} w:numId="{num_id}">'
                f'<w:abstractNumId w:val="{self.abstract[kind]}"/>'
                '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
            )
        )
        return num_id


def write_docx(markdown: str, path: Path) -> Path:
    """The report as a Word document with real list numbering, footnote marks and page furniture."""
    document = Document()
    document.styles["Normal"].paragraph_format.space_after = Pt(8)
    section = document.sections[0]
    section.header.paragraphs[0].text = "CEB/2014/4"
    section.footer.paragraphs[0]._p.append(
        parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>')
    )
    lists = _Lists(document)
    paragraph = None
    list_kind: str | None = None
    num_id = 0
    romans = 0
    appendix_points: int | None = None
    for line in markdown.splitlines():
        if not line.strip():
            paragraph = None
            continue
        bullet = _BULLET.match(line)
        point = _POINT.match(line.strip()) if appendix_points is not None else None
        if bullet:
            content = bullet.group(2)
            marked = _MARKED.match(content)
            kind = "marked" if marked else "bullet"
            if list_kind != kind:
                num_id, list_kind, romans = lists.new_list(kind), kind, 0
            if marked:
                level = 0 if marked.group(1) == roman(romans + 1) else 1
                romans += level == 0
                content = marked.group(2)
            else:
                level = 1 if bullet.group(1) else 0
            paragraph = document.add_paragraph()
            _number(paragraph, num_id, level)
            _add_text(paragraph, content)
            continue
        if point:
            if not appendix_points:
                appendix_points = lists.new_list("decimal")
            paragraph = document.add_paragraph()
            _number(paragraph, appendix_points, 0)
            _add_text(paragraph, point.group(2))
            list_kind, paragraph = None, None
            continue
        if paragraph is not None:
            paragraph.add_run().add_break()  # a wrapped line: the same paragraph
        else:
            paragraph = document.add_paragraph()
            if line.strip()[:1].isupper():
                list_kind = None  # a new paragraph ends the list; the rest of an item cut by a page does not
        _add_text(paragraph, line.strip())
        if line.strip() == "Appendix":
            appendix_points = 0
    document.save(str(path))
    return path


def _number(paragraph: object, num_id: int, level: int) -> None:
    p_pr = paragraph._p.get_or_add_pPr()  # type: ignore[attr-defined]
    p_pr.append(
        parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>')
    )


def _add_text(paragraph: object, text: str) -> None:
    """Text with markdown emphasis and escapes out and footnote markers as superscript runs."""
    at = 0
    for mark in _FOOTNOTE.finditer(text):
        paragraph.add_run(_plain(text[at : mark.start()]))  # type: ignore[attr-defined]
        label = next(g for g in mark.groups() if g).translate(_SUPERSCRIPT_LETTERS)
        paragraph.add_run(label).font.superscript = True  # type: ignore[attr-defined]
        at = mark.end()
    paragraph.add_run(_plain(text[at:]))  # type: ignore[attr-defined]


def _plain(text: str) -> str:
    return _ESCAPE.sub(r"\1", text).replace("*", "")


def soffice() -> str | None:
    """LibreOffice's command, if it is installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def write_pdf(docx: Path, out_dir: Path) -> Path:
    """Print the Word document to PDF with LibreOffice (its own profile: parallel runs do not clash)."""
    command = soffice()
    assert command is not None
    profile = out_dir / "lo-profile"
    subprocess.run(
        [
            command,
            f"-env:UserInstallation={profile.resolve().as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out_dir),
            str(docx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return out_dir / (docx.stem + ".pdf")


if __name__ == "__main__":  # regenerate the demo's Word copy of the sample report
    seed = Path(__file__).resolve().parents[1] / "db" / "seed"
    written = write_docx(
        (seed / "CEB-2014-4-Annex-V.md").read_text(encoding="utf-8"), seed / "CEB-2014-4-Annex-V.docx"
    )
    print(f"wrote {written}")

"""A report file (.md/.txt, .docx, .pdf) -> its text in the importer's Markdown convention.

The bytes come through the guarded entry (`intake.file_bytes`: a regular file of at most
`intake.MAX_TEXT_BYTES`). A .docx gets the checks of every Office file (`intake.office_package`: a
zip holding word/document.xml, no zip bomb, no DTD in its XML) before python-docx reads it; a .pdf
must start with `%PDF-` and have at most `MAX_PDF_PAGES` pages. Whatever a parser raises on a
malformed file becomes a ValidationError naming the file.

Word and PDF reports are rewritten line by line into the convention `domain.importer` reads, so
that the same report gives the same items whatever its format:

- Word: one line per paragraph; a numbered or bulleted paragraph gets the marker its numbering
  definition (numPr/ilvl, on the paragraph or its style) would print: "- i. ", "- a. " or "- " for
  bullets (indented by list level), "1. " for a decimal top level (agenda points). Footnote
  references and superscript markers are dropped; page headers and footers are not body text.
- PDF: lines grouped into paragraphs by their spacing and indentation; text in a smaller font
  raised above the line (footnote markers) is dropped, and so are lines repeated at the same place
  on several pages (running headers, footers, page numbers).
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.errors import ValidationError
from domain.importer import decode_report, roman
from workflows.services.intake import DOCX, MAX_TEXT_BYTES, file_bytes, office_package

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
MAX_PDF_PAGES = 500


def read_report(path: Path) -> str:
    """The report at `path` as text in the importer's convention; a ValidationError names a bad file."""
    data = file_bytes(path, max_bytes=MAX_TEXT_BYTES)  # the guarded entry: a regular file, not too large
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return docx_text(data, path.name)
    if suffix == ".pdf":
        return pdf_text(data, path.name)
    return decode_report(data, name=path.name)


# ---- Word ------------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_FOOTNOTE_TEXT = re.compile(r"^\s*(?:[0-9]{1,3}|[ivxlcIVXLC]{1,7}|[*\u2020\u2021])\s*$")


@dataclass(frozen=True)
class _Level:
    """One level of a Word list definition: how its number is written."""

    fmt: str
    text: str
    start: int


@dataclass
class _Numbering:
    """Word's numbering definitions and, while reading, each list's counters."""

    abstract_of: dict[str, str]  # numId -> abstractNumId
    levels: dict[str, dict[int, _Level]]  # numId -> ilvl -> level
    starts: dict[str, dict[int, int]]  # numId -> ilvl -> startOverride
    style_numbering: dict[str, tuple[str, int]]  # styleId -> (numId, ilvl)
    # As in Word, the lists of one abstract definition share their counters unless a list restarts
    # them (a startOverride, applied where that list is first used).
    counters: dict[str, dict[int, int]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, document: Any) -> _Numbering:
        """Read the numbering part and the styles' numbering of a python-docx Document."""
        abstract: dict[str, dict[int, _Level]] = {}
        abstract_of: dict[str, str] = {}
        levels: dict[str, dict[int, _Level]] = {}
        starts: dict[str, dict[int, int]] = {}
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            numbering = None
        if numbering is not None:
            for node in numbering.iter(f"{_W}abstractNum"):
                abstract[node.get(f"{_W}abstractNumId")] = {
                    int(lvl.get(f"{_W}ilvl", "0")): _Level(
                        _val(lvl, "numFmt") or "decimal",
                        _val(lvl, "lvlText") or "",
                        int(_val(lvl, "start") or "1"),
                    )
                    for lvl in node.iter(f"{_W}lvl")
                }
            for node in numbering.iter(f"{_W}num"):
                num_id = node.get(f"{_W}numId")
                abstract_of[num_id] = _val(node, "abstractNumId") or ""
                levels[num_id] = abstract.get(abstract_of[num_id], {})
                starts[num_id] = {
                    int(o.get(f"{_W}ilvl", "0")): int(_val(o, "startOverride") or "1")
                    for o in node.iter(f"{_W}lvlOverride")
                    if _val(o, "startOverride")
                }
        style_numbering: dict[str, tuple[str, int]] = {}
        based_on: dict[str, str] = {}
        styles = document.styles.element
        for style in styles.iter(f"{_W}style"):
            style_id = style.get(f"{_W}styleId")
            num_pr = style.find(f"{_W}pPr/{_W}numPr")
            if num_pr is not None and _val(num_pr, "numId"):
                style_numbering[style_id] = (_val(num_pr, "numId") or "", int(_val(num_pr, "ilvl") or "0"))
            if _val(style, "basedOn"):
                based_on[style_id] = _val(style, "basedOn") or ""
        for style_id in list(based_on):  # a style inherits its base style's numbering
            seen, base = {style_id}, based_on.get(style_id)
            while style_id not in style_numbering and base and base not in seen:
                if base in style_numbering:
                    style_numbering[style_id] = style_numbering[base]
                seen.add(base)
                base = based_on.get(base)
        return cls(abstract_of, levels, starts, style_numbering)

    def marker(self, paragraph: Any) -> tuple[str, int] | None:
        """The list marker Word prints before `paragraph` and its level, or None if it is not in a list."""
        p_pr = paragraph._p.pPr
        num_pr = p_pr.find(f"{_W}numPr") if p_pr is not None else None
        style_id = _val(p_pr, "pStyle") if p_pr is not None else None
        num_id, ilvl = self.style_numbering.get(style_id or "", (None, 0))
        if num_pr is not None:
            num_id = _val(num_pr, "numId") or num_id
            ilvl = int(_val(num_pr, "ilvl") or ilvl)
        if not num_id or num_id == "0" or num_id not in self.levels:
            return None
        level = self.levels[num_id].get(ilvl)
        if level is None:
            return None
        counters = self.counters.setdefault(self.abstract_of[num_id], {})
        if num_id not in self.used:
            self.used.add(num_id)
            for depth, start in self.starts[num_id].items():
                counters[depth] = start - 1
        counters[ilvl] = counters.get(ilvl, level.start - 1) + 1
        for deeper in [d for d in counters if d > ilvl]:
            del counters[deeper]  # a new item restarts the lists nested under the previous one
        if level.fmt in ("bullet", "none"):
            return "", ilvl
        label = level.text
        for depth, count in counters.items():
            fmt = self.levels[num_id].get(depth, level).fmt
            label = label.replace(f"%{depth + 1}", _format_number(count, fmt))
        return label.strip(), ilvl


def _val(node: Any, tag: str) -> str | None:
    child = node.find(f"{_W}{tag}")
    return child.get(f"{_W}val") if child is not None else None


def _format_number(count: int, fmt: str) -> str:
    if fmt == "lowerRoman":
        return roman(count)
    if fmt == "upperRoman":
        return roman(count).upper()
    if fmt in ("lowerLetter", "upperLetter"):
        letter = "abcdefghijklmnopqrstuvwxyz"[(count - 1) % 26] * ((count - 1) // 26 + 1)
        return letter if fmt == "lowerLetter" else letter.upper()
    return str(count)


def docx_text(data: bytes, name: str) -> str:
    """A Word report's body as text in the convention, list markers taken from its numbering."""
    from docx import Document  # python-docx costs ~0.2 s to import: only Word imports pay it

    office_package(data, name, DOCX)  # the checks every Office file gets before a parser sees it
    lines: list[str] = []
    try:
        document = Document(io.BytesIO(data))
        numbering = _Numbering.of(document)
        for paragraph in document.paragraphs:
            text = _paragraph_text(paragraph._p)
            marked = numbering.marker(paragraph)
            if not text.strip():
                continue
            lines.append(_list_line(marked, text) if marked else text.strip())
            lines.append("")
    except Exception as exc:
        # python-docx raises many types for a malformed package, and a numbering definition with a
        # level such as "x" fails int(): all mean "unreadable".
        raise ValidationError(name, f"not a readable Word document ({type(exc).__name__})") from None
    return "\n".join(lines)


def _list_line(marked: tuple[str, int], text: str) -> str:
    label, level = marked
    if re.fullmatch(r"[0-9]+\.", label) and level == 0:
        return f"{label} {text.strip()}"  # a numbered heading: an agenda point "1. Title"
    indent = " " * level
    return f"{indent}- {label} {text.strip()}" if label else f"{indent}- {text.strip()}"


def _paragraph_text(p: Any) -> str:
    """The paragraph's text: runs (in hyperlinks too), tabs and breaks; footnote marks left out."""
    parts: list[str] = []
    for run in p.iter(f"{_W}r"):
        r_pr = run.find(f"{_W}rPr")
        raised = r_pr is not None and _val(r_pr, "vertAlign") == "superscript"
        pieces = []
        for child in run:
            if child.tag == f"{_W}t":
                pieces.append(child.text or "")
            elif child.tag == f"{_W}tab":
                pieces.append(" ")
            elif child.tag in (f"{_W}br", f"{_W}cr"):
                pieces.append("\n")
        text = "".join(pieces)
        if raised and _FOOTNOTE_TEXT.match(text):
            continue  # a footnote or endnote marker typed as superscript
        parts.append(text)
    return "".join(parts)


# ---- PDF -------------------------------------------------------------------------------------------

_BULLET_GLYPHS = "\u2022\u25e6\u25aa\u2023\u2219\u00b7\u2013\u2014-\u25cf\u25cb\u25a0\uf0b7\uf0a7\uf0d8"
_LIST_MARKER = re.compile(r"^(?:\(?([ivxlc]{1,7}|[a-z])[.)]|([0-9]{1,3})\.)\s+\S")


@dataclass
class _Line:
    """One line of a PDF page, with where it sits."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float


def pdf_text(data: bytes, name: str) -> str:
    """A PDF report's text in the convention: paragraphs rebuilt, page furniture and footnote marks out."""
    import pdfplumber  # pdfminer is slow to import: only PDF imports pay it

    if not data[:1024].lstrip().startswith(b"%PDF-"):
        raise ValidationError(name, "not a PDF file")
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) > MAX_PDF_PAGES:
                raise ValidationError(name, f"more than {MAX_PDF_PAGES} pages")
            pages = [_page_lines(page) for page in pdf.pages]
    except ValidationError:
        raise
    except Exception as exc:  # pdfminer raises many types for a malformed file: all mean "unreadable"
        raise ValidationError(name, f"not a readable PDF ({type(exc).__name__})") from None
    body = _without_furniture(pages)
    return "\n".join(_paragraphs(body))


def _page_lines(page: Any) -> list[_Line]:
    sizes = Counter(round(c["size"], 1) for c in page.chars if c["text"].strip())
    if not sizes:
        return []
    body_size = sizes.most_common(1)[0][0]
    # Footnote markers are set smaller and raised: drop characters well below the body size.
    page = page.filter(lambda obj: obj.get("object_type") != "char" or obj["size"] >= 0.8 * body_size)
    return [
        _Line(line["text"].strip(), line["x0"], line["x1"], line["top"], line["bottom"])
        for line in page.extract_text_lines(layout=False, strip=True, return_chars=False)
        if line["text"].strip()
    ]


def _without_furniture(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Drop lines found at the same height on several pages (running headers, footers, page numbers)."""

    def key(line: _Line) -> tuple[str, int]:
        return re.sub(r"[0-9]+", "#", line.text), round(line.top / 3)

    if len(pages) < 2:
        return pages
    seen = Counter(k for page in pages for k in {key(line) for line in page})
    return [[line for line in page if seen[key(line)] < 2] for page in pages]


def _paragraphs(pages: Iterable[list[_Line]]) -> list[str]:
    """Lines joined into paragraphs, one per line, separated by blank lines; list items marked."""
    out: list[str] = []
    current: list[str] = []
    previous: _Line | None = None
    indent = 0.0  # where a paragraph's lines start, or a list item's marker
    in_list = False
    margin = min((line.x0 for page in pages for line in page), default=0.0)
    right = max((line.x1 for page in pages for line in page), default=0.0)

    def flush() -> None:
        if current:
            out.extend([" ".join(current), ""])
            current.clear()

    for number, page in enumerate(pages):
        for index, line in enumerate(page):
            marker = _marker_line(line.text, line.x0 - margin)
            if current and previous is not None and marker is None:
                # A list item's lines hang right of its marker; a paragraph's lines start together.
                aligned = line.x0 > indent + 4 if in_list else abs(line.x0 - indent) < 4
                if index == 0 and number > 0:
                    # Across a page break a paragraph continues if its last line ran to the margin.
                    continues = aligned and previous.x1 >= right - 12
                else:
                    pitch = previous.bottom - previous.top
                    continues = aligned and line.top - previous.bottom < 0.6 * pitch
                if continues and re.search(r"[A-Za-z]-$", current[-1]):
                    current[-1] += line.text  # a line broken after a hyphen ("post-/2015") is one word
                    previous = line
                    continue
                if continues:
                    current.append(line.text)
                    previous = line
                    continue
            flush()
            current.append(marker if marker is not None else line.text)
            indent, in_list = line.x0, marker is not None
            previous = line
    flush()
    return out


def _marker_line(text: str, offset: float) -> str | None:
    """A line that starts a list item, rewritten in the convention ("- i. ...", "- ...", "1. ...")."""
    level = " " * max(int(offset // 18) - 1, 0)
    if text[:1] in _BULLET_GLYPHS and text[1:2].isspace():
        return f"{level}- {text[1:].strip()}"
    match = _LIST_MARKER.match(text)
    if match is None or offset < 6:  # a numbered list is indented; prose at the margin is not a list
        return None
    return text if match.group(2) else f"{level}- {text}"

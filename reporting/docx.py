"""The stock-take as a Word document (python-docx) in the form of a Committee document.

A4 with UN margins, a serif body (Times New Roman, Liberation Serif where it is missing), the
committee's heading block, symbol and date, "Note by the secretariat", a table of contents field,
numbered paragraphs and a closing section on the action requested. Named styles (Title, Heading
1-3, Table) in black, not Word's blue defaults; tables with column widths from their content
summing to the text width, numbers right-aligned, header rows repeated and rows never split.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import IO, BinaryIO, NewType

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.shared import Cm, Emu, Pt, RGBColor
from docx.text.paragraph import Paragraph
from lxml import etree

from domain.language import ENGLISH, N_, Words
from domain.stocktake import EVIDENCE_ANNEX, STATUS_ORDER, ItemReport, StockTake
from reporting.charts import response_figures, status_figure
from reporting.outline import SECRETARIAT, Wording, document_date, heading_lines, outline, wording
from reporting.package import ILLEGAL_IN_XML, spliced, xml_text
from reporting.pictures import drawn, png_size

PICTURE_DPI = 150  # the charts' resolution in Word: sharp in print at the text width (16 cm)
# From this many recommendations on, the pictures are drawn by a child process while the body is
# written; below, here: the child's start (Python and the imports, about 0.6 s) costs more than the
# drawing it takes off a smaller report (measured in `docs/performance.md`).
DRAWN_ASIDE_FROM = 25_000
FLAG = "B3261E"  # the colour of disagreements and overdue marks
SERIF = "Times New Roman"  # LibreOffice substitutes the metric-compatible Liberation Serif
TABLE_FONT = Pt(9)
CHAR_TWIPS = 85  # the mean width of a lower-case letter of 9-point serif text, in twips
CAPITAL_TWIPS = 140  # and of a capital letter or digit (generous: a broken code reads badly)
LABEL_TWIPS = 25 * CHAR_TWIPS  # a text cell this wide or narrower is a label, kept on one line
WANT_MAX_TWIPS = 60 * CHAR_TWIPS  # a column is never widened for more than this on one line
CELL_MARGIN_TWIPS = 57  # 0.1 cm each side
SHORT_TABLE_ROWS = 12  # a table of this many rows or fewer is kept on one page (a longer one breaks)
_NUMBER = re.compile(r"^-?\d+(\s?%| of \d+)?$")  # French writes 78 %

# WordprocessingML text, built as strings: a run, a paragraph, a table (see `_Writer`).
Xml = NewType("Xml", str)

# Tab and line breaks become Word's own elements (as python-docx does), the rest is text.
_BREAKS = re.compile(r"(\t|\r\n|\r|\n)")
# A break, or a character to escape or drop (`package.xml_text`): most runs have none, found with one
# search instead of two (a large report has a million runs; `docs/performance.md`).
_NOT_PLAIN = re.compile(f"[\t\r\n&<>{ILLEGAL_IN_XML}]")


def _field(paragraph: Paragraph, instruction: str) -> None:
    # A simple field (PAGE, NUMPAGES): Word computes the value when it lays the document out.
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    placeholder = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    placeholder.append(text)
    field.append(placeholder)
    paragraph._p.append(field)


def run(text: object, *, bold: bool = False, italic: bool = False, colour: str | None = None) -> Xml:
    """A `w:r` of `text`, as python-docx writes one: tabs and line breaks as elements, XML escaped."""
    properties = (
        ("<w:b/>" if bold else "")
        + ("<w:i/>" if italic else "")
        + (f'<w:color w:val="{colour}"/>' if colour else "")
    )
    opening = f"<w:r><w:rPr>{properties}</w:rPr>" if properties else "<w:r>"
    text = str(text)
    if not _NOT_PLAIN.search(text):  # most runs: one piece of text as it is (or none)
        return Xml(f'{opening}<w:t xml:space="preserve">{text}</w:t></w:r>' if text else f"{opening}</w:r>")
    parts = [opening]
    for piece in _BREAKS.split(text):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece and piece in "\r\n":
            parts.append("<w:br/>")
        elif piece:
            parts.append(f'<w:t xml:space="preserve">{xml_text(piece)}</w:t>')
    parts.append("</w:r>")
    return Xml("".join(parts))


def column_widths(
    header: Sequence[str], rows: Sequence[Sequence[object]], total: int, numeric: Sequence[bool]
) -> list[int]:
    """Widths in twips from the content, summing to `total`: no word broken, text columns wide.

    Each column gets at least its longest word (header or short cell: a number, a code); then, as
    far as the page allows, its whole header and longest cell on one line; what is still left
    widens the text columns (all columns alike when every column holds numbers).
    """
    columns = len(numeric)
    cells = [[str(row[n]) for row in rows] for n in range(columns)]
    floor, want = [], []
    for n in range(columns):
        head = header[n] if header else ""
        # The header is bold: a tenth wider. Words repeat from row to row: each is measured once.
        words = [_twips(w) * 11 // 10 for w in head.split()]
        words += [_twips(w) for w in {w for text in cells[n] for w in text.split() if len(w) <= 14}]
        floor.append(max(words, default=CHAR_TWIPS) + 2 * CELL_MARGIN_TWIPS)
        longest = max(_widest(cells[n], WANT_MAX_TWIPS), _twips(head) * 11 // 10)
        want.append(min(longest, WANT_MAX_TWIPS) + 2 * CELL_MARGIN_TWIPS)
    if sum(floor) >= total:  # too many columns for the page: shrink every floor alike
        return _exact([f * total // sum(floor) for f in floor], total)
    widths = list(floor)
    # First the short labels of text columns ("Agenda point 1", an agency's code) on one line,
    # then every header and cell on one line as far as the page allows.
    label = [0 if number else min(w, LABEL_TWIPS) for w, number in zip(want, numeric, strict=True)]
    for target in (label, want):
        extra = [max(t - w, 0) for t, w in zip(target, widths, strict=True)]
        spare = total - sum(widths)
        scale = min(1.0, spare / sum(extra)) if sum(extra) else 0.0
        widths = [w + int(e * scale) for w, e in zip(widths, extra, strict=True)]
    # What is still left widens the text columns (every column alike when all hold numbers).
    left = total - sum(widths)
    weights = [0 if number else w for w, number in zip(want, numeric, strict=True)]
    if not sum(weights):
        weights = [1] * columns
    widths = [w + left * x // sum(weights) for w, x in zip(widths, weights, strict=True)]
    return _exact(widths, total)


def _widest(texts: Sequence[str], cap: int) -> int:
    """The printed width of the widest of `texts`, or `cap` if one is at least that wide.

    Only texts nearly as long as the longest are measured: a character is at most
    CAPITAL_TWIPS / CHAR_TWIPS times as wide as another, so a much shorter text cannot be wider.
    """
    longest = max(map(len, texts), default=0)
    if longest * CHAR_TWIPS >= cap:
        return cap
    shortest = longest * CHAR_TWIPS // CAPITAL_TWIPS
    return max((_twips(text) for text in texts if len(text) >= shortest), default=0)


def _twips(text: str) -> int:
    """The printed width of `text` in table type, capitals and digits counted wider."""
    if text.isascii():  # most text: its narrow characters dropped in one call, the wide ones counted
        wide = len(text.encode().translate(None, _NARROW_ASCII))
    else:
        wide = sum(1 for c in text if c.isupper() or c.isdigit())
    return CHAR_TWIPS * len(text) + (CAPITAL_TWIPS - CHAR_TWIPS) * wide


_NARROW_ASCII = bytes(b for b in range(128) if not (chr(b).isupper() or chr(b).isdigit()))


def _exact(widths: list[int], total: int) -> list[int]:
    # Rounding leaves a few twips over or under: the widest column takes them.
    widest = widths.index(max(widths))
    widths[widest] += total - sum(widths)
    return widths


class _Writer:
    """Writes the body as WordprocessingML text, the same XML python-docx would build.

    python-docx builds each paragraph, run and cell through several Python objects and an element
    tree: minutes and gigabytes for a large cycle. python-docx makes the skeleton (styles, footer
    fields, the pictures' parts, section); the body is written as text straight into the saved
    package's document.xml (`reporting.package.spliced`), a few thousand elements at a time.
    """

    def __init__(self, document: DocumentObject, sink: IO[bytes], drawings: dict[str, list[Xml]]) -> None:
        self.sink = sink
        self.drawings = drawings  # the pictures, by name, registered with the package already
        self.pending: list[str] = []
        # Style ids (not names) are what the XML refers to.
        names = (
            "Title",
            "Subtitle",
            "Caption",
            "Table",
            "Table text",
            "Numbered paragraph",
            "Quote",
            "Heading block",
        )
        self.styles = {name: document.styles[name].style_id for name in names}
        self.styles.update(
            {f"Heading {level}": document.styles[f"Heading {level}"].style_id for level in (1, 2, 3)}
        )
        self.width_twips = document._block_width.twips

    def add(self, xml: str) -> None:
        """Append body XML; every few thousand pieces, write them to the package."""
        self.pending.append(xml)
        if len(self.pending) >= 4096:
            self.flush()

    def heading(self, text: str, level: int) -> None:
        self.paragraph(run(text), style=f"Heading {level}")

    def text(self, text: str, style: str | None = None) -> None:
        """A paragraph of plain text."""
        self.paragraph(run(text), style=style)

    def numbered(self, number: int, text: str, *, keep_next: bool = False) -> None:
        """A numbered paragraph of the body: "12.<tab>text", with a hanging indent."""
        self.paragraph(run(f"{number}.\t{text}"), style="Numbered paragraph", keep_next=keep_next)

    def paragraph(
        self, *runs: Xml, style: str | None = None, align: str | None = None, keep_next: bool = False
    ) -> None:
        properties = (
            (f'<w:pStyle w:val="{self.styles[style]}"/>' if style else "")
            + ("<w:keepNext/>" if keep_next else "")
            + (f'<w:jc w:val="{align}"/>' if align else "")
        )
        self.add(f"<w:p>{f'<w:pPr>{properties}</w:pPr>' if properties else ''}{''.join(runs)}</w:p>")

    def page_break(self) -> None:
        self.add('<w:p><w:r><w:br w:type="page"/></w:r></w:p>')

    def table(self, header: Sequence[str] | None, rows: Sequence[Sequence[object]]) -> None:
        """A table across the text width, columns sized from their content, numbers right-aligned.

        The header row (when given) is bold and repeated on every page; no row splits across pages.
        """
        if not rows and not header:
            return
        columns = len(header) if header else len(rows[0])
        numeric = [bool(rows) and all(_NUMBER.match(str(row[n])) for row in rows) for n in range(columns)]
        widths = column_widths(header or (), rows, self.width_twips, numeric)
        self.add(
            "".join(
                [
                    f'<w:tbl><w:tblPr><w:tblStyle w:val="{self.styles["Table"]}"/>'
                    f'<w:tblW w:type="dxa" w:w="{self.width_twips}"/><w:tblLayout w:type="fixed"/>'
                    f'<w:tblCellMar><w:left w:w="{CELL_MARGIN_TWIPS}" w:type="dxa"/>'
                    f'<w:right w:w="{CELL_MARGIN_TWIPS}" w:type="dxa"/></w:tblCellMar>'
                    '<w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0" '
                    'w:noHBand="0" w:noVBand="1" w:val="04A0"/></w:tblPr><w:tblGrid>',
                    *(f'<w:gridCol w:w="{w}"/>' for w in widths),
                    "</w:tblGrid>",
                ]
            )
        )
        # Each cell's opening, up to its run: the same for every row of a column. A short table is
        # kept on one page: each row's paragraphs keep with the next row's, the last row's excepted.
        cell_text = self.styles["Table text"]
        right = '<w:jc w:val="right"/>'

        def openings(keep_next: bool) -> list[str]:
            keep = "<w:keepNext/>" if keep_next else ""
            return [
                f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{width}"/></w:tcPr><w:p><w:pPr>'
                f'<w:pStyle w:val="{cell_text}"/>{keep}{right if number else ""}</w:pPr>'
                for width, number in zip(widths, numeric, strict=True)
            ]

        short = len(rows) <= SHORT_TABLE_ROWS
        kept, last = openings(keep_next=short), openings(keep_next=False)

        def cells(values: Sequence[object], bold: bool, opening: list[str]) -> str:
            return "".join(
                f"{start}{run(value, bold=bold)}</w:p></w:tc>"
                for start, value in zip(opening, values, strict=True)
            )

        if header:
            cells_of_header = cells(header, True, kept if rows else last)
            self.add(f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{cells_of_header}</w:tr>")
        for n, values in enumerate(rows, start=1):
            if len(values) != len(widths):
                raise ValueError(f"a row of {len(values)} cells in a table of {len(widths)} columns")
            row = cells(values, False, last if n == len(rows) else kept)
            self.add(f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{row}</w:tr>")
        self.add("</w:tbl>")
        # A short gap after the table, so the next heading or paragraph does not touch it; its mark is
        # 1 pt high, so after a table that fills the last page it cannot start a blank page of its own.
        self.add(
            f'<w:p><w:pPr><w:pStyle w:val="{cell_text}"/>'
            '<w:spacing w:before="0" w:after="120" w:line="20" w:lineRule="exact"/>'
            '<w:rPr><w:sz w:val="2"/></w:rPr></w:pPr></w:p>'
        )

    def picture(self, name: str, caption: str) -> None:
        """A chart across the text width (one picture a page), with its caption below."""
        drawings = self.drawings[name]
        for n, drawing in enumerate(drawings, start=1):
            keep = "<w:pPr><w:keepNext/></w:pPr>" if n == len(drawings) else ""
            self.add(f"<w:p>{keep}<w:r><w:drawing>{drawing}</w:drawing></w:r></w:p>")
        # The caption goes with the picture above it, not with what follows (a table's caption, above
        # its table, keeps with the next paragraph: the style's rule).
        style = self.styles["Caption"]
        self.add(
            f'<w:p><w:pPr><w:pStyle w:val="{style}"/><w:keepNext w:val="0"/></w:pPr>{run(caption)}</w:p>'
        )

    def toc(self, entries: Sequence[str]) -> None:
        """A table-of-contents field (Word fills it on F9); until then it lists the parts' titles."""
        begin = '<w:r><w:fldChar w:fldCharType="begin" w:dirty="true"/></w:r>'
        code = '<w:r><w:instrText xml:space="preserve"> TOC \\o "1-2" \\h \\z \\u </w:instrText></w:r>'
        separate = '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        end = '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        lines = "".join(f"{run(entry)}<w:r><w:br/></w:r>" for entry in entries)
        self.add(f"<w:p>{begin}{code}{separate}{lines}{end}</w:p>")

    def flush(self) -> None:
        """Write what is pending into the package, as UTF-8."""
        self.sink.write("".join(self.pending).encode())
        self.pending.clear()


def _picture(document: DocumentObject, size: tuple[int, int]) -> tuple[str, Xml]:
    """A picture across the text width, of `size` pixels: its part in the package, left empty until
    its PNG is drawn (`reporting.pictures`), and its `wp:inline`, as `add_picture` makes them."""
    partname = document.part.package.next_partname("/word/media/image%d.png")
    part = Part(partname, CONTENT_TYPE.PNG, b"", document.part.package)
    r_id = document.part.relate_to(part, RELATIONSHIP_TYPE.IMAGE)
    width = document._block_width
    height = Emu(round(width * size[1] / size[0]))
    inline = CT_Inline.new_pic_inline(partname.idx or 0, r_id, partname.filename, width, height)
    return partname.membername, Xml(etree.tostring(inline, encoding=str))


def _heading_block(w: _Writer, st: StockTake, say: Wording) -> None:
    w.paragraph(run(st.cycle.symbol or "", bold=True), style="Heading block", align="right")
    w.paragraph(run(document_date(st, say)), style="Heading block", align="right")
    for number, line in enumerate(heading_lines(st, say)):
        w.paragraph(run(line, bold=number < 2), style="Heading block")
    w.text(say.text(st.title), "Title")
    w.text(say.gettext("Note by the secretariat"), "Subtitle")


def _item(w: _Writer, item: ItemReport, say: Wording) -> None:
    w.heading(f"{item.code}  {item.short_title}", 3)
    was = f" {say.change_note(item)}" if item.change is not None else ""
    flags = [run(say.gettext("Status:") + " "), run(say.status(item.status_key), bold=True), run(was)]
    if item.disagreement:
        flags.append(run("  " + say.gettext("assessment differs"), bold=True, colour=FLAG))
    w.paragraph(*flags)
    if item.text_beyond_title:
        w.text(item.text, "Quote")
    for o in item.owners:
        if not o.answered:
            w.paragraph(run(say.answer_line(o, o.display), bold=True))
            continue
        runs = [run(f"{say.answer_line(o, o.display)} ", bold=True), run(o.narrative)]
        if o.obstacle:
            runs.append(run("\n" + say.gettext("Obstacle:") + f" {o.obstacle}"))
        if o.assessment_rationale:
            runs.append(run("\n" + say.gettext("Secretariat:") + f" {o.assessment_rationale}"))
        w.paragraph(*runs)
    if item.milestones:
        runs = [run(say.gettext("Milestones:") + " ")]
        for n, m in enumerate(item.milestones):
            owner = f" ({m.owner})" if m.owner else ""
            runs.append(run(f"{'; ' if n else ''}{m.due_date} {m.title}{owner}, "))
            runs.append(run(say.text(m.shown_state), bold=m.overdue, colour=FLAG if m.overdue else None))
        w.paragraph(*runs, run("."))
    if item.evidence:
        w.text(say.gettext("Evidence:") + " " + "; ".join(item.evidence))
    if item.evidence_files:
        w.text(
            say.gettext("Evidence files:") + " " + "; ".join(say.text(f.said) for f in item.evidence_files)
        )


def _part_body(w: _Writer, st: StockTake, key: str, say: Wording) -> None:
    """What follows a part's numbered paragraphs: its tables, charts or recommendations in full."""
    f, _ = st.figures, say.gettext
    if key == "figures":
        rows = [(say.text(s.label), *c.values(), sum(c.values())) for s, c in st.status_by_section()]
        rows.append((_("All"), *f.status_counts.values(), f.items))
        w.text(_("Table 1. Status by agenda point"), "Caption")
        w.table((_("Agenda point"), *map(say.status, STATUS_ORDER), _("Total")), rows)
        # The chart beside the table it draws, as in the HTML report (and, on the page, where a
        # table's rows can break to the next page but a picture cannot).
        w.picture("status", _("Figure 1. Status by agenda point (same figures as Table 1)."))
        if st.previous:
            w.text(say.say(N_("Table 2. Change since %(cycle)s"), cycle=st.previous.title), "Caption")
            w.table(
                (_("Change"), _("Recommendations")),
                [
                    (_("Changed status"), f.changed),
                    (_("of which newly completed"), f.newly_completed),
                    (_("of which newly blocked"), f.newly_blocked),
                    (_("Unchanged"), f.unchanged),
                    (_("Reported for the first time"), f.first_report),
                    (_("Not reported on by their lead"), f.not_reported),
                    (_("Total"), f.items),
                ],
            )
    elif key in ("completed", "blocked", "changes"):
        chosen = {"completed": st.newly_completed, "blocked": st.blocked, "changes": st.other_changes}[key]
        for item in chosen:
            _item(w, item, say)
    elif key == "disagreements" and st.disagreements:
        w.table(
            (_("Code"), _("Agency"), _("Agency's status"), _("Secretariat's status"),
             _("Secretariat's rationale")),
            [
                (item.code, o.agency_code, say.status(o.reported_status), say.status(o.assessed_status),
                 o.assessment_rationale)
                for item, o in st.disagreements
            ],
        )  # fmt: skip
    elif key == "unreported" and st.unreported:
        w.table(
            (_("Agency"), _("Name"), _("Not reported on"), _("Recommendations")),
            [(a.code, a.name, len(codes), ", ".join(codes)) for a, codes in st.unreported],
        )
    elif key == "closed" and st.closed:
        w.table(
            (_("Code"), _("Recommendation"), _("Closed as"), _("Why"), _("Closed on")),
            [(c.code, c.short_title, _(c.how_label), c.why, say.long_date(c.closed_on)) for c in st.closed],
        )
    elif key == "overdue" and st.overdue_items:
        w.table(
            (_("Code"), _("Milestone"), _("Due"), _("Owner"), _("Recommendation's status")),
            [
                (item.code, m.title, m.due_date, item.milestone_owner(m),
                 say.status(item.status_key))
                for item in st.overdue_items
                for m in item.overdue_milestones
            ],
        )  # fmt: skip


TABLE_PARTS = ("disagreements", "unreported", "overdue", "closed")  # parts whose paragraphs lead into a table

ANNEXES = (
    N_("Annex I. Response by agency"),
    N_("Annex II. Method"),
    N_("Annex III. Recommendations shown in one row"),
    N_("Annex IV. Evidence files"),
)


def _annexes(w: _Writer, st: StockTake, say: Wording) -> None:
    """The annexes: the response table and chart, the method, every other recommendation in one row."""
    _ = say.gettext
    w.page_break()
    w.heading(_(ANNEXES[0]), 1)
    w.table(
        (_("Agency"), _("Name"), _("Items answered"), _("Items asked"), _("Response rate")),
        [
            (
                a.code,
                a.name,
                a.items_answered,
                a.items_asked,
                _(a.response_note) if a.response_note else say.percent(a.rate),
            )
            for a in st.agencies
        ],
    )
    w.picture(
        "response",
        _(
            "Figure 2. Share of its items each agency answered (the table's figures, without the bodies "
            "the secretariat answers for)."
        ),
    )
    w.heading(_(ANNEXES[1]), 1)
    for paragraph in st.method:
        w.text(say.text(paragraph))
    w.heading(_(ANNEXES[2]), 1)
    w.text(_("Every recommendation not shown in full above: unchanged, or not reported on by its lead."))
    w.table(
        (_("Code"), _("Recommendation"), _("Lead"), _("Status"), _("Last answer")),
        [
            (
                item.code,
                item.short_title,
                item.lead.agency_code if item.lead else "",
                say.status(item.status_key),
                item.last_answered_on or "-",
            )
            for item in st.compact
        ],
    )
    if st.with_files:
        w.heading(_(ANNEXES[3]), 1)
        w.text(_(EVIDENCE_ANNEX))
        w.table(
            (_("Code"), _("Agency"), _("Files (size, SHA-256)")),
            [
                (item.code, o.agency_code, "; ".join(say.text(f.said) for f in o.files))
                for item, o in st.with_files
            ],
        )


def _styles(document: DocumentObject) -> None:
    """UN document styles: serif body, black headings, a Table style, numbered paragraphs."""
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name, normal.font.size = SERIF, Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), SERIF)
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (
        ("Title", 16),
        ("Subtitle", 12),
        ("Heading 1", 13),
        ("Heading 2", 12),
        ("Heading 3", 11),
    ):
        style = styles[name]
        style.font.name, style.font.size = SERIF, Pt(size)
        style.font.color.rgb = RGBColor(0, 0, 0)
        rfonts = style.element.rPr.rFonts
        for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            rfonts.attrib.pop(qn(attribute), None)  # a theme font would override the serif
        style.font.bold = name != "Subtitle"
        style.font.italic = name == "Subtitle"
        style.paragraph_format.keep_with_next = True
        style.paragraph_format.space_before = Pt(12 if name.startswith("Heading") else 0)
        style.paragraph_format.space_after = Pt(6)
    title = styles["Title"]
    title.paragraph_format.space_before = Pt(18)
    # Word's Title draws a blue rule under itself: a Committee document has none.
    border = title.element.pPr.find(qn("w:pBdr"))
    if border is not None:
        title.element.pPr.remove(border)
    for name, size in (("Quote", 10), ("Caption", 9)):
        styles[name].font.name, styles[name].font.size = SERIF, Pt(size)
        styles[name].font.color.rgb = RGBColor(0x33, 0x33, 0x33)
    styles["Caption"].font.bold = True
    styles["Caption"].paragraph_format.keep_with_next = True
    styles["Quote"].paragraph_format.left_indent = Cm(1)
    table = styles.add_style("Table", WD_STYLE_TYPE.TABLE)
    table.base_style = styles["Table Grid"]
    cell_text = styles.add_style("Table text", WD_STYLE_TYPE.PARAGRAPH)
    cell_text.base_style = normal
    cell_text.font.size = TABLE_FONT
    cell_text.paragraph_format.space_after = Pt(0)
    numbered = styles.add_style("Numbered paragraph", WD_STYLE_TYPE.PARAGRAPH)
    numbered.base_style = normal
    numbered.paragraph_format.left_indent = Cm(1)
    numbered.paragraph_format.first_line_indent = Cm(-1)
    numbered.paragraph_format.tab_stops.add_tab_stop(Cm(1))
    block = styles.add_style("Heading block", WD_STYLE_TYPE.PARAGRAPH)
    block.base_style = normal
    block.paragraph_format.space_after = Pt(0)


def _page(document: DocumentObject) -> None:
    """A4, UN margins (2.5 cm), footer with the symbol and page numbers."""
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2.5)
    section.left_margin = section.right_margin = Cm(2.5)


def write_docx(st: StockTake, handle: BinaryIO, words: Words = ENGLISH) -> None:
    """Write the report as .docx into `handle`, in `words`' language."""
    say = wording(words)
    title = say.text(st.title)
    document = Document()
    _styles(document)
    _page(document)
    produced = datetime.combine(st.produced_on, time(0, 0), tzinfo=UTC)
    properties = document.core_properties
    properties.title, properties.subject = title, st.cycle.symbol or st.cycle.name
    properties.author = properties.last_modified_by = say.gettext(SECRETARIAT)
    properties.language = words.language.value
    properties.comments = properties.keywords = properties.category = ""
    properties.created = properties.modified = produced
    properties.revision = 1

    footer = document.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    # "Page 3 of 12": the words around the two fields, as the language orders them.
    before, between, after = (
        say.gettext("Page %(page)s of %(pages)s").replace("%(pages)s", "%(page)s").split("%(page)s")
    )
    footer.text = f"{st.cycle.symbol or title}   {before}"
    _field(footer, "PAGE")
    footer.add_run(between)
    _field(footer, "NUMPAGES")
    if after:
        footer.add_run(after)

    # The pictures are parts of the package, their PNGs put into it after the body (for a large
    # report, drawn by a child process while the body is written). The response chart in page-sized
    # pictures: Word does not split a picture across pages.
    charts = [("status", status_figure(st, words))]
    charts += [("response", figure) for figure in response_figures(st, words)]
    placed = [(name, *_picture(document, png_size(figure, PICTURE_DPI))) for name, figure in charts]
    drawings: dict[str, list[Xml]] = {}
    for name, _, inline in placed:
        drawings.setdefault(name, []).append(inline)
    skeleton = io.BytesIO()
    aside = st.figures.items >= DRAWN_ASIDE_FROM
    with drawn([figure for _, figure in charts], dpi=PICTURE_DPI, aside=aside) as pngs:
        document.save(skeleton)
        later = {member: (lambda n=n: pngs()[n]) for n, (_, member, _) in enumerate(placed)}
        # The body's own sectPr is its last child: every other section break sits in a w:pPr.
        with spliced(skeleton.getvalue(), "word/document.xml", b"<w:sectPr", handle, later=later) as body:
            w = _Writer(document, body, drawings)
            _heading_block(w, st, say)
            parts = outline(st, say)
            w.heading(say.gettext("Contents"), 1)
            annexes = ANNEXES if st.with_files else ANNEXES[:3]  # the evidence annex only with files
            w.toc(
                [part.title for part in parts if part.level == 1] + [say.gettext(annex) for annex in annexes]
            )
            for part in parts:
                w.heading(part.title, part.level)
                for paragraph in part.paragraphs:
                    # A part that goes on with a table keeps its last paragraph on the table's page.
                    last = paragraph == part.paragraphs[-1]
                    w.numbered(paragraph.number, paragraph.text, keep_next=last and part.key in TABLE_PARTS)
                _part_body(w, st, part.key, say)
            _annexes(w, st, say)
            w.flush()


def render_docx(st: StockTake, words: Words = ENGLISH) -> bytes:
    """The report as .docx bytes (as `write_docx` writes them)."""
    buffer = io.BytesIO()
    write_docx(st, buffer, words)
    return buffer.getvalue()

"""The stock-take as a Word document (python-docx), ready for light editing before an HLCP session.

Real heading styles (Heading 1: parts, Heading 2: agenda points and annexes, Heading 3: each
recommendation) so Word's navigation pane shows the structure; real tables with repeating header
rows; page numbers from a PAGE field in the footer; the charts as PNG pictures.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time
from typing import NewType

from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

from domain.stocktake import STATUS_ORDER, Change, ItemReport, StockTake, long_date, status_label
from reporting.charts import response_figure, status_figure, to_png
from reporting.package import splice, xml_text

FLAG = "B3261E"  # the colour of disagreements and overdue marks

# WordprocessingML text, built as strings: a run, a paragraph, a table (see `_Writer`).
Xml = NewType("Xml", str)

# Tab and line breaks become Word's own elements (as python-docx does), the rest is text.
_BREAKS = re.compile(r"(\t|\r\n|\r|\n)")


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


def run(text: object, *, bold: bool = False, colour: str | None = None) -> Xml:
    """A `w:r` of `text`, as python-docx writes one: tabs and line breaks as elements, XML escaped."""
    properties = ("<w:b/>" if bold else "") + (f'<w:color w:val="{colour}"/>' if colour else "")
    parts = [f"<w:r><w:rPr>{properties}</w:rPr>" if properties else "<w:r>"]
    for piece in _BREAKS.split(str(text)):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece and piece in "\r\n":
            parts.append("<w:br/>")
        elif piece:
            parts.append(f'<w:t xml:space="preserve">{xml_text(piece)}</w:t>')
    parts.append("</w:r>")
    return Xml("".join(parts))


class _Writer:
    """Writes the body as WordprocessingML text, the same XML python-docx would build.

    python-docx builds each paragraph, run and cell through several Python objects, which takes
    minutes for 10,000 recommendations; the same XML as text takes a few seconds. python-docx
    still makes the skeleton (styles, cover, summary, footer fields, pictures, section): `flush()`
    parses the pending text into it. The bulk (recommendations, annexes) is `take()`n as text and
    spliced into the saved package (`reporting.package`).
    """

    def __init__(self, document: DocumentObject) -> None:
        self.document = document
        self.pending: list[str] = []
        # Style ids (not names) are what the XML refers to.
        names = ("Title", "Subtitle", "Quote", "Caption", "List Bullet", "Table Grid")
        self.styles = {name: document.styles[name].style_id for name in names}
        self.styles.update(
            {f"Heading {level}": document.styles[f"Heading {level}"].style_id for level in (1, 2, 3)}
        )
        self.width_twips = document._block_width.twips

    def heading(self, text: str, level: int) -> None:
        self.paragraph(run(text), style=f"Heading {level}")

    def text(self, text: str, style: str | None = None) -> None:
        """A paragraph of plain text."""
        self.paragraph(run(text), style=style)

    def paragraph(self, *runs: Xml, style: str | None = None) -> None:
        properties = f'<w:pPr><w:pStyle w:val="{self.styles[style]}"/></w:pPr>' if style else ""
        self.pending.append(f"<w:p>{properties}{''.join(runs)}</w:p>")

    def page_break(self) -> None:
        self.pending.append('<w:p><w:r><w:br w:type="page"/></w:r></w:p>')

    def table(self, header: Sequence[str] | None, rows: Sequence[Sequence[object]]) -> None:
        """A grid table across the page; its header row (when given) is bold and repeated on every page."""
        columns = len(header) if header else len(rows[0])
        width = self.width_twips // columns
        cell = f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{width}"/></w:tcPr><w:p>'
        parts = [
            f'<w:tbl><w:tblPr><w:tblStyle w:val="{self.styles["Table Grid"]}"/>'
            '<w:tblW w:type="auto" w:w="0"/>'
            '<w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0" w:noHBand="0" '
            'w:noVBand="1" w:val="04A0"/></w:tblPr><w:tblGrid>',
            f'<w:gridCol w:w="{width}"/>' * columns,
            "</w:tblGrid>",
        ]
        if header:
            parts.append("<w:tr><w:trPr><w:tblHeader/></w:trPr>")
            parts.extend(f"{cell}{run(title, bold=True)}</w:p></w:tc>" for title in header)
            parts.append("</w:tr>")
        for values in rows:
            if len(values) != columns:
                raise ValueError(f"a row of {len(values)} cells in a table of {columns} columns")
            parts.append("<w:tr>")
            parts.extend(f"{cell}{run(value)}</w:p></w:tc>" for value in values)
            parts.append("</w:tr>")
        parts.append("</w:tbl>")
        self.pending.append("".join(parts))

    def picture(self, png: bytes, caption: str) -> None:
        """A chart, full width, with its caption below."""
        self.flush()
        self.document.add_picture(io.BytesIO(png), width=Cm(16))
        self.text(caption, "Caption")

    def flush(self) -> None:
        """Parse what was written and move it in front of the document's final section properties."""
        if not self.pending:
            return
        wrapper = parse_xml(f"<w:body {nsdecls('w')}>{''.join(self.pending)}</w:body>")
        self.pending.clear()
        end = self.document.element.body.sectPr
        for element in list(wrapper):
            end.addprevious(element)

    def take(self) -> bytes:
        """What was written since the last call, as UTF-8 XML, to `splice` into the package."""
        text = "".join(self.pending)
        self.pending.clear()
        return text.encode()


def _cover(w: _Writer, st: StockTake) -> None:
    w.text(st.title, "Title")
    sources = ", ".join(st.source_titles) or "the tracked reports"
    w.text(
        f"Stock-take of the follow-up given by the UN system to the recommendations of {sources}.", "Subtitle"
    )
    w.table(
        None,
        [
            ("Cycle", st.cycle.name),
            ("HLCP session", st.cycle.hlcp_session or "not set"),
            ("Reply deadline", long_date(st.cycle.deadline)),
            ("Compared with", st.previous.title if st.previous else "nothing (first stock-take)"),
            ("Produced on", long_date(st.produced_on)),
            ("Recommendations", f"{st.summary.recommendations} ({st.summary.answered_rate}% reported on)"),
        ],
    )
    w.page_break()


def _summary(w: _Writer, st: StockTake) -> None:
    s = st.summary
    w.heading("Executive summary", 1)
    for sentence in st.sentences:
        w.text(sentence)
    w.picture(
        to_png(status_figure(st)), "Figure 1. Rolled-up status by agenda point (same figures as Table 1)."
    )
    w.heading("Table 1. Status by agenda point", 2)
    rows = [(title, *counts.values(), sum(counts.values())) for title, counts in st.status_by_section()]
    rows.append(("All", *s.status_counts.values(), s.recommendations))
    w.table(("Agenda point", *(status_label(x) for x in STATUS_ORDER), "Total"), rows)
    if st.previous:
        w.heading(f"Table 2. Change since {st.previous.title}", 2)
        w.table(
            ("Change", "Recommendations"),
            [(Change(change).label, count) for change, count in s.change_counts.items()],
        )
    w.picture(
        to_png(response_figure(st)),
        "Figure 2. Share of its items each agency reported on (same figures as Table 3).",
    )
    w.heading("Table 3. Response rate by agency", 2)
    w.table(
        ("Agency", "Name", "Items answered", "Items asked", "Response rate"),
        [(a.code, a.name, a.items_answered, a.items_asked, f"{a.rate}%") for a in st.agencies],
    )


def _item(w: _Writer, st: StockTake, item: ItemReport) -> None:
    w.heading(f"{item.code}: {status_label(item.rolled_up_status)}", 3)
    w.text(item.text, "Quote")
    if item.theme:
        w.text(f"Theme: {item.theme}", "List Bullet")
    if len(item.owners) > 1:
        w.text(f"Rolled up from its parts: {item.roll_up_parts}", "List Bullet")
    if st.previous and item.change:
        w.paragraph(
            run(f"Since {st.previous.title}: "),
            run(item.change.label, bold=True),
            run(f" (was {status_label(item.previous_status)})"),
            style="List Bullet",
        )
    if item.disagreement:
        w.paragraph(
            run(
                "Disagreement: the secretariat's assessment differs from the owner's own status.",
                bold=True,
                colour=FLAG,
            ),
            style="List Bullet",
        )
    w.table(
        ("Owner", "Role", "Self-reported", "Assessed", "Reported on"),
        [
            (
                o.agency_code,
                o.role,
                status_label(o.reported_status),
                (status_label(o.assessed_status) + (" (differs)" if o.disagrees else ""))
                if o.assessed_status
                else "-",
                o.reported_on or "-",
            )
            for o in item.owners
        ],
    )
    for o in item.owners:
        if not (o.narrative or o.obstacle or o.assessment_rationale):
            continue
        runs = [run(f"{o.agency_code}, {o.reported_on}: ", bold=True), run(o.narrative)]
        if o.obstacle:
            runs.append(run(f"\nObstacle: {o.obstacle}"))
        if o.assessment_rationale:
            runs.append(run(f"\nSecretariat: {o.assessment_rationale}"))
        w.paragraph(*runs)
    for m in item.milestones:
        owner = f" ({m.agency_code})" if m.agency_code else ""
        w.paragraph(
            run(f"Milestone {m.due_date}: {m.title}{owner}, {m.state}"),
            *([run(" OVERDUE", bold=True, colour=FLAG)] if m.overdue else []),
            style="List Bullet",
        )
    for link in item.evidence:
        w.text(f"Evidence: {link}", "List Bullet")


def _annexes(w: _Writer, st: StockTake) -> None:
    w.page_break()
    w.heading("Annexes", 1)
    w.heading("Annex A: Agencies that did not answer", 2)
    if st.agencies_not_answered:
        w.table(
            ("Agency", "Name", "Items answered", "Items asked", "Overdue"),
            [
                (a.code, a.name, a.items_answered, a.items_asked, "yes" if a.overdue else "no")
                for a in st.agencies_not_answered
            ],
        )
    else:
        w.text("Every agency answered for all of its items.")
    w.heading("Annex B: Overdue items", 2)
    overdue = [
        (
            item.code,
            m.title,
            m.due_date,
            m.agency_code or item.owners[0].agency_code,
            status_label(item.rolled_up_status),
        )
        for item in st.overdue_items
        for m in item.overdue_milestones
    ]
    if overdue:
        w.table(("Recommendation", "Milestone", "Due", "Owner", "Status"), overdue)
    else:
        w.text("No milestone is overdue.")
    w.heading("Annex C: Method", 2)
    for paragraph in st.method:
        w.text(paragraph)


def _bulk(w: _Writer, st: StockTake) -> Iterator[bytes]:
    """The recommendations and the annexes, an agenda point at a time (a few megabytes each)."""
    w.page_break()
    w.heading("Recommendations by agenda point", 1)
    for section in st.sections:
        w.heading(section.title, 2)
        for item in section.items:
            _item(w, st, item)
        yield w.take()
    _annexes(w, st)
    yield w.take()


def render_docx(st: StockTake) -> bytes:
    """The report as .docx bytes."""
    document = Document()
    document.styles["Normal"].font.name = "Calibri"
    document.styles["Normal"].font.size = Pt(10.5)
    produced = datetime.combine(st.produced_on, time(0, 0), tzinfo=UTC)
    properties = document.core_properties
    properties.title, properties.author, properties.subject = st.title, "Follow-up", st.cycle.name
    properties.created = properties.modified = produced
    properties.last_modified_by, properties.revision = "Follow-up", 1

    footer = document.sections[0].footer.paragraphs[0]
    footer.text = f"{st.title}   Page "
    _field(footer, "PAGE")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES")

    w = _Writer(document)
    _cover(w, st)
    _summary(w, st)
    w.flush()
    skeleton = io.BytesIO()
    document.save(skeleton)
    # The body's own sectPr is its last child: every other section break sits in a w:pPr.
    return splice(skeleton.getvalue(), "word/document.xml", b"<w:sectPr", _bulk(w, st))

"""The stock-take as a Word document (python-docx), ready for light editing before an HLCP session.

Real heading styles (Heading 1: parts, Heading 2: agenda points and annexes, Heading 3: each
recommendation) so Word's navigation pane shows the structure; real tables with repeating header
rows; page numbers from a PAGE field in the footer; the charts as PNG pictures.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time

from docx import Document
from docx.blkcntnr import BlockItemContainer
from docx.document import Document as DocumentObject
from docx.document import _Body
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from domain.stocktake import STATUS_ORDER, Change, ItemReport, StockTake, long_date, status_label
from reporting.charts import response_figure, status_figure, to_png

FLAG = RGBColor(0xB3, 0x26, 0x1E)


def _field(paragraph: Paragraph, instruction: str) -> None:
    # A simple field (PAGE, NUMPAGES): Word computes the value when it lays the document out.
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


class _Writer:
    """Adds blocks to the document with styles resolved once.

    python-docx looks a style up by name on every use and inserts every block with a scan of the
    whole body; both are fine for a page but quadratic for thousands of recommendations. So styles
    are resolved once, and each recommendation is built in a small scratch body whose blocks are
    then moved in front of the document's final section properties in one step.
    """

    def __init__(self, document: DocumentObject) -> None:
        self.document = document
        self.width = document._block_width
        # Style ids, set on the XML directly: python-docx's style setter compares against every
        # style in the document on each call, which dominates the time of a long report.
        self.styles = {
            name: document.styles[name].style_id
            for name in ("Title", "Subtitle", "Quote", "Caption", "List Bullet", "Table Grid")
        }
        self.styles.update(
            {f"Heading {level}": document.styles[f"Heading {level}"].style_id for level in (1, 2, 3)}
        )
        self.body: BlockItemContainer = document._body

    def heading(self, text: str, level: int) -> None:
        self.paragraph(text, f"Heading {level}")

    def paragraph(self, text: str = "", style: str | None = None) -> Paragraph:
        paragraph = self.body.add_paragraph(text)
        if style:
            paragraph._p.style = self.styles[style]
        return paragraph

    def page_break(self) -> None:
        self.body.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def table(self, header: Sequence[str] | None, rows: Sequence[Sequence[object]]) -> Table:
        """A grid table; its header row (when given) is bold and repeated on every page."""
        table = self.body.add_table(0, len(header) if header else len(rows[0]), self.width)
        table._tbl.tblStyle_val = self.styles["Table Grid"]
        if header:
            header_row = table.add_row()
            header_row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
            for cell, title in zip(header_row.cells, header, strict=True):
                cell.paragraphs[0].add_run(title).bold = True
        for values in rows:
            for cell, value in zip(table.add_row().cells, values, strict=True):
                cell.text = str(value)
        return table

    @contextmanager
    def block(self) -> Iterator[None]:
        """Write into a scratch body, then move what was written to the end of the document."""
        main, scratch = self.body, OxmlElement("w:body")
        self.body = _Body(scratch, self.document)
        try:
            yield
        finally:
            self.body = main
        end = self.document.element.body.sectPr
        for element in list(scratch):
            end.addprevious(element)


def _cover(w: _Writer, st: StockTake) -> None:
    w.paragraph(st.title, "Title")
    sources = ", ".join(st.source_titles) or "the tracked reports"
    w.paragraph(
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
        w.paragraph(sentence)
    w.document.add_picture(io.BytesIO(to_png(status_figure(st))), width=Cm(16))
    w.paragraph("Figure 1. Rolled-up status by agenda point (same figures as Table 1).", "Caption")
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
    w.document.add_picture(io.BytesIO(to_png(response_figure(st))), width=Cm(16))
    w.paragraph("Figure 2. Share of its items each agency reported on (same figures as Table 3).", "Caption")
    w.heading("Table 3. Response rate by agency", 2)
    w.table(
        ("Agency", "Name", "Items answered", "Items asked", "Response rate"),
        [(a.code, a.name, a.items_answered, a.items_asked, f"{a.rate}%") for a in st.agencies],
    )


def _item(w: _Writer, st: StockTake, item: ItemReport) -> None:
    w.heading(f"{item.code}: {status_label(item.rolled_up_status)}", 3)
    w.paragraph(item.text, "Quote")
    if item.theme:
        w.paragraph(f"Theme: {item.theme}", "List Bullet")
    if len(item.owners) > 1:
        w.paragraph(f"Rolled up from its parts: {item.roll_up_parts}", "List Bullet")
    if st.previous and item.change:
        line = w.paragraph(f"Since {st.previous.title}: ", "List Bullet")
        line.add_run(item.change.label).bold = True
        line.add_run(f" (was {status_label(item.previous_status)})")
    if item.disagreement:
        flag = w.paragraph(style="List Bullet").add_run(
            "Disagreement: the secretariat's assessment differs from the owner's own status."
        )
        flag.bold, flag.font.color.rgb = True, FLAG
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
        paragraph = w.paragraph()
        paragraph.add_run(f"{o.agency_code}, {o.reported_on}: ").bold = True
        paragraph.add_run(o.narrative)
        if o.obstacle:
            paragraph.add_run(f"\nObstacle: {o.obstacle}")
        if o.assessment_rationale:
            paragraph.add_run(f"\nSecretariat: {o.assessment_rationale}")
    for m in item.milestones:
        paragraph = w.paragraph(
            f"Milestone {m.due_date}: {m.title}{f' ({m.agency_code})' if m.agency_code else ''}, {m.state}",
            "List Bullet",
        )
        if m.overdue:
            run = paragraph.add_run(" OVERDUE")
            run.bold, run.font.color.rgb = True, FLAG
    for link in item.evidence:
        w.paragraph(f"Evidence: {link}", "List Bullet")


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
        w.paragraph("Every agency answered for all of its items.")
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
        w.paragraph("No milestone is overdue.")
    w.heading("Annex C: Method", 2)
    for paragraph in st.method:
        w.paragraph(paragraph)


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
    w.page_break()
    w.heading("Recommendations by agenda point", 1)
    for section in st.sections:
        w.heading(section.title, 2)
        for item in section.items:
            with w.block():
                _item(w, st, item)
    _annexes(w, st)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()

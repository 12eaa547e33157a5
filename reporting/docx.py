"""The stock-take as a Word document (python-docx), ready for light editing before an HLCP session.

Real heading styles (Heading 1: parts, Heading 2: agenda points and annexes, Heading 3: each
recommendation) so Word's navigation pane shows the structure; real tables with repeating header
rows; page numbers from a PAGE field in the footer; the charts as PNG pictures.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, time

from docx import Document
from docx.document import Document as DocumentObject
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


def _table(document: DocumentObject, header: Sequence[str] | None, rows: Sequence[Sequence[object]]) -> Table:
    """A grid table; its header row (when given) is bold and repeated on every page."""
    table = document.add_table(rows=0, cols=len(header) if header else len(rows[0]))
    table.style = "Table Grid"
    if header:
        header_row = table.add_row()
        header_row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
        for cell, title in zip(header_row.cells, header, strict=True):
            cell.paragraphs[0].add_run(title).bold = True
    for values in rows:
        for cell, value in zip(table.add_row().cells, values, strict=True):
            cell.text = str(value)
    return table


def _cover(document: DocumentObject, st: StockTake) -> None:
    document.add_paragraph(st.title, style="Title")
    sources = ", ".join(st.source_titles) or "the tracked reports"
    document.add_paragraph(
        f"Stock-take of the follow-up given by the UN system to the recommendations of {sources}.",
        style="Subtitle",
    )
    _table(
        document,
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
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _summary(document: DocumentObject, st: StockTake) -> None:
    s = st.summary
    document.add_heading("Executive summary", level=1)
    for sentence in st.sentences:
        document.add_paragraph(sentence)
    document.add_picture(io.BytesIO(to_png(status_figure(st))), width=Cm(16))
    document.add_paragraph(
        "Figure 1. Rolled-up status by agenda point (same figures as Table 1).", style="Caption"
    )
    document.add_heading("Table 1. Status by agenda point", level=2)
    rows = [(title, *counts.values(), sum(counts.values())) for title, counts in st.status_by_section()]
    rows.append(("All", *s.status_counts.values(), s.recommendations))
    _table(document, ("Agenda point", *(status_label(x) for x in STATUS_ORDER), "Total"), rows)
    if st.previous:
        document.add_heading(f"Table 2. Change since {st.previous.title}", level=2)
        _table(
            document,
            ("Change", "Recommendations"),
            [(Change(change).label, count) for change, count in s.change_counts.items()],
        )
    document.add_picture(io.BytesIO(to_png(response_figure(st))), width=Cm(16))
    document.add_paragraph(
        "Figure 2. Share of its items each agency reported on (same figures as Table 3).", style="Caption"
    )
    document.add_heading("Table 3. Response rate by agency", level=2)
    _table(
        document,
        ("Agency", "Name", "Items answered", "Items asked", "Response rate"),
        [(a.code, a.name, a.items_answered, a.items_asked, f"{a.rate}%") for a in st.agencies],
    )


def _item(document: DocumentObject, st: StockTake, item: ItemReport) -> None:
    document.add_heading(f"{item.code}: {status_label(item.rolled_up_status)}", level=3)
    document.add_paragraph(item.text, style="Quote")
    if item.theme:
        document.add_paragraph(f"Theme: {item.theme}", style="List Bullet")
    if len(item.owners) > 1:
        document.add_paragraph(f"Rolled up from its parts: {item.roll_up_parts}", style="List Bullet")
    if st.previous and item.change:
        line = document.add_paragraph(f"Since {st.previous.title}: ", style="List Bullet")
        line.add_run(item.change.label).bold = True
        line.add_run(f" (was {status_label(item.previous_status)})")
    if item.disagreement:
        flag = document.add_paragraph(style="List Bullet").add_run(
            "Disagreement: the secretariat's assessment differs from the owner's own status."
        )
        flag.bold, flag.font.color.rgb = True, FLAG
    _table(
        document,
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
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{o.agency_code}, {o.reported_on}: ").bold = True
        paragraph.add_run(o.narrative)
        if o.obstacle:
            paragraph.add_run(f"\nObstacle: {o.obstacle}")
        if o.assessment_rationale:
            paragraph.add_run(f"\nSecretariat: {o.assessment_rationale}")
    for m in item.milestones:
        paragraph = document.add_paragraph(
            f"Milestone {m.due_date}: {m.title}{f' ({m.agency_code})' if m.agency_code else ''}, {m.state}",
            style="List Bullet",
        )
        if m.overdue:
            run = paragraph.add_run(" OVERDUE")
            run.bold, run.font.color.rgb = True, FLAG
    for link in item.evidence:
        document.add_paragraph(f"Evidence: {link}", style="List Bullet")


def _annexes(document: DocumentObject, st: StockTake) -> None:
    document.add_page_break()
    document.add_heading("Annexes", level=1)
    document.add_heading("Annex A: Agencies that did not answer", level=2)
    if st.agencies_not_answered:
        _table(
            document,
            ("Agency", "Name", "Items answered", "Items asked", "Overdue"),
            [
                (a.code, a.name, a.items_answered, a.items_asked, "yes" if a.overdue else "no")
                for a in st.agencies_not_answered
            ],
        )
    else:
        document.add_paragraph("Every agency answered for all of its items.")
    document.add_heading("Annex B: Overdue items", level=2)
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
        _table(document, ("Recommendation", "Milestone", "Due", "Owner", "Status"), overdue)
    else:
        document.add_paragraph("No milestone is overdue.")
    document.add_heading("Annex C: Method", level=2)
    for paragraph in st.method:
        document.add_paragraph(paragraph)


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

    _cover(document, st)
    _summary(document, st)
    document.add_page_break()
    document.add_heading("Recommendations by agenda point", level=1)
    for section in st.sections:
        document.add_heading(section.title, level=2)
        for item in section.items:
            _item(document, st, item)
    _annexes(document, st)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()

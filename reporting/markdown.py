"""The stock-take as Markdown: reads well as plain text, renders as tables on any forge."""

from __future__ import annotations

from domain.stocktake import StockTake
from reporting.outline import document_date, heading_lines, outline
from reporting.templating import environment


def render_markdown(stocktake: StockTake) -> str:
    """The report as Markdown text (same data, same bytes)."""
    template = environment(html=False).get_template("stocktake.md.j2")
    return template.render(
        st=stocktake,
        parts=outline(stocktake),
        heading=heading_lines(stocktake),
        date=document_date(stocktake),
    )

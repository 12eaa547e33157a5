"""The stock-take as one self-contained HTML file: inline CSS, charts as inline SVG, print rules."""

from __future__ import annotations

from markupsafe import Markup

from domain.stocktake import StockTake
from reporting.charts import STATUS_COLOURS, response_figure, status_figure, to_svg
from reporting.outline import document_date, heading_lines, outline
from reporting.templating import environment


def render_html(stocktake: StockTake) -> str:
    """The report as HTML text (same data, same bytes)."""
    return (
        environment(html=True)
        .get_template("stocktake.html.j2")
        .render(
            st=stocktake,
            parts=outline(stocktake),
            heading=heading_lines(stocktake),
            date=document_date(stocktake),
            colours=STATUS_COLOURS,
            # Our own matplotlib output, with no user text unescaped in it: safe to inline.
            status_svg=Markup(to_svg(status_figure(stocktake))),
            response_svg=Markup(to_svg(response_figure(stocktake))),
        )
    )

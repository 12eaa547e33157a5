"""The stock-take as one self-contained HTML file: inline CSS, charts as inline SVG, print rules."""

from __future__ import annotations

import io
from typing import BinaryIO

from markupsafe import Markup

from domain.stocktake import StockTake
from reporting.charts import STATUS_COLOURS, response_figure, status_figure, to_svg
from reporting.templating import report_template, write_template


def write_html(stocktake: StockTake, handle: BinaryIO) -> None:
    """Stream the report as HTML (UTF-8) into `handle`."""
    template = report_template(
        stocktake,
        html=True,
        colours=STATUS_COLOURS,
        # Our own matplotlib output, with no user text unescaped in it: safe to inline.
        status_svg=Markup(to_svg(status_figure(stocktake))),
        response_svg=Markup(to_svg(response_figure(stocktake))),
    )
    write_template(handle, *template)


def render_html(stocktake: StockTake) -> str:
    """The report as HTML text (what `write_html` writes)."""
    buffer = io.BytesIO()
    write_html(stocktake, buffer)
    return buffer.getvalue().decode()

"""The stock-take as one self-contained HTML file: inline CSS, charts as inline SVG, print rules."""

from __future__ import annotations

import io
from typing import BinaryIO

from markupsafe import Markup

from domain.language import ENGLISH, Words
from domain.stocktake import StockTake
from reporting.charts import STATUS_COLOURS, response_figure, status_figure, to_svg
from reporting.templating import report_template, write_template


def write_html(stocktake: StockTake, handle: BinaryIO, words: Words = ENGLISH) -> None:
    """Stream the report as HTML (UTF-8) into `handle`, in `words`' language."""
    template = report_template(
        stocktake,
        html=True,
        words=words,
        colours=STATUS_COLOURS,
        # Our own matplotlib output, with no user text unescaped in it: safe to inline.
        status_svg=Markup(to_svg(status_figure(stocktake, words), "status-chart")),
        response_svg=Markup(to_svg(response_figure(stocktake, words), "response-chart")),
    )
    write_template(handle, *template)


def render_html(stocktake: StockTake, words: Words = ENGLISH) -> str:
    """The report as HTML text (what `write_html` writes)."""
    buffer = io.BytesIO()
    write_html(stocktake, buffer, words)
    return buffer.getvalue().decode()

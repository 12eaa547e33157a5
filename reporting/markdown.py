"""The stock-take as Markdown: reads well as plain text, renders as tables on any forge."""

from __future__ import annotations

import io
from typing import BinaryIO

from domain.stocktake import StockTake
from reporting.templating import report_template, write_template


def write_markdown(stocktake: StockTake, handle: BinaryIO) -> None:
    """Stream the report as Markdown (UTF-8) into `handle`."""
    write_template(handle, *report_template(stocktake, html=False))


def render_markdown(stocktake: StockTake) -> str:
    """The report as Markdown text (what `write_markdown` writes)."""
    buffer = io.BytesIO()
    write_markdown(stocktake, buffer)
    return buffer.getvalue().decode()

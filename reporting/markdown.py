"""The stock-take as Markdown: reads well as plain text, renders as tables on any forge."""

from __future__ import annotations

import io
from typing import BinaryIO

from domain.language import ENGLISH, Words
from domain.stocktake import StockTake
from reporting.templating import report_template, write_template


def write_markdown(stocktake: StockTake, handle: BinaryIO, words: Words = ENGLISH) -> None:
    """Stream the report as Markdown (UTF-8) into `handle`, in `words`' language."""
    write_template(handle, *report_template(stocktake, html=False, words=words))


def render_markdown(stocktake: StockTake, words: Words = ENGLISH) -> str:
    """The report as Markdown text (what `write_markdown` writes)."""
    buffer = io.BytesIO()
    write_markdown(stocktake, buffer, words)
    return buffer.getvalue().decode()

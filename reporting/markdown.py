"""The stock-take as Markdown: reads well as plain text, renders as tables on any forge."""

from __future__ import annotations

from domain.stocktake import StockTake
from reporting.templating import environment


def render_markdown(stocktake: StockTake) -> str:
    """The report as Markdown text (same data, same bytes)."""
    return environment(html=False).get_template("stocktake.md.j2").render(st=stocktake)

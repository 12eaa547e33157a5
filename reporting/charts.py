"""The report's pictures: status by agenda point, response rate by agency (matplotlib, no pyplot state).

The numbers come from the same `StockTake` methods the tables use, and the output bytes are
stable (fixed SVG hash salt, no dates or software versions in the metadata), so reports diff cleanly.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any, Literal

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import RcKeyType

from domain.language import ENGLISH, N_, Words
from domain.pieces import near_equal_pieces
from domain.stocktake import STATUS_ORDER, StockTake
from reporting.outline import wording

STATUS_COLOURS = {
    "completed": "#2e7d32",
    "ongoing": "#66bb6a",
    "in_progress": "#1e88e5",
    "not_started": "#fbc02d",
    "blocked": "#d32f2f",
    "no_longer_applicable": "#9e9e9e",
    "no_answer": "#e0e0e0",
}

_STYLE: dict[RcKeyType, Any] = {
    "svg.hashsalt": "followup-stocktake",
    "svg.fonttype": "none",  # text stays text: smaller, searchable, and no glyph ids to collide
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # The whole figure, never cropped to its content by a matplotlibrc: Word's pictures are laid out
    # at the figure's size before they are drawn (`reporting.pictures`).
    "savefig.bbox": "standard",
}


def status_figure(stocktake: StockTake, words: Words = ENGLISH) -> Figure:
    """Stacked horizontal bars: how many recommendations of each agenda point are in each status."""
    say = wording(words)
    rows = stocktake.status_by_section()
    with rc_context(_STYLE):
        # 16 cm wide, the text block's width: the fonts print at their size, not scaled down.
        figure = Figure(figsize=(6.3, 1.3 + 0.24 * len(rows)), layout="constrained")
        axes = figure.add_subplot()
        labels = [say.text(section.label) for section, _ in rows]
        left = [0] * len(rows)
        for status in STATUS_ORDER:
            values = [counts[status] for _, counts in rows]
            if not any(values):
                continue
            bars = axes.barh(
                labels, values, left=left, color=STATUS_COLOURS[status], label=say.status(status)
            )
            for row, bar in enumerate(bars, start=1):
                bar.set_gid(f"{status}-{row}")  # its id in the SVG: unique, and says what it draws
            left = [a + b for a, b in zip(left, values, strict=True)]
        for label, total in zip(labels, left, strict=True):
            axes.annotate(str(total), (total, label), xytext=(3, 0), textcoords="offset points", va="center")
        # Room for the longest bar and its total: no bar runs into the frame.
        axes.set_xlim(0, max(left, default=0) * 1.12 + 1)
        axes.invert_yaxis()  # the report's order, top to bottom
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(say.gettext("Recommendations"))
        if rows:
            figure.legend(loc="outside lower center", ncols=4, frameon=False, fontsize=8)
        axes.set_title(say.gettext("Status by agenda point (rolled up)"), loc="left", fontsize=10)
    return figure


# The most bars one picture of the response chart holds in Word: 36 make it 8.9 inches tall, within
# the A4 page's 9.7 inches of text. Word and LibreOffice do not split a picture across pages: a taller
# one is cut at the page's foot (at 100 agencies, two thirds of the bars were lost).
BARS_PER_PAGE = 36


def response_figure(stocktake: StockTake, words: Words = ENGLISH) -> Figure:
    """Horizontal bars: the share of its items each agency reported on, all in one figure (for HTML)."""
    [figure] = response_figures(stocktake, words, per_figure=None)
    return figure


def response_figures(
    stocktake: StockTake, words: Words = ENGLISH, *, per_figure: int | None = BARS_PER_PAGE
) -> list[Figure]:
    """The response chart in figures of at most `per_figure` bars each (None: one figure), in order,
    near-equal in size and with the same margins, so that the pieces read as one chart.

    The margins are those constrained layout gives, measured on a figure of the few bars whose
    labels reach furthest (the longest codes, the longest labels of the longest bars): the layout
    measures every label twice per draw, seconds for a system of 300 agencies, and only these
    decide the margins.
    """
    say = wording(words)
    asked = [a for a in stocktake.agencies if not a.by_secretariat]  # as response_by_agency
    bars = [
        (
            code,
            rate,
            say.say(
                N_("%(rate)s (%(answered)s of %(asked)s)"),
                rate=say.percent(a.rate),
                answered=a.items_answered,
                asked=a.items_asked,
            ),
        )
        for (code, rate), a in zip(stocktake.response_by_agency(), asked, strict=True)
    ]
    furthest = sorted(bars, key=lambda bar: len(bar[0]), reverse=True)[:5]
    furthest += sorted(bars, key=lambda bar: (bar[1], len(bar[2])), reverse=True)[:5]
    sample = _response_bars(list(dict.fromkeys(furthest)), say.gettext, layout="constrained")
    sample.draw_without_rendering()
    (width, height), box = sample.get_size_inches(), sample.axes[0].get_position()
    figures = []
    for piece in near_equal_pieces(bars, per_figure or max(len(bars), 1)):
        figure = _response_bars(list(piece), say.gettext, layout=None)
        full_width, full_height = figure.get_size_inches()
        figure.subplots_adjust(
            left=box.x0 * width / full_width,
            right=1 - (1 - box.x1) * width / full_width,
            bottom=box.y0 * height / full_height,
            top=1 - (1 - box.y1) * height / full_height,
        )
        figures.append(figure)
    return figures


def _response_bars(
    bars: list[tuple[str, int, str]], _: Callable[[str], str], *, layout: Literal["constrained"] | None
) -> Figure:
    """The response chart of these (code, rate, label) bars, its titles in `_`'s language."""
    with rc_context(_STYLE):
        figure = Figure(figsize=(6.3, 1.0 + 0.22 * len(bars)), layout=layout)
        axes = figure.add_subplot()
        rates = [rate for _, rate, _ in bars]
        colours = ["#2e7d32" if r == 100 else "#1e88e5" if r else "#d32f2f" for r in rates]
        drawn = axes.barh([code for code, _, _ in bars], rates, color=colours)
        axes.bar_label(drawn, labels=[label for _, _, label in bars], padding=2, fontsize=8)
        axes.set_xlim(0, 130)  # room for the label of a 100% bar
        axes.set_xticks([0, 25, 50, 75, 100])
        axes.invert_yaxis()
        axes.tick_params(axis="y", labelsize=8)
        axes.set_xlabel(_("Share of its items the agency answered (%)"))
        axes.set_title(_("Response by agency"), loc="left", fontsize=10)
    return figure


def to_svg(figure: Figure, name: str) -> str:
    """The figure as an inline <svg> element that scales to its container, its ids prefixed `name-`.

    The prefix keeps two charts on one page apart (matplotlib numbers each figure's elements from 1)
    and off the page's own anchors: a status bar's id is its status, as is the report's part on it.
    """
    buffer = io.StringIO()
    with rc_context(_STYLE):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE: it goes inside HTML
    svg = re.sub(r'(\sid="|url\(#|href="#)', rf"\1{name}-", svg)
    return re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 width="100%"', svg, count=1)


def to_png(figure: Figure, *, dpi: int = 150) -> bytes:
    """The figure as PNG bytes (for Word)."""
    buffer = io.BytesIO()
    with rc_context(_STYLE):
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()

"""Markdown and HTML against golden files, byte-for-byte determinism, and charts that match the tables.

Regenerate the golden files after an intended change with:
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/reports/test_rendering.py
and review the diff (`git diff tests/golden`) before committing it.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import warnings
import zipfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from domain.stocktake import STATUS_ORDER, StockTake
from reporting import docx as word_report
from reporting import pictures
from reporting.charts import response_figure, response_figures, status_figure, to_png, to_svg
from reporting.docx import PICTURE_DPI, render_docx
from reporting.html import render_html
from reporting.markdown import render_markdown
from reporting.pictures import drawn_aside, png_size
from reporting.xlsx import render_xlsx
from tests.support import empty_stocktake

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.patches import Rectangle

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _bars(axes: Axes) -> list[Rectangle]:
    """A bar chart's bars (matplotlib types them as any patch)."""
    return cast("list[Rectangle]", axes.patches)


@pytest.mark.parametrize(
    ("name", "render"), [("stocktake.md", render_markdown), ("stocktake.html", render_html)]
)
def test_the_report_matches_its_golden_file(name: str, render: object, stocktake: StockTake) -> None:
    text = render(stocktake)  # type: ignore[operator]
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), (
        f"{name} differs from {golden} (UPDATE_GOLDEN=1 to accept)"
    )


def test_rendering_twice_gives_the_same_bytes(stocktake: StockTake) -> None:
    assert render_markdown(stocktake).encode() == render_markdown(stocktake).encode()
    assert render_html(stocktake).encode() == render_html(stocktake).encode()
    assert to_png(status_figure(stocktake)) == to_png(status_figure(stocktake))


def _markdown_table(markdown: str, heading: str) -> list[list[str]]:
    block = markdown.split(f" {heading}\n\n", 1)[1].split("\n\n", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in block.splitlines()[2:]]


def test_the_status_chart_draws_the_numbers_of_the_status_table(stocktake: StockTake) -> None:
    table = {
        row[0]: [int(n.strip("*")) for n in row[1:-1]]
        for row in _markdown_table(render_markdown(stocktake), "Status by agenda point")
    }
    figure = status_figure(stocktake)
    (axes,) = figure.axes
    labels = [tick.get_text() for tick in axes.get_yticklabels()]
    drawn = {label: [0] * len(STATUS_ORDER) for label in labels}
    for patch in _bars(axes):
        row = labels[round(patch.get_y() + patch.get_height() / 2)]
        status = str(patch.get_gid()).rsplit("-", 1)[0]
        drawn[row][STATUS_ORDER.index(status)] = round(patch.get_width())
    totals = table.pop("**All**")
    labels_of = {str(section.title): str(section.label) for section in stocktake.sections}
    assert {labels_of[title]: counts for title, counts in table.items()} == drawn
    assert totals == [sum(counts[n] for counts in drawn.values()) for n in range(len(STATUS_ORDER))]
    assert sum(sum(v) for v in drawn.values()) == stocktake.figures.items


def test_the_response_chart_draws_the_rates_of_the_agency_table(stocktake: StockTake) -> None:
    table = {
        row[0]: int(row[4].rstrip("%"))
        for row in _markdown_table(render_markdown(stocktake), "Annex I. Response by agency")
    }
    (axes,) = response_figure(stocktake).axes
    labels = [tick.get_text() for tick in axes.get_yticklabels()]
    drawn = {labels[round(p.get_y() + p.get_height() / 2)]: round(p.get_width()) for p in _bars(axes)}
    assert drawn == table == {"ILO": 67, "IOM": 67, "OHCHR": 100, "UNHCR": 50, "UNICEF": 100, "WHO": 0}


def _with_agencies(stocktake: StockTake, count: int) -> StockTake:
    """The stock-take with agencies added up to `count` answering ones (a tracker may have hundreds)."""
    answering = [a for a in stocktake.agencies if not a.by_secretariat]
    added = tuple(
        dataclasses.replace(answering[0], code=f"AG{n:03}", items_asked=10, items_answered=n % 11)
        for n in range(count - len(answering))
    )
    return dataclasses.replace(stocktake, agencies=stocktake.agencies + added)


def test_a_long_response_chart_is_cut_into_page_sized_figures_that_draw_every_agency_once(
    stocktake: StockTake,
) -> None:
    many = _with_agencies(stocktake, 100)
    figures = response_figures(many)
    assert [len(_bars(figure.axes[0])) for figure in figures] == [34, 34, 32]
    assert all(figure.get_size_inches()[1] <= 9.7 for figure in figures)  # A4's text height, in inches
    drawn = [
        (tick.get_text(), round(patch.get_width()))
        for figure in figures
        for tick, patch in zip(figure.axes[0].get_yticklabels(), _bars(figure.axes[0]), strict=True)
    ]
    assert drawn == many.response_by_agency()
    margins = {(f.subplotpars.left, f.subplotpars.right) for f in figures}
    assert len(margins) == 1  # the pieces line up as one chart
    [whole] = response_figures(many, per_figure=None)
    assert len(_bars(whole.axes[0])) == 100  # the HTML report's chart, which scrolls


def test_every_picture_of_the_word_report_fits_on_its_page(stocktake: StockTake) -> None:
    document = zipfile.ZipFile(io.BytesIO(render_docx(_with_agencies(stocktake, 100)))).read(
        "word/document.xml"
    )
    heights = [int(cy) for cy in re.findall(rb'<wp:extent cx="\d+" cy="(\d+)"', document)]
    assert len(heights) == 4  # the status chart, and the response chart in three pictures
    assert max(heights) <= 24.7 / 2.54 * 914_400  # A4 less its 2.5 cm margins, in EMU


@pytest.mark.parametrize("aside_from", [0, 10**9])
def test_each_picture_of_the_word_report_is_its_chart_at_the_size_its_extent_gives(
    stocktake: StockTake, monkeypatch: pytest.MonkeyPatch, aside_from: int
) -> None:
    monkeypatch.setattr(word_report, "DRAWN_ASIDE_FROM", aside_from)  # drawn aside (0) or here
    many = _with_agencies(stocktake, 100)
    package = zipfile.ZipFile(io.BytesIO(render_docx(many)))
    document, rels = package.read("word/document.xml"), package.read("word/_rels/document.xml.rels")
    target = dict(re.findall(rb'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
    target.update((r, t) for t, r in re.findall(rb'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels))
    pictures = re.findall(rb'<wp:extent cx="(\d+)" cy="(\d+)"/>.*?r:embed="(rId\d+)"', document)
    charts = [status_figure(many), *response_figures(many)]
    assert len(pictures) == len(charts) == 4
    for (cx, cy, r_id), chart in zip(pictures, charts, strict=True):
        png = package.read("word/" + target[r_id].decode())
        assert png == to_png(chart, dpi=PICTURE_DPI)  # the child draws what this process would
        width, height = struct.unpack(">II", png[16:24])  # the PNG's IHDR
        assert (width, height) == png_size(chart, PICTURE_DPI)
        assert int(cy) == round(int(cx) * height / width)


@pytest.mark.parametrize(
    ("python", "said"),
    [
        ("false", r"drawing the report's pictures failed \(exit status 1\)"),
        ("", r"drawing the report's pictures failed: Python \(''\) could not be started"),
    ],
)
def test_a_failure_to_draw_the_pictures_fails_the_word_report_naming_it(
    stocktake: StockTake, monkeypatch: pytest.MonkeyPatch, python: str, said: str
) -> None:
    monkeypatch.setattr(sys, "executable", shutil.which(python) if python else "")
    monkeypatch.setattr(word_report, "DRAWN_ASIDE_FROM", 0)
    with pytest.raises(RuntimeError, match=said):
        render_docx(stocktake)


def test_a_picture_drawn_at_another_size_than_its_place_in_the_document_fails_the_report(
    stocktake: StockTake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pictures, "png_size", lambda figure, dpi: (945, 1))
    with (
        pytest.raises(RuntimeError, match=r"picture 1 is 945x[0-9]+ pixels, not 945x1"),
        drawn_aside([status_figure(stocktake)], dpi=PICTURE_DPI) as pngs,
    ):
        pngs()


def test_a_matplotlibrc_that_crops_figures_leaves_the_word_pictures_whole(
    stocktake: StockTake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "matplotlibrc").write_text("savefig.bbox: tight\n")
    monkeypatch.setenv("MATPLOTLIBRC", str(tmp_path))  # read by the child drawing the pictures
    figure = status_figure(stocktake)
    with drawn_aside([figure], dpi=PICTURE_DPI) as pngs:
        [png] = pngs()
    assert png == to_png(figure, dpi=PICTURE_DPI)


def test_a_report_that_fails_while_its_pictures_are_drawn_stops_their_child(
    stocktake: StockTake, monkeypatch: pytest.MonkeyPatch
) -> None:
    children: list[subprocess.Popen[bytes]] = []

    class Recorded(subprocess.Popen[bytes]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            children.append(self)

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    with pytest.raises(ZeroDivisionError), drawn_aside([status_figure(stocktake)], dpi=PICTURE_DPI):
        _ = 1 / 0  # the body's writing fails while the child is drawing
    [child] = children
    assert child.returncode == -signal.SIGKILL
    assert child.stdout is not None and child.stdout.closed


def test_the_html_report_is_self_contained_with_inline_charts(stocktake: StockTake) -> None:
    html = render_html(stocktake)
    assert html.count("<svg") == 2
    assert not re.search(r'<(?:link|script|img)[^>]+(?:href|src)="(?!data:)', html)  # nothing fetched
    assert "@media print" in html and "break-before: page" in html
    assert "<?xml" not in html and "Date" not in to_svg(status_figure(stocktake), "chart")


def test_every_id_of_the_html_report_is_unique_so_its_contents_links_land_on_their_part(
    stocktake: StockTake,
) -> None:
    html = render_html(stocktake)
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert "blocked" in ids and "status-chart-blocked-1" in ids  # the part, and the chart's bars of it
    assert [name for name, count in ids.items() if count > 1] == []


def test_a_cycle_with_no_items_still_renders_in_every_format() -> None:
    empty = empty_stocktake()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. matplotlib's "no artists with labels" on an empty legend
        assert "No recommendation was part of the Empty stock-take." in render_markdown(empty)
        assert "<svg" in render_html(empty)
        assert render_docx(empty).startswith(b"PK") and render_xlsx(empty).startswith(b"PK")


def test_only_web_addresses_become_links_in_the_html(stocktake: StockTake) -> None:
    item = stocktake.items[0]
    owner = dataclasses.replace(item.owners[0], evidence=("javascript:alert(1)", "https://example.org/x"))
    hostile = dataclasses.replace(item, owners=(owner,))
    section = dataclasses.replace(stocktake.sections[0], items=(hostile,))
    html = render_html(dataclasses.replace(stocktake, sections=(section,)))
    assert '<a href="https://example.org/x">' in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html

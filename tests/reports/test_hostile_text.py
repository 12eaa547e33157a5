"""Text typed by agencies or the secretariat stays text in every report: no live markup, no formula."""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any
from urllib.parse import unquote

import markdown
import openpyxl
from markdown_it import MarkdownIt

from domain.evidence import StoredFile
from domain.language import Message
from domain.stocktake import StockTake
from reporting.markdown import render_markdown
from reporting.xlsx import render_xlsx

HOSTILE = (
    "<img src=x onerror=alert(1)> *bold* _em_ `code` [x](y) ![i](z) "
    "](javascript:alert(2)) <script>alert(3)</script> | ~~gone~~"
)
HOSTILE_URL = 'https://example.org/a) [x](javascript:alert(4)) "title" <b>'


def _hostile(stocktake: StockTake, **owner_fields: Any) -> StockTake:
    """The stock-take with every owner's answer and every item's title replaced by hostile text."""
    sections = []
    for section in stocktake.sections:
        items = tuple(
            dataclasses.replace(
                item,
                text=HOSTILE,
                owners=tuple(dataclasses.replace(o, **owner_fields) for o in item.owners),
            )
            for item in section.items
        )
        title = Message("%(title)s", {"title": HOSTILE})  # as an agenda point's title comes in a heading
        sections.append(dataclasses.replace(section, title=title, items=items))
    cycle = dataclasses.replace(stocktake.cycle, symbol=HOSTILE, venue=HOSTILE, hlcp_session=HOSTILE)
    return dataclasses.replace(stocktake, sections=tuple(sections), cycle=cycle)


def test_markdown_report_renders_agency_markup_and_links_as_plain_text(stocktake: StockTake) -> None:
    hostile = _hostile(
        stocktake,
        narrative=HOSTILE,
        obstacle=HOSTILE,
        assessment_rationale=HOSTILE,
        evidence=(HOSTILE_URL, "javascript:alert(5)"),
        files=(_file(HOSTILE + ".pdf"),),
    )
    text = render_markdown(hostile)
    assert "## Annex IV. Evidence files" in text
    for html in (
        markdown.markdown(text, extensions=["tables"]),
        MarkdownIt("commonmark").enable("table").render(text),
    ):
        assert "<img" not in html and "<script" not in html and "<b>" not in html
        assert not re.search(r"<(em|strong|code|del|s)>(bold|em|code|gone)<", html)
        assert not [href for href in _hrefs(html) if not href.startswith("https://example.org/")]
        # The only link left is the web evidence, whole: nothing typed into it broke out.
        assert {unquote(href) for href in _hrefs(html)} == {HOSTILE_URL}
        assert "&lt;img src=x onerror=alert(1)&gt; *bold* _em_ `code` [x](y)" in html


def _file(name: str) -> StoredFile:
    """An evidence file of that name, as an agency's computer may call it."""
    return StoredFile(1, 1, "AAA", name, "pdf", 2048, "ab" * 32)


def _hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html)


def test_text_starting_like_a_formula_stays_text_in_the_spreadsheet(stocktake: StockTake) -> None:
    cycle = dataclasses.replace(
        stocktake.cycle, name="=1+1", hlcp_session="@SUM(A1)", symbol='=HYPERLINK("x")'
    )
    hostile = dataclasses.replace(
        _hostile(stocktake, narrative="=> no change", files=(_file('=HYPERLINK("x").pdf'),)), cycle=cycle
    )
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(hostile)))
    summary = {row[0].value: row[1] for row in workbook["Summary"].iter_rows(max_col=2) if row[0].value}
    for label, typed in (("Cycle", "=1+1"), ("HLCP session", "@SUM(A1)"), ("Symbol", '=HYPERLINK("x")')):
        assert (summary[label].value, summary[label].data_type) == (typed, "s")
    items = workbook["Items"]
    narrative = [cell.value for cell in items[1]].index("Narrative") + 1
    cell = items.cell(2, narrative)
    assert (cell.value, cell.data_type) == ("=> no change", "s")
    files = items.cell(2, [cell.value for cell in items[1]].index("Evidence files") + 1)
    assert (files.value, files.data_type) == ('=HYPERLINK("x").pdf (2 KB, SHA-256 abababababab)', "s")

"""The HTML report in real headless Chromium: printed to PDF and PNG, its layout must hold."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from domain.stocktake import StockTake
from reporting.html import render_html

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
A4_WIDTH_PX = 794  # 210 mm at 96 dpi


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])  # the layout does not depend on the database
def test_the_html_report_prints_to_several_pages_without_overflowing(
    browser: Browser, stocktake: StockTake, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    path.write_text(render_html(stocktake), encoding="utf-8")
    page = browser.new_page(viewport={"width": A4_WIDTH_PX, "height": 1123})
    page.goto(path.as_uri())
    for media in ("screen", "print"):
        page.emulate_media(media=media)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), media
        widest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right))"
        )
        assert widest <= A4_WIDTH_PX, f"an element reaches {widest}px in {media} media"
    headings = page.locator("h2").all_inner_texts()
    assert headings[:2] == ["Contents", "Executive summary"]
    assert "Action requested of the Committee" in headings
    assert headings[-1] == "Annex III. Recommendations shown in one row"
    charts = page.locator("figure svg")
    assert charts.count() == 2 and all(charts.nth(n).bounding_box()["height"] > 100 for n in range(2))  # type: ignore[index]

    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages > 1, "the report should span several printed pages"
    png = page.screenshot(full_page=False)
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # a rendered page, not a blank one
    page.close()

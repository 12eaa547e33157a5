"""The published site in headless Chromium: no WCAG 2.1 AA violation (axe-core), usable without JavaScript."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from db.unit_of_work import SqlUnitOfWork
from tests.support import build_public_record
from workflows.queries.public_record import public_record_of
from workflows.services.publish import publish

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# axe-core's rule tags for WCAG 2.0 and 2.1, levels A and AA, and its best practices (headings in
# order, every part of a page in a landmark, one main landmark), which WCAG's rules leave out.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PAGE_KINDS = [
    "index.html",
    "agenda/ceb-2014-4-annex-v/point-1.html",
    "recommendations/ceb-2014-4-annex-v/a1-2.html",
    "recommendations/ceb-2014-4-annex-v/a2-1.html",  # never reported on: the empty timeline
    "agencies/bbb.html",
]


@pytest.fixture
def site(uow: SqlUnitOfWork, tmp_path: Path) -> Path:
    build_public_record(uow)
    return publish(public_record_of(uow, date.today()), tmp_path / "site").out_dir


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])  # the markup does not depend on the database
def test_every_kind_of_page_passes_axe_core_with_no_wcag_2_1_aa_violation(
    site: Path, browser: Browser
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page = browser.new_page()
    found = {}
    for name in PAGE_KINDS:
        page.goto((site / name).as_uri())
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
        found[name] = [(v["id"], len(v["nodes"])) for v in results.response["violations"]]
        # The rules did run: a page that axe could not check would pass with nothing to say.
        assert results.response["passes"], f"axe-core checked nothing on {name}"
    assert found == {name: [] for name in PAGE_KINDS}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_reader_without_javascript_goes_from_the_index_to_a_recommendation_and_back(
    site: Path, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto((site / "index.html").as_uri())
    page.get_by_role("link", name="Agenda point 1: Agenda point 1").click()
    page.get_by_role("link", name="A1.2").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Recommendation A1.2"
    page.get_by_role("link", name="Agency BBB (BBB)").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Agency BBB (BBB)"
    page.get_by_role("link", name="Home").click()
    assert page.get_by_role("heading", level=1).inner_text() == "The public record of the follow-up"
    context.close()

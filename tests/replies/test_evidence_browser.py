"""A focal point attaches a PDF in headless Chromium; the secretariat sees it, and so does the report."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from playwright.sync_api import Browser

from tests.support import CYCLE, SECRETARIAT_TOKEN, Scenario, sample_file
from workflows.services.stocktake import write_reports

NAME = "Terms of reference.pdf"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_pdf_attached_in_the_browser_reaches_the_receipt_the_secretariat_and_the_report(
    site: Scenario, portal_url: str, browser: Browser, tmp_path: Path
) -> None:
    pdf = tmp_path / NAME
    pdf.write_bytes(sample_file("pdf"))
    first, second, third = (site.ids[code] for code in ("A1.1", "A1.2", "A2.1"))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{portal_url}/r/{site.tokens['AAA']}")
    page.select_option(f"#status-{first}", "completed")
    page.fill(f"#narrative-{first}", "The expert group met in February; its terms of reference are attached.")
    page.set_input_files(f"#evidence_files-{first}", str(pdf))
    page.check(f"#no_change-{second}")
    page.select_option(f"#status-{third}", "ongoing")

    page.click("button[value=submit]")
    page.wait_for_url("**/receipt")
    receipt = page.locator("main").inner_text()
    assert NAME in receipt and "SHA-256" in receipt
    with page.expect_download() as downloading:
        page.get_by_role("link", name=NAME).click()
    assert Path(downloading.value.path()).read_bytes() == pdf.read_bytes()

    secretariat = browser.new_page()
    secretariat.goto(f"{portal_url}/cycles/{CYCLE}?key={SECRETARIAT_TOKEN}")
    queued = secretariat.locator(f"#review-AAA-{first}")
    assert NAME in queued.inner_text()
    queued.locator("input[name=publish_evidence]").check()
    queued.locator("button", has_text="Accept").click()
    secretariat.wait_for_url("**done=accept**")

    written = write_reports(site.uow, CYCLE, formats=("md", "docx"), out_dir=tmp_path, clock=site.clock)
    listed = f"{NAME} ({pdf.stat().st_size} bytes, SHA-256 "
    markdown = written["md"].read_text()
    assert "## Annex IV. Evidence files" in markdown and f"| A1.1 | AAA | {listed}" in markdown
    document = Document(str(written["docx"]))
    assert "Annex IV. Evidence files" in [p.text for p in document.paragraphs]
    assert listed in document.tables[-1].rows[1].cells[2].text

"""A returned answer's round trip in headless Chromium: reopened after the deadline, re-answered, accepted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser

from tests.support import CYCLE, DEADLINE, SECRETARIAT_TOKEN, Scenario, all_items, save, send_back
from workflows import bootstrap
from workflows.services import review

QUESTION = "Which meeting was held, and where is its report?"


@pytest.fixture
def reviewed_late(site: Scenario) -> Scenario:
    """AAA answered in time; the secretariat accepted A2.1 and returned A1.1; it is now past the deadline."""
    save(site, all_items(site), submit=True)
    review.accept(site.uow, site.clock, CYCLE, "A2.1", "AAA", by="secretariat")
    send_back(site, "A1.1", QUESTION)
    site.clock = bootstrap.FixedClock(DEADLINE + timedelta(days=3))
    return site


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_returned_answer_reopens_with_its_question_and_goes_back_to_the_queue(
    reviewed_late: Scenario,
    portal_url: str,
    browser: Browser,
) -> None:
    site = reviewed_late
    first, second, third = (site.ids[code] for code in ("A1.1", "A1.2", "A2.1"))
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{portal_url}/r/{site.tokens['AAA']}")

    banner = page.locator("main .question").first.inner_text()
    assert "The secretariat has a question on 1 of your answers" in banner and "A1.1" in banner
    assert QUESTION in page.locator(f"#item-{first}").inner_text()
    assert page.locator(f"#status-{first}").is_editable()
    assert page.locator(f"#status-{second}").count() == 0  # submitted, deadline passed: locked
    assert "The secretariat has accepted this answer." in page.locator(f"#item-{third}").inner_text()
    assert page.locator(f"#status-{third}").count() == 0

    page.select_option(f"#status-{first}", "in_progress")
    page.fill(f"#narrative-{first}", "The expert group met on 12 February; its report is due in May.")
    page.click("button[value=submit]")
    page.wait_for_url("**/receipt")
    assert "The expert group met on 12 February" in page.locator("main").inner_text()
    assert site.update("A1.1").state == "submitted"  # type: ignore[union-attr]

    secretariat = browser.new_page()
    secretariat.goto(f"{portal_url}/cycles/{CYCLE}?key={SECRETARIAT_TOKEN}")
    queued = secretariat.locator(f"#review-AAA-{first}")
    assert "The expert group met on 12 February" in queued.inner_text()
    queued.locator("select[name=assess]").select_option("in_progress")
    queued.locator("button", has_text="Accept").click()
    secretariat.wait_for_url("**done=accept**")
    assert "Accepted A1.1 (AAA)." in secretariat.locator("main").inner_text()
    assert site.update("A1.1").state == "accepted"  # type: ignore[union-attr]

    page.goto(f"{portal_url}/r/{site.tokens['AAA']}")
    assert page.locator(f"#status-{first}").count() == 0
    assert "The secretariat has accepted this answer." in page.locator(f"#item-{first}").inner_text()

"""A long request answered on a phone in real headless Chromium: the bar with the count and the buttons
stays in view, agenda points are a tap away, saved items fold into compact rows, the receipt fits."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import update

from db import tables
from tests import factories
from tests.support import Scenario
from workflows import bootstrap
from workflows.settings import get_settings

LONG_CYCLE_DEADLINE = date(2027, 3, 26)
LONG_OWNERS = {
    **{f"SR{n}": ["LNG"] for n in (1, 2)},
    **{f"A1.{n}": ["LNG"] for n in range(1, 7)},
    **{f"A2.{n}": ["LNG"] for n in range(1, 6)},
    **{f"A3.{n}": ["LNG"] for n in range(1, 6)},
}
TEXT = (
    "{code}: the agencies, funds and programmes should develop, in consultation with Member States and "
    "the Global Migration Group, guidance on {topic}, and report on its use to the Committee."
)
TOPICS = ("labour migration data", "fair recruitment", "remittance costs", "migrant health", "education")


@pytest.fixture
def long_site(settings_env: None, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """One agency, LNG, asked about 18 recommendations in cycle 2027-spring; the portal reads it."""
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()
    uow = bootstrap.uow(database_url)
    factories.add_agencies(uow, "LNG")
    ids = factories.add_recommendations(uow, LONG_OWNERS)
    with uow:
        for n, (code, rid) in enumerate(ids.items()):
            text = TEXT.format(code=f"Recommendation {code}", topic=TOPICS[n % len(TOPICS)])
            uow.session.execute(
                update(tables.recommendations).where(tables.recommendations.c.id == rid).values(text=text)
            )
        uow.commit()
    cycle_id, tokens = factories.open_cycle(uow, "2027-spring", LONG_CYCLE_DEADLINE, ["LNG"])
    return Scenario(uow, cycle_id, tokens, ids, bootstrap.FixedClock(date(2027, 3, 1)))


@pytest.fixture
def site(long_site: Scenario) -> Scenario:
    """The portal (`portal_url`) serves the long request."""
    return long_site


def in_view(page: Page, selector: str) -> bool:
    """Whether the element is wholly inside the window as it is scrolled now."""
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] and box["x"] >= 0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_long_request_is_answered_on_a_phone_with_the_bar_in_view_and_a_receipt_that_fits(
    site: Scenario, portal_url: str, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{portal_url}/r/{site.tokens['LNG']}")
    progress = page.locator(".actions .progress")
    assert progress.inner_text() == "0 of 18 answered"
    points = page.locator("nav.points a")
    assert points.count() == 4  # the strategic recommendations and agenda points 1 to 3
    assert in_view(page, ".actions") and in_view(page, "button[value=save]")

    points.nth(2).click()  # agenda point 2, far down the page
    page.wait_for_url("**#point-3")
    first_of_point_2 = site.ids["A2.1"]
    assert in_view(page, f"#item-{first_of_point_2} legend")
    assert in_view(page, ".actions") and in_view(page, "button[value=submit]")
    for code in ("A2.1", "A2.2", "A2.3"):
        page.select_option(f"#status-{site.ids[code]}", "in_progress")
    page.fill(f"#next_milestone_date-{first_of_point_2}", "30 June 2027")
    page.click("button[value=save]")
    page.wait_for_url(f"**?saved=1#item-{site.ids['A2.3']}")  # back at the last item it saved
    assert page.locator(".actions .saved").inner_text() == "Draft saved."
    assert progress.inner_text() == "3 of 18 answered"
    saved = page.locator(f"#item-{first_of_point_2}")
    assert "In progress · draft saved" in saved.locator("legend").inner_text()
    assert saved.locator("details").get_attribute("open") is None  # a compact row now
    assert page.input_value(f"#next_milestone_date-{first_of_point_2}") == "30 June 2027"
    compact = saved.bounding_box()
    assert compact is not None and compact["height"] < 160

    for code, rid in site.ids.items():
        if code not in ("A2.1", "A2.2", "A2.3"):
            page.select_option(f"#status-{rid}", "ongoing")
            page.fill(
                f"#narrative-{rid}",
                f"Guidance on {code} is part of every country programme: https://example.org/guidance/{code.lower()}-with-a-rather-long-address",
            )
    page.mouse.wheel(0, 4000)
    assert in_view(page, "button[value=submit]")
    page.click("button[value=submit]")
    page.wait_for_url("**/receipt*")
    assert "Thank you: your reply is recorded" in page.locator("main").inner_text()
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the receipt scrolls sideways: {widths}"
    assert "first submitted 1 March 2027 at 09:00 UTC" in page.locator("main").inner_text()

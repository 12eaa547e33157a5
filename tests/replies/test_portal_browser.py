"""A focal point's journey in real headless Chromium: open the link, draft, come back, submit."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from domain.model import Milestone
from tests.support import Scenario
from workflows.settings import get_settings


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_focal_point_drafts_two_answers_comes_back_and_submits(
    site: Scenario, portal_url: str, browser: Browser
) -> None:
    first, second, third = site.ids["A1.1"], site.ids["A1.2"], site.ids["A2.1"]
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.goto(f"{portal_url}/r/{site.tokens['AAA']}")
    assert page.locator("h1").inner_text().startswith("Stock-take 2026-spring")
    page.select_option(f"#status-{first}", "completed")
    page.fill(f"#narrative-{first}", "The expert group met in February.")
    page.select_option(f"#status-{third}", "ongoing")
    page.fill(f"#narrative-{third}", "Part of every country programme.")
    page.click("button[value=save]")
    page.wait_for_url(f"**?saved=1#item-{third}")  # back at the item saved last, not the page's top
    assert page.locator(".actions .saved").inner_text() == "Draft saved."
    assert page.locator(f"#item-{third}").bounding_box()["y"] < 844  # type: ignore[index]

    page.reload()
    assert page.input_value(f"#status-{first}") == "completed"
    assert page.input_value(f"#narrative-{first}") == "The expert group met in February."
    assert page.input_value(f"#status-{third}") == "ongoing"
    # Nothing new on A1.2: No change; A1.1's overdue milestone took place.
    page.check(f"#no_change-{second}")
    page.click(f"#item-{first} summary")  # a drafted item is one line: open it to report the milestone
    page.locator(f"#item-{first} select[id^=milestone_outcome-]").select_option("done")
    page.locator(f"#item-{first} input[id^=milestone_on-]").fill("2026-02-27")

    page.click("button[value=submit]")
    page.wait_for_url("**/receipt*")  # the page's fragment, if any, carries over the redirect
    confirmation = page.locator("main").inner_text()
    assert "Thank you: your reply is recorded" in confirmation
    assert "The expert group met in February." in confirmation
    assert "Part of every country programme." in confirmation
    assert "No change since last time" in confirmation
    assert site.request_state()[0] == "answered"
    with site.uow:
        milestone = site.uow.session.scalars(select(Milestone)).one()
        assert (milestone.state, milestone.done_on) == ("done", date(2026, 2, 27))


@pytest.fixture
def parts_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reply pages of at most two items: AAA's three items come in two parts."""
    monkeypatch.setenv("FOLLOWUP_PORTAL_PART_SIZE", "2")
    get_settings.cache_clear()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_focal_point_answers_a_long_request_part_by_part_on_a_phone(
    site: Scenario, parts_of_two: None, portal_url: str, browser: Browser
) -> None:
    third = site.ids["A2.1"]
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{portal_url}/r/{site.tokens['AAA']}")
    parts = page.locator("nav.parts li")
    assert parts.count() == 2 and "0 of 2 saved" in parts.nth(0).inner_text()
    assert page.locator("fieldset.item").count() == 2  # agenda point 1 only, nothing pre-filled
    assert page.input_value(f"#narrative-{site.ids['A1.1']}") == ""  # last cycle's text is reference only
    for code in ("A1.1", "A1.2"):
        page.check(f"#no_change-{site.ids[code]}")

    page.click("button[value=next]")
    page.wait_for_url("**?part=2&saved=1")
    assert "2 of 2 saved" in page.locator("nav.parts").inner_text()
    page.select_option(f"#status-{third}", "ongoing")
    page.fill(f"#narrative-{third}", "Part of every country programme.")
    page.click("button[value=submit]")
    page.wait_for_url("**/receipt")
    confirmation = page.locator("main").inner_text()
    assert "Terms of reference drafted." not in confirmation  # part 1: confirmed, not last cycle's news
    assert "Part of every country programme." in confirmation
    assert site.request_state()[0] == "answered"


# Whether a cell's text is laid out on more lines than it has words: a word broken in the middle.
_BROKEN_WORDS = """cells => cells.filter(cell => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    return lines.size > cell.innerText.trim().split(/\\s+/).length;
}).map(cell => cell.innerText)"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_on_a_phone_no_field_given_the_focus_hides_under_the_save_bar_and_the_receipt_keeps_words_whole(
    site: Scenario, portal_url: str, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{portal_url}/r/{site.tokens['AAA']}")
    hidden = []
    for _ in range(60):  # every stop of the form, by the keyboard
        page.keyboard.press("Tab")
        where = page.evaluate(
            """() => { const f = document.activeElement, bar = document.querySelector('.actions');
            if (!f || bar.contains(f) || f === document.body) return null;
            const field = f.getBoundingClientRect(), over = bar.getBoundingClientRect();
            const under = field.bottom > over.top && field.top < over.bottom;
            return {id: f.id || f.name || f.tagName, under: under}; }"""
        )
        if where is not None and where["under"]:
            hidden.append(where["id"])
    assert hidden == []

    for code, status in (("A1.1", "in_progress"), ("A2.1", "no_longer_applicable")):
        page.select_option(f"#status-{site.ids[code]}", status)
        page.fill(f"#narrative-{site.ids[code]}", "Under way " * 40)
    page.check(f"#no_change-{site.ids['A1.2']}")
    page.click("button[value=submit]")
    page.wait_for_url("**/receipt")
    page.set_viewport_size({"width": 1280, "height": 900})
    cells = page.locator("table.stack thead th, table.stack tbody th, table.stack td.word")
    assert cells.count() == 10
    assert cells.evaluate_all(_BROKEN_WORDS) == []

"""A focal point of a French-speaking agency answers in real headless Chromium: a page, errors,
dates and a receipt in French, and a date typed the French way."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from domain.model import Milestone, Recommendation
from tests.support import Scenario
from workflows.services import agencies


@pytest.fixture
def french_site(site: Scenario) -> Scenario:
    """AAA reads French; A1.1's text has a French translation, A2.1's has none."""
    agencies.set_language(site.uow, "AAA", "fr")
    with site.uow:
        recommendation = site.uow.session.get(Recommendation, site.ids["A1.1"])
        assert recommendation is not None
        recommendation.translations = {"fr": "Recommandation A1.1 : faire la chose."}
        site.uow.commit()
    return site


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_french_focal_point_answers_in_french_and_gets_a_french_receipt(
    french_site: Scenario, portal_url: str, browser: Browser
) -> None:
    site = french_site
    first, second, third = site.ids["A1.1"], site.ids["A1.2"], site.ids["A2.1"]
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{portal_url}/r/{site.tokens['AAA']}")

    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text().startswith("Bilan 2026-spring")
    lead = page.locator("p.lead").inner_text()
    assert "Répondre d’ici au mardi 31 mars 2026" in lead  # the deadline, written the French way
    assert "Recommandation A1.1 : faire la chose." in page.locator(f"#item-{first}").inner_text()
    assert "Recommendation A2.1: do the thing." in page.locator(f"#item-{third}").inner_text()  # none
    assert page.locator(f"label[for=status-{first}]").inner_text() == "État d’avancement"

    page.click("button[value=submit]")  # nothing answered yet: the problems come back in French
    problems = page.locator("div.problems").inner_text()
    assert "Veuillez corriger 3 problèmes\u00a0: rien n’a été enregistré" in problems
    assert "sans réponse\u00a0: choisissez un état d’avancement" in problems

    page.select_option(f"#status-{first}", "completed")
    page.fill(f"#narrative-{first}", "Le groupe d’experts s’est réuni en février.")
    page.locator(f"#item-{first} select[id^=milestone_outcome-]").select_option("done")
    page.locator(f"#item-{first} input[id^=milestone_on-]").fill("27 février 2026")
    page.check(f"#no_change-{second}")
    page.select_option(f"#status-{third}", "ongoing")
    page.fill(f"#narrative-{third}", "Intégré à chaque programme de pays.")
    page.click("button[value=submit]")
    page.wait_for_url("**/receipt")

    receipt = page.locator("main").inner_text()
    assert "Merci\u00a0: votre réponse est enregistrée" in receipt
    assert "Achevé" in receipt and "Aucun changement depuis la dernière fois" in receipt
    assert "première transmission le 10 mars 2026 à" in receipt
    # On a phone each cell is labelled (CSS `attr(data-label)`), with French's space before the colon.
    assert page.locator("table.stack td").first.get_attribute("data-label") == "État d’avancement\u00a0:"
    page.goto(f"{portal_url}/r/{site.tokens['AAA']}")  # answered: each item one closed row
    hint = page.locator(f"#item-{third} .open-hint")
    assert hint.is_visible() and hint.inner_text() == "Afficher et modifier"
    page.locator(f"#item-{third} summary").click()
    assert page.locator(f"#status-{third}").is_visible() and not hint.is_visible()
    with site.uow:
        milestone = site.uow.session.scalars(select(Milestone)).one()
        assert (milestone.state, milestone.done_on) == ("done", date(2026, 2, 27))
    (mail,) = site.outbox("receipt")
    assert str(mail["subject"]).startswith("Reçu\u00a0: la réponse d’Agency AAA au bilan 2026-spring")
    assert "Jalon Expert group meeting\u00a0: réalisé le 27 février 2026" in str(mail["body_text"])
    assert '<html lang="fr">' in str(mail["body_html"])

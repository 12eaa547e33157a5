"""The portal under hostile input: Unicode digits and huge numbers are a 404/422, names with '/' work."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from db import tables
from portal.app import create_app
from tests.support import CYCLE, SECRETARIAT_TOKEN, Scenario, all_items, form_of, save

AUTH = {"Authorization": f"Bearer {SECRETARIAT_TOKEN}"}
HUGE = "9" * 5000


@pytest.fixture
def client(site: Scenario) -> Iterator[TestClient]:
    with TestClient(create_app(clock=site.clock), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("part", ["²", "١", HUGE, "-1", "0"])
def test_a_part_number_in_unicode_digits_or_thousands_of_digits_is_a_page_not_found(
    site: Scenario, client: TestClient, part: str
) -> None:
    token = site.tokens["AAA"]
    assert client.get(f"/r/{token}", params={"part": part}).status_code == 404
    posted = client.post(f"/r/{token}", params={"part": part}, data={"action": "save"})
    assert posted.status_code == 404


@pytest.mark.parametrize("saved", ["²", HUGE])
def test_a_bad_saved_flag_is_refused_as_unprocessable(site: Scenario, client: TestClient, saved: str) -> None:
    assert client.get(f"/r/{site.tokens['AAA']}", params={"saved": saved}).status_code == 422


@pytest.mark.parametrize("version", ["²", HUGE, "1e3"])
def test_a_form_version_in_unicode_digits_or_thousands_of_digits_saves_nothing_and_never_fails(
    site: Scenario, client: TestClient, version: str
) -> None:
    token = site.tokens["AAA"]
    page = client.get(f"/r/{token}")
    fields = form_of(page)
    rid = site.ids["A1.2"]
    fields |= {f"version-{rid}": version, f"narrative-{rid}": "Changed.", "action": "save"}
    posted = client.post(
        f"/r/{token}", data=fields, headers={"Accept-Language": "es-ES,es;q=0.9"}, follow_redirects=False
    )
    assert posted.status_code == 422, posted.text
    assert posted.text.startswith("No se pudo tramitar esta solicitud (error 422).")  # the browser's language
    stored = site.update("A1.2")
    assert stored is None or stored.narrative != "Changed."


def test_a_cycle_named_with_a_slash_opens_on_the_secretariat_page_and_its_review_form_works(
    site: Scenario, client: TestClient
) -> None:
    save(site, all_items(site), submit=True)
    with site.uow:
        site.uow.session.execute(
            update(tables.cycles).where(tables.cycles.c.id == site.cycle_id).values(name="HLCP 53/1")
        )
        site.uow.commit()
    page = client.get("/cycles/hlcp-53-1", headers=AUTH)
    assert page.status_code == 200 and "HLCP 53/1" in page.text
    actions = set(re.findall(r'<form method="post" action="([^"]+)"', page.text))
    assert actions == {"/cycles/hlcp-53-1/review"}
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    fields = {"csrf": csrf.group(1), "action": "accept", "code": "A1.2", "agency": "AAA"}
    done = client.post("/cycles/hlcp-53-1/review", data=fields, headers=AUTH, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/cycles/hlcp-53-1?")
    assert (site.update("A1.2") or pytest.fail("no answer")).state == "accepted"


def test_a_nul_character_in_a_form_is_refused_as_unprocessable_on_every_database(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    rid = site.ids["A1.2"]
    fields |= {f"narrative-{rid}": "Started\x00.", f"status-{rid}": "in_progress", "action": "save"}
    posted = client.post(f"/r/{token}", data=fields, follow_redirects=False)
    assert posted.status_code == 422 and site.update("A1.2") is None
    assert "Open your reply link again" in posted.text
    save(site, all_items(site), submit=True)
    page = client.get(f"/cycles/{CYCLE}", headers=AUTH)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    fields = {
        "csrf": csrf.group(1),
        "action": "return",
        "code": "A1.2",
        "agency": "AAA",
        "question": "Why\x00?",
    }
    returned = client.post(f"/cycles/{CYCLE}/review", data=fields, headers=AUTH, follow_redirects=False)
    assert returned.status_code == 422
    assert "could not be handled (error 422)" in returned.text and "reply link" not in returned.text


def test_the_reply_page_never_breaks_the_session_name_before_its_number(
    site: Scenario, client: TestClient
) -> None:
    with site.uow:
        site.uow.session.execute(
            update(tables.cycles).where(tables.cycles.c.id == site.cycle_id).values(hlcp_session="HLCP 53")
        )
        site.uow.commit()
    page = client.get(f"/r/{site.tokens['AAA']}")
    assert page.status_code == 200
    assert "for HLCP\u00a053." in page.text and "HLCP 53" not in page.text

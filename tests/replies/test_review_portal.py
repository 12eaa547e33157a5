"""The secretariat's review queue on `/cycles/{name}`: accept, assess, return; token and CSRF enforced."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient

from portal.app import create_app
from tests.support import CYCLE, SECRETARIAT_TOKEN, Scenario, all_items, save

AUTH = {"Authorization": f"Bearer {SECRETARIAT_TOKEN}"}


@pytest.fixture
def client(site: Scenario) -> Iterator[TestClient]:
    save(site, all_items(site), submit=True)
    with TestClient(create_app(clock=site.clock)) as test_client:
        yield test_client


def csrf_of(page: httpx2.Response) -> str:
    found = re.search(r'<input type="hidden" name="csrf" value="([^"]+)"', page.text)
    assert found, "the review forms carry a CSRF token"
    return found.group(1)


def review(
    client: TestClient, fields: dict[str, str], headers: dict[str, str] | None = None
) -> httpx2.Response:
    return client.post(
        f"/cycles/{CYCLE}/review",
        data=fields,
        headers=AUTH if headers is None else headers,
        follow_redirects=False,
    )


def test_the_secretariat_page_lists_the_submitted_answers_with_accept_and_return_forms(
    client: TestClient,
) -> None:
    page = client.get(f"/cycles/{CYCLE}", headers=AUTH)

    assert page.status_code == 200
    assert "3 answers waiting" in page.text and "3 submitted" in page.text
    assert page.text.count('class="review-accept"') == 3 and page.text.count('class="review-return"') == 3
    assert "Meeting held in February." in page.text
    ids = re.findall(r'<(?:select|textarea) id="([^"]+)"', page.text)
    assert ids and all(f'<label for="{i}">' in page.text for i in ids)


def test_accepting_with_an_assessed_status_through_the_page(site: Scenario, client: TestClient) -> None:
    token = csrf_of(client.get(f"/cycles/{CYCLE}", headers=AUTH))
    fields = {"csrf": token, "action": "accept", "code": "A1.1", "agency": "AAA", "assess": "in_progress"}

    refused = review(client, fields)
    done = review(client, {**fields, "why": "Only one meeting so far."})

    assert refused.status_code == 422 and "say why the secretariat assesses it as In progress" in refused.text
    assert done.status_code == 303
    shown = client.get(done.headers["location"], headers=AUTH)
    assert "Accepted A1.1 (AAA)." in shown.text and "2 answers waiting" in shown.text
    stored = site.update("A1.1")
    assert stored is not None and stored.state == "accepted"


def test_returning_through_the_page_queues_the_question_for_the_agency(
    site: Scenario, client: TestClient
) -> None:
    token = csrf_of(client.get(f"/cycles/{CYCLE}", headers=AUTH))
    fields = {"csrf": token, "action": "return", "code": "A1.2", "agency": "AAA", "question": ""}

    assert review(client, fields).status_code == 422
    done = review(client, {**fields, "question": "Started <b>where</b>?"})

    assert done.status_code == 303
    assert site.update("A1.2").state == "returned"  # type: ignore[union-attr]
    (message,) = site.outbox("returned")
    assert "Started <b>where</b>?" in str(message["body_text"])
    assert "Started &lt;b&gt;where&lt;/b&gt;?" in str(message["body_html"])


def test_a_review_without_the_csrf_token_or_the_secretariat_token_changes_nothing(
    site: Scenario, client: TestClient
) -> None:
    token = csrf_of(client.get(f"/cycles/{CYCLE}", headers=AUTH))
    fields = {"action": "accept", "code": "A1.1", "agency": "AAA"}

    assert review(client, fields).status_code == 403
    assert review(client, {**fields, "csrf": "0" * 64}).status_code == 403
    assert review(client, {**fields, "csrf": token}, headers={}).status_code == 401
    assert (
        review(client, {**fields, "csrf": token}, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    other_cycle = client.post(
        "/cycles/2025-autumn/review", data={**fields, "csrf": token}, headers=AUTH, follow_redirects=False
    )
    assert other_cycle.status_code == 403  # the token is bound to its cycle's page
    assert site.update("A1.1").state == "submitted"  # type: ignore[union-attr]


def test_an_unknown_item_or_a_bad_action_is_refused_plainly(site: Scenario, client: TestClient) -> None:
    token = csrf_of(client.get(f"/cycles/{CYCLE}", headers=AUTH))

    unknown = review(client, {"csrf": token, "action": "accept", "code": "ZZ9", "agency": "AAA"})
    bad = review(client, {"csrf": token, "action": "delete", "code": "A1.1", "agency": "AAA"})

    assert unknown.status_code == 422 and "'ZZ9' is not one of AAA's items" in html.unescape(unknown.text)
    assert bad.status_code == 400


def test_the_session_cookie_from_the_key_link_is_enough_to_review(site: Scenario, client: TestClient) -> None:
    client.get(f"/cycles/{CYCLE}?key={SECRETARIAT_TOKEN}", follow_redirects=False)
    token = csrf_of(client.get(f"/cycles/{CYCLE}"))

    done = review(client, {"csrf": token, "action": "accept", "code": "A2.1", "agency": "AAA"}, headers={})

    assert done.status_code == 303 and site.update("A2.1").state == "accepted"  # type: ignore[union-attr]


def test_a_long_queue_shows_a_first_page_of_forms_and_says_so(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("portal.secretariat_routes.REVIEW_SHOWN_MAX", 2)

    page = client.get(f"/cycles/{CYCLE}", headers=AUTH)

    assert page.text.count('class="review-accept"') == 2
    assert "The first 2 are shown" in page.text and "3 answers waiting" in page.text


def test_the_secretariat_downloads_a_stock_take_report_with_its_token_and_nothing_else_of_the_folder(
    client: TestClient,
) -> None:
    from workflows.settings import get_settings

    reports = get_settings().reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"{CYCLE}-stocktake.md").write_text("# Stock-take\n")
    (reports / "notes.txt").write_text("not a report\n")
    url = f"/cycles/{CYCLE}/reports/{CYCLE}-stocktake.md"

    anonymous = client.get(url)
    signed_in = client.get(f"{url}?key={SECRETARIAT_TOKEN}", follow_redirects=False)
    with_cookie = client.get(url)  # the cookie from signing in
    other_file = client.get(f"/cycles/{CYCLE}/reports/notes.txt", headers=AUTH)
    not_written = client.get(f"/cycles/{CYCLE}/reports/{CYCLE}-stocktake.docx", headers=AUTH)

    assert anonymous.status_code == 401
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, url)
    assert with_cookie.status_code == 200 and with_cookie.text == "# Stock-take\n"
    assert f'filename="{CYCLE}-stocktake.md"' in with_cookie.headers["content-disposition"]
    assert other_file.status_code == 404 and not_written.status_code == 404


def test_a_completed_item_is_closed_on_the_page_and_a_reason_is_required(
    site: Scenario, client: TestClient
) -> None:
    page = client.get(f"/cycles/{CYCLE}", headers=AUTH)
    assert page.text.count('class="review-close"') == 1  # A1.1 only was reported completed
    fields = {"csrf": csrf_of(page), "action": "close", "code": "A1.1", "agency": "AAA", "how": "implemented"}

    refused = review(client, {**fields, "why": ""})
    done = review(client, {**fields, "why": "The expert group met; nothing left to follow up."})

    assert refused.status_code == 422 and "say why the recommendation is closed" in html.unescape(
        refused.text
    )
    assert done.status_code == 303
    assert "Closed (no longer asked): A1.1 (AAA)." in client.get(done.headers["location"], headers=AUTH).text
    with site.uow:
        assert site.uow.recommendations.by_code("A1.1").state == "implemented"

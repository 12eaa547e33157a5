"""A long request is answered in parts, one agenda point per page, on SQLite and PostgreSQL.

The scenario's agency AAA owns three items (A1.1 and A1.2 under agenda point 1, A2.1 under point 2);
with parts of at most two items, its request has two parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from portal.app import create_app
from tests.support import DEADLINE, Scenario, all_items, form_of, portal_with, post, save, send_back
from workflows import bootstrap
from workflows.queries.reply_views import plan_parts
from workflows.settings import get_settings


@pytest.fixture
def client(site: Scenario, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with portal_with(site, monkeypatch, portal_part_size="2") as test_client:
        yield test_client


def test_a_long_request_opens_in_parts_with_a_navigation_that_never_holds_the_token(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    first = client.get(f"/r/{token}")
    assert first.status_code == 200
    assert "A1.1" in first.text and "A1.2" in first.text and "A2.1" not in first.text
    assert "Please report on the 3 recommendations" in first.text
    assert "0 of 2 saved" in first.text and "0 of 1 saved" in first.text
    assert token not in first.text
    assert re.search(r'<a href="\?part=1" aria-current="page">', first.text)
    second = client.get(f"/r/{token}?part=2")
    assert "A2.1" in second.text and "A1.1" not in second.text
    assert f'name="status-{site.ids["A2.1"]}"' in second.text
    for wrong in ("3", "0", "x", "99999"):
        assert client.get(f"/r/{token}?part={wrong}").status_code == 404


def test_a_part_number_the_request_lacks_says_so_while_a_bad_link_stays_a_plain_not_found(
    site: Scenario, client: TestClient
) -> None:
    missing = client.get(f"/r/{site.tokens['AAA']}?part=3")
    assert missing.status_code == 404 and "no part with that number" in missing.text
    assert "<title>This page cannot be found" in missing.text  # not "Link not valid": the link is fine
    no_file = client.get(f"/r/{site.tokens['AAA']}?file=99", headers={"Accept-Language": "fr"})
    assert no_file.status_code == 404 and "Ce fichier n’est plus joint à vos réponses" in no_file.text
    bad_link = client.get("/r/not-a-real-token?part=3")
    assert bad_link.status_code == 404 and "The link is not valid" in bad_link.text
    assert "<title>Link not valid" in bad_link.text
    assert "no longer attached" not in client.get("/r/not-a-real-token?file=99").text


def _no_change_on_part_one(site: Scenario, client: TestClient, token: str) -> dict[str, str]:
    fields = form_of(client.get(f"/r/{token}?part=1"))
    for code in ("A1.1", "A1.2"):
        fields[f"no_change-{site.ids[code]}"] = "yes"
    return fields


def test_saving_a_part_keeps_its_no_change_answers_as_drafts_and_opens_the_next_part(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    saved = post(client, token, _no_change_on_part_one(site, client, token), "next")
    assert saved.status_code == 303 and saved.headers["location"] == f"/r/{token}?part=2&saved=1"
    stored = site.update("A1.1")
    assert stored is not None and (stored.state, stored.status) == ("draft", "in_progress")
    assert stored.narrative == ""  # a confirmation: last cycle's text is not copied in
    page = client.get(saved.headers["location"])
    assert "Draft saved." in page.text and "2 of 2 saved" in page.text and "A2.1" in page.text
    assert site.request_state()[0] != "answered"


def test_submitting_from_a_part_keeps_its_typing_and_points_to_the_part_still_unsaved(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    rid = site.ids["A2.1"]
    fields = form_of(client.get(f"/r/{token}?part=2"))
    fields[f"status-{rid}"] = "ongoing"
    fields[f"narrative-{rid}"] = "Mainstreamed in all programmes."
    refused = post(client, token, fields, "submit", part=2)
    assert refused.status_code == 422
    assert "saved as a draft, nothing was submitted" in refused.text
    assert re.search(r'<a href="\?part=1">Part 1, Agenda point 1[^<]*: 2 problems</a>', refused.text)
    assert "(0 of 2 items saved)" in refused.text
    assert "Mainstreamed in all programmes." in refused.text
    stored = site.update("A2.1")
    assert stored is not None and (stored.state, stored.status) == ("draft", "ongoing")
    assert site.update("A1.1") is None
    assert site.request_state()[0] != "answered" and not site.outbox("receipt")


def test_a_part_of_one_item_still_unsaved_is_counted_in_the_singular(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}?part=1"))
    for code in ("A1.1", "A1.2"):
        fields[f"no_change-{site.ids[code]}"] = "yes"
    refused = post(client, token, fields, "submit", part=1)
    assert refused.status_code == 422 and "(0 of 1 item saved)" in refused.text


def test_a_long_request_is_submitted_from_its_last_part_once_every_part_is_saved(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    post(client, token, _no_change_on_part_one(site, client, token), "next")
    rid = site.ids["A2.1"]
    fields = form_of(client.get(f"/r/{token}?part=2"))
    fields[f"status-{rid}"] = "ongoing"
    fields[f"narrative-{rid}"] = "Mainstreamed in all programmes."
    submitted = post(client, token, fields, "submit", part=2)
    assert submitted.status_code == 303 and submitted.headers["location"] == f"/r/{token}/receipt"
    assert site.request_state()[0] == "answered"
    states = {code: stored.state for code in ("A1.1", "A1.2", "A2.1") if (stored := site.update(code))}
    assert states == {"A1.1": "submitted", "A1.2": "submitted", "A2.1": "submitted"}
    assert len(site.outbox("receipt")) == 1
    receipt = client.get(submitted.headers["location"])
    assert "Mainstreamed in all programmes." in receipt.text
    assert "Terms of reference drafted." not in receipt.text  # last cycle's news is not this cycle's


def _rows(groups: dict[str, int]) -> dict[int, dict[str, object]]:
    rows: dict[int, dict[str, object]] = {}
    for point, (title, count) in enumerate(groups.items(), start=1):
        for _ in range(count):
            rows[len(rows) + 1] = {"kind": "annex", "agenda_point": point, "agenda_title": title}
    return rows


def test_a_short_request_is_one_part_and_a_long_one_is_cut_by_agenda_point_into_near_equal_pieces() -> None:
    assert plan_parts(_rows({"Peace": 40}), 40) == [("", list(range(1, 41)))]
    parts = plan_parts(_rows({"Peace": 90, "Women": 5}), 40)
    assert [(title, len(rids)) for title, rids in parts] == [
        ("Agenda point 1: Peace (1 of 3)", 30),
        ("Agenda point 1: Peace (2 of 3)", 30),
        ("Agenda point 1: Peace (3 of 3)", 30),
        ("Agenda point 2: Women", 5),
    ]
    assert [rid for _, rids in parts for rid in rids] == list(range(1, 96))


def assert_submitted(site: Scenario, code: str, narrative: str) -> None:
    stored = site.update(code)
    assert stored is not None and (stored.state, stored.narrative) == ("submitted", narrative)


def test_a_correction_submitted_from_a_part_is_recorded_with_a_receipt(
    site: Scenario, client: TestClient
) -> None:
    save(site, all_items(site), submit=True)
    token, rid = site.tokens["AAA"], site.ids["A2.1"]
    fields = form_of(client.get(f"/r/{token}?part=2"))
    fields[f"narrative-{rid}"] = "Now mainstreamed everywhere."
    assert post(client, token, fields, "submit", part=2).headers["location"] == f"/r/{token}/receipt"
    assert_submitted(site, "A2.1", "Now mainstreamed everywhere.")
    assert len(site.outbox("receipt")) == 2


def test_a_returned_item_answered_from_a_part_after_the_deadline_is_submitted(
    site: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(site, all_items(site), submit=True)
    send_back(site, "A1.2", "Where?")
    monkeypatch.setenv("FOLLOWUP_PORTAL_PART_SIZE", "2")
    get_settings.cache_clear()
    token, rid = site.tokens["AAA"], site.ids["A1.2"]
    with TestClient(create_app(clock=bootstrap.FixedClock(DEADLINE + timedelta(days=3)))) as late:
        fields = form_of(late.get(f"/r/{token}?part=1"))
        fields[f"narrative-{rid}"] = "Started in Geneva, in the expert group."
        assert post(late, token, fields, "submit", part=1).headers["location"] == f"/r/{token}/receipt"
    assert_submitted(site, "A1.2", "Started in Geneva, in the expert group.")


def test_clearing_a_saved_answer_then_submitting_from_its_part_is_refused_and_keeps_the_draft(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A2.1"]
    post(client, token, form_of(client.get(f"/r/{token}?part=1")), "next")
    fields = form_of(client.get(f"/r/{token}?part=2"))
    fields[f"status-{rid}"], fields[f"narrative-{rid}"] = "ongoing", "In every programme."
    post(client, token, fields, "save", part=2)
    fields = form_of(client.get(f"/r/{token}?part=2"))
    fields[f"status-{rid}"] = ""  # the focal point withdraws the status, its text still there
    refused = post(client, token, fields, "submit", part=2)
    assert (
        refused.status_code == 422 and "choose a status, or No change, to save what you wrote" in refused.text
    )
    stored = site.update("A2.1")
    assert stored is not None and (stored.state, stored.status) == ("draft", "ongoing")
    assert site.request_state()[0] != "answered"

"""Every portal route over HTTP, including the security cases, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.lifecycle import CycleState, ReviewState
from domain.model import MilestoneOutcome
from domain.ports import Clock, Notifier
from domain.tokens import derive_token
from portal.app import create_app
from tests import factories
from tests.support import CYCLE, SECRETARIAT_TOKEN, Scenario, form_of, post
from workflows import bootstrap
from workflows.services import agencies


@pytest.fixture
def client(site: Scenario) -> Iterator[TestClient]:
    with TestClient(create_app(clock=site.clock)) as test_client:
        yield test_client


def test_the_link_opens_one_page_with_the_agencys_items_previous_answers_and_safe_headers(
    site: Scenario, client: TestClient
) -> None:
    page = client.get(f"/r/{site.tokens['AAA']}")
    assert page.status_code == 200
    for text in ("A1.1", "A1.2", "A2.1", "Agenda point 1", "Terms of reference drafted.", "overdue"):
        assert text in page.text
    assert "SR1" not in page.text  # BBB's item
    assert page.headers["cache-control"].startswith("no-store")
    assert "etag" not in page.headers  # browsers keep nothing, so there is nothing to revalidate
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert 'name="viewport"' in page.text
    # Every input has a label; each item is a fieldset with a legend.
    ids = re.findall(r'<(?:select|textarea|input type="text" class="date") id="([^"]+)"', page.text)
    assert ids and all(f'<label for="{i}">' in page.text for i in ids)
    assert page.text.count("<fieldset") == page.text.count("<legend>") == 3
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and f"Path=/r/{site.tokens['AAA']}" in cookie
    assert client.get("/static/portal.css").status_code == 200


def test_every_id_on_the_reply_page_is_unique_whatever_the_numbers_of_items_and_milestones_meet(
    site: Scenario, client: TestClient
) -> None:
    rid = site.ids["A1.2"]
    with site.uow:  # a milestone of A1.2 numbered as A1.2 itself
        site.uow.session.execute(
            insert(tables.milestones).values(
                id=rid, recommendation_id=rid, title="Pilot", due_date=date(2026, 6, 1), state="planned"
            )
        )
        site.uow.commit()
    ids = Counter(re.findall(r'\sid="([^"]+)"', client.get(f"/r/{site.tokens['AAA']}").text))
    assert [name for name, count in ids.items() if count > 1] == []


def test_an_overdue_milestone_is_not_offered_as_on_track_which_its_submission_would_refuse(
    site: Scenario, client: TestClient
) -> None:
    page = client.get(f"/r/{site.tokens['AAA']}").text
    [(options, why)] = re.findall(
        r'<select id="milestone_outcome-\d+"[^>]*>(.*?)</select>.*?<input ([^>]*milestone_why[^>]*)>',
        page,
        re.S,
    )
    assert "overdue" in page and 'value="done"' in options and 'value="on_track"' not in options
    assert 'class="why"' in why  # as wide as the other fields, on a phone too
    assert [o.value for o in MilestoneOutcome.offered(overdue=False)] == [
        "on_track",
        "done",
        "rescheduled",
        "dropped",
    ]


def test_wrong_forged_revoked_cross_agency_and_expired_links_get_the_same_plain_404(
    site: Scenario, client: TestClient
) -> None:
    with site.uow:
        bbb = site.uow.requests.get(site.cycle_id, "BBB")
        assert bbb is not None
        # AAA's token shape with BBB's nonce: a link for another agency's request does not exist.
        cross_agency = derive_token(factories.SECRET_KEY, bbb.token_nonce, site.cycle_id, "AAA")
        bbb.revoke(at=factories.AT, by="secretariat")
        site.uow.commit()
    bodies = set()
    for path in (
        "/r/not-a-token",
        f"/r/{cross_agency}",
        f"/r/{site.tokens['BBB']}",  # revoked
        f"/r/{site.tokens['BBB']}/receipt",
        "/no/such/page",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        bodies.add(response.text)
    refused = client.post(f"/r/{site.tokens['BBB']}", data={"action": "save"})
    assert refused.status_code == 404
    bodies.add(refused.text)
    with site.uow:
        cycle = site.uow.cycles.require(CYCLE)
        cycle.transition(CycleState.CLOSED, at=factories.AT, by="secretariat")
        cycle.closed_at = factories.AT
        site.uow.commit()
    late = TestClient(create_app(clock=bootstrap.FixedClock(date(2026, 6, 1))))
    expired = late.get(f"/r/{site.tokens['AAA']}")
    assert expired.status_code == 404
    bodies.add(expired.text)
    assert len(bodies) == 1
    (body,) = bodies
    assert (
        "Traceback" not in body
        and str(site.cycle_id) not in re.sub(r"<[^>]+>", "", body).split("secretariat")[0]
    )


def test_a_draft_is_kept_and_a_submission_shows_what_was_recorded(site: Scenario, client: TestClient) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    rid = site.ids["A2.1"]
    fields[f"status-{rid}"] = "ongoing"
    fields[f"narrative-{rid}"] = "Mainstreamed in all programmes."
    saved = post(client, token, fields, "save")
    # Back at the item saved (its fragment), with "Draft saved." in the bar that stays in view.
    assert saved.status_code == 303 and saved.headers["location"] == f"/r/{token}?saved=1#item-{rid}"
    again = client.get(saved.headers["location"])
    assert "Mainstreamed in all programmes." in again.text
    assert re.search(
        r'<div class="actions"[^>]*>\s*<p class="progress">.*</p>\s*'
        r'<p class="saved" role="status">Draft saved\.</p>',
        again.text,
    )
    fields = form_of(again)
    fields[f"status-{site.ids['A1.1']}"] = "completed"
    fields[f"narrative-{site.ids['A1.1']}"] = "The meeting took place."
    fields[f"no_change-{site.ids['A1.2']}"] = "yes"  # last cycle's Not started, confirmed
    submitted = post(client, token, fields, "submit")
    assert submitted.status_code == 303 and submitted.headers["location"] == f"/r/{token}/receipt"
    receipt = client.get(submitted.headers["location"])
    assert "your reply is recorded" in receipt.text
    assert "The meeting took place." in receipt.text and "Mainstreamed in all programmes." in receipt.text
    assert 'data-label="Status:"' in receipt.text  # each cell's label on a phone
    assert site.request_state()[0] == "answered"
    assert len(site.outbox("receipt")) == 1
    assert "Submit corrections" in client.get(f"/r/{token}").text


def _milestone_of(site: Scenario, rid: int) -> int:
    """The id of the scenario's one milestone of item `rid`."""
    with site.uow:
        (milestone,) = site.uow.milestones.for_recommendations([rid])
        assert milestone.id is not None
        return milestone.id


def test_corrections_of_one_item_keep_another_items_report_of_a_milestone_now_done_and_its_version(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A1.1"]
    mid = _milestone_of(site, rid)
    fields = form_of(client.get(f"/r/{token}"))
    fields[f"status-{rid}"], fields[f"narrative-{rid}"] = "completed", "The meeting took place."
    fields[f"milestone-{mid}"], fields[f"milestone_on-{mid}"] = "done", "2026-02-27"
    fields[f"no_change-{site.ids['A1.2']}"] = "yes"
    fields[f"status-{site.ids['A2.1']}"] = "ongoing"
    assert post(client, token, fields, "submit").status_code == 303
    reported = site.update("A1.1")
    assert reported is not None

    # The milestone is done, so the form no longer offers it; a colleague corrects A2.1 only.
    fields = form_of(client.get(f"/r/{token}"))
    assert f"milestone-{mid}" not in fields
    fields[f"narrative-{site.ids['A2.1']}"] = "In every programme since May."
    assert post(client, token, fields, "submit").status_code == 303

    assert site.update("A1.1") == reported  # no new version of an answer nobody changed
    with site.uow:
        stored = site.uow.updates.get(site.cycle_id, rid, "AAA")
        assert stored is not None
        assert [(m["outcome"], m["on"]) for m in stored.milestone_reports] == [("done", "2026-02-27")]
    corrected = site.update("A2.1")
    assert corrected is not None and corrected.narrative == "In every programme since May."


def test_each_problem_of_a_milestone_report_links_to_the_field_it_is_about(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A1.1"]
    mid = _milestone_of(site, rid)
    fields = form_of(client.get(f"/r/{token}"))
    fields[f"status-{rid}"], fields[f"milestone-{mid}"] = "in_progress", "rescheduled"
    refused = post(client, token, fields, "save")
    assert refused.status_code == 422
    assert (
        f'<a href="#milestone_on-{mid}">' in refused.text
        and f'<a href="#milestone_why-{mid}">' in refused.text
    )


def test_the_receipt_page_and_e_mail_show_every_field_recorded_not_only_status_and_text(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    first, second, third = (site.ids[code] for code in ("A1.1", "A1.2", "A2.1"))
    fields[f"status-{first}"], fields[f"narrative-{first}"] = "blocked", "Stalled."
    fields[f"obstacle-{first}"] = "Funding ended in 2026."
    fields[f"no_change-{second}"] = "yes"
    fields[f"status-{third}"], fields[f"evidence-{third}"] = "ongoing", "https://example.org/report"
    fields[f"next_milestone_date-{third}"] = "2027-03-26"
    assert post(client, token, fields, "submit").status_code == 303
    page = client.get(f"/r/{token}/receipt").text
    (mail,) = site.outbox("receipt")
    for shown in (page, str(mail["body_text"]), str(mail["body_html"])):
        for said in ("Funding ended in 2026.", "https://example.org/report", "26 March 2027"):
            assert said in shown, said


def test_the_receipt_page_opened_before_anything_was_submitted_thanks_for_nothing(
    site: Scenario, client: TestClient
) -> None:
    page = client.get(f"/r/{site.tokens['AAA']}/receipt").text
    assert "<h1>Nothing has been submitted yet for stock-take 2026-spring.</h1>" in page
    assert "Thank you" not in page and "Reply recorded" not in page


def test_the_receipt_page_names_the_agency_as_a_sentence_of_its_language_does(
    site: Scenario, client: TestClient
) -> None:
    with site.uow:
        agency = site.uow.agencies.require("AAA")
        agency.short_name, agency.article, agency.translations = "Fund", "the", {"fr": "le Fonds"}
        site.uow.commit()
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    for code, status in (("A1.1", "completed"), ("A2.1", "ongoing")):
        fields[f"status-{site.ids[code]}"] = status
        fields[f"narrative-{site.ids[code]}"] = "Done as agreed."
    fields[f"no_change-{site.ids['A1.2']}"] = "yes"
    assert post(client, token, fields, "submit").status_code == 303

    assert "the following on record from the Fund (first submitted" in client.get(f"/r/{token}/receipt").text
    agencies.set_language(site.uow, "AAA", "fr")
    assert "les réponses suivantes du Fonds (première" in client.get(f"/r/{token}/receipt").text


def _item_fold(page: str, rid: int) -> tuple[bool, str]:
    """Whether the item's fold opens with the page, and what its closed row offers."""
    fold = rf'id="item-{rid}">.*?<details( open)?>.*?<span class="open-hint">([^<]*)</span>'
    found = re.search(fold, page, re.S)
    assert found is not None, f"no item {rid} with a fold"
    return bool(found.group(1)), found.group(2)


def test_a_settled_item_offers_to_show_and_edit_it_in_the_agencys_language_and_only_to_show_it_once_closed(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A2.1"]
    fields = form_of(client.get(f"/r/{token}"))
    fields[f"status-{rid}"] = "ongoing"
    fields[f"narrative-{rid}"] = "Mainstreamed in all programmes."
    assert post(client, token, fields, "save").status_code == 303
    assert _item_fold(client.get(f"/r/{token}").text, rid) == (False, "Show and edit")
    assert _item_fold(client.get(f"/r/{token}").text, site.ids["A1.1"])[0] is True  # not answered: open
    agencies.set_language(site.uow, "AAA", "fr")
    assert _item_fold(client.get(f"/r/{token}").text, rid) == (False, "Afficher et modifier")
    with site.uow:
        cycle = site.uow.cycles.require(CYCLE)
        cycle.transition(CycleState.CLOSED, at=factories.AT, by="secretariat")
        cycle.closed_at = factories.AT
        site.uow.commit()
    assert _item_fold(client.get(f"/r/{token}").text, rid) == (False, "Afficher")


def test_earlier_versions_say_their_state_and_channel_in_the_agencys_language(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A2.1"]
    for narrative in ("First draft.", "Second draft."):
        fields = form_of(client.get(f"/r/{token}"))
        fields[f"status-{rid}"] = "ongoing"
        fields[f"narrative-{rid}"] = narrative
        assert post(client, token, fields, "save").status_code == 303
    agencies.set_language(site.uow, "AAA", "fr")
    page = client.get(f"/r/{token}").text
    assert "Version 1 (brouillon enregistré, sur la page de réponse)\u00a0: Permanent. First draft." in page
    assert "(draft, portal)" not in page


def test_a_french_page_puts_a_no_break_space_before_the_colons_it_writes(
    site: Scenario, client: TestClient
) -> None:
    agencies.set_language(site.uow, "AAA", "fr")
    token = site.tokens["AAA"]
    page = client.get(f"/r/{token}")
    assert "Expert group meeting\u00a0: échéance" in page.text
    refused = post(client, token, form_of(page), "submit")  # nothing answered: the problems are listed
    assert refused.status_code == 422 and "A1.1, État d’avancement\u00a0: " in refused.text


def test_a_form_without_or_with_a_wrong_csrf_token_is_refused_with_403(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    fields[f"status-{site.ids['A2.1']}"] = "ongoing"
    missing = {k: v for k, v in fields.items() if k != "csrf"}
    assert post(client, token, missing, "save").status_code == 403
    assert post(client, token, {**fields, "csrf": "0" * 64}, "save").status_code == 403
    client.cookies.clear()  # the right hidden field but no cookie: a cross-site post
    refused = post(client, token, fields, "save")
    assert refused.status_code == 403 and "could not be verified" in refused.text
    assert site.update("A2.1") is None


def test_an_oversized_request_is_refused_with_413(site: Scenario, client: TestClient) -> None:
    token = site.tokens["AAA"]
    response = client.post(f"/r/{token}", data={"narrative-1": "x" * 300_000, "action": "save"})
    assert response.status_code == 413 and "too large" in response.text
    assert site.update("A1.1") is None


def test_a_text_too_large_for_the_form_sent_with_its_file_inputs_is_refused_with_413_as_any_reply(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    fields[f"narrative-{site.ids['A1.2']}"] = "x" * 270_000  # within what a save with files may carry
    empty_file_input = {f"evidence_files-{site.ids['A1.2']}": ("", b"", "application/octet-stream")}
    response = client.post(f"/r/{token}", data={**fields, "action": "save"}, files=empty_file_input)
    assert response.status_code == 413
    assert response.text.startswith("Request too large: a reply may be at most 256 KB.")
    assert site.update("A1.2") is None


def test_a_too_long_narrative_gets_a_clear_message_and_the_typing_is_kept(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    rid = site.ids["A1.2"]
    fields[f"status-{rid}"] = "in_progress"
    fields[f"narrative-{rid}"] = "y" * 4100
    response = post(client, token, fields, "save")
    assert response.status_code == 422
    assert "A1.2, What changed and why: at most 4,000 characters (this one has 4,100)" in response.text
    assert ", narrative:" not in response.text  # the form's label, never the internal field name
    assert "y" * 4100 in response.text and "nothing was saved" in response.text
    assert site.update("A1.2") is None


@pytest.mark.parametrize("field", ["narrative", "obstacle", "next_milestone_date", "evidence"])
def test_text_typed_without_a_status_is_refused_with_a_reason_never_dropped_as_a_saved_draft(
    site: Scenario, client: TestClient, field: str
) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    rid = site.ids["A1.2"]
    typed = {"next_milestone_date": "2027-03-26", "evidence": "https://example.org/plan"}.get(
        field, "Funds ended."
    )
    fields[f"status-{rid}"], fields[f"{field}-{rid}"] = "", typed
    response = post(client, token, fields, "save")
    assert response.status_code == 422 and "Draft saved." not in response.text
    assert "A1.2, Status: choose a status, or No change, to save what you wrote" in response.text
    shown = "26 March 2027" if field == "next_milestone_date" else typed  # as the form writes a date
    assert shown in response.text and "nothing was saved" in response.text
    assert site.update("A1.2") is None


def test_a_script_in_a_narrative_is_shown_escaped(site: Scenario, client: TestClient) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    rid = site.ids["A2.1"]
    fields[f"status-{rid}"] = "ongoing"
    fields[f"narrative-{rid}"] = '<script>alert("x")</script>'
    post(client, token, fields, "save")
    page = client.get(f"/r/{token}")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "<script>" not in page.text


def test_evidence_must_be_web_links(site: Scenario, client: TestClient) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    rid = site.ids["A2.1"]
    fields[f"status-{rid}"] = "ongoing"
    fields[f"evidence-{rid}"] = "https://example.org/report.pdf\njavascript:alert(1)\nhttps://[insert"
    response = post(client, token, fields, "save")
    assert response.status_code == 422
    # A bracket reads as a broken IPv6 address to the URL parser: a problem named, never a crash.
    assert "A2.1, Evidence links: &#39;https://[insert&#39; is not a web link" in response.text
    assert (
        "A2.1, Evidence links: &#39;javascript:alert(1)&#39; is not a web link (http:// or https://)"
        in response.text
    )


def test_a_concurrent_edit_is_not_overwritten_and_both_answers_are_shown(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    first = form_of(client.get(f"/r/{token}"))
    second = dict(first)  # a colleague loaded the same page at the same time
    rid, other = site.ids["A2.1"], site.ids["A1.2"]
    first[f"status-{rid}"], first[f"narrative-{rid}"] = "ongoing", "Answer of the first focal point."
    assert post(client, token, first, "save").status_code == 303
    second[f"status-{rid}"], second[f"narrative-{rid}"] = "blocked", "Answer of the second focal point."
    second[f"status-{other}"], second[f"narrative-{other}"] = "in_progress", "Started in May."
    response = post(client, token, second, "save")
    assert response.status_code == 409
    assert "Answer of the first focal point." in response.text
    assert "Answer of the second focal point." in response.text
    assert "Your other answers were saved (A1.2)" in response.text
    stored = site.update("A2.1")
    assert stored is not None and stored.narrative == "Answer of the first focal point."
    assert (site.update("A1.2") or pytest.fail("A1.2 not saved")).narrative == "Started in May."
    # Sending again from the conflict page replaces the other answer knowingly.
    again = form_of(response)
    assert again[f"narrative-{rid}"] == "Answer of the second focal point."
    again[f"obstacle-{rid}"] = "No budget."
    assert post(client, token, again, "save").status_code == 303
    assert (site.update("A2.1") or pytest.fail("lost")).narrative == "Answer of the second focal point."


def test_after_the_deadline_a_submitted_reply_is_read_only_except_returned_items(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    for code, status in (("A1.1", "completed"), ("A1.2", "in_progress"), ("A2.1", "ongoing")):
        fields[f"status-{site.ids[code]}"] = status
        fields[f"narrative-{site.ids[code]}"] = f"News on {code}."
    assert post(client, token, fields, "submit").status_code == 303
    with site.uow:
        update = site.uow.updates.get(site.cycle_id, site.ids["A2.1"], "AAA")
        assert update is not None
        update.transition(ReviewState.RETURNED, at=factories.AT, by="secretariat")
        update.reviewer_question = "Which programmes exactly?"
        site.uow.commit()
    late = TestClient(create_app(clock=bootstrap.FixedClock(date(2026, 4, 5))))
    page = late.get(f"/r/{token}")
    assert "The deadline has passed" in page.text and "Which programmes exactly?" in page.text
    assert page.text.count("<select") == 1 and f'name="status-{site.ids["A2.1"]}"' in page.text


def test_the_secretariat_page_needs_the_secretariat_token(
    site: Scenario, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get(f"/cycles/{CYCLE}").status_code == 401
    assert client.get(f"/cycles/{CYCLE}", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(f"/cycles/{CYCLE}?key=wrong", follow_redirects=False).status_code == 401
    page = client.get(f"/cycles/{CYCLE}", headers={"Authorization": f"Bearer {SECRETARIAT_TOKEN}"})
    assert page.status_code == 200 and "AAA" in page.text and "BBB" in page.text
    assert (
        client.get("/cycles/unknown", headers={"Authorization": f"Bearer {SECRETARIAT_TOKEN}"}).status_code
        == 404
    )
    browser = TestClient(create_app(clock=site.clock))
    login = browser.get(f"/cycles/{CYCLE}?key={SECRETARIAT_TOKEN}", follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == f"/cycles/{CYCLE}"
    assert "HttpOnly" in login.headers["set-cookie"] and SECRETARIAT_TOKEN not in login.headers["set-cookie"]
    assert browser.get(f"/cycles/{CYCLE}").status_code == 200
    monkeypatch.delenv("FOLLOWUP_SECRETARIAT_TOKEN")
    from workflows.settings import get_settings

    get_settings.cache_clear()
    unconfigured = TestClient(create_app(clock=site.clock))
    assert (
        unconfigured.get(
            f"/cycles/{CYCLE}", headers={"Authorization": f"Bearer {SECRETARIAT_TOKEN}"}
        ).status_code
        == 404
    )


def test_health_check_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok\n"


def test_an_unexpected_failure_shows_a_plain_message_without_internals(site: Scenario) -> None:
    def broken_notifier(_uow: SqlUnitOfWork, _clock: Clock) -> Notifier:
        raise RuntimeError("database password is hunter2 at /srv/followup/secret.py line 12")

    app = create_app(clock=site.clock, notifier=broken_notifier)
    client = TestClient(app, raise_server_exceptions=False)
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    response = post(client, token, fields, "save")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "hunter2" not in response.text and "Traceback" not in response.text and ".py" not in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_a_closed_cycle_shows_the_reply_read_only_and_refuses_answers(
    site: Scenario, client: TestClient
) -> None:
    token = site.tokens["AAA"]
    fields = form_of(client.get(f"/r/{token}"))
    with site.uow:
        cycle = site.uow.cycles.require(CYCLE)
        cycle.transition(CycleState.CLOSED, at=factories.AT, by="secretariat")
        cycle.closed_at = factories.AT
        site.uow.commit()
    page = client.get(f"/r/{token}")
    assert page.status_code == 200 and "This stock-take is closed" in page.text and "<select" not in page.text
    refused = post(client, token, fields, "submit")
    assert refused.status_code == 409 and "the cycle is closed" in refused.text
    assert site.update("A1.1") is None
    agencies.set_language(site.uow, "AAA", "fr")
    refused = post(client, token, fields, "submit")
    assert refused.status_code == 409
    assert "le bilan est clos\u00a0: les réponses ne peuvent plus être modifiées" in refused.text

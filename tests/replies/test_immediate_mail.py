"""Mail someone waits for leaves at once: receipts, returned questions and new links, on both backends."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx2
import pytest

from notifications.outbox import DispatchReport
from notifications.senders import KEY_HEADER, sender_from_url
from tests.smtp import HOST, SmtpServer, free_port
from tests.support import CYCLE, SECRETARIAT_TOKEN, Scenario, dispatch, form_of, portal_with, post, run
from workflows import bootstrap, settings


def submit_through_the_portal(site: Scenario, monkeypatch: pytest.MonkeyPatch, mail_url: str) -> int:
    """AAA answers its last item and submits through the portal; returns the response's status."""
    with portal_with(site, monkeypatch, mail_url=mail_url) as client:
        token = site.tokens["AAA"]
        fields = every_item_answered(site, form_of(client.get(f"/r/{token}")))
        return post(client, token, fields, "submit").status_code


def every_item_answered(site: Scenario, fields: dict[str, str]) -> dict[str, str]:
    """AAA's form with every item answered: last cycle's two confirmed (never pre-filled), A2.1 ongoing."""
    for code in ("A1.1", "A1.2"):
        fields[f"no_change-{site.ids[code]}"] = "yes"
    return {**fields, f"status-{site.ids['A2.1']}": "ongoing"}


def no_mail_server() -> str:
    """The URL of a loopback port nothing listens on: connecting is refused at once."""
    return f"smtp://{HOST}:{free_port()}"


@pytest.fixture
def silent_mail_server() -> Iterator[str]:
    """A port that takes connections and never says a word (a mail server stuck or firewalled)."""
    with socket.socket() as listening:
        listening.bind((HOST, 0))
        listening.listen(8)
        yield f"smtp://{HOST}:{listening.getsockname()[1]}"


def test_a_receipt_reaches_the_mail_server_right_after_the_submit_with_no_flow_run(
    site: Scenario, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    assert submit_through_the_portal(site, monkeypatch, smtp_server.url) == 303
    submitted = time.monotonic()
    # Within a second on an idle machine; the bound leaves room for a loaded CI machine, and no
    # dispatcher runs in this test, so only the submit itself can have sent it.
    while not smtp_server.messages and time.monotonic() - submitted < 5:
        time.sleep(0.01)

    assert [m[KEY_HEADER] for m in smtp_server.messages] == [site.outbox("receipt")[0]["idempotency_key"]]
    (receipt,) = site.outbox("receipt")
    assert receipt["state"] == "sent" and receipt["attempts"] == 1
    text = smtp_server.messages[0].get_body(("plain",))
    assert text is not None and f"/r/{site.tokens['AAA']}" in text.get_content()  # the live link


def test_a_receipt_sent_at_once_is_never_sent_again_by_the_dispatcher(
    site: Scenario, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    submit_through_the_portal(site, monkeypatch, smtp_server.url)

    again = dispatch(bootstrap.uow, bootstrap.sender(), site.clock, key_prefix="receipt:")

    assert again == DispatchReport() and len(smtp_server.messages) == 1


def test_with_the_mail_server_down_the_submit_succeeds_and_the_receipt_stays_queued_for_the_flow(
    site: Scenario, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    assert submit_through_the_portal(site, monkeypatch, no_mail_server()) == 303

    (receipt,) = site.outbox("receipt")
    assert site.request_state()[0] == "answered"
    assert receipt["state"] == "queued" and "ConnectionRefusedError" in str(receipt["last_error"])
    later = bootstrap.FixedClock(site.clock.today(), site.clock.now() + timedelta(minutes=2))
    sent = dispatch(bootstrap.uow, sender_from_url(smtp_server.url), later, key_prefix="receipt:")
    assert sent.sent == 1 and len(smtp_server.messages) == 1  # the flows' dispatcher, the safety net


@pytest.mark.slow
def test_a_silent_mail_server_never_holds_the_submit_and_the_receipt_stays_queued(
    site: Scenario, monkeypatch: pytest.MonkeyPatch, silent_mail_server: str
) -> None:
    import uvicorn

    from portal.app import create_app

    monkeypatch.setenv("FOLLOWUP_MAIL_URL", silent_mail_server)
    settings.get_settings.cache_clear()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(clock=site.clock), host=HOST, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with httpx2.Client(base_url=f"http://{HOST}:{port}") as client:
            token = site.tokens["AAA"]
            fields = every_item_answered(site, form_of(client.get(f"/r/{token}")))
            started = time.monotonic()
            response = client.post(f"/r/{token}", data={**fields, "action": "submit"})
            waited = time.monotonic() - started
            # The mail server never answers: the response must not wait out the 2 s SMTP timeout.
            assert response.status_code == 303 and waited < 2
            deadline = time.monotonic() + 10
            while site.outbox("receipt")[0]["attempts"] == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    (receipt,) = site.outbox("receipt")
    assert receipt["state"] == "queued" and "timed out" in str(receipt["last_error"])


def test_a_question_returned_on_the_secretariats_page_is_sent_at_once(
    site: Scenario, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    submit_through_the_portal(site, monkeypatch, smtp_server.url)
    with portal_with(site, monkeypatch, mail_url=smtp_server.url) as client:
        client.get(f"/cycles/{CYCLE}", params={"key": SECRETARIAT_TOKEN})
        page = client.get(f"/cycles/{CYCLE}")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        returned = client.post(
            f"/cycles/{CYCLE}/review",
            data={
                "csrf": csrf,
                "action": "return",
                "code": "A1.1",
                "agency": "AAA",
                "question": "Which one?",
            },
            follow_redirects=False,
        )

    assert returned.status_code == 303
    (question,) = site.outbox("returned")
    assert question["state"] == "sent"
    assert smtp_server.messages[-1][KEY_HEADER] == question["idempotency_key"]


def test_a_reissued_link_is_sent_at_once_by_the_command(
    site: Scenario, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer, database_url: str
) -> None:
    monkeypatch.setenv("FOLLOWUP_MAIL_URL", smtp_server.url)

    output = run(database_url, "cycle", "reissue", CYCLE, "--agency", "AAA")

    assert "sent by e-mail" in output
    (message,) = smtp_server.messages
    assert message["To"] and "status-request" in message["X-Followup-Key"]


def test_a_reissued_link_stays_queued_when_the_mail_server_is_down(
    site: Scenario, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("FOLLOWUP_MAIL_URL", no_mail_server())

    output = run(database_url, "cycle", "reissue", CYCLE, "--agency", "AAA")

    assert "queued for e-mail" in output
    assert [row["state"] for row in site.outbox("status-request")] == ["queued"]

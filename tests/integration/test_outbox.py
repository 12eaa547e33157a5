"""The outbox on SQLite and PostgreSQL, delivering to a real SMTP server on loopback (and to a folder)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from db import tables
from db.engine import make_engine
from db.tables import outbox
from db.unit_of_work import SqlUnitOfWork
from domain.errors import ValidationError
from notifications import outbox as outbox_module
from notifications.immediate import send_immediately
from notifications.messages import REPLY_LINK
from notifications.outbox import LEASE, OutboxNotifier, counts_by_state, pending_count
from notifications.senders import DirectorySender, Sender, SmtpSender, sender_from_url
from tests.smtp import SmtpServer
from tests.support import AT, FOCAL, IOM, REPLY_URL, SECRETARIAT, a_request, clock, context, dispatch, enqueue


def rows(uow: SqlUnitOfWork) -> list[Any]:
    with uow:
        return list(uow.session.execute(select(outbox).order_by(outbox.c.id)).all())


def test_the_same_key_twice_stores_one_message(uow: SqlUnitOfWork) -> None:
    assert enqueue(uow) is True
    assert enqueue(uow) is False

    (row,) = rows(uow)
    assert (row.state, row.attempts, row.recipients) == ("queued", 0, [FOCAL])
    assert row.message_id.startswith("<") and row.message_id.endswith("@followup.local>")
    assert row.reply_to == SECRETARIAT and IOM["name"] in row.subject


def test_a_bad_address_is_refused_naming_it_and_nothing_is_stored(uow: SqlUnitOfWork) -> None:
    with pytest.raises(ValidationError) as refused:
        enqueue(uow, cc=["head.office@"])

    assert str(refused.value).startswith("cc: 'head.office@' is not a valid e-mail address")

    assert rows(uow) == []


def test_a_message_with_a_reply_link_needs_its_cycle_and_agency_and_is_stored_without_the_link(
    uow: SqlUnitOfWork,
) -> None:
    with (
        uow,
        pytest.raises(ValidationError, match="reply_url: a message with a reply link needs its cycle_id"),
    ):
        OutboxNotifier(uow, clock()).enqueue("reminder", key="r:1", to=[FOCAL], context=context("reminder"))
    enqueue(uow)

    (row,) = rows(uow)
    assert not [part for part in (row.body_text, row.body_html, row.ics) if REPLY_URL in part]
    assert REPLY_LINK in row.body_text and REPLY_LINK in row.body_html and "reply-link.invalid" in row.ics


def test_a_message_with_a_reply_link_is_not_sent_by_a_dispatcher_that_cannot_derive_it(
    uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    enqueue(uow)

    folder = tmp_path / "outbox"
    report = outbox_module.dispatch(lambda: uow, DirectorySender(folder), clock(), max_attempts=1)

    assert (report.sent, report.failed) == (0, 1) and not folder.exists()
    assert "no way to derive it" in rows(uow)[0].last_error


def test_a_message_is_stored_only_if_the_callers_transaction_commits(uow: SqlUnitOfWork) -> None:
    cycle_id = a_request(uow)
    with uow:
        OutboxNotifier(uow, clock()).enqueue(
            "reminder",
            key="r:1",
            to=[FOCAL],
            context=context("reminder"),
            cycle_id=cycle_id,
            agency_code="IOM",
        )
        # no commit: the use case failed after enqueueing

    assert rows(uow) == []


def test_queued_messages_arrive_over_smtp_with_recipients_headers_both_bodies_and_the_invitation(
    uow: SqlUnitOfWork, smtp_server: SmtpServer
) -> None:
    enqueue(uow, cc=[SECRETARIAT])
    enqueue(uow, key="cycle-summary:1", kind="cycle-summary", to=[SECRETARIAT])

    report = dispatch(lambda: uow, sender_from_url(smtp_server.url), clock())

    assert (report.sent, report.failed, report.retrying) == (2, 0, 0)
    assert report.sent_keys == ["status-request:1:IOM", "cycle-summary:1"]
    request, summary = smtp_server.messages
    assert smtp_server.envelopes[0] == (SECRETARIAT, [FOCAL, SECRETARIAT])
    stored = rows(uow)[0]
    assert request["Message-ID"] == stored.message_id
    assert (request["To"], request["Cc"], request["Reply-To"]) == (FOCAL, SECRETARIAT, SECRETARIAT)
    assert request["Date"] == "Mon, 02 Mar 2026 09:00:00 +0000"
    assert IOM["name"] in request["Subject"]
    text, html = request.get_body(("plain",)), request.get_body(("html",))
    assert text is not None and html is not None
    assert REPLY_URL in text.get_content() and f'href="{REPLY_URL}"' in html.get_content()
    (invitation,) = list(request.iter_attachments())
    assert (invitation.get_content_type(), invitation.get_param("method")) == ("text/calendar", "REQUEST")
    assert "DTSTART;VALUE=DATE:20260403" in invitation.get_content()
    assert list(summary.iter_attachments()) == []
    assert {r.state for r in rows(uow)} == {"sent"}
    assert all(r.sent_at is not None for r in rows(uow))


def test_a_refused_message_is_retried_after_its_backoff_and_arrives_exactly_once(
    uow: SqlUnitOfWork, smtp_server: SmtpServer
) -> None:
    enqueue(uow)
    sender = sender_from_url(smtp_server.url)
    smtp_server.refuse_next(2)

    first = dispatch(lambda: uow, sender, clock())
    too_early = dispatch(lambda: uow, sender, clock(0.5))
    second = dispatch(lambda: uow, sender, clock(1))
    third = dispatch(lambda: uow, sender, clock(6))
    afterwards = dispatch(lambda: uow, sender, clock(600))

    assert [r.retrying for r in (first, too_early, second)] == [1, 0, 1]
    assert (third.sent, afterwards.sent) == (1, 0)
    assert (len(smtp_server.messages), smtp_server.refused) == (1, 2)
    (row,) = rows(uow)
    assert (row.state, row.attempts) == ("sent", 3)
    assert "451" in row.last_error


def test_a_message_the_server_always_refuses_ends_failed_with_the_error_never_marked_sent(
    uow: SqlUnitOfWork, smtp_server: SmtpServer
) -> None:
    enqueue(uow)
    sender = sender_from_url(smtp_server.url)
    smtp_server.refuse_next(100)

    reports = [dispatch(lambda: uow, sender, clock(m), max_attempts=3) for m in (0, 1, 6, 60 * 24)]

    assert [(r.retrying, r.failed, r.sent) for r in reports] == [(1, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 0)]
    (row,) = rows(uow)
    assert (row.state, row.attempts, row.sent_at) == ("failed", 3, None)
    assert row.last_error.startswith("attempt 3: SMTPDataError") and "Try again later" in row.last_error
    assert smtp_server.messages == []
    with uow:
        assert pending_count(uow) == 0 and counts_by_state(uow) == {"failed": 1}


def test_a_message_refused_once_its_cycle_is_cancelled_is_withdrawn_not_tried_again(
    uow: SqlUnitOfWork, smtp_server: SmtpServer
) -> None:
    enqueue(uow)
    with uow:  # cancelled while the message was being handed to the mail server
        uow.session.execute(update(tables.cycles).values(state="cancelled"))
        uow.commit()
    sender = sender_from_url(smtp_server.url)
    smtp_server.refuse_next(1)

    reports = [dispatch(lambda: uow, sender, clock(m)) for m in (0, 60)]

    assert [(r.retrying, r.failed, r.sent) for r in reports] == [(0, 0, 0), (0, 0, 0)]
    (row,) = rows(uow)
    assert row.state == "withdrawn" and smtp_server.messages == []


class _DiesAfterSending:
    """Delivers, then the dispatcher's process 'dies' (SystemExit is not an error it may catch)."""

    def __init__(self, inner: Sender) -> None:
        self.inner = inner

    def send(self, message: EmailMessage) -> None:
        self.inner.send(message)
        raise SystemExit("killed right after the server accepted the message")


class _CommitFailsAfterSend(SqlUnitOfWork):
    """A unit of work whose commits fail once the message left: the database went away mid-dispatch."""

    database_down = False

    def commit(self) -> None:
        if _CommitFailsAfterSend.database_down:
            raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))
        super().commit()


class _DatabaseGoesDown:
    def __init__(self, inner: Sender) -> None:
        self.inner = inner

    def send(self, message: EmailMessage) -> None:
        self.inner.send(message)
        _CommitFailsAfterSend.database_down = True


@pytest.mark.parametrize("failure", ["process dies", "commit fails"])
def test_a_dispatcher_that_dies_after_the_server_accepted_does_not_send_again(
    uow: SqlUnitOfWork, smtp_server: SmtpServer, failure: str
) -> None:
    enqueue(uow)
    smtp = sender_from_url(smtp_server.url)
    if failure == "process dies":
        with pytest.raises(SystemExit):
            dispatch(lambda: uow, _DiesAfterSending(smtp), clock())
    else:
        flaky = _CommitFailsAfterSend(uow.session_factory)
        _CommitFailsAfterSend.database_down = False
        with pytest.raises(OperationalError):
            dispatch(lambda: flaky, _DatabaseGoesDown(smtp), clock())
        _CommitFailsAfterSend.database_down = False

    rerun_within_lease = dispatch(lambda: uow, smtp, clock(1))
    assert rows(uow)[0].state == "sending"
    rerun_after_lease = dispatch(lambda: uow, smtp, clock(LEASE.total_seconds() / 60 + 1))

    assert len(smtp_server.messages) == 1
    assert (rerun_within_lease.sent, rerun_after_lease.sent, rerun_after_lease.failed) == (0, 0, 1)
    (row,) = rows(uow)
    assert row.state == "failed" and row.last_error.startswith("delivery unknown")


class _DiesAround:
    """Writes the .eml (or not), then the process dies."""

    def __init__(self, inner: DirectorySender, *, after_writing: bool) -> None:
        self.inner, self.after_writing = inner, after_writing

    def send(self, message: EmailMessage) -> None:
        if self.after_writing:
            self.inner.send(message)
        raise SystemExit("killed")


@pytest.mark.parametrize("after_writing", [True, False])
def test_the_directory_outbox_settles_an_interrupted_send_with_exactly_one_file(
    uow: SqlUnitOfWork, tmp_path: Path, after_writing: bool
) -> None:
    enqueue(uow)
    folder = DirectorySender(tmp_path / "outbox")
    with pytest.raises(SystemExit):
        dispatch(lambda: uow, _DiesAround(folder, after_writing=after_writing), clock())

    rerun = dispatch(lambda: uow, folder, clock(LEASE.total_seconds() / 60 + 1))

    assert (rerun.sent, rerun.sent_keys) == (1, ["status-request:1:IOM"])
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    (row,) = rows(uow)
    assert row.state == "sent"
    assert row.attempts == (1 if after_writing else 2)


def test_limit_and_key_prefix_choose_which_messages_go(uow: SqlUnitOfWork, tmp_path: Path) -> None:
    for key in ("c1:reminder:IOM", "c1:reminder:UNDP", "c2:reminder:IOM"):
        enqueue(uow, key=key, kind="reminder")
    folder = DirectorySender(tmp_path)

    only_one = dispatch(lambda: uow, folder, clock(), limit=1, key_prefix="c1:")
    rest_of_c1 = dispatch(lambda: uow, folder, clock(), key_prefix="c1:")

    assert (only_one.sent_keys, rest_of_c1.sent_keys) == (["c1:reminder:IOM"], ["c1:reminder:UNDP"])
    with uow:
        assert pending_count(uow) == 1 and pending_count(uow, key_prefix="c1:") == 0


def test_several_key_prefixes_choose_the_messages_of_several_agencies(
    uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    for key in ("c1:reminder:IOM", "c1:reminder:UNDP", "c1:reminder:WHO", "c1:reminder:IOM_X"):
        enqueue(uow, key=key, kind="reminder")

    report = dispatch(
        lambda: uow, DirectorySender(tmp_path), clock(), key_prefix=["c1:reminder:IOM", "c1:reminder:WHO"]
    )

    assert sorted(report.sent_keys) == ["c1:reminder:IOM", "c1:reminder:IOM_X", "c1:reminder:WHO"]
    with uow:
        assert pending_count(uow, key_prefix=["c1:reminder:UNDP", "c1:reminder:WHO"]) == 1


def test_an_immediate_send_takes_exactly_its_keys_not_every_key_they_begin(
    uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    for key in ("receipt:c1:IOM:v3", "receipt:c1:IOM:v30"):
        enqueue(uow, key=key, kind="receipt")
    folder = DirectorySender(tmp_path)

    # The second send is an identical resubmission's: its receipt has left already.
    first, again = (
        send_immediately(lambda: uow, folder, clock(), ["receipt:c1:IOM:v3"], links=lambda *_: REPLY_URL)
        for _ in range(2)
    )

    assert (first.sent_keys, again.sent_keys) == (["receipt:c1:IOM:v3"], [])
    with uow:
        assert pending_count(uow, key_prefix="receipt:c1:IOM:v30") == 1


def test_the_messages_of_one_dispatch_share_one_smtp_connection_and_each_is_settled_as_it_leaves(
    uow: SqlUnitOfWork, smtp_server: SmtpServer
) -> None:
    for agency in ("IOM", "UNDP", "WHO"):
        enqueue(uow, key=f"status-request:1:{agency}")

    report = dispatch(lambda: uow, sender_from_url(smtp_server.url), clock())

    assert report.sent == 3 and len(smtp_server.messages) == 3
    assert len(set(smtp_server.peers)) == 1
    assert [(r.state, r.attempts, r.lease_expires_at) for r in rows(uow)] == [("sent", 1, None)] * 3


def test_after_a_refusal_the_next_message_goes_over_a_fresh_connection(
    uow: SqlUnitOfWork, smtp_server: SmtpServer
) -> None:
    for agency in ("IOM", "UNDP", "WHO"):
        enqueue(uow, key=f"status-request:1:{agency}")
    smtp_server.refuse_next(1)

    report = dispatch(lambda: uow, sender_from_url(smtp_server.url), clock())

    assert (report.sent, report.retrying) == (2, 1)
    assert [r.state for r in rows(uow)] == ["queued", "sent", "sent"]
    assert len(set(smtp_server.peers)) == 1  # the two accepted ones share the connection opened after it


def test_two_dispatchers_at_once_never_send_the_same_message(
    database_url: str, smtp_server: SmtpServer
) -> None:
    engine = make_engine(database_url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    for n in range(16):
        enqueue(SqlUnitOfWork(factory), key=f"reminder:{n}", kind="reminder")
    sender = sender_from_url(smtp_server.url)
    reports = []

    def run() -> None:
        reports.append(dispatch(lambda: SqlUnitOfWork(factory), sender, clock()))

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.dispose()

    assert sum(r.sent for r in reports) == 16
    assert sorted(k for r in reports for k in r.sent_keys) == sorted(f"reminder:{n}" for n in range(16))
    assert len({m["Message-ID"] for m in smtp_server.messages}) == len(smtp_server.messages) == 16


def test_the_smtp_sender_logs_in_when_the_url_names_a_user(
    uow: SqlUnitOfWork, smtp_server: SmtpServer
) -> None:
    smtp_server.logins["followup@un.example.org"] = "pa:ss w@rd"
    enqueue(uow, key="good")
    enqueue(uow, key="bad")
    good = sender_from_url(
        f"smtp://followup%40un.example.org:pa%3Ass%20w%40rd@{smtp_server.host}:{smtp_server.port}"
    )
    bad = sender_from_url(f"smtp://followup%40un.example.org:wrong@{smtp_server.host}:{smtp_server.port}")

    sent = dispatch(lambda: uow, good, clock(), limit=1)
    refused = dispatch(lambda: uow, bad, clock(), limit=1)

    assert (sent.sent, refused.retrying) == (1, 1)
    assert smtp_server.authenticated_as == ["followup@un.example.org"]
    assert "SMTPAuthenticationError" in rows(uow)[1].last_error


KILLED_DISPATCHER = """
import os, signal, sys
from datetime import datetime
from sqlalchemy.orm import sessionmaker
from db.engine import make_engine
from db.unit_of_work import SqlUnitOfWork
from notifications.outbox import dispatch
from notifications.senders import sender_from_url
from workflows.bootstrap import FixedClock

database_url, mail_url, at = sys.argv[1:]
smtp = sender_from_url(mail_url)


class KilledRightAfterTheServerAccepted:
    def send(self, message):
        smtp.send(message)
        os.kill(os.getpid(), signal.SIGKILL)


factory = sessionmaker(bind=make_engine(database_url))
moment = datetime.fromisoformat(at)
clock = FixedClock(moment.date(), moment)
dispatch(lambda: SqlUnitOfWork(factory), KilledRightAfterTheServerAccepted(), clock, links=lambda *_: "x")
"""


def test_a_dispatcher_process_killed_after_the_smtp_accept_is_not_followed_by_a_second_send(
    database_url: str, smtp_server: SmtpServer
) -> None:
    engine = make_engine(database_url)
    new_uow = lambda: SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False))  # noqa: E731
    enqueue(new_uow(), key="first")
    enqueue(new_uow(), key="second")

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_DISPATCHER, database_url, smtp_server.url, AT.isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    rerun = dispatch(new_uow, sender_from_url(smtp_server.url), clock(LEASE.total_seconds() / 60 + 1))
    states = {row.idempotency_key: row.state for row in rows(new_uow())}
    engine.dispose()

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (rerun.sent_keys, rerun.failed) == (["second"], 1)
    assert states == {"first": "failed", "second": "sent"}
    assert sorted(m["X-Followup-Key"] for m in smtp_server.messages) == ["first", "second"]


def test_the_smtp_sender_switches_to_tls_with_starttls_before_logging_in(
    uow: SqlUnitOfWork, smtp_server: SmtpServer
) -> None:
    smtp_server.logins["followup"] = "secret"
    enqueue(uow)
    sender = SmtpSender(
        smtp_server.host,
        smtp_server.port,
        starttls=True,
        username="followup",
        password="secret",
        ssl_context=smtp_server.client_context,
    )

    report = dispatch(lambda: uow, sender, clock())

    assert report.sent == 1
    assert (smtp_server.encrypted, smtp_server.authenticated_as) == ([True], ["followup"])


def test_starttls_with_a_certificate_nobody_vouches_for_fails_and_keeps_the_message(
    uow: SqlUnitOfWork, smtp_server: SmtpServer
) -> None:
    enqueue(uow)
    sender = sender_from_url(f"smtp://{smtp_server.host}:{smtp_server.port}?starttls=1")

    report = dispatch(lambda: uow, sender, clock())

    assert (report.sent, report.retrying, smtp_server.messages) == (0, 1, [])
    assert "CERTIFICATE_VERIFY_FAILED" in rows(uow)[0].last_error

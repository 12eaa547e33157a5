"""MIME building, mail URLs, and the directory sender (no SMTP server needed)."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest

from notifications.messages import render
from notifications.senders import (
    DirectorySender,
    QueuedMessage,
    SmtpSender,
    build_email,
    sender_from_url,
)
from tests.support import IOM, REPLY_URL, context

FROM = "Secrétariat du HLCP <hlcp.secretariat@un.example.org>"


def _email(key: str = "status-request:1:IOM") -> EmailMessage:
    rendered = render("status-request", context("status-request"))
    queued = QueuedMessage(
        key=key,
        message_id="<abc.123@followup.local>",
        created_at=datetime(2026, 3, 2, 9, 0),  # naive, as SQLite returns it: taken as UTC
        to=["focal.point@iom.example.org"],
        cc=["hlcp.secretariat@un.example.org"],
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        ics=rendered.ics,
    )
    return build_email(queued, mail_from=FROM, reply_to="hlcp.secretariat@un.example.org")


def _plain(subject: str, text: str, html: str) -> EmailMessage:
    """A message with bodies only (no calendar), as a reminder or receipt is built."""
    queued = QueuedMessage(
        key="k",
        message_id="<k@followup.local>",
        created_at=datetime(2026, 3, 2, 9, 0),
        to=["focal.point@iom.example.org"],
        cc=[],
        subject=subject,
        text=text,
        html=html,
        ics=None,
    )
    return build_email(queued, mail_from=FROM, reply_to="hlcp.secretariat@un.example.org")


def _reparse(message: EmailMessage) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(message.as_bytes(), policy=policy.default))


def test_a_built_message_is_text_and_html_alternatives_plus_a_calendar_invitation() -> None:
    message = _reparse(_email())

    assert message.get_content_type() == "multipart/mixed"
    alternative, invitation = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert invitation.get_content_type() == "text/calendar"
    assert invitation.get_param("method") == "REQUEST"
    assert invitation.get_filename() == "deadline.ics"
    assert "DTSTART;VALUE=DATE:20260403" in invitation.get_content()


def test_a_long_accented_subject_is_sent_on_one_line_and_reads_back_exactly_as_written() -> None:
    subject = (
        "Balance Spring 2027: 8 recomendaciones para UNODC, respuesta a más tardar el 29 de diciembre de 2026"
    )
    raw = _plain(subject, "Estimados colegas", "<p>Estimados colegas</p>").as_bytes()

    subject_lines = raw.split(b"\nFrom:")[0].splitlines()
    assert len(subject_lines) == 1 and subject_lines[0].startswith(b"Subject: Balance Spring 2027: ")
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == subject


def test_a_built_message_has_the_headers_mail_clients_rely_on() -> None:
    message = _reparse(_email())

    assert message["Message-ID"] == "<abc.123@followup.local>"
    assert message["Date"] == "Mon, 02 Mar 2026 09:00:00 +0000"
    assert message["Reply-To"] == "hlcp.secretariat@un.example.org"
    assert message["Cc"] == "hlcp.secretariat@un.example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"].addresses[0].display_name == "Secrétariat du HLCP"


def test_accented_names_survive_the_trip_through_mime_encoding() -> None:
    built = _email()
    raw = built.as_bytes()
    message = _reparse(built)

    assert IOM["name"] in message["Subject"]
    assert "Genève" not in raw.split(b"\n\n", 1)[0].decode("ascii")  # headers are RFC 2047 encoded
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert IOM["name"] in text.get_content() and IOM["name"] in html.get_content()
    assert REPLY_URL in text.get_content() and REPLY_URL in html.get_content()


def test_a_message_built_again_for_a_retry_is_byte_for_byte_the_same() -> None:
    assert _email().as_bytes() == _email().as_bytes()


def test_long_lines_and_accents_in_the_bodies_arrive_unchanged() -> None:
    text = "Genève, Zürich, 北京 = São Paulo.\n" + "x" * 2000 + "\n\n. a line starting with a dot\n"
    built = _plain("Subject", text, f"<p>{text}</p>\n")
    raw = built.as_bytes()
    message = _reparse(built)

    headers, body = raw.split(b"\n\n", 1)
    assert max(len(line) for line in headers.splitlines()) <= 998  # SMTP's limit; headers are not folded
    assert max(len(line) for line in body.splitlines()) <= 78
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert (plain.get_content(), html.get_content()) == (text, f"<p>{text}</p>\n")


def test_the_directory_sender_writes_one_eml_file_per_message_that_parses_back(tmp_path: Path) -> None:
    sender = DirectorySender(tmp_path / "outbox")
    first, second = _email("status-request:1:IOM"), _email("reminder:1:IOM/../../etc")

    sender.send(first)
    sender.send(second)

    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" and f.parent == tmp_path / "outbox" for f in files)
    assert sender.delivered(first) and sender.delivered(second)
    parsed = message_from_bytes(sender.file_for(first).read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == "<abc.123@followup.local>"
    assert IOM["name"] in parsed["Subject"]


def test_the_directory_sender_knows_what_it_has_not_delivered(tmp_path: Path) -> None:
    assert not DirectorySender(tmp_path).delivered(_email())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", ("mail.example.org", 25, False, False, None, None)),
        (
            "smtp://u%40x:p%3Ass@mail.example.org:587?starttls=1",
            ("mail.example.org", 587, True, False, "u@x", "p:ss"),
        ),
        ("smtp://mail.example.org?starttls=yes", ("mail.example.org", 587, True, False, None, None)),
        ("smtps://user:secret@mail.example.org", ("mail.example.org", 465, False, True, "user", "secret")),
    ],
)
def test_smtp_urls_give_a_configured_smtp_sender(url: str, expected: tuple[object, ...]) -> None:
    sender = sender_from_url(url)

    assert isinstance(sender, SmtpSender)
    got = (sender.host, sender.port, sender.starttls, sender.implicit_tls, sender.username, sender.password)
    assert got == expected


def test_a_file_url_gives_a_directory_sender(tmp_path: Path) -> None:
    sender = sender_from_url((tmp_path / "mail box").as_uri())

    assert isinstance(sender, DirectorySender) and sender.path == tmp_path / "mail box"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("imap://user:hunter2@mail.example.org", "scheme must be smtp, smtps or file"),
        ("smtp://user:hunter2@", "no host"),
        ("smtp://mail.example.org:99999", "port"),
        ("smtp://mail.example.org?starttls=maybe", "starttls must be 1 or 0"),
        ("smtp://mail.example.org?tls=1", "unknown option"),
        ("smtps://mail.example.org?starttls=1", "not both"),
        ("file://server/share", "file:///absolute/path"),
        ("smtp://user:hunter2/x@mail.example.org", "port"),  # a `/` left unencoded in the password
    ],
)
def test_a_bad_mail_url_is_refused_with_the_reason_and_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        sender_from_url(url)

    assert "hunter2" not in str(caught.value)


def test_building_messages_makes_each_header_class_once() -> None:
    from notifications.senders import UNFOLDED_HEADERS

    _email()
    made = dict(UNFOLDED_HEADERS.header_factory._made)  # type: ignore[attr-defined]
    _email()

    assert UNFOLDED_HEADERS.header_factory._made == made  # type: ignore[attr-defined]
    assert {"subject", "to", "content-type", "x-followup-key"} <= set(made)


def test_headers_written_without_parsing_are_the_bytes_the_email_library_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from email.headerregistry import HeaderRegistry

    from notifications import senders

    ours = [
        _email().as_bytes(),
        _plain("Reminder: 3 items", "Dear colleagues", "<p>Dear colleagues</p>").as_bytes(),
    ]
    parsing_every_header = HeaderRegistry()
    monkeypatch.setattr(
        senders,
        "UNFOLDED_HEADERS",
        policy.default.clone(max_line_length=998, header_factory=parsing_every_header),
    )
    monkeypatch.setattr(senders, "_PART_HEADERS", policy.default.clone(header_factory=parsing_every_header))
    theirs = [
        _email().as_bytes(),
        _plain("Reminder: 3 items", "Dear colleagues", "<p>Dear colleagues</p>").as_bytes(),
    ]

    assert ours == theirs

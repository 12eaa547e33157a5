"""A real SMTP server on loopback (aiosmtpd) for tests: the `smtp_server` fixture.

Registered in tests/conftest.py through `pytest_plugins`, so every test can ask for `smtp_server`:

    def test_x(smtp_server):
        sender = SmtpSender(smtp_server.host, smtp_server.port)   # or sender_from_url(smtp_server.url)
        ...
        assert [m["To"] for m in smtp_server.messages] == [...]
        smtp_server.refuse_next(2)   # the next two messages get "451 try again later" after DATA
        smtp_server.logins["user"] = "secret"   # AUTH LOGIN/PLAIN accepts these (no TLS needed here)
        assert smtp_server.authenticated_as == ["user"]
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


@dataclass
class SmtpServer:
    """What the loopback server received, and a switch to make it refuse the next messages."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: dict[str, str] = field(default_factory=dict)
    authenticated_as: list[str | None] = field(default_factory=list)
    refused: int = 0
    _refusals_left: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The mail URL of this server, as FOLLOWUP_MAIL_URL takes it."""
        return f"smtp://{self.host}:{self.port}"

    def refuse_next(self, attempts: int) -> None:
        """Answer the next `attempts` messages with a temporary failure (451) after their DATA."""
        with self._lock:
            self._refusals_left = attempts

    def by_recipient(self, address: str) -> list[EmailMessage]:
        """The messages whose envelope named `address` (To, Cc or Bcc)."""
        return [m for m, (_, rcpt) in zip(self.messages, self.envelopes, strict=True) if address in rcpt]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd hook: keep the parsed message, or refuse it when asked to."""
        with self._lock:
            if self._refusals_left > 0:
                self._refusals_left -= 1
                self.refused += 1
                return "451 4.3.0 Try again later (refused on purpose by the test)"
            raw = envelope.original_content or envelope.content
            self.messages.append(cast(EmailMessage, message_from_bytes(raw, policy=policy.default)))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.authenticated_as.append(session.auth_data.login.decode() if session.authenticated else None)
        return "250 2.0.0 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """aiosmtpd hook: accept a login found in `logins`."""
        known = (
            isinstance(data, LoginPassword) and self.logins.get(data.login.decode()) == data.password.decode()
        )
        return AuthResult(success=known, handled=False, auth_data=data)


def _free_port() -> int:
    # aiosmtpd's Controller cannot listen on port 0 (it connects to itself to check it is up).
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 for the duration of one test."""
    server = SmtpServer(HOST, _free_port())
    controller = Controller(
        server,
        hostname=HOST,
        port=server.port,
        enable_SMTPUTF8=True,
        authenticator=server.authenticate,
        auth_require_tls=False,  # loopback only; TLS itself is not exercised by these tests
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()

"""A real SMTP server on loopback (aiosmtpd) for tests: the `smtp_server` fixture.

Registered in tests/conftest.py through `pytest_plugins`, so every test can ask for `smtp_server`:

    def test_x(smtp_server):
        sender = SmtpSender(smtp_server.host, smtp_server.port)   # or sender_from_url(smtp_server.url)
        ...
        assert [m["To"] for m in smtp_server.messages] == [...]
        smtp_server.refuse_next(2)   # the next two messages get "451 try again later" after DATA
        smtp_server.logins["user"] = "secret"   # AUTH LOGIN/PLAIN accepts these (no TLS needed here)
        assert smtp_server.authenticated_as == ["user"]

The server offers STARTTLS with a self-signed certificate for 127.0.0.1; `smtp_server.client_context`
is an SSL context that trusts it, and `smtp_server.encrypted` says, per message, whether TLS was on.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from ipaddress import ip_address
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


@dataclass
class SmtpServer:
    """What the loopback server received, and a switch to make it refuse the next messages."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    client_context: ssl.SSLContext | None = None
    logins: dict[str, str] = field(default_factory=dict)
    authenticated_as: list[str | None] = field(default_factory=list)
    encrypted: list[bool] = field(default_factory=list)
    # The client's (address, port) per message: one port, one connection.
    peers: list[tuple[str, int]] = field(default_factory=list)
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
            self.encrypted.append(session.ssl is not None)
            self.peers.append(tuple(session.peer))
        return "250 2.0.0 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """aiosmtpd hook: accept a login found in `logins`."""
        known = (
            isinstance(data, LoginPassword) and self.logins.get(data.login.decode()) == data.password.decode()
        )
        return AuthResult(success=known, handled=False, auth_data=data)


def free_port() -> int:
    # aiosmtpd's Controller cannot listen on port 0 (it connects to itself to check it is up).
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 (made once per test session)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def smtp_server(smtp_certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 for the duration of one test."""
    cert_path, key_path = smtp_certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    server = SmtpServer(HOST, free_port(), client_context=ssl.create_default_context(cafile=cert_path))
    controller = Controller(
        server,
        hostname=HOST,
        port=server.port,
        enable_SMTPUTF8=True,
        tls_context=server_context,
        authenticator=server.authenticate,
        auth_require_tls=False,  # lets tests log in without TLS too
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()

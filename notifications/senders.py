"""Building MIME from a queued message, and handing it to an SMTP server or a directory of .eml files."""

from __future__ import annotations

import binascii
import hashlib
import logging
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import Policy
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

KEY_HEADER = "X-Followup-Key"
SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class QueuedMessage:
    """What the outbox stores about one message: enough to build the same MIME message on every attempt."""

    key: str
    message_id: str
    created_at: datetime
    to: Sequence[str]
    cc: Sequence[str]
    subject: str
    text: str
    html: str
    ics: str | None


class Sender(Protocol):
    """Hands a message over for delivery; raises if it was not accepted."""

    def send(self, message: EmailMessage) -> None: ...


@runtime_checkable
class VerifiableSender(Sender, Protocol):
    """A sender that can tell afterwards whether a message was delivered (so a crash leaves no doubt)."""

    def delivered(self, message: EmailMessage) -> bool: ...


@runtime_checkable
class ConnectionSender(Sender, Protocol):
    """A sender that can keep one connection open for a run of messages (each still sent, or not, alone)."""

    def connected(self) -> AbstractContextManager[Sender]: ...


class _HeaderClasses(HeaderRegistry):
    """The standard library's header registry, making each header name's class once, and writing
    the headers we set that need no parsing as given.

    `HeaderRegistry` creates a new class for every header set or counted (24 a status request):
    about half of building a message. Parsing the values was then half of what remained, for
    headers written exactly as they came (`docs/performance.md`).
    """

    def __init__(self, line_length: int) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}
        self._line_length = line_length

    def __getitem__(self, name: str) -> type[BaseHeader]:
        made = self._made.get(name.lower())
        if made is None:
            made = self._made[name.lower()] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value: str) -> Any:
        if name.lower() in _WRITTEN_AS_GIVEN and _as_given(name, value, self._line_length):
            return _AsGiven(name, value)
        return super().__call__(name, value)


# Headers that nothing reads back as a structure once set. Not the addresses (smtplib takes the
# envelope from them, and a display name may need quoting or encoding), nor Content-Disposition
# (`EmailMessage.is_attachment` reads its parsed form).
_WRITTEN_AS_GIVEN = frozenset(
    {
        "subject",
        "date",
        "message-id",
        "auto-submitted",
        KEY_HEADER.lower(),
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


def _as_given(name: str, value: str, line_length: int) -> bool:
    """Whether a value is written the same parsed or not: printable ASCII with no encoded-word
    marker, on one line."""
    return (
        value.isascii()
        and value.isprintable()
        and "=?" not in value
        and len(name) + 2 + len(value) <= line_length
    )


class _AsGiven(str):
    """A header value written as it was given (see `_as_given`)."""

    name: str

    def __new__(cls, name: str, value: str) -> _AsGiven:
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy: Policy) -> str:
        """The header's line, as the email generator asks a header for it."""
        return f"{self.name}: {self}{policy.linesep}"


# Headers written on one line up to SMTP's 998: folded at 78, Python's folder left a subject alone
# on the line after "Subject:", and a space before a folded encoded word that readers then showed
# twice ("respuesta a  más tardar"). The bodies are encoded by us (quoted-printable, 76 columns).
_SMTP_LINE = 998
UNFOLDED_HEADERS = policy.default.clone(max_line_length=_SMTP_LINE, header_factory=_HeaderClasses(_SMTP_LINE))
_PART_LINE = 78  # the parts' headers keep the email library's folding at RFC 5322's recommended length
_PART_HEADERS = policy.default.clone(max_line_length=_PART_LINE, header_factory=_HeaderClasses(_PART_LINE))


def build_email(message: QueuedMessage, *, mail_from: str, reply_to: str) -> EmailMessage:
    """A multipart/alternative text + HTML message, with the deadline as a text/calendar attachment."""
    email = EmailMessage(policy=UNFOLDED_HEADERS)
    email["Subject"] = message.subject
    email["From"] = mail_from
    email["To"] = ", ".join(message.to)
    if message.cc:
        email["Cc"] = ", ".join(message.cc)
    email["Reply-To"] = reply_to
    # The enqueue time, not the attempt time: every retry is byte-for-byte the same message.
    email["Date"] = format_datetime(as_utc(message.created_at))
    email["Message-ID"] = message.message_id
    # RFC 3834: out-of-office robots must not answer an automated message.
    email["Auto-Submitted"] = "auto-generated"
    email[KEY_HEADER] = message.key
    email["MIME-Version"] = "1.0"
    email["Content-Type"] = "multipart/alternative"
    email.set_payload([_quoted_printable(message.text, "plain"), _quoted_printable(message.html, "html")])
    # Boundaries chosen here, or the generator searches the whole text for a free one (~6 ms a status
    # request). "=_" never occurs in quoted-printable text; the calendar part is our own short text.
    # Derived from the Message-ID: every retry stays byte-for-byte the same message.
    boundary = "=_" + hashlib.sha256(message.message_id.encode()).hexdigest()[:32]
    email.set_boundary(f"{boundary}.alt")
    if message.ics:
        email.add_attachment(
            message.ics,
            subtype="calendar",
            charset="utf-8",
            filename="deadline.ics",
            params={"method": _calendar_method(message.ics)},
        )
        email.set_boundary(f"{boundary}.mix")
    return email


def _calendar_method(ics: str) -> str:
    """The iTIP method of a calendar (REQUEST, CANCEL), which the attachment's type repeats (RFC 6047)."""
    found = re.search(r"^METHOD:(\w+)", ics, re.MULTILINE)
    return found.group(1) if found else "PUBLISH"


def _quoted_printable(text: str, subtype: str) -> MIMEPart:
    """A UTF-8 text part encoded with binascii's quoted-printable.

    `set_content` encodes in pure Python (`email.quoprimime`): ~10 ms for a 300 KB status request.
    """
    part = MIMEPart(policy=_PART_HEADERS)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(text.encode(), istext=True).decode("ascii"))
    return part


class SmtpSender:
    """Delivers through an SMTP server: plain, STARTTLS or implicit TLS, with an optional login."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = False,
        implicit_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if starttls and implicit_tls:
            raise ValueError("SMTP: choose STARTTLS or implicit TLS, not both")
        self.host, self.port, self.timeout = host, port, timeout
        self.starttls, self.implicit_tls = starttls, implicit_tls
        self.username, self.password = username, password
        # Default: the system's trust store (a private CA can be added with SSL_CERT_FILE).
        self.ssl_context = ssl_context

    def send(self, message: EmailMessage) -> None:
        """Send over a fresh connection; returns once the server accepted the message."""
        with self.connected() as connection:
            connection.send(message)

    @contextmanager
    def connected(self) -> Iterator[Sender]:
        """A sender over one connection, opened at the first message and closed when the block ends.

        A message that fails closes the connection (the next one opens a fresh one): a half-finished
        conversation is never reused.
        """
        connection = _SmtpConnection(self)
        try:
            yield connection
        finally:
            connection.close()

    def open(self) -> smtplib.SMTP:
        """A connected, greeted (and, as configured, encrypted and logged-in) SMTP client."""
        client = (
            smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls_context())
            if self.implicit_tls
            else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        )
        try:
            client.ehlo()
            if self.starttls:
                client.starttls(context=self._tls_context())
                client.ehlo()
            if self.username:
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def _tls_context(self) -> ssl.SSLContext:
        # Loading the system's trust store takes tens of milliseconds: once per sender, and only for TLS.
        if self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        return self.ssl_context

    def __repr__(self) -> str:
        return (
            f"SmtpSender({self.host}:{self.port}, starttls={self.starttls}, implicit_tls={self.implicit_tls})"
        )


class _SmtpConnection:
    """One SMTP connection of an `SmtpSender`, used for messages one after the other."""

    def __init__(self, sender: SmtpSender) -> None:
        self.sender = sender
        self.client: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        """Send on the open connection (opening it first if needed); returns once the server accepted it."""
        if self.client is None:
            self.client = self.sender.open()
        try:
            refused = self.client.send_message(message)
        except BaseException:
            _close_quietly(self.client)
            self.client = None
            raise
        if refused:
            # The others got it: raising would make a retry send it to them twice.
            log.warning("%s: the server refused some recipients: %s", message["Message-ID"], refused)

    def close(self) -> None:
        """Say QUIT and close, if a connection is open."""
        if self.client is not None:
            _close_quietly(self.client)
            self.client = None

    def __repr__(self) -> str:
        return repr(self.sender)


def _close_quietly(client: smtplib.SMTP) -> None:
    # Once DATA was accepted the message is the server's: an error on QUIT must not look like a failed send.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


class DirectorySender:
    """Writes each message as a standard .eml file (named after its outbox key) into a directory."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically: a reader never sees half a file."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)  # messages carry live reply links
        target = self.file_for(message)  # mkstemp below creates it owner-only (0600)
        descriptor, temporary = tempfile.mkstemp(dir=self.path, prefix=".", suffix=".eml.tmp")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(message.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def delivered(self, message: EmailMessage) -> bool:
        """Whether the message's file exists (the rename in `send` is the moment of delivery)."""
        return self.file_for(message).exists()

    def file_for(self, message: EmailMessage) -> Path:
        """The file a message is written to: a readable, safe name plus a hash that keeps names unique."""
        name = str(message.get(KEY_HEADER) or message["Message-ID"] or "")
        if not name:
            raise ValueError("a message needs a Message-ID (or an outbox key) to be written to a file")
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:120]
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        return self.path / f"{readable}-{digest}.eml"

    def __repr__(self) -> str:
        return f"DirectorySender({self.path})"


def sender_from_url(url: str) -> Sender:
    """A sender from `smtp://user:pass@host:587?starttls=1`, `smtps://host` or `file:///path/to/dir`."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    shown = _redact(url)
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ValueError(f"mail URL '{shown}': write a directory as file:///absolute/path")
        return DirectorySender(Path(unquote(parts.path)))
    if scheme not in ("smtp", "smtps"):
        raise ValueError(f"mail URL '{shown}': the scheme must be smtp, smtps or file")
    if not parts.hostname:
        raise ValueError(f"mail URL '{shown}': no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"mail URL '{shown}': the port is not a number from 1 to 65535") from exc
    options = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(options) - {"starttls", "timeout"})
    if unknown:
        raise ValueError(
            f"mail URL '{shown}': unknown option(s) {', '.join(unknown)} (known: starttls, timeout)"
        )
    starttls = _flag(options.get("starttls", "0"), shown)
    try:
        timeout = float(options.get("timeout", "30"))
    except ValueError as exc:
        raise ValueError(f"mail URL '{shown}': timeout must be a number of seconds") from exc
    implicit_tls = scheme == "smtps"
    default_port = SMTP_PORTS["smtps" if implicit_tls else "smtp+starttls" if starttls else "smtp"]
    return SmtpSender(
        parts.hostname,
        port or default_port,
        starttls=starttls,
        implicit_tls=implicit_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
    )


def _flag(value: str, shown: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"mail URL '{shown}': starttls must be 1 or 0, not '{value}'")


def _redact(url: str) -> str:
    # Error messages end up in logs: never print the SMTP password. Up to the URL's last `@`: a
    # password typed with a `/` unencoded (which breaks the URL) is hidden whole too.
    return re.sub(r"(//[^/:@]*):.*@", r"\1:***@", url)


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC; a naive value is taken as UTC."""
    # SQLite hands timestamps back without a zone; we only ever store UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

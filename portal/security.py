"""The portal's defences: CSRF tokens, a request body limit, security headers, secretariat access."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.language import Language
from notifications.i18n import negotiated, translator

MAX_BODY_BYTES = 256 * 1024
# The reply form's path: its POST may carry evidence files.
REPLY_FORM = re.compile(r"/r/[^/]+")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # The reply token is in the URL: never send it to another site in a Referer header.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
NO_STORE = "no-store, max-age=0"


def signed(secret_key: str, purpose: str, subject: str) -> str:
    """HMAC-SHA256 of `subject` for one `purpose`, hex: CSRF tokens and the secretariat's cookie."""
    message = f"{purpose}:{subject}".encode()
    return hmac.new(bytes.fromhex(secret_key), message, hashlib.sha256).hexdigest()


def same(presented: str | None, expected: str) -> bool:
    """Constant-time equality of a presented secret with the expected one (None never matches)."""
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(name, value) for name, value in self.headers if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, with_headers)


def too_large_message(language: Language, limit: int, *, uploads: bool) -> str:
    """What a 413 says: how much a reply (`limit` bytes), or the files of one save, may come to."""
    words = translator(language)
    if uploads:
        return words.gettext(
            "Request too large: the files attached in one save may come to at most %(size)s. "
            "Go back, attach fewer files at a time (saving in between), and try again."
        ) % {"size": words.file_size(limit - MAX_BODY_BYTES)}
    return words.gettext(
        "Request too large: a reply may be at most %(size)s. Shorten the longest texts and try again."
    ) % {"size": words.file_size(limit)}


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class BodyLimitMiddleware:
    """Answer 413 to request bodies over `limit` bytes, declared (Content-Length) or streamed.

    A reply form sent as multipart (a POST to `/r/<token>`) may be `upload_limit` bytes instead: it
    carries the evidence files of one save (at most one answer's worth: the files allowed per
    answer, each of the largest size allowed, and the form).
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES, upload_limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = max(upload_limit, limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        uploads = (
            scope["method"] == "POST"
            and REPLY_FORM.fullmatch(scope["path"]) is not None
            and headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        )
        limit = self.upload_limit if uploads else self.limit
        accept_language = headers.get(b"accept-language", b"").decode("latin-1")
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit, uploads=uploads, accept_language=accept_language)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, limit, uploads=uploads, accept_language=accept_language)


async def _too_large(send: Send, limit: int, *, uploads: bool, accept_language: str) -> None:
    """A 413 saying how much the request may carry, in the language the browser prefers."""
    language = negotiated(accept_language)
    said = too_large_message(language, limit, uploads=uploads)
    body = f"{said}\n".encode()
    headers: list[Any] = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"content-language", language.value.encode()),
        *((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})

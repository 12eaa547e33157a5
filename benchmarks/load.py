"""A lean HTTP/1.1 load client on asyncio streams, for the portal's figures.

The measuring process must cost less than the server it measures. On a 2-core machine twenty
threads of httpx in the benchmark's own process cost more CPU than the server: a bare ASGI app
serving a 55 KB page measured p95 85 ms under that client and 6.7 ms under this one, so the figure
was the client's. Here each simulated client is one keep-alive connection on one event loop: it
writes a request, reads the status line, the headers and the body (by Content-Length, chunked, or
to the end of the connection) and nothing more. It asks for gzip as browsers do, keeps the cookies
the server sets (per connection and path, as a browser's jar would), and keeps a body only when the
caller asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode, urlsplit

from benchmarks.measure import percentile

Job = TypeVar("Job")
FORM = "application/x-www-form-urlencoded"
NO_BODY = frozenset({204, 304})


@dataclass(frozen=True)
class Reply:
    """One response: status, headers (lower-case names), body size on the wire, and the time it took."""

    status: int
    headers: dict[str, str]
    size: int
    ms: float
    body: bytes = b""

    def content(self) -> bytes:
        """The kept body, decompressed when it came gzipped."""
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.body)
        return self.body

    def text(self) -> str:
        """The kept body as text (UTF-8), decompressed when it came gzipped."""
        return self.content().decode("utf-8", errors="replace")


@dataclass
class _Cookie:
    value: str
    path: str


class Client:
    """One simulated browser: one keep-alive connection (reopened when closed) and its cookies."""

    def __init__(self, base: str, headers: Mapping[str, str] | None = None, timeout: float = 30) -> None:
        url = urlsplit(base)
        if url.scheme != "http" or url.hostname is None:
            raise ValueError(f"plain http://host:port only, not {base!r}")
        self.host = url.hostname
        self.port = url.port or 80
        self.timeout = timeout
        authority = url.netloc.rpartition("@")[2]
        fixed = {"Host": authority, "Accept-Encoding": "gzip", **(headers or {})}
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._cookies: dict[tuple[str, str], _Cookie] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, *, keep_body: bool = False) -> Reply:
        """GET `path`."""
        return await self.request("GET", path, keep_body=keep_body)

    async def post(self, path: str, form: Mapping[str, str], *, keep_body: bool = False) -> Reply:
        """POST `form` to `path` as application/x-www-form-urlencoded."""
        body = urlencode(form).encode("ascii")
        return await self.request("POST", path, body, {"Content-Type": FORM}, keep_body=keep_body)

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        keep_body: bool = False,
    ) -> Reply:
        """Send one request on the kept connection and read its whole response."""
        head = f"{method} {path} HTTP/1.1\r\n{self._fixed}"
        head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        cookie = self._cookie_header(path)
        if cookie:
            head += f"Cookie: {cookie}\r\n"
        if body or method not in ("GET", "HEAD"):
            head += f"Content-Length: {len(body)}\r\n"
        message = head.encode("latin-1") + b"\r\n" + body
        start = time.perf_counter()
        async with asyncio.timeout(self.timeout):
            reused = self._writer is not None
            try:
                status, fields, content, size = await self._exchange(message, method, keep_body)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                self._drop()
                # A kept connection the server had closed while idle: once more on a fresh one.
                if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                    raise
                status, fields, content, size = await self._exchange(message, method, keep_body)
            except BaseException:  # timed out or cancelled halfway: the stream is out of step
                self._drop()
                raise
        ms = (time.perf_counter() - start) * 1000
        return Reply(status, fields, size, ms, content)

    async def close(self) -> None:
        """Close the connection, if one is open."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()

    async def _exchange(
        self, message: bytes, method: str, keep_body: bool
    ) -> tuple[int, dict[str, str], bytes, int]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        writer.write(message)
        await writer.drain()
        while True:
            version, status, fields = await self._read_head(reader)
            if not 100 <= status < 200:
                break
        content, size = await self._read_body(reader, method, status, fields, keep_body)
        connection = fields.get("connection", "").lower()
        if "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection):
            await self.close()
        return status, fields, content, size

    async def _read_head(self, reader: asyncio.StreamReader) -> tuple[str, int, dict[str, str]]:
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        fields: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._keep_cookie(value)
            fields[name] = f"{fields[name]}, {value}" if name in fields else value
        return version, int(rest[:3]), fields

    async def _read_body(
        self,
        reader: asyncio.StreamReader,
        method: str,
        status: int,
        fields: dict[str, str],
        keep_body: bool,
    ) -> tuple[bytes, int]:
        if method == "HEAD" or status in NO_BODY:
            return b"", 0
        if "chunked" in fields.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                length = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if length == 0:
                    break
                chunk = await reader.readexactly(length)
                await reader.readexactly(2)
                size += length
                if keep_body:
                    chunks.append(chunk)
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, if any
                pass
            return b"".join(chunks), size
        if "content-length" in fields:
            body = await reader.readexactly(int(fields["content-length"]))
        else:  # neither: the body runs to the end of the connection, which is then spent
            body = await reader.read()
            fields["connection"] = "close"
        return (body if keep_body else b""), len(body)

    def _keep_cookie(self, header: str) -> None:
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        path = "/"
        expired = False
        for attribute in attributes:
            key, _, setting = attribute.strip().partition("=")
            if key.lower() == "path" and setting.startswith("/"):
                path = setting
            elif key.lower() == "max-age" and setting.strip().lstrip("-").isdigit():
                expired = int(setting) <= 0
        if expired:
            self._cookies.pop((name, path), None)
        else:
            self._cookies[(name, path)] = _Cookie(value, path)

    def _cookie_header(self, path: str) -> str:
        if not self._cookies:
            return ""
        path = path.split("?", 1)[0]
        # Longer paths first, as browsers send them.
        matching = sorted(
            ((name, c) for (name, _), c in self._cookies.items() if _path_matches(path, c.path)),
            key=lambda pair: -len(pair[1].path),
        )
        return "; ".join(f"{name}={cookie.value}" for name, cookie in matching)


def _path_matches(path: str, cookie_path: str) -> bool:
    return (
        path == cookie_path
        or (path.startswith(cookie_path) and cookie_path.endswith("/"))
        or path.startswith(cookie_path + "/")
    )


@dataclass(frozen=True)
class Outcome(Generic[Job]):
    """One job done by one client: the job, its whole time in ms, and the reply that decides it."""

    job: Job
    ms: float
    reply: Reply


@dataclass
class Load(Generic[Job]):
    """What a load run did: one outcome per finished job, and the run's wall time."""

    outcomes: list[Outcome[Job]] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self) -> dict[str, float]:
        """Requests, p50 and p95 latency in ms, throughput and wall time."""
        latencies = [outcome.ms for outcome in self.outcomes]
        return {
            "requests": len(latencies),
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "throughput_rps": len(latencies) / self.wall_s if self.wall_s else 0.0,
            "wall_s": self.wall_s,
        }


class FailedRequests(RuntimeError):
    """Some jobs of a load run ended with an HTTP error (status 400 or more)."""


Step = Callable[[Client, Job], Awaitable[Reply]]


async def fetch(client: Client, path: str) -> Reply:
    """The simplest step: GET the job's path, body not kept."""
    return await client.get(path)


async def drive(
    base: str,
    jobs: list[Job],
    step: Step[Job],
    *,
    clients: int,
    cap_s: float = 60,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> Load[Job]:
    """Run `step` over `jobs` from `clients` concurrent clients until done or `cap_s` has passed."""
    queue = list(reversed(jobs))
    load: Load[Job] = Load()
    stop_at = time.perf_counter() + cap_s

    async def simulate() -> None:
        client = Client(base, headers, timeout)
        try:
            while queue and time.perf_counter() < stop_at:
                job = queue.pop()
                start = time.perf_counter()
                reply = await step(client, job)
                load.outcomes.append(Outcome(job, (time.perf_counter() - start) * 1000, reply))
        finally:
            await client.close()

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(clients):
            group.create_task(simulate())
    load.wall_s = time.perf_counter() - start
    failed = [outcome for outcome in load.outcomes if outcome.reply.status >= 400]
    if failed:
        examples = [f"{outcome.reply.status} {str(outcome.job)[:40]}" for outcome in failed[:3]]
        raise FailedRequests(f"{len(failed)} of {len(load.outcomes)} requests failed, e.g. {examples}")
    return load


def run_load(base: str, jobs: list[Job], step: Step[Job], **options: Any) -> Load[Job]:
    """`drive` (same options) on an event loop of its own, from synchronous code."""
    return asyncio.run(drive(base, jobs, step, **options))
